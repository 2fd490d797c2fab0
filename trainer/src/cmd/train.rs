//! `eerd train sft --data train.jsonl --tokenizer tokenizer.json --out runs/NAME`: supervised
//! fine-tuning of a new (or resumed) model; `eerd train dpo --init runs/sft --data pairs.jsonl
//! --out runs/dpo`: preference optimization of an SFT model.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use eerd_trainer::checkpoint;
use eerd_trainer::data::{load_jsonl, Example, LoadStats};
use eerd_trainer::dpo::{self, DataFiles, DpoConfig, DpoLoss, PairLoadStats};
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
    /// Direct preference optimization of an SFT model on JSONL `{"prompt": …, "chosen": …,
    /// "rejected": …}` pairs (losses sigmoid, ipo or hinge; reference: the initial weights).
    Dpo(Box<DpoArgs>),
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
    /// CPU threads (default: `CANDLE_NUM_THREADS`, else every core).
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
        TrainCommand::Dpo(a) => run_dpo(*a),
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
    eerd_trainer::threads::configure_for_training(a.threads);
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

/// Arguments of `eerd train dpo`. Hyper-parameters left out take their defaults on a new run,
/// and the checkpoint's values with `--resume`.
#[derive(clap::Args)]
struct DpoArgs {
    /// Preference pairs (JSONL with string fields `prompt`, `chosen` and `rejected`).
    #[arg(long)]
    data: PathBuf,
    /// Held-out pairs; without it, `--eval-fraction` of the pairs is held out.
    #[arg(long)]
    eval_data: Option<PathBuf>,
    /// Fraction of the pairs held out when there is no `--eval-data` (at most 500).
    #[arg(long, default_value_t = 0.05)]
    eval_fraction: f64,
    /// The SFT run directory or checkpoint to start from: initial policy, frozen reference,
    /// model config and tokenizer. Required for a new run.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Reference log-probabilities (JSONL `{"record", "chosen", "rejected"}`, see the README)
    /// instead of computing them with the initial weights.
    #[arg(long)]
    reference_logps: Option<PathBuf>,
    /// Run directory: checkpoints, metrics.jsonl, loss.svg, reference_logps.jsonl,
    /// tokenizer.json.
    #[arg(long, short)]
    out: PathBuf,
    /// Continue the run in `--out` from its latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// Longest sequence in tokens (default: the model's); longer pairs are dropped.
    #[arg(long)]
    seq_len: Option<usize>,
    /// Loss: sigmoid (DPO), ipo or hinge [default: sigmoid].
    #[arg(long)]
    loss: Option<DpoLoss>,
    /// Strength of the pull towards the reference [default: 0.1].
    #[arg(long)]
    beta: Option<f64>,
    /// Weight of the chosen completion's mean NLL added to the loss (RPO) [default: 0].
    #[arg(long)]
    nll_weight: Option<f64>,
    /// Total optimizer steps [default: 200].
    #[arg(long)]
    steps: Option<u64>,
    /// Pairs per micro-batch [default: 4].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Micro-batches per optimizer step [default: 1].
    #[arg(long)]
    grad_accum: Option<usize>,
    /// Peak learning rate [default: 5e-5].
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate of the cosine decay [default: 5e-6].
    #[arg(long)]
    min_lr: Option<f64>,
    /// Warmup steps [default: 10].
    #[arg(long)]
    warmup: Option<u64>,
    /// AdamW decoupled weight decay [default: 0].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Clip the global gradient norm to this (0: off) [default: 1.0].
    #[arg(long)]
    clip: Option<f64>,
    /// Held-out evaluation every N steps [default: 50].
    #[arg(long)]
    eval_every: Option<u64>,
    /// Checkpoint every N steps [default: 100].
    #[arg(long)]
    save_every: Option<u64>,
    /// Checkpoints to keep (0: all) [default: 3].
    #[arg(long)]
    keep: Option<usize>,
    /// Seed of the data order and held-out split [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after this many steps (saving a checkpoint), to continue later with --resume.
    #[arg(long)]
    stop_after: Option<u64>,
    /// CPU threads (default: `CANDLE_NUM_THREADS`, else every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Device: cpu, or cuda / cuda:N with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn apply_dpo_overrides(mut c: DpoConfig, a: &DpoArgs) -> (DpoConfig, bool) {
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
        loss = a.loss,
        beta = a.beta,
        nll_weight = a.nll_weight,
        eval_every = a.eval_every,
        save_every = a.save_every,
        keep_checkpoints = a.keep,
        seed = a.seed
    );
    if let Some(wd) = a.weight_decay {
        c.optimizer.weight_decay = wd;
    }
    let changed = c != before;
    (c, changed)
}

