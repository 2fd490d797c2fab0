//! `eerd tokenizer train FILE… --out tokenizer.json`: train a byte-level BPE tokenizer;
//! `eerd tokenizer extract --model M.gguf --out tokenizer.json`: the GGUF's own tokenizer.

use anyhow::{Context, Result};
use clap::Subcommand;
use eerd_trainer::tokenizer::{self, SPECIAL_TOKENS};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd tokenizer`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TokenizerCommand,
}

#[derive(Subcommand)]
enum TokenizerCommand {
    /// Train a byte-level BPE tokenizer on text files (`.jsonl` files: their string fields).
    Train(TrainArgs),
    /// Write the tokenizer a GGUF model carries in its metadata as `tokenizer.json`.
    Extract(ExtractArgs),
}

/// Arguments of `eerd tokenizer extract`.
#[derive(clap::Args)]
struct ExtractArgs {
    /// The GGUF model.
    #[arg(long)]
    model: PathBuf,
    /// Where to write `tokenizer.json`.
    #[arg(long, short)]
    out: PathBuf,
}

/// Arguments of `eerd tokenizer train`.
#[derive(clap::Args)]
struct TrainArgs {
    /// Text files to learn from; for `.jsonl` files the string fields of each record
    /// (`prompt`, `completion`) are used.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Vocabulary size, special tokens included.
    #[arg(long, default_value_t = 4096)]
    vocab_size: usize,
    /// Where to write `tokenizer.json`.
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs `eerd tokenizer`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        TokenizerCommand::Extract(a) => {
            // The metadata only: the weights are not read.
            let mut file = std::fs::File::open(&a.model)
                .with_context(|| format!("cannot read {}", a.model.display()))?;
            let content =
                candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| {
                    anyhow::anyhow!("{}: not a readable GGUF file ({e})", a.model.display())
                })?;
            let tok = eerd::runtime::tokenizer_from_gguf(&content)
                .with_context(|| format!("cannot load {}", a.model.display()))?;
            tokenizer::save(&tok, &a.out)?;
            eprintln!(
                "wrote {} ({} tokens)",
                a.out.display(),
                tok.get_vocab_size(true)
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenizerCommand::Train(a) => {
            let started = std::time::Instant::now();
            let texts = tokenizer::training_texts(&a.files)?;
            let bytes: usize = texts.iter().map(|t| t.len()).sum();
            let tok = tokenizer::train(&texts, a.vocab_size)?;
            tokenizer::save(&tok, &a.out)?;
            let tokens: usize = texts
                .iter()
                .map(|t| tokenizer::encode(&tok, t).map(|ids| ids.len()))
                .sum::<Result<usize>>()?;
            eprintln!(
                "wrote {} ({} tokens incl. special {:?}) from {bytes} bytes in {:.1}s; {:.2} bytes/token",
                a.out.display(),
                tok.get_vocab_size(true),
                SPECIAL_TOKENS,
                started.elapsed().as_secs_f64(),
                bytes as f64 / tokens.max(1) as f64
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
