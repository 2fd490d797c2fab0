//! `eerd publish --run RUN --out static/models/default`: ship a pipeline run's model with its
//! model card.

use anyhow::Result;
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
}

/// Runs `eerd publish`.
pub fn run(args: Args) -> Result<ExitCode> {
    let card = eerd_trainer::r2ta::card::publish(&args.run, &args.model, &args.out, &args.command)?;
    eprintln!(
        "published {} ({} bytes) to {}",
        card["name"].as_str().unwrap_or("model"),
        card["bytes"],
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
