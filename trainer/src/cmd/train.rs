//! `eerd train sft --data train.jsonl --tokenizer tokenizer.json --out runs/NAME`: supervised
//! fine-tuning of a new (or resumed) model.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use eerd_trainer::checkpoint;
use eerd_trainer::data::{load_jsonl, Example, LoadStats};
use eerd_trainer::model::lora::LoraConfig;
use eerd_trainer::model::ModelConfig;
use eerd_trainer::rng::Rng;
use eerd_trainer::sft::{self, RunOptions, SftConfig, TrainData};
use eerd_trainer::tokenizer::{self, Specials};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `eerd train`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TrainCommand,
}

#[derive(Subcommand)]
enum TrainCommand {
    /// Supervised fine-tuning on JSONL `{"prompt": …, "completion": …}` records (loss on the
    /// completion only).
    Sft(Box<SftArgs>),
}

/// Arguments of `eerd train sft`. Hyper-parameters left out take their defaults on a new run,
/// and the checkpoint's values with `--resume`.
#[derive(clap::Args)]
struct SftArgs {
    /// Training data (JSONL with string fields `prompt` and `completion`).
    #[arg(long)]
    data: PathBuf,
    /// Held-out data; without it, `--eval-fraction` of the training data is held out.
    #[arg(long)]
    eval_data: Option<PathBuf>,
    /// Fraction of the training records held out when there is no `--eval-data` (at most 500).
    #[arg(long, default_value_t = 0.05)]
    eval_fraction: f64,
    /// The tokenizer (`eerd tokenizer train`); with `--resume` or `--init`, the checkpoint's.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Run directory: checkpoints, metrics.jsonl, loss.svg, tokenizer.json.
    #[arg(long, short)]
    out: PathBuf,
    /// Continue the run in `--out` from its latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// Model size: tiny, 2m, 8m or 24m.
    #[arg(long, default_value = "2m")]
    preset: String,
    /// Longest training sequence in tokens (default: the preset's).
    #[arg(long)]
    seq_len: Option<usize>,
    /// Start from this checkpoint or run directory (e.g. made by `eerd import hf`): its model
    /// config, weights and (unless --tokenizer) tokenizer.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Total optimizer steps [default: 1000].
    #[arg(long)]
    steps: Option<u64>,
    /// Sequences per micro-batch [default: 8].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Micro-batches per optimizer step [default: 1].
    #[arg(long)]
    grad_accum: Option<usize>,
    /// Peak learning rate [default: 1e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate of the cosine decay [default: 1e-4].
    #[arg(long)]
    min_lr: Option<f64>,
    /// Warmup steps [default: 50].
    #[arg(long)]
    warmup: Option<u64>,
    /// AdamW decoupled weight decay (not applied to norms and embeddings) [default: 0.1].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Clip the global gradient norm to this (0: off) [default: 1.0].
    #[arg(long)]
    clip: Option<f64>,
    /// Held-out evaluation every N steps [default: 100].
    #[arg(long)]
    eval_every: Option<u64>,
    /// Checkpoint every N steps [default: 200].
    #[arg(long)]
    save_every: Option<u64>,
    /// Checkpoints to keep (0: all) [default: 3].
    #[arg(long)]
    keep: Option<usize>,
    /// Seed of init and data order [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Train rank-R LoRA adapters on the frozen (e.g. `--init`) weights instead of all
    /// weights; export merges them. Fixed for the run (not changeable on resume).
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA scale numerator (the update is scaled by alpha / rank) [default: 2 × rank].
    #[arg(long, requires = "lora_rank")]
    lora_alpha: Option<f64>,
    /// Stop after this many steps (saving a checkpoint), to continue later with --resume.
    #[arg(long)]
    stop_after: Option<u64>,
    /// CPU threads (default: `CANDLE_NUM_THREADS`, else 1; 1 is fastest on 2 cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Device: cpu, or cuda / cuda:N with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `eerd train`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        TrainCommand::Sft(a) => run_sft(*a),
    }
}

fn apply_overrides(mut c: SftConfig, a: &SftArgs) -> (SftConfig, bool) {
    let before = c.clone();
    macro_rules! set {
        ($($field:ident = $arg:expr),*) => {$(if let Some(v) = $arg { c.$field = v; })*};
    }
    set!(
        steps = a.steps,
        batch_size = a.batch_size,
        grad_accum = a.grad_accum,
        lr = a.lr,
        min_lr = a.min_lr,
        warmup = a.warmup,
        clip = a.clip,
        eval_every = a.eval_every,
        save_every = a.save_every,
        keep_checkpoints = a.keep,
        seed = a.seed
    );
    if let Some(wd) = a.weight_decay {
        c.optimizer.weight_decay = wd;
    }
    if let Some(rank) = a.lora_rank {
        c.lora = (rank > 0).then(|| LoraConfig {
            rank,
            alpha: a.lora_alpha.unwrap_or(2.0 * rank as f64),
        });
    }
    let changed = c != before;
    (c, changed)
}

