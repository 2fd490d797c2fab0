//! The browser side: tools (trunk, wasm-bindgen-cli, playwright-core, Chromium), building the
//! page into `web/dist`, serving it, the browser tests and the browser benchmark.

use crate::{run, server};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The trunk release that builds with this toolchain (0.22 needs a newer rustc).
const TRUNK_VERSION: &str = "0.21.14";
/// npm packages of the browser tests and the benchmark.
const PLAYWRIGHT_VERSION: &str = "1.65.1";
const WLLAMA_VERSION: &str = "3.8.1";
/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The first line of `program --version`, if it runs.
fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The version of package `name` in `Cargo.lock`.
fn locked_version(root: &Path, name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let at = lock
        .find(&needle)
        .with_context(|| format!("{name} is not in Cargo.lock"))?
        + needle.len();
    Ok(lock[at..].split('"').next().unwrap_or_default().to_string())
}

/// Installs trunk, wasm-bindgen-cli (the exact version of `Cargo.lock`) and the wasm32 target
/// when missing, saying what it does.
pub fn ensure_build_tools(root: &Path) -> Result<()> {
    crate::ensure_wasm_target()?;
    let want = format!("trunk {TRUNK_VERSION}");
    if version_of("trunk").as_deref() != Some(want.as_str()) {
        println!("xtask: installing trunk {TRUNK_VERSION} (cargo install, ~10 min on 2 cores)…");
        run(Command::new(cargo()).args([
            "install",
            "trunk",
            "--version",
            TRUNK_VERSION,
            "--locked",
        ]))?;
    }
    let bindgen = locked_version(root, "wasm-bindgen")?;
    let want = format!("wasm-bindgen {bindgen}");
    if version_of("wasm-bindgen").as_deref() != Some(want.as_str()) {
        // Without --locked: its lock file pins crates this registry may lack.
        println!("xtask: installing wasm-bindgen-cli {bindgen} (cargo install, ~4 min)…");
        run(Command::new(cargo()).args(["install", "wasm-bindgen-cli", "--version", &bindgen]))?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `manifest.json` for a model folder: byte size and SHA-256 of `model.gguf` and
/// `tokenizer.json` (the page caches them by checksum), plus the `model.json` card if present.
pub fn write_manifest(dir: &Path) -> Result<()> {
    let mut files = serde_json::Map::new();
    for name in ["model.gguf", "tokenizer.json"] {
        let data =
            std::fs::read(dir.join(name)).with_context(|| format!("{}/{name}", dir.display()))?;
        files.insert(
            name.to_string(),
            serde_json::json!({ "bytes": data.len(), "sha256": sha256_hex(&data) }),
        );
    }
    let card = std::fs::read_to_string(dir.join("model.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let manifest = serde_json::json!({ "files": files, "card": card });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(())
}

/// Options of a page build.
pub struct Build {
    /// Also serve the tiny test model at `/models/test-tiny/`.
    pub test_model: bool,
}

/// Builds the page with trunk (release) into `web/dist` and adds the assignment library and the
/// models (each with its manifest). Returns the dist folder.
pub fn build(root: &Path, options: &Build) -> Result<PathBuf> {
    ensure_build_tools(root)?;
    // trunk runs cargo --offline (Trunk.toml): make sure every crate is downloaded.
    run(Command::new(cargo()).current_dir(root).args(["fetch"]))?;
    let web = root.join("web");
    run(Command::new("trunk")
        .current_dir(&web)
        .args(["build", "index.html", "--release"]))?;
    let dist = web.join("dist");
    for expected in ["eerd-web.js", "eerd-web_bg.wasm", "index.html", "app.js"] {
        if !dist.join(expected).is_file() {
            bail!("trunk did not produce {}", dist.join(expected).display());
        }
    }
    copy_dir(&root.join("static/assignments"), &dist.join("assignments"))?;
    let models = root.join("static/models");
    if models.is_dir() {
        for entry in std::fs::read_dir(&models)? {
            let entry = entry?;
            if entry.path().join("model.gguf").is_file() {
                let target = dist.join("models").join(entry.file_name());
                copy_dir(&entry.path(), &target)?;
                write_manifest(&target)?;
            }
        }
    }
    if !dist.join("models/default/manifest.json").is_file() {
        println!(
            "xtask: no default model in static/models/default/ (model.gguf, tokenizer.json): \
             the page will say so and grading stays off"
        );
    }
    if options.test_model {
        let target = dist.join("models/test-tiny");
        copy_dir(&web.join("tests/fixtures/tiny-model"), &target)?;
        write_manifest(&target)?;
    }
    Ok(dist)
}

fn parse_port(args: &[String]) -> Result<u16> {
    match args.iter().position(|a| a == "--port") {
        Some(i) => args
            .get(i + 1)
            .context("--port needs a number")?
            .parse()
            .context("--port needs a number"),
        None => Ok(8080),
    }
}

/// `cargo xtask serve [--port N] [--no-build]`.
pub fn serve(root: &Path, args: &[String]) -> Result<()> {
    let port = parse_port(args)?;
    let dist = if args.iter().any(|a| a == "--no-build") {
        root.join("web/dist")
    } else {
        build(
            root,
            &Build {
                test_model: args.iter().any(|a| a == "--test-model"),
            },
        )?
    };
    let (listener, port) = server::bind(port)?;
    println!(
        "xtask: serving {} on http://127.0.0.1:{port}/ (Ctrl+C to stop)",
        dist.display()
    );
    server::serve(listener, dist);
    Ok(())
}

/// Installs npm packages under `.tools/` when missing.
pub(crate) fn ensure_npm(root: &Path, packages: &[(&str, &str)]) -> Result<PathBuf> {
    let tools = root.join(".tools");
    let modules = tools.join("node_modules");
    let missing: Vec<String> = packages
        .iter()
        .filter(|(name, version)| {
            let pkg = modules.join(name).join("package.json");
            !std::fs::read_to_string(pkg)
                .is_ok_and(|t| t.contains(&format!("\"version\": \"{version}\"")))
        })
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if !missing.is_empty() {
        std::fs::create_dir_all(&tools)?;
        println!(
            "xtask: installing {} with npm into .tools/",
            missing.join(", ")
        );
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .args(&missing))
        .context("the browser tests need npm (Node.js)")?;
    }
    Ok(modules)
}

fn chromium() -> Result<PathBuf> {
    let path = std::env::var("EERD_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_string());
    if !Path::new(&path).is_file() {
        bail!(
            "the browser tests need Chromium at {path}: `apt-get install -y chromium chromium-driver` \
             (or set EERD_CHROMIUM)"
        );
    }
    Ok(path.into())
}

/// Builds the page (with the test model), serves it on a free port and runs a node script from
/// `tests/browser/` against it.
fn run_browser_script(
    root: &Path,
    script: &str,
    extra: &[(&str, &str)],
    args: &[String],
) -> Result<()> {
    let chromium = chromium()?;
    let mut packages = vec![("playwright-core", PLAYWRIGHT_VERSION)];
    packages.extend_from_slice(extra);
    let modules = ensure_npm(root, &packages)?;
    let dist = if args.iter().any(|a| a == "--no-build") {
        root.join("web/dist")
    } else {
        build(root, &Build { test_model: true })?
    };
    let mut bench_model = None;
    if !extra.is_empty() {
        // The benchmark page and its comparison runtime, served from the same origin.
        copy_dir(&root.join("tests/browser/bench"), &dist.join("bench"))?;
        copy_dir(
            &modules.join("@wllama/wllama/esm"),
            &dist.join("bench/wllama"),
        )?;
        if let Some(i) = args.iter().position(|a| a == "--model") {
            let dir = PathBuf::from(args.get(i + 1).context("--model needs a folder")?);
            let target = dist.join("models/bench");
            copy_dir(&dir, &target)?;
            write_manifest(&target)?;
            bench_model = Some("/models/bench/");
        }
    }
    let (listener, port) = server::bind(0)?;
    let served = dist.clone();
    std::thread::spawn(move || server::serve(listener, served));
    let base = format!("http://127.0.0.1:{port}/");
    let default_model = dist.join("models/default/manifest.json").is_file();
    let mut command = Command::new("node");
    if default_model && script == "page.test.mjs" {
        command.env("EERD_BIN", native_eerd(root)?);
    }
    let status = command
        .arg(root.join("tests/browser").join(script))
        .args(args.iter().filter(|a| *a != "--no-build"))
        .env("NODE_PATH", &modules)
        .env("EERD_BASE_URL", &base)
        .env("EERD_CHROMIUM", &chromium)
        .env("EERD_DEFAULT_MODEL", if default_model { "1" } else { "0" })
        .env("EERD_BENCH_MODEL", bench_model.unwrap_or_default())
        .current_dir(root)
        .status()
        .context("cannot start node")?;
    if !status.success() {
        bail!("{script} failed ({status})");
    }
    Ok(())
}

/// The native `eerd` binary the browser tests compare the page's grading with: `EERD_BIN` when
/// set, else `cargo build --release -p eerd-trainer --bin eerd` (a no-op when up to date) in the
/// target folder (`CARGO_TARGET_DIR` or `target/`).
fn native_eerd(root: &Path) -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("EERD_BIN") {
        let bin = root.join(bin);
        if !bin.is_file() {
            bail!("EERD_BIN={} is not a file", bin.display());
        }
        return Ok(bin);
    }
    run(Command::new(cargo()).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "eerd-trainer",
        "--bin",
        "eerd",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| root.join(t))
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/eerd");
    if !bin.is_file() {
        bail!("cargo build did not produce {}", bin.display());
    }
    Ok(bin)
}

/// `cargo xtask browser-test [--no-build]`: the page and widget in headless Chromium; with the
/// default model, its grading is compared with the native `eerd grade` on the same GGUF.
///
/// `--repeat N` runs the whole suite N times in a row (built once), to show it is stable: the
/// tests wait on the page's state, never on time.
pub fn browser_test(root: &Path, args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    let mut repeat = 1;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        let n = args
            .get(i + 1)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .context("--repeat needs a number of runs (1 or more)")?;
        repeat = n;
        args.drain(i..i + 2);
    }
    for round in 1..=repeat {
        if repeat > 1 {
            println!("xtask: browser tests, run {round} of {repeat}");
        }
        run_browser_script(root, "page.test.mjs", &[], &args)?;
        if !args.iter().any(|a| a == "--no-build") {
            args.push("--no-build".into());
        }
    }
    Ok(())
}

/// `cargo xtask screenshots [DIR]`: the page before and after grading, as PNG files in `DIR`
/// (default `docs/`).
pub fn screenshots(root: &Path, args: &[String]) -> Result<()> {
    run_browser_script(root, "screenshots.mjs", &[], args)
}

/// `cargo xtask bench-web [--runs N] [--no-build]`: load time, decode tok/s, time to grade, and
/// `@wllama/wllama` decoding the same GGUF.
pub fn bench_web(root: &Path, args: &[String]) -> Result<()> {
    run_browser_script(
        root,
        "bench.mjs",
        &[("@wllama/wllama", WLLAMA_VERSION)],
        args,
    )
}

/// `cargo xtask wasm-test`: the web crate's wasm tests (the runtime on the tiny model) in headless
/// Chrome via wasm-bindgen-test-runner and chromedriver.
pub fn wasm_test(root: &Path) -> Result<()> {
    ensure_build_tools(root)?;
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if !Path::new(&driver).is_file() {
        bail!("wasm tests need chromedriver: `apt-get install -y chromium-driver`");
    }
    run(Command::new(cargo())
        .current_dir(root)
        .env("CHROMEDRIVER", &driver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .args([
            "test",
            "-p",
            "eerd-web",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
            "--test",
            "wasm_runtime",
        ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lists_size_and_checksum() {
        let dir = std::env::temp_dir().join(format!("xtask-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.gguf"), b"abc").unwrap();
        std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
        write_manifest(&dir).unwrap();
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["files"]["model.gguf"]["bytes"], 3);
        assert_eq!(
            m["files"]["model.gguf"]["sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(m["card"].is_null());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reads_locked_versions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(locked_version(root, "wasm-bindgen")
            .unwrap()
            .starts_with("0.2."));
    }
}
