//! Direct Preference Optimization (stage 4 of the R2tA pipeline): fine-tunes an SFT model on
//! preference pairs `{"prompt", "chosen", "rejected"}` against the frozen SFT weights.
//!
//! - [`data`]: pair files, the reference log-probability file;
//! - [`setup`]: model configuration, tokenizer and pairs from an SFT run and pair files;
//! - [`loss`]: the `sigmoid` / `ipo` / `hinge` losses and sequence log-probabilities;
//! - [`train`]: the training loop;
//! - [`state`]: checkpoints (the SFT layout, so `eerd export` reads them) and metrics.
//!
//! The reference model is the initial (SFT) policy. Its log-probabilities are computed once at
//! the start with the initial weights (or supplied, [`data::attach_reference`]) and stored in
//! `RUN/reference_logps.jsonl`, which a resumed run reads instead of recomputing. Each step
//! runs the policy on the chosen and rejected completions of `batch_size` pairs as one padded
//! batch, weights the sequence log-probabilities by the loss's closed-form derivatives and
//! back-propagates once; AdamW, the schedule, clipping, gradient accumulation and the data
//! order are the SFT ones, and `--resume` reproduces an uninterrupted run bit for bit.
//!
//! Reference values are computed in file-order batches while training batches are grouped by
//! length, so at step 0 `h` is zero only up to float rounding (~1e-5 nats).

pub mod data;
pub mod loss;
pub mod setup;
pub mod state;
pub mod train;

pub use crate::sft::RunOptions;
pub use data::{load_pairs, Pair, PairFile, PairLoadStats, RefLogps};
pub use loss::{
    completion_tokens, pair_batch, pair_loss, DpoLoss, Objective, PairLogps, PairLoss, RewardStats,
};
pub use setup::{prepare, DataFiles, Prepared};
pub use train::{evaluate, run, DpoSummary, ReferenceSource};

use crate::optim::AdamWConfig;
use crate::sft::SftConfig;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The reference log-probability file in a run directory.
pub const REFERENCE_FILE: &str = "reference_logps.jsonl";

/// DPO hyper-parameters. Every field has a default, so a TOML table may give any subset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoConfig {
    /// Total optimizer steps.
    pub steps: u64,
    /// Pairs per micro-batch (each pair is two sequences).
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine decay.
    pub min_lr: f64,
    /// Linear warmup steps.
    pub warmup: u64,
    /// AdamW settings (weight decay 0 by default: decay pulls away from the reference).
    pub optimizer: AdamWConfig,
    /// Maximum global gradient norm (0 disables clipping).
    pub clip: f64,
    /// The preference loss.
    pub loss: DpoLoss,
    /// Strength β of the KL regularisation towards the reference.
    pub beta: f64,
    /// Weight α of the chosen completion's mean negative log-likelihood added to the preference
    /// loss (RPO, Pang et al. 2024: keeps the chosen traces likely while the margin grows;
    /// 0 = plain DPO).
    pub nll_weight: f64,
    /// Evaluate on the held-out pairs every this many steps (0: only at the end).
    pub eval_every: u64,
    /// Save a checkpoint every this many steps (0: only at the end).
    pub save_every: u64,
    /// Checkpoints to keep (0: all).
    pub keep_checkpoints: usize,
    /// Seed of the data order.
    pub seed: u64,
}

impl Default for DpoConfig {
    fn default() -> Self {
        Self {
            steps: 200,
            batch_size: 4,
            grad_accum: 1,
            lr: 5e-5,
            min_lr: 5e-6,
            warmup: 10,
            optimizer: AdamWConfig {
                weight_decay: 0.0,
                ..AdamWConfig::default()
            },
            clip: 1.0,
            loss: DpoLoss::Sigmoid,
            beta: 0.1,
            nll_weight: 0.0,
            eval_every: 50,
            save_every: 100,
            keep_checkpoints: 3,
            seed: 1,
        }
    }
}

impl DpoConfig {
    /// The SFT view of these settings, stored as `train` in checkpoints so that tools reading
    /// SFT checkpoints read DPO ones.
    pub fn as_sft(&self) -> SftConfig {
        SftConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            lr: self.lr,
            min_lr: self.min_lr,
            warmup: self.warmup,
            optimizer: self.optimizer.clone(),
            clip: self.clip,
            eval_every: self.eval_every,
            save_every: self.save_every,
            keep_checkpoints: self.keep_checkpoints,
            seed: self.seed,
            lora: None,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.batch_size == 0 || self.grad_accum == 0 {
            bail!("DPO: steps, batch size and gradient accumulation must be positive");
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            bail!("DPO: beta must be positive, got {}", self.beta);
        }
        if !(self.nll_weight.is_finite() && self.nll_weight >= 0.0) {
            bail!(
                "DPO: nll_weight must be finite and non-negative, got {}",
                self.nll_weight
            );
        }
        if !(self.lr.is_finite() && self.lr >= 0.0 && self.min_lr.is_finite()) {
            bail!("DPO: learning rates must be finite and non-negative");
        }
        Ok(())
    }
}

/// Tokenized preference data.
#[derive(Clone, Debug)]
pub struct DpoData {
    /// Training pairs.
    pub train: Vec<Pair>,
    /// Held-out pairs (may be empty).
    pub eval: Vec<Pair>,
    /// The tokenizer, as `tokenizer.json` text.
    pub tokenizer_json: String,
    /// Id of `<|pad|>`.
    pub pad: u32,
}