fn report_pairs(path: &Path, stats: &PairLoadStats, seq_len: usize) {
    if stats.dropped() > 0 {
        eprintln!(
            "{}: {} pairs; {} dropped for length over {seq_len} tokens ({} prompt, {} completion)",
            path.display(),
            stats.records,
            stats.dropped(),
            stats.dropped_long_prompt,
            stats.dropped_long_completion
        );
    }
    if stats.identical > 0 {
        eprintln!(
            "{}: warning: {} pairs have identical chosen and rejected completions",
            path.display(),
            stats.identical
        );
    }
}

fn run_dpo(a: DpoArgs) -> Result<ExitCode> {
    eerd_trainer::threads::configure_for_training(a.threads);
    let device = eerd_trainer::threads::device(&a.device)?;
    let (model_from, config, seq_len) = if a.resume {
        let dir = checkpoint::latest(&a.out)?
            .with_context(|| format!("--resume: {} has no checkpoint", a.out.display()))?;
        let (_, state) = dpo::state::read(&dir)?;
        let (config, changed) = apply_dpo_overrides(state.config, &a);
        if changed {
            eprintln!("note: hyper-parameters changed on resume; the run will not replay the original exactly");
        }
        if a.init.is_some() || a.reference_logps.is_some() || a.seq_len.is_some() {
            eprintln!("note: --init, --reference-logps and --seq-len are ignored on resume");
        }
        (dir, config, None)
    } else {
        let init = a
            .init
            .clone()
            .context("--init (the SFT run directory or checkpoint) is required for a new run")?;
        let (config, _) = apply_dpo_overrides(DpoConfig::default(), &a);
        (init, config, a.seq_len)
    };
    let files = DataFiles {
        data: a.data.clone(),
        eval_data: a.eval_data.clone(),
        eval_fraction: a.eval_fraction,
        reference_logps: if a.resume {
            None
        } else {
            a.reference_logps.clone()
        },
    };
    let prepared = dpo::prepare(&model_from, &files, seq_len, config.seed)?;
    for (path, stats) in &prepared.stats {
        report_pairs(path, stats, prepared.model.max_seq_len);
    }
    let options = RunOptions {
        progress: !a.quiet,
        resume: a.resume,
        stop_after: a.stop_after,
        init_from: if a.resume { None } else { Some(model_from) },
    };
    let summary = dpo::run(
        &a.out,
        &prepared.model,
        &config,
        &prepared.data,
        &options,
        &device,
    )?;
    let fmt = |s: &Option<dpo::RewardStats>| {
        s.map_or("-".to_string(), |s| {
            format!(
                "loss {:.4}, reward accuracy {:.3}, margin {:.4} (chosen {:+.4}, rejected {:+.4})",
                s.loss, s.accuracy, s.margin, s.chosen_reward, s.rejected_reward
            )
        })
    };
    let r = &summary.reference;
    eprintln!(
        "reference log-probs: {} computed ({:.1}s), {} supplied, {} from the run directory",
        r.computed, summary.reference_seconds, r.supplied, r.from_run
    );
    eprintln!(
        "step {}: train {}; held-out {}; {:.0} tok/s, {:.2} pairs/s; checkpoint {}",
        summary.step,
        fmt(&summary.last),
        fmt(&summary.eval),
        summary.tokens_per_s,
        summary.pairs_per_s,
        summary.checkpoint.display()
    );
    Ok(ExitCode::SUCCESS)
}
