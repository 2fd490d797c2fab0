//! Supervised fine-tuning: the training loop with gradient accumulation, warmup + cosine
//! schedule, clipping, held-out evaluation, metrics, loss curve and resumable checkpoints.
//!
//! A run directory holds `metrics.jsonl`, `loss.svg`, `tokenizer.json` and `checkpoints/`
//! (see [`crate::checkpoint`]). Training is deterministic: resuming from a checkpoint gives the
//! same weights, bit for bit, as an uninterrupted run.

use crate::checkpoint::{self, TrainState};
use crate::data::{make_batch, DataOrder, Example, OrderState};
use crate::metrics::{write_svg, MetricsLog, Record};
use crate::model::llama::{count_params, init_varmap};
use crate::model::lora::{init_adapters, LoraConfig};
use crate::model::{Llama, ModelConfig};
use crate::optim::{AdamW, AdamWConfig, Schedule};
use anyhow::{bail, Context, Result};
use candle_core::Device;
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Training hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftConfig {
    /// Total optimizer steps.
    pub steps: u64,
    /// Sequences per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine decay.
    pub min_lr: f64,
    /// Linear warmup steps.
    pub warmup: u64,
    /// AdamW settings.
    pub optimizer: AdamWConfig,
    /// Maximum global gradient norm (0 disables clipping).
    pub clip: f64,
    /// Evaluate on the held-out set every this many steps (0: only at the end).
    pub eval_every: u64,
    /// Save a checkpoint every this many steps (0: only at the end).
    pub save_every: u64,
    /// Checkpoints to keep (0: all).
    pub keep_checkpoints: usize,
    /// Seed of weight init and data order.
    pub seed: u64,
    /// Train LoRA adapters on a frozen base instead of all weights.
    #[serde(default)]
    pub lora: Option<LoraConfig>,
}

impl Default for SftConfig {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch_size: 8,
            grad_accum: 1,
            lr: 1e-3,
            min_lr: 1e-4,
            warmup: 50,
            optimizer: AdamWConfig::default(),
            clip: 1.0,
            eval_every: 100,
            save_every: 200,
            keep_checkpoints: 3,
            seed: 1,
            lora: None,
        }
    }
}

/// Tokenized training data.
pub struct TrainData {
    /// Training examples.
    pub train: Vec<Example>,
    /// Held-out examples (may be empty).
    pub eval: Vec<Example>,
    /// The tokenizer, as `tokenizer.json` text.
    pub tokenizer_json: String,
    /// Id of `<|pad|>`.
    pub pad: u32,
}

/// How to run (not part of the training state).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Show a progress bar.
    pub progress: bool,
    /// Continue from the run directory's latest checkpoint.
    pub resume: bool,
    /// Stop (with a checkpoint) once this many steps are done, as if interrupted.
    pub stop_after: Option<u64>,
    /// Start from this checkpoint's weights (LoRA adapters merged) instead of a random init;
    /// ignored on resume.
    pub init_from: Option<PathBuf>,
}

/// The outcome of [`run`].
#[derive(Clone, Debug)]
pub struct Summary {
    /// Steps completed.
    pub step: u64,
    /// Mean training loss of the last step.
    pub last_loss: Option<f64>,
    /// Last held-out loss.
    pub eval_loss: Option<f64>,
    /// Input tokens per second of training time in this process.
    pub tokens_per_s: f64,
    /// The last checkpoint written.
    pub checkpoint: PathBuf,
}

/// Mean loss per target token of `model` on `examples`, in batches of `batch_size`.
pub fn evaluate(
    model: &Llama,
    examples: &[Example],
    batch_size: usize,
    pad: u32,
    device: &Device,
) -> Result<Option<f64>> {
    let (mut sum, mut n) = (0f64, 0usize);
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let batch = make_batch(&refs, pad);
        let (ids, targets, weights) = batch.tensors(device)?;
        sum += model
            .loss_sum(&ids, &targets, &weights)?
            .to_scalar::<f32>()? as f64;
        n += batch.target_tokens;
    }
    Ok((n > 0).then(|| sum / n as f64))
}

