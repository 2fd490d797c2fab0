//! `eerd dataset --out DIR`: make the labelled data set from the assignment library.

use anyhow::Result;
use eerd_trainer::dataset::{generate, load_library, Options};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd dataset`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to write train.jsonl, test.jsonl, unseen.jsonl and manifest.json into.
    #[arg(long)]
    out: PathBuf,
    /// Seed of every random choice: the same seed and library give byte-identical files.
    #[arg(long, default_value_t = Options::default().seed)]
    seed: u64,
    /// Variants of the seen assignments, split 75/25 into train and test.
    #[arg(long, default_value_t = Options::default().variants)]
    variants: usize,
    /// Variants of the held-out assignments (unseen.jsonl).
    #[arg(long, default_value_t = Options::default().unseen)]
    unseen: usize,
    /// Procedurally generated assignments whose variants go to train only (0: none).
    #[arg(long, default_value_t = Options::default().synthetic)]
    synthetic: usize,
    /// Variants of the generated assignments, spread evenly over them (train only).
    #[arg(long, default_value_t = Options::default().synthetic_variants)]
    synthetic_variants: usize,
    /// The assignment library: a folder of <id>/reference.puml and requirements.md.
    #[arg(long, default_value = "static/assignments")]
    library: PathBuf,
}

/// Runs `eerd dataset`.
pub fn run(args: Args) -> Result<ExitCode> {
    let library = load_library(&args.library)?;
    let options = Options {
        seed: args.seed,
        variants: args.variants,
        unseen: args.unseen,
        synthetic: args.synthetic,
        synthetic_variants: args.synthetic_variants,
    };
    let mut stderr = std::io::stderr();
    let mut progress = |done: usize, total: usize| {
        if done.is_multiple_of(50) || done == total {
            let _ = write!(stderr, "\rdataset: {done}/{total} variants");
            if done == total {
                let _ = writeln!(stderr);
            }
        }
    };
    let data = generate(&library, options, &mut progress)?;
    data.write(&args.out)?;
    if data.manifest.synthetic_variants > 0 {
        eprintln!(
            "dataset: {} of the train records are variants of {} generated assignments",
            data.manifest.synthetic_variants, data.manifest.synthetic_assignments
        );
    }
    eprintln!(
        "dataset: wrote {} train, {} test and {} unseen records ({} held-out assignments) to {}",
        data.train.len(),
        data.test.len(),
        data.unseen.len(),
        data.manifest.held_out_assignments.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
