//! `cargo xtask dist`: the release bundle in `dist/`.
//!
//! cargo build → wasm-bindgen → wasm-opt (the three steps trunk takes),
//! esbuild's minifier on the JS glue, then content hashes in the names of everything `game.js` loads, and a
//! `.gz` and `.br` beside every file, which the server picks from by
//! `Accept-Encoding`. The entry files (`game.js`, `game.css`, `index.html`)
//! keep their names: AcWing has the first two registered.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{cargo, root, sh, step, tools, Result};

/// wasm + JS + CSS on the wire (gzip), the budget in docs/frontend-dev.md: 105 KB
/// with the sample game (100 KB for the login alone, before it), read as
/// 105,000 bytes.
const BUDGET_GZIP: u64 = 105_000;
/// The wasm profile: size first, `panic = "abort"` (see Cargo.toml).
const PROFILE: &str = "wasm-release";

/// The wasm build keeps its own target dir so it never invalidates the
/// backend's artifacts.
pub fn wasm_target_dir() -> PathBuf {
    root().join("target").join("wasm")
}

/// The release bundle in `dist/`, within its budget; returns `dist/acapp/`.
pub fn dist() -> Result<PathBuf> {
    let (acapp, gzip) = bundle(&root().join("dist"), &[])?;
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    if gzip > BUDGET_GZIP {
        return Err(format!(
            "the bundle is {} gzip, over its budget of {}",
            kb(gzip),
            kb(BUDGET_GZIP)
        ));
    }
    eprintln!("  within the budget of {} gzip", kb(BUDGET_GZIP));
    Ok(acapp)
}

/// The same bundle without the sample game (the frontend's default
/// `sample-game` feature off), in `target/dist-without-game/`: the
/// benchmark reports the difference as what the game adds. Returns that
/// folder.
pub fn dist_without_game() -> Result<PathBuf> {
    let dist = root().join("target/dist-without-game");
    bundle(&dist, &["--no-default-features"])?;
    Ok(dist)
}

/// Builds the bundle into `dist` with the frontend built with
/// `cargo_flags`; returns `dist/acapp/` and the gzip total of wasm, JS and
/// CSS.
fn bundle(dist: &Path, cargo_flags: &[&str]) -> Result<(PathBuf, u64)> {
    let tools = tools::ensure_all()?;
    step(&format!(
        "building the frontend ({PROFILE}, wasm32{})",
        cargo_flags
            .iter()
            .map(|flag| format!(", {flag}"))
            .collect::<String>()
    ));
    let mut build = cargo(&[
        "build",
        "--profile",
        PROFILE,
        "--package",
        "frontend",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    build.args(cargo_flags);
    build.env("CARGO_TARGET_DIR", wasm_target_dir());
    sh(build)?;
    let wasm = wasm_target_dir().join(format!("wasm32-unknown-unknown/{PROFILE}/frontend.wasm"));

    let out = dist.join("acapp");
    // Old hashed files would pile up otherwise.
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    step("wasm-bindgen");
    let mut bindgen = Command::new(&tools.wasm_bindgen);
    bindgen
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&out)
        .arg(&wasm);
    sh(bindgen)?;

    step("wasm-opt -Oz");
    let bundle = out.join("frontend_bg.wasm");
    let mut opt = Command::new(&tools.wasm_opt);
    opt.arg("-Oz")
        .arg("--enable-bulk-memory")
        .arg("--enable-nontrapping-float-to-int")
        .arg(&bundle)
        .arg("-o")
        .arg(&bundle);
    sh(opt)?;

    // Only the generated glue: game.js and game.css are ours, read by
    // people, and small.
    step("esbuild --minify (the JS glue)");
    let glue = out.join("frontend.js");
    let mut minify = Command::new(&tools.esbuild);
    minify
        .arg(&glue)
        .args([
            "--minify",
            "--format=esm",
            "--log-level=warning",
            "--allow-overwrite",
        ])
        .arg(format!("--outfile={}", glue.display()));
    sh(minify)?;

    step("content hashes, compression, sizes");
    let wasm_name = hashed(&bundle, "frontend", "wasm")?;
    let glue_name = hashed(&out.join("frontend.js"), "frontend", "js")?;
    let game = read(&root().join("frontend/acapp/game.js"))?;
    let game = replace_once(&game, "\"./frontend.js\"", &format!("\"./{glue_name}\""))?;
    let game = replace_once(
        &game,
        "\"./frontend_bg.wasm\"",
        &format!("\"./{wasm_name}\""),
    )?;
    write(&out.join("game.js"), game.as_bytes())?;
    copy(
        &root().join("frontend/acapp/game.css"),
        &out.join("game.css"),
    )?;
    copy(
        &root().join("frontend/index.html"),
        &dist.join("index.html"),
    )?;

    let bundle_files = [
        "game.js".to_owned(),
        "game.css".to_owned(),
        glue_name,
        wasm_name,
    ];
    let mut rows = Vec::new();
    for name in &bundle_files {
        rows.push((name.clone(), compress(&out.join(name))?));
    }
    let index = compress(&dist.join("index.html"))?;
    let gzip = report(&rows, index);
    Ok((out, gzip))
}

/// Renames `path` to `<stem>-<hash>.<ext>` and returns the new file name.
fn hashed(path: &Path, stem: &str, ext: &str) -> Result<String> {
    let digest = Sha256::digest(std::fs::read(path).map_err(|e| io(path, e))?);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{stem}-{hex}.{ext}");
    let to = path.with_file_name(&name);
    std::fs::rename(path, &to).map_err(|e| io(path, e))?;
    Ok(name)
}

fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!("game.js must name {from} exactly once, found {n}")),
    }
}

#[derive(Clone, Copy)]
struct Sizes {
    raw: u64,
    gzip: u64,
    brotli: u64,
}

/// Writes `<file>.gz` and `<file>.br` beside `path`, at their best levels
/// (done once per build, so time does not matter).
fn compress(path: &Path) -> Result<Sizes> {
    let data = std::fs::read(path).map_err(|e| io(path, e))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&data).map_err(|e| io(path, e))?;
    let gz = gz.finish().map_err(|e| io(path, e))?;
    let mut br = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        writer.write_all(&data).map_err(|e| io(path, e))?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    write(&path.with_file_name(format!("{name}.gz")), &gz)?;
    write(&path.with_file_name(format!("{name}.br")), &br)?;
    Ok(Sizes {
        raw: data.len() as u64,
        gzip: gz.len() as u64,
        brotli: br.len() as u64,
    })
}

/// Prints the sizes; returns the gzip total of wasm, JS and CSS.
fn report(rows: &[(String, Sizes)], index: Sizes) -> u64 {
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    let line = |name: &str, s: Sizes| {
        eprintln!(
            "  {name:<32} {:>10} {:>10} {:>10}",
            kb(s.raw),
            kb(s.gzip),
            kb(s.brotli)
        )
    };
    eprintln!(
        "  {:<32} {:>10} {:>10} {:>10}",
        "acapp/", "raw", "gzip", "brotli"
    );
    let mut total = Sizes {
        raw: 0,
        gzip: 0,
        brotli: 0,
    };
    for (name, sizes) in rows {
        line(name, *sizes);
        total.raw += sizes.raw;
        total.gzip += sizes.gzip;
        total.brotli += sizes.brotli;
    }
    line("total (wasm + JS + CSS)", total);
    line("dist/index.html (standalone page)", index);
    total.gzip
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| io(path, e))
}

fn write(path: &Path, data: &[u8]) -> Result {
    std::fs::write(path, data).map_err(|e| io(path, e))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| io(from, e))
}
