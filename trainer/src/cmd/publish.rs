//! `eerd publish --run RUN --out static/models/default`: ship a pipeline run's model with its
//! model card.

use anyhow::Result;
use eerd_trainer::r2ta::card::{publish, Comparison};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd publish`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline run folder.
    #[arg(long)]
    run: PathBuf,
    /// Which model of the run: base, sft or dpo.
    #[arg(long, default_value = "dpo")]
    model: String,
    /// The folder to write: model.gguf, tokenizer.json, model.json, README.md.
    #[arg(long, short)]
    out: PathBuf,
    /// The command that made the run, recorded in the card.
    #[arg(long)]
    command: String,
    /// Another finished run to show beside it in the card (e.g. the recipe with SmolLM2
    /// drafting: its evaluation table and the audit report of its drafts).
    #[arg(long)]
    compare: Option<PathBuf>,
    /// The command that made the `--compare` run.
    #[arg(long, requires = "compare")]
    compare_command: Option<String>,
}

/// Runs `eerd publish`.
pub fn run(args: Args) -> Result<ExitCode> {
    let compare_command = args.compare_command.clone().unwrap_or_default();
    let compare = args.compare.as_deref().map(|run| Comparison {
        run,
        command: &compare_command,
    });
    let card = publish(&args.run, &args.model, &args.out, &args.command, compare)?;
    eprintln!(
        "published {} ({} bytes) to {}",
        card["name"].as_str().unwrap_or("model"),
        card["bytes"],
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
