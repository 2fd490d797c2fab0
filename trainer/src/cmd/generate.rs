//! `eerd generate --model model.gguf --prompt TEXT`: run an exported model.

use anyhow::{bail, Result};
use eerd::runtime::{GenerateOptions, Sampling, StopReason};
use eerd_trainer::model_files::ModelFiles;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd generate`.
#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model.
    #[arg(long)]
    model: PathBuf,
    /// The tokenizer (default: the GGUF file's own `tokenizer.ggml.*` metadata, else
    /// `tokenizer.json` beside the model).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// The prompt text.
    #[arg(long, conflicts_with = "prompt_file")]
    prompt: Option<String>,
    /// A file holding the prompt (`-`: standard input).
    #[arg(long)]
    prompt_file: Option<PathBuf>,
    /// Use the prompt as is, without `<|bos|>` … `<|prompt_end|>` around it.
    #[arg(long)]
    raw: bool,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Nucleus (top-p) mass when sampling.
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// Keep at most this many tokens when sampling (0: no limit).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Random seed when sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop when the output contains this text (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// Go on past the end token until `--max-tokens` (decode-speed measurements).
    #[arg(long)]
    ignore_eos: bool,
    /// CPU threads (default: `CANDLE_NUM_THREADS`, else 1).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object (prompt ids, generated ids, text, stop reason) instead of
    /// streaming the text.
    #[arg(long)]
    json: bool,
}

/// Runs `eerd generate`.
pub fn run(args: Args) -> Result<ExitCode> {
    let threads = eerd_trainer::threads::configure(args.threads);
    if !(0.0..=1.0).contains(&args.top_p) || args.top_p == 0.0 {
        bail!("--top-p must be in (0, 1], got {}", args.top_p);
    }
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => super::input::read_text(f)?,
        (None, None) => bail!("give --prompt or --prompt-file"),
    };
    let started = std::time::Instant::now();
    let mut model = ModelFiles::read(&args.model, args.tokenizer.as_deref())?.load()?;
    model.set_threads(threads);
    let load_time = started.elapsed();
    let ids = if args.raw {
        model.encode(&prompt)?
    } else {
        model.prompt_ids(&prompt)?
    };
    let sampling = if args.temperature > 0.0 {
        Sampling::TopP {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: args.top_k,
            seed: args.seed,
        }
    } else {
        Sampling::Greedy
    };
    let options = GenerateOptions {
        max_tokens: args.max_tokens,
        sampling,
        stop: args.stop.clone(),
        ignore_eos: args.ignore_eos,
    };
    let started = std::time::Instant::now();
    let mut out = std::io::stdout().lock();
    let result = model.generate(&ids, &options, |event| {
        if !args.json {
            let _ = out.write_all(event.text.as_bytes());
            let _ = out.flush();
        }
        ControlFlow::Continue(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let reason = match &result.stop {
        StopReason::Eos => "end of sequence".to_string(),
        StopReason::StopSequence(s) => format!("stop sequence {s:?}"),
        StopReason::MaxTokens => "token limit".to_string(),
        StopReason::ContextFull => "context full".to_string(),
        StopReason::Cancelled => "cancelled".to_string(),
    };
    if args.json {
        let value = serde_json::json!({
            "prompt_ids": ids,
            "tokens": result.tokens,
            "text": result.text,
            "stop": reason,
            "seconds": secs,
        });
        let _ = writeln!(out, "{value}");
    } else {
        let _ = writeln!(out);
    }
    eprintln!(
        "{} prompt tokens, {} generated in {secs:.2}s ({:.1} tok/s incl. prefill; load {:.0} ms); stopped: {reason}",
        result.prompt_tokens,
        result.tokens.len(),
        result.tokens.len() as f64 / secs.max(1e-9),
        load_time.as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}
