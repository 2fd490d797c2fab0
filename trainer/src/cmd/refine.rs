//! `eerd refine --data train.jsonl --drafts drafts.jsonl --out DIR`: stage 2, audit each draft
//! step by step and write the refined traces, the audits, the preference pairs and a report.

use anyhow::Result;
use eerd::lexicon::Lexicon;
use eerd_trainer::fsutil::write_atomic;
use eerd_trainer::r2ta::draft::Draft;
use eerd_trainer::r2ta::refine::refine;
use eerd_trainer::r2ta::traces::{read_jsonl, read_records, write_jsonl};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd refine`.
#[derive(clap::Args)]
pub struct Args {
    /// The labelled data set the drafts were made for.
    #[arg(long)]
    data: PathBuf,
    /// The drafts (`eerd draft`).
    #[arg(long)]
    drafts: PathBuf,
    /// Output folder: refined.jsonl, audits.jsonl, pairs.jsonl, report.json, report.md.
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs `eerd refine`.
pub fn run(args: Args) -> Result<ExitCode> {
    let records = read_records(&args.data)?;
    let drafts: Vec<Draft> = read_jsonl(&args.drafts)?;
    let refined = refine(&records, &drafts, &Lexicon::builtin())?;
    std::fs::create_dir_all(&args.out)?;
    write_jsonl(&args.out.join("refined.jsonl"), &refined.traces)?;
    write_jsonl(&args.out.join("audits.jsonl"), &refined.audits)?;
    write_jsonl(&args.out.join("pairs.jsonl"), &refined.pairs)?;
    write_atomic(
        &args.out.join("report.json"),
        serde_json::to_string_pretty(&refined.report.to_json())?.as_bytes(),
    )?;
    let markdown = refined.report.markdown();
    write_atomic(&args.out.join("report.md"), markdown.as_bytes())?;
    print!("{markdown}");
    Ok(ExitCode::SUCCESS)
}
