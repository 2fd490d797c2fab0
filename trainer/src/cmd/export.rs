//! `eerd export --checkpoint RUN --out model.gguf --quant q8_0`: write a GGUF model;
//! `eerd export --gguf in.gguf --out out.gguf --quant q8_0`: requantize a GGUF model.

use anyhow::Result;
use eerd_trainer::export::{export_checkpoint, requantize_gguf, Quant};
use std::path::{Path, PathBuf};
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
        let r = requantize_gguf(input, &args.out, args.quant)?;
        print_written(&r.path, r.bytes, r.tensors.len(), &r.fallbacks, None);
        return Ok(ExitCode::SUCCESS);
    }
    let checkpoint = args.checkpoint.as_deref().unwrap_or(Path::new("."));
    let r = export_checkpoint(checkpoint, &args.out, args.quant)?;
    let tokenizer = Some(r.tokenizer_path.as_path());
    print_written(&r.path, r.bytes, r.tensors.len(), &r.fallbacks, tokenizer);
    Ok(ExitCode::SUCCESS)
}

/// Reports what an export wrote: its fallback notes, then the file(s).
fn print_written(
    path: &Path,
    bytes: u64,
    tensors: usize,
    fallbacks: &[String],
    tokenizer: Option<&Path>,
) {
    for note in fallbacks {
        eprintln!("note: {note}");
    }
    let beside = tokenizer.map_or(String::new(), |t| format!(" and {}", t.display()));
    eprintln!(
        "wrote {} ({:.2} MB, {tensors} tensors){beside}",
        path.display(),
        bytes as f64 / 1e6
    );
}
