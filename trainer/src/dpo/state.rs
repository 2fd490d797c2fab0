//! DPO checkpoints and metrics.
//!
//! A DPO checkpoint has the SFT layout (see [`crate::checkpoint`]), so `eerd export`,
//! `eerd generate` (via export) and `eerd train sft --init` read it unchanged: its
//! `state.json` is a [`TrainState`] (the `train` field holds the SFT view of the DPO settings)
//! plus a `dpo` object with the DPO configuration and counters.

use super::loss::RewardStats;
use super::DpoConfig;
use crate::checkpoint::{self, TrainState};
use crate::fsutil::write_atomic;
use crate::optim::AdamW;
use anyhow::{bail, Context, Result};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The DPO part of a checkpoint's `state.json` (under the key `dpo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DpoState {
    /// The DPO configuration.
    pub config: DpoConfig,
    /// Pairs trained on so far.
    pub pairs_seen: u64,
    /// The checkpoint the policy and reference started from.
    pub init: Option<PathBuf>,
}

/// Writes a checkpoint atomically (temporary directory, then rename), points `latest` at it
/// and keeps the newest `keep` (0: all).
pub fn save(
    run_dir: &Path,
    state: &TrainState,
    dpo: &DpoState,
    varmap: &VarMap,
    optimizer: &AdamW,
    tokenizer_json: &str,
    keep: usize,
) -> Result<PathBuf> {
    let mut value = serde_json::to_value(state)?;
    value["dpo"] = serde_json::to_value(dpo)?;
    checkpoint::save_with_state(
        run_dir,
        state.step,
        &serde_json::to_string_pretty(&value)?,
        varmap,
        None,
        optimizer,
        tokenizer_json,
        keep,
    )
}

/// Reads a DPO checkpoint's state; fails if it is not a DPO checkpoint.
pub fn read(dir: &Path) -> Result<(TrainState, DpoState)> {
    let state = checkpoint::read_state(dir)?;
    let path = dir.join(checkpoint::STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid state", path.display()))?;
    let Some(dpo) = value.get("dpo") else {
        bail!(
            "{} is not a DPO checkpoint (its state has no `dpo` entry)",
            dir.display()
        );
    };
    let dpo: DpoState = serde_json::from_value(dpo.clone())
        .with_context(|| format!("{}: invalid DPO state", path.display()))?;
    Ok((state, dpo))
}

/// One line of a DPO run's `metrics.jsonl`: a training step or a held-out evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DpoRecord {
    /// Optimizer step.
    pub step: u64,
    /// Mean loss per pair over the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Mean chosen reward `β (π_c − ref_c)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_reward: Option<f64>,
    /// Mean rejected reward `β (π_r − ref_r)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_reward: Option<f64>,
    /// Share of pairs whose chosen reward exceeds the rejected one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_accuracy: Option<f64>,
    /// Mean chosen minus rejected reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_margin: Option<f64>,
    /// Learning rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Global gradient norm (of the mean loss) before clipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    /// Policy input tokens (chosen and rejected) per second of training time in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Pairs per second of training time in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs_per_s: Option<f64>,
    /// Policy input tokens since the start of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_seen: Option<u64>,
    /// Held-out mean loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    /// Held-out reward accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_reward_accuracy: Option<f64>,
    /// Held-out reward margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_reward_margin: Option<f64>,
    /// Held-out chosen reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_chosen_reward: Option<f64>,
    /// Held-out rejected reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_rejected_reward: Option<f64>,
}

impl DpoRecord {
    /// A training-step record from the step's statistics.
    pub fn train(step: u64, s: &RewardStats) -> Self {
        Self {
            step,
            loss: Some(s.loss),
            chosen_reward: Some(s.chosen_reward),
            rejected_reward: Some(s.rejected_reward),
            reward_accuracy: Some(s.accuracy),
            reward_margin: Some(s.margin),
            ..Self::default()
        }
    }

    /// A held-out evaluation record.
    pub fn eval(step: u64, s: &RewardStats) -> Self {
        Self {
            step,
            eval_loss: Some(s.loss),
            eval_reward_accuracy: Some(s.accuracy),
            eval_reward_margin: Some(s.margin),
            eval_chosen_reward: Some(s.chosen_reward),
            eval_rejected_reward: Some(s.rejected_reward),
            ..Self::default()
        }
    }
}

/// The DPO run's `metrics.jsonl`.
pub type DpoMetrics = crate::metrics::MetricsLog<DpoRecord>;

impl crate::metrics::StepRecord for DpoRecord {
    fn step(&self) -> u64 {
        self.step
    }
}

/// Writes `loss.svg`: the DPO loss per pair (training, its moving average, held-out), drawn
/// by [`crate::metrics::loss_svg`].
pub fn write_svg(metrics: &DpoMetrics, run_dir: &Path) -> Result<()> {
    let records: Vec<crate::metrics::Record> = metrics
        .records()
        .iter()
        .map(|r| crate::metrics::Record {
            step: r.step,
            loss: r.loss,
            eval_loss: r.eval_loss,
            ..Default::default()
        })
        .collect();
    let svg = crate::metrics::loss_svg(&records).replacen(
        "loss per completion token",
        "DPO loss per pair",
        1,
    );
    write_atomic(&run_dir.join("loss.svg"), svg.as_bytes())
}
