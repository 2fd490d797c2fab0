//! `eerd traces --data train.jsonl --out traces.jsonl [--unrefined]`: the gold (or flawed)
//! trace of every record, as SFT data `{"id", "prompt", "completion"}`.

use anyhow::Result;
use eerd::lexicon::Lexicon;
use eerd_trainer::r2ta::traces::{
    gold_records, read_records, unrefined_records, write_jsonl, Noise,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd traces`.
#[derive(clap::Args)]
pub struct Args {
    /// A labelled data set (JSONL records of `eerd dataset`).
    #[arg(long)]
    data: PathBuf,
    /// Where to write the trace records (JSONL).
    #[arg(long, short)]
    out: PathBuf,
    /// Induce reasoning flaws (the base model's warm-up data) instead of writing true traces.
    #[arg(long)]
    unrefined: bool,
    /// Seed of the induced flaws.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Runs `eerd traces`.
pub fn run(args: Args) -> Result<ExitCode> {
    let records = read_records(&args.data)?;
    let lexicon = Lexicon::builtin();
    let traces = if args.unrefined {
        unrefined_records(&records, &lexicon, &Noise::default(), args.seed)?
    } else {
        gold_records(&records, &lexicon)?
    };
    write_jsonl(&args.out, &traces)?;
    eprintln!("{} traces written to {}", traces.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
