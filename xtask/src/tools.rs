//! Pinned build tools, installed once per user into
//! `~/.cache/acwing-acapp/tools/<tool>-<version>` and reused by every clone.

use std::path::PathBuf;
use std::process::Command;

use crate::{cargo, sh, step, Result};

/// Must equal the `wasm-bindgen` pinned in the workspace Cargo.toml.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// Debian's binaryen is too old for current wasm; npm's ships a good one.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// 0.22 needs a newer rustc than these machines have.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The accessibility engine of the browser tests (`e2e/tests/accessibility.rs`),
/// from npm: a new version brings new rules, so it moves only on purpose.
pub const AXE_CORE_VERSION: &str = "4.10.3";
/// The jQuery acwing.com's AcApp page loads (`jquery-3.3.1.min.js`), which
/// the simulator's window page provides as `$` as that page does.
pub const JQUERY_VERSION: &str = "3.3.1";
/// Minifies wasm-bindgen's JS glue for `dist/` (about 2 KB gzip less).
pub const ESBUILD_VERSION: &str = "0.24.2";

pub struct Tools {
    pub wasm_bindgen: PathBuf,
    pub wasm_opt: PathBuf,
    pub esbuild: PathBuf,
}

pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("acwing-acapp").join("tools")
}

pub fn ensure_wasm_target() -> Result {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target");
    let mut add = Command::new("rustup");
    add.args(["target", "add", "wasm32-unknown-unknown"]);
    sh(add)
}

pub fn ensure_all() -> Result<Tools> {
    ensure_wasm_target()?;
    Ok(Tools {
        wasm_bindgen: ensure_wasm_bindgen()?,
        wasm_opt: ensure_npm_bin("binaryen", BINARYEN_VERSION, "wasm-opt")?,
        esbuild: ensure_npm_bin("esbuild", ESBUILD_VERSION, "esbuild")?,
    })
}

fn wasm_bindgen_root() -> PathBuf {
    cache_dir().join(format!("wasm-bindgen-{WASM_BINDGEN_VERSION}"))
}

fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let bin = wasm_bindgen_root().join("bin").join("wasm-bindgen");
    if bin.exists() {
        return Ok(bin);
    }
    // Not --locked: its lock file pins a crate the reachable registry lacks.
    cargo_install(
        "wasm-bindgen-cli",
        WASM_BINDGEN_VERSION,
        false,
        &wasm_bindgen_root(),
    )?;
    Ok(bin)
}

/// The command that installs the pinned wasm-bindgen-cli if it is missing,
/// for `serve` to run beside other builds.
pub fn wasm_bindgen_install() -> Result<Option<Command>> {
    let root = wasm_bindgen_root();
    if root.join("bin").join("wasm-bindgen").exists() {
        return Ok(None);
    }
    cargo_install_command("wasm-bindgen-cli", WASM_BINDGEN_VERSION, false, &root).map(Some)
}

/// `cargo install` at a pinned version into `root`, built quickly: these
/// are tools, not the product.
fn cargo_install(krate: &str, version: &str, locked: bool, root: &std::path::Path) -> Result {
    step(&format!(
        "installing {krate} {version} into {} (once per user; takes minutes)",
        root.display()
    ));
    sh(cargo_install_command(krate, version, locked, root)?)
}

fn cargo_install_command(
    krate: &str,
    version: &str,
    locked: bool,
    root: &std::path::Path,
) -> Result<Command> {
    let mut install = cargo(&["install", krate, "--version", version, "--root"]);
    // With its bin folder on the child's PATH, cargo does not warn "be sure
    // to add … to your PATH": xtask runs these tools by their full path.
    let mut path = vec![root.join("bin")];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    // Light optimisation: wasm-bindgen-cli then installs in about 2 minutes
    // instead of 5 to 8, and still processes our wasm in a tenth of a second.
    install
        .arg(root)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_INCREMENTAL", "0")
        .env(
            "PATH",
            std::env::join_paths(path).map_err(|e| e.to_string())?,
        );
    if locked {
        install.arg("--locked");
    }
    Ok(install)
}

/// The command `bin` of npm package `name` at `version`, installed into
/// the tool cache once per user (with its install scripts: esbuild's picks
/// its native binary).
fn ensure_npm_bin(name: &str, version: &str, bin: &str) -> Result<PathBuf> {
    let root = cache_dir().join(format!("{name}-{version}"));
    let path = root.join("node_modules").join(".bin").join(bin);
    if path.exists() {
        return Ok(path);
    }
    step(&format!(
        "installing {name} {version} ({bin}) from npm into {}",
        root.display()
    ));
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel",
        "error",
        "--prefix",
    ])
    .arg(&root)
    .arg(format!("{name}@{version}"));
    sh(npm)?;
    Ok(path)
}

