//! Names no other run is using: of temporary folders, databases and browser
//! profiles. Random rather than the process id, because a run killed outright
//! leaves its folders behind and a later process may get the same id.

/// 16 random hex digits.
pub(crate) fn unique() -> String {
    format!("{:016x}", rand::random::<u64>())
}
