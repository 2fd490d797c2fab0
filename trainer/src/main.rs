//! `eerd`: the native command line of the EERD grader.
//!
//! Each subcommand lives in its own module under `cmd/` with an `Args` struct and a `run`
//! function returning the process exit code.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Grade extended entity-relationship diagrams; build and evaluate the grading model.
#[derive(Parser)]
#[command(name = "eerd", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check that diagram files parse and are well-formed.
    Check(cmd::check::Args),
    /// Print a diagram in canonical form.
    Fmt(cmd::fmt::Args),
    /// Score a grader on a labelled JSONL data set.
    Eval(cmd::eval::Args),
    /// Grade one submission, or a folder of them, against a reference diagram.
    Grade(cmd::grade::Args),
    /// Make the labelled data set (train/test/unseen JSONL) from the assignment library.
    Dataset(cmd::dataset::Args),
    /// Train a model (`eerd train sft …`).
    Train(cmd::train::Args),
    /// Export a checkpoint as a GGUF model.
    Export(cmd::export::Args),
    /// Generate text with an exported GGUF model.
    Generate(cmd::generate::Args),
    /// Train a tokenizer (`eerd tokenizer train …`).
    Tokenizer(cmd::tokenizer::Args),
    /// Measure training speed (`eerd bench train …`).
    Bench(cmd::bench::Args),
    /// Import a base model (`eerd import hf DIR --out RUN`).
    Import(cmd::import::Args),
    /// Write the true (or flawed) grading trace of every record as SFT data.
    Traces(cmd::traces::Args),
    /// R2tA stage 1: draft traces with a base model (local GGUF or OpenAI-compatible endpoint).
    Draft(cmd::draft::Args),
    /// R2tA stage 2: audit drafts step by step, refine them, make preference pairs.
    Refine(cmd::refine::Args),
    /// Run the whole R2tA pipeline (data → base → drafts → refine → SFT → samples → DPO → eval).
    Pipeline(cmd::pipeline::Args),
    /// Copy a pipeline run's model and its model card to a folder (e.g. static/models/default).
    Publish(cmd::publish::Args),
    /// Sample a data set's findings with the requirement sentence each cites (to check by hand).
    Citations(cmd::citations::Args),
}

fn main() -> ExitCode {
    eerd_trainer::malloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Fmt(args) => cmd::fmt::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Grade(args) => cmd::grade::run(args),
        Command::Dataset(args) => cmd::dataset::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Tokenizer(args) => cmd::tokenizer::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Traces(args) => cmd::traces::run(args),
        Command::Citations(args) => cmd::citations::run(args),
        Command::Draft(args) => cmd::draft::run(args),
        Command::Refine(args) => cmd::refine::run(args),
        Command::Pipeline(args) => cmd::pipeline::run(args),
        Command::Publish(args) => cmd::publish::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("eerd: {error:#}");
            ExitCode::from(2)
        }
    }
}