fn report_load(path: &Path, stats: &LoadStats, seq_len: usize) {
    if stats.dropped_long_prompt > 0 || stats.truncated > 0 {
        eprintln!(
            "{}: {} records; {} dropped (prompt longer than {seq_len} tokens), {} completions truncated",
            path.display(),
            stats.records,
            stats.dropped_long_prompt,
            stats.truncated
        );
    }
}

fn run_sft(a: SftArgs) -> Result<ExitCode> {
    eerd_trainer::threads::configure(a.threads);
    let device = eerd_trainer::threads::device(&a.device)?;
    let resume_dir = if a.resume {
        Some(
            checkpoint::latest(&a.out)?
                .with_context(|| format!("--resume: {} has no checkpoint", a.out.display()))?,
        )
    } else {
        None
    };
    let (tokenizer_path, base_config, train_config) = match &resume_dir {
        Some(dir) => {
            let state = checkpoint::read_state(dir)?;
            let (config, changed) = apply_overrides(state.train, &a);
            if changed {
                eprintln!("note: hyper-parameters changed on resume; the run will not replay the original exactly");
            }
            (
                dir.join(checkpoint::TOKENIZER_FILE),
                Some(state.model),
                config,
            )
        }
        None => {
            let path = match (&a.tokenizer, &a.init) {
                (Some(p), _) => p.clone(),
                (None, Some(init)) => checkpoint::resolve(init)?.join(checkpoint::TOKENIZER_FILE),
                (None, None) => bail!("--tokenizer is required for a new run"),
            };
            (path, None, apply_overrides(SftConfig::default(), &a).0)
        }
    };
    let tok = tokenizer::load(&tokenizer_path)?;
    let specials = Specials::of(&tok).with_context(|| format!("{}", tokenizer_path.display()))?;
    let model_config = match base_config {
        Some(c) => c,
        None => {
            let mut c = match &a.init {
                Some(init) => checkpoint::read_state(&checkpoint::resolve(init)?)?.model,
                None => ModelConfig::preset(&a.preset, tok.get_vocab_size(true))?,
            };
            if let Some(n) = a.seq_len {
                c.max_seq_len = n;
            }
            if c.vocab_size < tok.get_vocab_size(true) {
                bail!(
                    "the tokenizer has {} tokens but the model only {}",
                    tok.get_vocab_size(true),
                    c.vocab_size
                );
            }
            c.validate()?;
            c
        }
    };
    let seq = model_config.max_seq_len;
    let (mut train, stats) = load_jsonl(&a.data, &tok, &specials, seq)?;
    report_load(&a.data, &stats, seq);
    let eval: Vec<Example> = match &a.eval_data {
        Some(path) => {
            let (eval, stats) = load_jsonl(path, &tok, &specials, seq)?;
            report_load(path, &stats, seq);
            eval
        }
        None => {
            if !(0.0..1.0).contains(&a.eval_fraction) {
                bail!("--eval-fraction must be in [0, 1)");
            }
            let n = ((train.len() as f64 * a.eval_fraction).round() as usize).min(500);
            let mut idx: Vec<usize> = (0..train.len()).collect();
            Rng::new(train_config.seed ^ 0xe7a1).shuffle(&mut idx);
            let held: std::collections::HashSet<usize> = idx[..n].iter().copied().collect();
            let mut eval = Vec::with_capacity(n);
            let mut rest = Vec::with_capacity(train.len() - n);
            for (i, e) in train.into_iter().enumerate() {
                if held.contains(&i) {
                    eval.push(e);
                } else {
                    rest.push(e);
                }
            }
            train = rest;
            eval
        }
    };
    let data = TrainData {
        train,
        eval,
        tokenizer_json: tok
            .to_string(false)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?,
        pad: specials.pad,
    };
    let options = RunOptions {
        progress: !a.quiet,
        resume: a.resume,
        stop_after: a.stop_after,
        init_from: match &a.init {
            Some(p) => Some(checkpoint::resolve(p)?),
            None => None,
        },
    };
    let summary = sft::run(
        &a.out,
        &model_config,
        &train_config,
        &data,
        &options,
        &device,
    )?;
    eprintln!(
        "step {}: train loss {}, held-out loss {}, {:.0} tok/s; checkpoint {}",
        summary.step,
        summary.last_loss.map_or("-".into(), |l| format!("{l:.4}")),
        summary.eval_loss.map_or("-".into(), |l| format!("{l:.4}")),
        summary.tokens_per_s,
        summary.checkpoint.display()
    );
    Ok(ExitCode::SUCCESS)
}