/// Trains (or resumes training) in `run_dir`.
pub fn run(
    run_dir: &Path,
    model_config: &ModelConfig,
    config: &SftConfig,
    data: &TrainData,
    options: &RunOptions,
    device: &Device,
) -> Result<Summary> {
    if data.train.is_empty() {
        bail!("no training examples");
    }
    if config.batch_size == 0 || config.grad_accum == 0 || config.steps == 0 {
        bail!("steps, batch size and gradient accumulation must be positive");
    }
    let max_len = data.train.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    if max_len > model_config.max_seq_len + 1 {
        bail!(
            "examples of {max_len} tokens exceed the model's max_seq_len {}",
            model_config.max_seq_len
        );
    }
    let fingerprint = crate::data::fingerprint(&data.train);
    let lengths: Vec<usize> = data.train.iter().map(|e| e.ids.len()).collect();
    let resume_from = if options.resume {
        checkpoint::latest(run_dir)?
    } else {
        if checkpoint::latest(run_dir)?.is_some() {
            bail!(
                "{} already holds a run; pass --resume to continue it or choose another output directory",
                run_dir.display()
            );
        }
        None
    };
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;

    let (varmap, adapters, mut optimizer, mut order, mut step, mut tokens_seen) = match &resume_from
    {
        Some(dir) => {
            let state = checkpoint::read_state(dir)?;
            if &state.model != model_config {
                bail!(
                    "{}: the checkpoint's model config differs from the requested one",
                    dir.display()
                );
            }
            if state.data_fingerprint != fingerprint {
                eprintln!(
                    "warning: the training data differs from the checkpoint's; the data order will not match the original run"
                );
            }
            if state.train.lora != config.lora {
                bail!("{}: LoRA settings cannot change on resume", dir.display());
            }
            let varmap =
                checkpoint::load_varmap(&dir.join(checkpoint::MODEL_FILE), model_config, device)?;
            let adapters = match &config.lora {
                Some(lora) => Some(checkpoint::load_adapters(dir, model_config, lora, device)?),
                None => None,
            };
            let mut optimizer = AdamW::new(
                adapters.as_ref().unwrap_or(&varmap),
                config.optimizer.clone(),
            );
            checkpoint::load_optimizer(dir, &mut optimizer, state.step)?;
            let order = DataOrder::grouped(
                config.seed,
                lengths.clone(),
                config.batch_size,
                state.order.clone(),
            );
            (
                varmap,
                adapters,
                optimizer,
                order,
                state.step,
                state.tokens_seen,
            )
        }
        None => {
            let varmap = match &options.init_from {
                Some(dir) => {
                    let (_, weights) = checkpoint::merged_weights(dir, device)?;
                    checkpoint::varmap_from(weights, model_config)
                        .with_context(|| format!("initial weights from {}", dir.display()))?
                }
                None => init_varmap(model_config, config.seed, device)?,
            };
            let adapters = match &config.lora {
                Some(lora) => Some(init_adapters(model_config, lora, config.seed, device)?),
                None => None,
            };
            let optimizer = AdamW::new(
                adapters.as_ref().unwrap_or(&varmap),
                config.optimizer.clone(),
            );
            let order = DataOrder::grouped(
                config.seed,
                lengths.clone(),
                config.batch_size,
                OrderState {
                    epoch: 0,
                    cursor: 0,
                },
            );
            (varmap, adapters, optimizer, order, 0, 0)
        }
    };
    crate::fsutil::write_atomic(
        &run_dir.join(checkpoint::TOKENIZER_FILE),
        data.tokenizer_json.as_bytes(),
    )?;
    let model = match (&adapters, &config.lora) {
        (Some(adapters), Some(lora)) => {
            Llama::with_lora(model_config.clone(), &varmap, adapters, lora, device)?
        }
        _ => Llama::new(model_config.clone(), &varmap, device)?,
    };
    let mut metrics = MetricsLog::open(run_dir, resume_from.as_ref().map(|_| step))?;
    let schedule = Schedule {
        lr: config.lr,
        min_lr: config.min_lr,
        warmup: config.warmup,
        total: config.steps,
    };
    let end = options
        .stop_after
        .map_or(config.steps, |s| s.min(config.steps));

    let bar = crate::metrics::step_bar(options.progress, config.steps, step);
    if step == 0 {
        bar.println(format!(
            "training {} parameters on {} examples ({} held out)",
            adapters
                .as_ref()
                .map_or_else(|| count_params(&varmap), count_params),
            data.train.len(),
            data.eval.len()
        ));
    }

    let mut train_time = Duration::ZERO;
    let mut run_tokens = 0u64;
    let (mut last_loss, mut eval_loss) = (None, None);
    let mut last_checkpoint = resume_from.clone().unwrap_or_default();
    let save = |step: u64,
                order: &DataOrder,
                tokens_seen: u64,
                optimizer: &AdamW,
                varmap: &VarMap|
     -> Result<PathBuf> {
        let state = TrainState {
            format: checkpoint::FORMAT,
            step,
            model: model_config.clone(),
            train: config.clone(),
            order: order.state.clone(),
            tokens_seen,
            data_fingerprint: fingerprint,
        };
        checkpoint::save(
            run_dir,
            &state,
            varmap,
            adapters.as_ref(),
            optimizer,
            &data.tokenizer_json,
            config.keep_checkpoints,
        )
    };

    while step < end {
        let started = Instant::now();
        let (mut loss_sum, mut targets_n, mut tokens) = (0f64, 0usize, 0usize);
        for _ in 0..config.grad_accum {
            let picked = order.next(config.batch_size);
            let refs: Vec<&Example> = picked.iter().map(|&i| &data.train[i]).collect();
            let batch = make_batch(&refs, data.pad);
            let (ids, targets, weights) = batch.tensors(device)?;
            let loss = model.loss_sum(&ids, &targets, &weights)?;
            loss_sum += loss.to_scalar::<f32>()? as f64;
            optimizer.accumulate(&loss.backward()?)?;
            targets_n += batch.target_tokens;
            tokens += batch.tokens;
        }
        let lr = schedule.at(step);
        let info = optimizer.step(lr, 1.0 / targets_n.max(1) as f64, config.clip)?;
        step += 1;
        tokens_seen += tokens as u64;
        run_tokens += tokens as u64;
        train_time += started.elapsed();
        let loss = loss_sum / targets_n.max(1) as f64;
        if !loss.is_finite() {
            bail!("loss became {loss} at step {step}: training diverged (try a lower --lr)");
        }
        last_loss = Some(loss);
        let tps = run_tokens as f64 / train_time.as_secs_f64().max(1e-9);
        metrics.push(Record {
            step,
            loss: Some(loss),
            lr: Some(lr),
            grad_norm: Some(info.grad_norm),
            tokens_per_s: Some(tps),
            tokens_seen: Some(tokens_seen),
            ..Default::default()
        })?;
        bar.set_position(step);
        bar.set_message(format!("loss {loss:.3} | {tps:.0} tok/s | lr {lr:.2e}"));

        let last = step == end;
        if !data.eval.is_empty()
            && ((config.eval_every > 0 && step % config.eval_every == 0) || step == config.steps)
        {
            eval_loss = evaluate(&model, &data.eval, config.batch_size, data.pad, device)?;
            if let Some(e) = eval_loss {
                metrics.push(Record {
                    step,
                    eval_loss: Some(e),
                    ..Default::default()
                })?;
                bar.println(format!("step {step}: held-out loss {e:.4}"));
            }
            write_svg(metrics.records(), &run_dir.join("loss.svg"))?;
        }
        if last || (config.save_every > 0 && step % config.save_every == 0) {
            last_checkpoint = save(step, &order, tokens_seen, &optimizer, &varmap)?;
            write_svg(metrics.records(), &run_dir.join("loss.svg"))?;
        }
    }
    bar.finish_and_clear();
    if last_checkpoint.as_os_str().is_empty() {
        last_checkpoint = save(step, &order, tokens_seen, &optimizer, &varmap)?;
    }
    Ok(Summary {
        step,
        last_loss,
        eval_loss,
        tokens_per_s: run_tokens as f64 / train_time.as_secs_f64().max(1e-9),
        checkpoint: last_checkpoint,
    })
}
