//! `eerd draft --data train.jsonl --out drafts.jsonl (--model model.gguf | --endpoint URL)`:
//! stage 1, draft completions from a base model.

use anyhow::{bail, Result};
use eerd::lexicon::Lexicon;
use eerd_trainer::endpoint::{Api, Endpoint, EndpointConfig};
use eerd_trainer::r2ta::draft::{
    default_template, draft_all, focus_jobs, DraftOptions, DraftSource,
};
use eerd_trainer::r2ta::traces::{read_records, write_jsonl};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd draft`.
#[derive(clap::Args)]
pub struct Args {
    /// A labelled data set (JSONL records); each record's focused steps are drafted.
    #[arg(long)]
    data: PathBuf,
    /// Where to write the drafts (JSONL `{"id", "sample", "completion", "tokens", "stop"}`).
    #[arg(long, short)]
    out: PathBuf,
    /// A local model: a GGUF file (its own tokenizer, else `tokenizer.json` beside it; a model with a ChatML chat template is asked prompt-only), a training checkpoint or run
    /// folder, or a Hugging Face llama-family folder (both converted to F16 GGUF on the fly).
    #[arg(long, conflicts_with = "endpoint")]
    model: Option<PathBuf>,
    /// An OpenAI-compatible server's base URL (llama.cpp server, Ollama, vLLM).
    #[arg(long)]
    endpoint: Option<String>,
    /// The endpoint's API: `completions` (raw prompt) or `chat` (prompt as a user message).
    #[arg(long, default_value = "completions")]
    api: String,
    /// The text sent to the endpoint for each step, `{prompt}` replaced by the step's prompt
    /// (default: the prompt then
    /// `<|prompt_end|>` for completions — our models' form, the server adds `<|bos|>` — and the
    /// bare prompt for chat).
    #[arg(long)]
    template: Option<String>,
    /// The model name sent to the endpoint.
    #[arg(long)]
    endpoint_model: Option<String>,
    /// Drafts per record.
    #[arg(long, default_value_t = 1)]
    samples: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// Nucleus mass.
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// Most tokens of each step's verdict (at most 64).
    #[arg(long, default_value_t = 64)]
    max_tokens: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only the first N records (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Parallel copies of a local model.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

/// Runs `eerd draft`.
pub fn run(args: Args) -> Result<ExitCode> {
    eerd_trainer::threads::configure(Some(1));
    let mut records = read_records(&args.data)?;
    if args.limit > 0 {
        records.truncate(args.limit);
    }
    let prompts = focus_jobs(&records, &Lexicon::builtin())?;
    let source = match (&args.model, &args.endpoint) {
        (Some(model), None) => DraftSource::any_local(model)?,
        (None, Some(url)) => {
            let api = match args.api.as_str() {
                "chat" => Api::Chat,
                "completions" => Api::Completions,
                other => bail!("unknown --api '{other}': expected chat or completions"),
            };
            let mut config = EndpointConfig::new(url.clone());
            config.api = api;
            config.model = args.endpoint_model.clone();
            let template = args
                .template
                .clone()
                .unwrap_or_else(|| default_template(api));
            DraftSource::Endpoint(Endpoint::new(config)?, template)
        }
        _ => bail!("give --model FILE.gguf or --endpoint URL"),
    };
    let options = DraftOptions {
        samples: args.samples,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
        seed: args.seed,
        workers: args.workers,
    };
    let started = std::time::Instant::now();
    let drafts = draft_all(&source, &prompts, &options, &|done, total| {
        if done % 10 == 0 || done == total {
            eprintln!(
                "drafts: {done}/{total} ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    write_jsonl(&args.out, &drafts)?;
    eprintln!("{} drafts written to {}", drafts.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