/// axe-core's `axe.min.js` at the pinned version, installed from npm into
/// the tool cache once per user; the browser tests read it from
/// `AXE_CORE_JS`.
pub fn ensure_axe_core() -> Result<PathBuf> {
    ensure_npm_file("axe-core", AXE_CORE_VERSION, "axe.min.js")
}

/// jQuery at the version acwing.com's page loads, for the simulator's
/// AcApp window (`cargo xtask sim`, and the browser tests' course-style
/// app through `JQUERY_JS`). It is not part of the simulator: it comes
/// from npm, pinned, like the other tools.
pub fn ensure_jquery() -> Result<PathBuf> {
    ensure_npm_file("jquery", JQUERY_VERSION, "dist/jquery.min.js")
}

/// `file` of npm package `name` at exactly `version`, installed into the
/// tool cache once per user.
fn ensure_npm_file(name: &str, version: &str, file: &str) -> Result<PathBuf> {
    let root = cache_dir().join(format!("{name}-{version}"));
    let package = root.join("node_modules").join(name);
    let path = package.join(file);
    if path.exists() && installed_version(&package).as_deref() == Some(version) {
        return Ok(path);
    }
    step(&format!(
        "installing {name} {version} from npm into {}",
        root.display()
    ));
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel",
        "error",
        "--prefix",
    ])
    .arg(&root)
    .arg(format!("{name}@{version}"));
    sh(npm)?;
    match installed_version(&package) {
        Some(installed) if installed == version && path.exists() => Ok(path),
        other => Err(format!(
            "npm installed {name} {other:?} into {}, not {version} with {file}",
            root.display()
        )),
    }
}

/// The `version` in an npm package's package.json.
fn installed_version(package: &std::path::Path) -> Option<String> {
    let manifest = std::fs::read_to_string(package.join("package.json")).ok()?;
    let at = manifest.find("\"version\"")?;
    let rest = &manifest[at + "\"version\"".len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_owned())
}

/// The browser the end-to-end tests drive.
pub struct Browser {
    pub chrome: PathBuf,
    pub driver: PathBuf,
}

const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";

