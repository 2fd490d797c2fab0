//! `eerd pipeline --config FILE.toml --out RUN`: the whole R2tA pipeline with resume.

use anyhow::Result;
use eerd_trainer::r2ta::pipeline::{Pipeline, PipelineConfig, PipelineOptions, STAGES};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd pipeline`.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration (TOML; every field has a default, see `pipeline/default.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The run folder; running again in the same folder resumes after the last finished stage.
    #[arg(long, short)]
    out: PathBuf,
    /// Stop after this stage (data, tokenizer, base, drafts, refine, sft, samples, dpo, eval).
    #[arg(long)]
    stop_after: Option<String>,
    /// When the folder's run used another configuration, run again the finished stages the
    /// change invalidates (changing `[dpo]` reruns dpo and eval) instead of refusing.
    #[arg(long)]
    rerun_changed: bool,
    /// CPU threads of the training stages (default: `CANDLE_NUM_THREADS`, else every core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

/// Runs `eerd pipeline`.
pub fn run(args: Args) -> Result<ExitCode> {
    eerd_trainer::threads::configure_for_training(args.threads);
    let config = match &args.config {
        Some(path) => PipelineConfig::load(path)?,
        None => PipelineConfig::default(),
    };
    let options = PipelineOptions {
        progress: !args.quiet,
        stop_after: args.stop_after,
        rerun_changed: args.rerun_changed,
    };
    let started = std::time::Instant::now();
    let stages = Pipeline::new(config, &args.out, options)?.run()?;
    eprintln!(
        "pipeline: {} of {} stages done in {}, {:.0} s in this process",
        stages.len(),
        STAGES.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
