//! The DPO training loop.

use super::data::{self, Pair, RefLogps};
use super::loss::{self, pair_batch, Objective, RewardStats};
use super::state::{self, DpoMetrics, DpoRecord, DpoState};
use super::{DpoConfig, DpoData, RunOptions, REFERENCE_FILE};
use crate::checkpoint::{self, TrainState};
use crate::data::{DataOrder, OrderState};
use crate::model::llama::count_params;
use crate::model::{Llama, ModelConfig};
use crate::optim::{AdamW, Schedule};
use anyhow::{bail, Context, Result};
use candle_core::Device;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the reference log-probabilities of a run came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReferenceSource {
    /// Pairs whose values were supplied with the data.
    pub supplied: usize,
    /// Pairs computed with the initial weights in this process.
    pub computed: usize,
    /// Pairs read from the run directory's `reference_logps.jsonl` (resume).
    pub from_run: usize,
}

/// The outcome of [`run`].
#[derive(Clone, Debug)]
pub struct DpoSummary {
    /// Steps completed.
    pub step: u64,
    /// Statistics of the last training step.
    pub last: Option<RewardStats>,
    /// The last held-out evaluation.
    pub eval: Option<RewardStats>,
    /// Policy input tokens per second of training time in this process.
    pub tokens_per_s: f64,
    /// Pairs per second of training time in this process.
    pub pairs_per_s: f64,
    /// Seconds spent computing reference log-probabilities.
    pub reference_seconds: f64,
    /// Where the reference values came from.
    pub reference: ReferenceSource,
    /// The last checkpoint written.
    pub checkpoint: PathBuf,
}

/// The reference values of `pairs` computed with `model` in batches of `batch_size` pairs.
fn compute_reference(
    model: &Llama,
    pairs: &[&Pair],
    batch_size: usize,
    pad: u32,
    device: &Device,
) -> Result<Vec<RefLogps>> {
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(batch_size.max(1)) {
        let rows: Vec<&crate::data::Example> = chunk
            .iter()
            .map(|p| &p.chosen)
            .chain(chunk.iter().map(|p| &p.rejected))
            .collect();
        let (logps, _) = loss::sequence_logps(model, &rows, pad, device)?;
        let v: Vec<f32> = logps.to_vec1()?;
        let n = chunk.len();
        out.extend((0..n).map(|i| RefLogps {
            chosen: v[i] as f64,
            rejected: v[n + i] as f64,
        }));
    }
    Ok(out)
}

/// Loss statistics of `model` on `pairs` (no gradients).
pub fn evaluate(
    model: &Llama,
    pairs: &[Pair],
    reference: &[RefLogps],
    config: &DpoConfig,
    pad: u32,
    device: &Device,
) -> Result<Option<RewardStats>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let (mut logps, mut losses) = (Vec::new(), Vec::new());
    for (chunk, refs) in pairs
        .chunks(config.batch_size.max(1))
        .zip(reference.chunks(config.batch_size.max(1)))
    {
        let chunk: Vec<&Pair> = chunk.iter().collect();
        let refs: Vec<(f64, f64)> = refs.iter().map(|r| (r.chosen, r.rejected)).collect();
        let out = pair_batch(
            model,
            &chunk,
            &refs,
            Objective::of(config),
            pad,
            device,
            false,
        )?;
        logps.extend(out.logps);
        losses.extend(out.losses);
    }
    Ok(Some(RewardStats::of(&logps, &losses, config.beta)))
}

/// The reference values of every pair (training pairs, then held-out) from the run
/// directory's file; fails naming the first pair it lacks.
fn reference_from_run(run_dir: &Path, pairs: &[&Pair]) -> Result<Vec<RefLogps>> {
    let path = run_dir.join(REFERENCE_FILE);
    if !path.exists() {
        bail!(
            "{} is missing: the run's reference log-probabilities are needed to resume",
            path.display()
        );
    }
    let map = data::read_reference(&path)?;
    pairs
        .iter()
        .map(|p| {
            data::lookup(&map, p, &path)?.with_context(|| {
                format!(
                    "{} has no value for {} record {}: the pair data changed since the run started",
                    path.display(),
                    p.file,
                    p.record
                )
            })
        })
        .collect()
}