/// Chromium and ChromeDriver for the end-to-end tests: `CHROME_BIN` and
/// `CHROMEDRIVER` if set, else Debian's. apt-get runs only when something
/// is missing and we are root; otherwise one line says what to install.
pub fn ensure_chromium() -> Result<Browser> {
    let from_env = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let browser = Browser {
        chrome: from_env("CHROME_BIN", "/usr/bin/chromium"),
        driver: from_env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    };
    let overridden =
        std::env::var_os("CHROME_BIN").is_some() || std::env::var_os("CHROMEDRIVER").is_some();
    let missing = !browser.chrome.exists() || !browser.driver.exists();
    if !missing {
        ensure_cjk_font();
        return Ok(browser);
    }
    if overridden {
        return Err(format!(
            "CHROME_BIN ({}) or CHROMEDRIVER ({}) does not exist; point them at Chromium and a matching ChromeDriver, or run `cargo xtask test --no-e2e`",
            browser.chrome.display(),
            browser.driver.display()
        ));
    }
    if !is_root() {
        return Err("the end-to-end tests need Chromium and ChromeDriver: install them (Debian: `apt-get install chromium chromium-driver fonts-wqy-zenhei`), or set CHROME_BIN and CHROMEDRIVER, or run `cargo xtask test --no-e2e`".into());
    }
    step("installing Debian's chromium, chromium-driver and fonts-wqy-zenhei (once per machine)");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    sh(update)?;
    let mut install = Command::new("apt-get");
    install
        .args([
            "install",
            "-y",
            "-qq",
            "chromium",
            "chromium-driver",
            "fonts-wqy-zenhei",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive");
    sh(install)?;
    Ok(browser)
}

/// A Chinese font for the screenshots, checked on its own: a machine that
/// already had Chromium may lack it, and then every screenshot shows boxes.
/// Installed when we are root; otherwise one line says what is missing.
fn ensure_cjk_font() {
    if std::path::Path::new(CJK_FONT).exists() {
        return;
    }
    let installed = is_root() && {
        step(
            "installing Debian's fonts-wqy-zenhei (once per machine; Chinese text in screenshots)",
        );
        let mut install = Command::new("apt-get");
        install
            .args(["install", "-y", "-qq", "fonts-wqy-zenhei"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        sh(install).is_ok()
    };
    if !installed {
        eprintln!("note: no CJK font ({CJK_FONT}); screenshots will show boxes for Chinese text (Debian: fonts-wqy-zenhei)");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Trunk's own cache folder (the `directories` crate's, as trunk computes
/// it). trunk takes `<cache>/<tool>-<version>/` before it would download.
pub fn trunk_cache_dir() -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "macos") {
        if let Some(home) = home() {
            return home.join("Library/Caches/dev.trunkrs.trunk");
        }
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join("trunk")
}

/// What trunk reads `wasm-opt --version` as, and names its cache folder by.
pub fn wasm_opt_trunk_version() -> String {
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    format!("version_{major}")
}

/// Links the pinned tools into trunk's cache folder, so that a bare `trunk
/// serve` or `trunk build --release` finds them with no PATH changes and no
/// download. Links, not copies: one install per version stays the truth.
pub fn link_for_trunk(tools: &Tools) -> Result {
    let cache = trunk_cache_dir();
    let links = [
        (
            cache
                .join(format!("wasm-bindgen-{WASM_BINDGEN_VERSION}"))
                .join("wasm-bindgen"),
            &tools.wasm_bindgen,
        ),
        (
            cache
                .join(format!("wasm-opt-{}", wasm_opt_trunk_version()))
                .join("bin")
                .join("wasm-opt"),
            &tools.wasm_opt,
        ),
    ];
    for (link, target) in links {
        // npm's .bin entry is itself a link; node finds binaryen's files
        // next to the real script only if we point at that one.
        let target = std::fs::canonicalize(target)
            .map_err(|e| format!("cannot resolve {}: {e}", target.display()))?;
        if std::fs::read_link(&link).is_ok_and(|old| old == target) {
            continue;
        }
        if link.exists() && std::fs::read_link(&link).is_err() {
            // trunk downloaded this version itself: just as good.
            continue;
        }
        let dir = link.parent().expect("the link has a folder");
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // A link to an older install of ours, or a dangling one.
        let _ = std::fs::remove_file(&link);
        symlink(&target, &link)?;
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &std::path::Path, link: &std::path::Path) -> Result {
    std::os::unix::fs::symlink(target, link).map_err(|e| {
        format!(
            "cannot link {} to {}: {e}",
            link.display(),
            target.display()
        )
    })
}

#[cfg(not(unix))]
fn symlink(target: &std::path::Path, link: &std::path::Path) -> Result {
    std::fs::copy(target, link).map(|_| ()).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            target.display(),
            link.display()
        )
    })
}

/// The `trunk` a bare `trunk serve` runs: ours, linked into cargo's bin
/// folder (on PATH wherever `cargo` works) unless a trunk is already on
/// PATH, which we leave alone.
pub fn put_trunk_on_path(trunk: &std::path::Path) -> Result {
    if let Some(found) = find_on_path("trunk") {
        let ours = std::fs::canonicalize(trunk).ok();
        if std::fs::canonicalize(&found).ok() != ours {
            let version = Command::new(&found)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            if !version.ends_with(TRUNK_VERSION) {
                eprintln!(
                    "note: `trunk` on PATH is {} ({version}), not trunk {TRUNK_VERSION}; the project's is {}",
                    found.display(),
                    trunk.display()
                );
            }
        }
        return Ok(());
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let link = cargo_home.join("bin").join("trunk");
    let _ = std::fs::remove_file(&link);
    symlink(trunk, &link)?;
    eprintln!("linked {} -> {}", link.display(), trunk.display());
    if find_on_path("trunk").is_none() {
        eprintln!(
            "note: {} is not on your PATH; add it, or run {}",
            link.parent().expect("a bin folder").display(),
            trunk.display()
        );
    }
    Ok(())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// trunk, for the dev loop only: its install takes minutes, so neither
/// `run` nor `test` needs it.
pub fn ensure_trunk() -> Result<PathBuf> {
    let bin = trunk_bin();
    if bin.exists() {
        return Ok(bin);
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} into {} (once per user; a few minutes)",
        trunk_root().display()
    ));
    sh(trunk_install()?)?;
    Ok(bin)
}

fn trunk_root() -> PathBuf {
    cache_dir().join(format!("trunk-{TRUNK_VERSION}"))
}

/// Where the pinned trunk is (or will be) installed.
pub fn trunk_bin() -> PathBuf {
    trunk_root().join("bin").join("trunk")
}

/// The command that installs the pinned trunk, for `serve` to run beside
/// other builds.
pub fn trunk_install() -> Result<Command> {
    let mut install = cargo_install_command("trunk", TRUNK_VERSION, true, &trunk_root())?;
    // Unoptimised: trunk only orchestrates (the wasm work is wasm-bindgen's
    // and wasm-opt's), so `trunk build --release` takes the same 3.6 s
    // either way, while the install drops from about 13 minutes to about 4.
    install
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256");
    Ok(install)
}
