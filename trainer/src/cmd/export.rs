//! `eerd export --checkpoint RUN --out model.gguf --quant q8_0`: write a GGUF model;
//! `eerd export --gguf in.gguf --out out.gguf --quant q8_0`: requantize a GGUF model.

use anyhow::Result;
use eerd_trainer::export::{export_checkpoint, requantize_gguf, Quant};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd export`.
#[derive(clap::Args)]
pub struct Args {
    /// A run directory (its latest checkpoint is used) or a checkpoint directory.
    #[arg(long, required_unless_present = "gguf", conflicts_with = "gguf")]
    checkpoint: Option<PathBuf>,
    /// A GGUF model to requantize instead (its metadata and tokenizer are kept).
    #[arg(long)]
    gguf: Option<PathBuf>,
    /// The GGUF file to write; `tokenizer.json` is written beside it.
    #[arg(long, short)]
    out: PathBuf,
    /// Weight format: f32, f16, q8_0 or q4_k (tensors whose rows do not fit fall back to
    /// Q8_0 or F16, and are listed).
    #[arg(long, default_value = "q8_0")]
    quant: Quant,
}

/// Runs `eerd export`.
pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(input) = &args.gguf {
        let report = requantize_gguf(input, &args.out, args.quant)?;
        for note in &report.fallbacks {
            eprintln!("note: {note}");
        }
        eprintln!(
            "wrote {} ({:.2} MB, {} tensors)",
            report.path.display(),
            report.bytes as f64 / 1e6,
            report.tensors.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let checkpoint = args
        .checkpoint
        .as_deref()
        .unwrap_or(std::path::Path::new("."));
    let report = export_checkpoint(checkpoint, &args.out, args.quant)?;
    for note in &report.fallbacks {
        eprintln!("note: {note}");
    }
    eprintln!(
        "wrote {} ({:.2} MB, {} tensors) and {}",
        report.path.display(),
        report.bytes as f64 / 1e6,
        report.tensors.len(),
        report.tokenizer_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