/// Trains (or resumes training) in `run_dir`. A new run needs `options.init_from` (the SFT
/// checkpoint: initial policy and reference); `model_config` must match its weights (only
/// `max_seq_len` may differ).
pub fn run(
    run_dir: &Path,
    model_config: &ModelConfig,
    config: &DpoConfig,
    data: &DpoData,
    options: &RunOptions,
    device: &Device,
) -> Result<DpoSummary> {
    config.validate()?;
    if data.train.is_empty() {
        bail!("no training pairs");
    }
    let longest = data
        .train
        .iter()
        .chain(&data.eval)
        .flat_map(|p| [p.chosen.ids.len(), p.rejected.ids.len()])
        .max()
        .unwrap_or(0);
    if longest > model_config.max_seq_len + 1 {
        bail!(
            "pairs of {longest} tokens exceed the model's max_seq_len {}",
            model_config.max_seq_len
        );
    }
    let fingerprint = data::fingerprint(&data.train);
    let lengths: Vec<usize> = data
        .train
        .iter()
        .map(|p| p.chosen.ids.len().max(p.rejected.ids.len()))
        .collect();
    let all_pairs: Vec<&Pair> = data.train.iter().chain(&data.eval).collect();
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
    let ref_path = run_dir.join(REFERENCE_FILE);

    let mut source = ReferenceSource::default();
    let mut reference_seconds = 0.0;
    let (varmap, mut optimizer, mut order, mut step, mut tokens_seen, mut pairs_seen, init, refs) =
        match &resume_from {
            Some(dir) => {
                let (state, dpo) = state::read(dir)?;
                if &state.model != model_config {
                    bail!(
                        "{}: the checkpoint's model config differs from the requested one",
                        dir.display()
                    );
                }
                if state.data_fingerprint != fingerprint {
                    eprintln!(
                        "warning: the pair data differs from the checkpoint's; the data order will not match the original run"
                    );
                }
                let varmap = checkpoint::load_varmap(
                    &dir.join(checkpoint::MODEL_FILE),
                    model_config,
                    device,
                )?;
                let mut optimizer = AdamW::new(&varmap, config.optimizer.clone());
                checkpoint::load_optimizer(dir, &mut optimizer, state.step)?;
                let order = DataOrder::grouped(
                    config.seed,
                    lengths.clone(),
                    config.batch_size,
                    state.order,
                );
                let refs = reference_from_run(run_dir, &all_pairs)?;
                source.from_run = refs.len();
                (
                    varmap,
                    optimizer,
                    order,
                    state.step,
                    state.tokens_seen,
                    dpo.pairs_seen,
                    dpo.init,
                    refs,
                )
            }
            None => {
                let init = options.init_from.as_ref().context(
                    "a new DPO run needs initial weights (--init: the SFT run or checkpoint)",
                )?;
                let init = checkpoint::resolve(init)?;
                let (_, weights) = checkpoint::merged_weights(&init, device)?;
                let varmap = checkpoint::varmap_from(weights, model_config)
                    .with_context(|| format!("initial weights from {}", init.display()))?;
                let started = Instant::now();
                let missing: Vec<&Pair> = all_pairs
                    .iter()
                    .copied()
                    .filter(|p| p.reference.is_none())
                    .collect();
                let computed = if missing.is_empty() {
                    Vec::new()
                } else {
                    let model = Llama::new(model_config.clone(), &varmap, device)?;
                    compute_reference(&model, &missing, config.batch_size, data.pad, device)?
                };
                let mut computed = computed.into_iter();
                let values: Vec<RefLogps> = all_pairs
                    .iter()
                    .map(|p| {
                        p.reference
                            .unwrap_or_else(|| computed.next().expect("computed"))
                    })
                    .collect();
                source.computed = missing.len();
                source.supplied = all_pairs.len() - missing.len();
                data::write_reference(&ref_path, all_pairs.iter().copied(), &values)?;
                // Use the values as read back, exactly what a resumed run will see.
                let refs = reference_from_run(run_dir, &all_pairs)?;
                reference_seconds = started.elapsed().as_secs_f64();
                let optimizer = AdamW::new(&varmap, config.optimizer.clone());
                let order = DataOrder::grouped(
                    config.seed,
                    lengths.clone(),
                    config.batch_size,
                    OrderState {
                        epoch: 0,
                        cursor: 0,
                    },
                );
                (varmap, optimizer, order, 0, 0, 0, Some(init), refs)
            }
        };
    let (train_refs, eval_refs) = refs.split_at(data.train.len());
    crate::fsutil::write_atomic(
        &run_dir.join(checkpoint::TOKENIZER_FILE),
        data.tokenizer_json.as_bytes(),
    )?;
    let model = Llama::new(model_config.clone(), &varmap, device)?;
    let mut metrics = DpoMetrics::open(run_dir, resume_from.as_ref().map(|_| step))?;
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
            "DPO ({} loss, beta {}) of {} parameters on {} pairs ({} held out); reference: {} computed in {:.1}s, {} supplied",
            config.loss,
            config.beta,
            count_params(&varmap),
            data.train.len(),
            data.eval.len(),
            source.computed,
            reference_seconds,
            source.supplied
        ));
    }

    let save = |step: u64,
                order: &DataOrder,
                tokens_seen: u64,
                pairs_seen: u64,
                optimizer: &AdamW|
     -> Result<PathBuf> {
        let base = TrainState {
            format: checkpoint::FORMAT,
            step,
            model: model_config.clone(),
            train: config.as_sft(),
            order: order.state.clone(),
            tokens_seen,
            data_fingerprint: fingerprint,
        };
        let dpo = DpoState {
            config: config.clone(),
            pairs_seen,
            init: init.clone(),
        };
        state::save(
            run_dir,
            &base,
            &dpo,
            &varmap,
            optimizer,
            &data.tokenizer_json,
            config.keep_checkpoints,
        )
    };

    let mut train_time = Duration::ZERO;
    let (mut run_tokens, mut run_pairs) = (0u64, 0u64);
    let (mut last, mut eval) = (None, None);
    let mut last_checkpoint = resume_from.clone().unwrap_or_default();
    while step < end {
        let started = Instant::now();
        let (mut logps, mut losses, mut tokens) = (Vec::new(), Vec::new(), 0usize);
        for _ in 0..config.grad_accum {
            let picked = order.next(config.batch_size);
            let pairs: Vec<&Pair> = picked.iter().map(|&i| &data.train[i]).collect();
            let refs: Vec<(f64, f64)> = picked
                .iter()
                .map(|&i| (train_refs[i].chosen, train_refs[i].rejected))
                .collect();
            let out = pair_batch(
                &model,
                &pairs,
                &refs,
                Objective::of(config),
                data.pad,
                device,
                true,
            )?;
            optimizer.accumulate(out.grads.as_ref().expect("asked for gradients"))?;
            tokens += out.tokens;
            logps.extend(out.logps);
            losses.extend(out.losses);
        }
        let lr = schedule.at(step);
        let info = optimizer.step(lr, 1.0 / logps.len().max(1) as f64, config.clip)?;
        step += 1;
        tokens_seen += tokens as u64;
        pairs_seen += logps.len() as u64;
        run_tokens += tokens as u64;
        run_pairs += logps.len() as u64;
        train_time += started.elapsed();
        let stats = RewardStats::of(&logps, &losses, config.beta);
        if !stats.loss.is_finite() {
            bail!(
                "loss became {} at step {step}: training diverged (try a lower --lr or --beta)",
                stats.loss
            );
        }
        last = Some(stats);
        let secs = train_time.as_secs_f64().max(1e-9);
        let (tps, pps) = (run_tokens as f64 / secs, run_pairs as f64 / secs);
        metrics.push(DpoRecord {
            lr: Some(lr),
            grad_norm: Some(info.grad_norm),
            tokens_per_s: Some(tps),
            pairs_per_s: Some(pps),
            tokens_seen: Some(tokens_seen),
            ..DpoRecord::train(step, &stats)
        })?;
        bar.set_position(step);
        bar.set_message(format!(
            "loss {:.3} | acc {:.2} | margin {:.3} | {tps:.0} tok/s | lr {lr:.2e}",
            stats.loss, stats.accuracy, stats.margin
        ));

        if !data.eval.is_empty()
            && ((config.eval_every > 0 && step % config.eval_every == 0) || step == config.steps)
        {
            eval = evaluate(&model, &data.eval, eval_refs, config, data.pad, device)?;
            if let Some(e) = &eval {
                metrics.push(DpoRecord::eval(step, e))?;
                bar.println(format!(
                    "step {step}: held-out loss {:.4}, reward accuracy {:.3}, margin {:.4}",
                    e.loss, e.accuracy, e.margin
                ));
            }
            state::write_svg(&metrics, run_dir)?;
        }
        if step == end || (config.save_every > 0 && step % config.save_every == 0) {
            last_checkpoint = save(step, &order, tokens_seen, pairs_seen, &optimizer)?;
            state::write_svg(&metrics, run_dir)?;
        }
    }
    bar.finish_and_clear();
    if last_checkpoint.as_os_str().is_empty() {
        last_checkpoint = save(step, &order, tokens_seen, pairs_seen, &optimizer)?;
    }
    let secs = train_time.as_secs_f64().max(1e-9);
    Ok(DpoSummary {
        step,
        last,
        eval,
        tokens_per_s: run_tokens as f64 / secs,
        pairs_per_s: run_pairs as f64 / secs,
        reference_seconds,
        reference: source,
        checkpoint: last_checkpoint,
    })
}
