//! The DPO losses of one preference pair (in closed form, with their gradients) and the
//! sequence log-probabilities of a padded batch of chosen and rejected completions.
//!
//! With `h = (π_c − π_r) − (ref_c − ref_r)`, where each term is a sum of completion-token
//! log-probabilities (`<|eos|>` included, prompt excluded):
//!
//! | loss | value | `∂L/∂h` |
//! |---|---|---|
//! | `sigmoid` (DPO) | `−log σ(β h)` | `−β σ(−β h)` |
//! | `ipo` | `(h − 1/(2β))²` | `2 (h − 1/(2β))` |
//! | `hinge` | `max(0, 1 − β h)` | `−β` where `1 − β h > 0`, else 0 |
//!
//! and `∂L/∂π_c = ∂L/∂ref_r = ∂L/∂h`, `∂L/∂π_r = ∂L/∂ref_c = −∂L/∂h`.
//!
//! With an NLL weight `α > 0` ([`Objective::nll_weight`], RPO) the loss adds `−α π_c / n_c`,
//! the chosen completion's mean negative log-likelihood over its `n_c` tokens, so
//! `∂L/∂π_c` gains `−α / n_c`.
//!
//! IPO (Azar et al., 2023) is written there for any log-likelihood ratio; some implementations
//! average log-probabilities over tokens. This one uses the same sums as DPO, so `h` grows with
//! completion length and the target margin `1/(2β)` is in summed nats.

use super::data::Pair;
use crate::data::{make_batch, Batch, Example};
use crate::model::Llama;
use anyhow::{bail, Result};
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The preference loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpoLoss {
    /// DPO: `−log σ(β h)`.
    #[default]
    Sigmoid,
    /// IPO: `(h − 1/(2β))²`.
    Ipo,
    /// SLiC-style hinge: `max(0, 1 − β h)`.
    Hinge,
}

impl std::str::FromStr for DpoLoss {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "sigmoid" | "dpo" => Self::Sigmoid,
            "ipo" => Self::Ipo,
            "hinge" => Self::Hinge,
            _ => bail!("unknown DPO loss `{s}` (expected sigmoid, ipo or hinge)"),
        })
    }
}

impl std::fmt::Display for DpoLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sigmoid => "sigmoid",
            Self::Ipo => "ipo",
            Self::Hinge => "hinge",
        })
    }
}

/// Summed completion log-probabilities of one pair under the policy and the reference (or, as
/// [`PairLoss::grad`], the loss's partial derivatives with respect to them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairLogps {
    /// `π_c`: policy, chosen completion.
    pub policy_chosen: f64,
    /// `π_r`: policy, rejected completion.
    pub policy_rejected: f64,
    /// `ref_c`: reference, chosen completion.
    pub reference_chosen: f64,
    /// `ref_r`: reference, rejected completion.
    pub reference_rejected: f64,
}

impl PairLogps {
    /// `h = (π_c − π_r) − (ref_c − ref_r)`.
    pub fn h(&self) -> f64 {
        (self.policy_chosen - self.policy_rejected)
            - (self.reference_chosen - self.reference_rejected)
    }

    /// The implicit reward of the chosen completion, `β (π_c − ref_c)`.
    pub fn chosen_reward(&self, beta: f64) -> f64 {
        beta * (self.policy_chosen - self.reference_chosen)
    }

    /// The implicit reward of the rejected completion, `β (π_r − ref_r)`.
    pub fn rejected_reward(&self, beta: f64) -> f64 {
        beta * (self.policy_rejected - self.reference_rejected)
    }
}

/// The loss of one pair and its gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairLoss {
    /// The loss value.
    pub loss: f64,
    /// `∂L/∂` each of the four log-probabilities.
    pub grad: PairLogps,
}

/// `log(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `σ(x) = 1 / (1 + e^−x)` without overflow.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The loss `kind` with strength `beta` of a pair with log-probabilities `lp`, and its
/// gradient (formulas in the [module documentation](self)).
pub fn pair_loss(kind: DpoLoss, beta: f64, lp: &PairLogps) -> PairLoss {
    let h = lp.h();
    let (loss, dh) = match kind {
        DpoLoss::Sigmoid => (softplus(-beta * h), -beta * sigmoid(-beta * h)),
        DpoLoss::Ipo => {
            let d = h - 1.0 / (2.0 * beta);
            (d * d, 2.0 * d)
        }
        DpoLoss::Hinge => {
            let m = 1.0 - beta * h;
            if m > 0.0 {
                (m, -beta)
            } else {
                (0.0, 0.0)
            }
        }
    };
    PairLoss {
        loss,
        grad: PairLogps {
            policy_chosen: dh,
            policy_rejected: -dh,
            reference_chosen: -dh,
            reference_rejected: dh,
        },
    }
}

/// What a pair's loss is: the preference loss, its β, and the weight of the chosen
/// completion's NLL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// The preference loss.
    pub kind: DpoLoss,
    /// Strength β.
    pub beta: f64,
    /// Weight α of the chosen completion's mean NLL (0: none).
    pub nll_weight: f64,
}

impl Objective {
    /// The objective of a DPO configuration.
    pub fn of(config: &super::DpoConfig) -> Self {
        Objective {
            kind: config.loss,
            beta: config.beta,
            nll_weight: config.nll_weight,
        }
    }

    /// The loss of a pair with log-probabilities `lp` whose chosen completion has
    /// `chosen_tokens` tokens, and its gradient.
    pub fn pair_loss(&self, lp: &PairLogps, chosen_tokens: usize) -> PairLoss {
        let mut out = pair_loss(self.kind, self.beta, lp);
        if self.nll_weight > 0.0 {
            let n = chosen_tokens.max(1) as f64;
            out.loss -= self.nll_weight * lp.policy_chosen / n;
            out.grad.policy_chosen -= self.nll_weight / n;
        }
        out
    }
}

/// The summed completion log-probabilities of `examples` under `model`, in one padded batch:
/// a differentiable `(rows)` tensor, and the batch (for its token counts).
pub fn sequence_logps(
    model: &Llama,
    examples: &[&Example],
    pad: u32,
    device: &Device,
) -> Result<(Tensor, Batch)> {
    let batch = make_batch(examples, pad);
    let (ids, targets, weights) = batch.tensors(device)?;
    let logps = model
        .token_losses(&ids, &targets, &weights)?
        .sum(1)?
        .neg()?;
    Ok((logps, batch))
}

/// What [`pair_batch`] computed for a batch of pairs.
pub struct PairBatch {
    /// Each pair's four log-probabilities.
    pub logps: Vec<PairLogps>,
    /// Each pair's loss and gradient.
    pub losses: Vec<PairLoss>,
    /// Gradients of the summed loss with respect to the model's variables (when asked).
    pub grads: Option<GradStore>,
    /// Non-padding input tokens (chosen and rejected rows).
    pub tokens: usize,
}

/// Runs the policy `model` on the chosen and rejected completions of `pairs` (one padded batch
/// of `2 · pairs` rows) and computes each pair's loss (`objective`) against `reference`
/// (`(ref_c, ref_r)` per pair). With `backward`, also the gradient of the summed loss: the
/// per-sequence derivatives `∂L/∂π` (closed form, f64) weight the log-probability tensor, so
/// one backward pass gives `Σ_pairs ∂L/∂θ`.
pub fn pair_batch(
    model: &Llama,
    pairs: &[&Pair],
    reference: &[(f64, f64)],
    objective: Objective,
    pad: u32,
    device: &Device,
    backward: bool,
) -> Result<PairBatch> {
    if pairs.len() != reference.len() {
        bail!(
            "{} pairs but {} reference values",
            pairs.len(),
            reference.len()
        );
    }
    let n = pairs.len();
    let rows: Vec<&Example> = pairs
        .iter()
        .map(|p| &p.chosen)
        .chain(pairs.iter().map(|p| &p.rejected))
        .collect();
    let (logps_t, batch) = sequence_logps(model, &rows, pad, device)?;
    let values: Vec<f32> = logps_t.to_vec1()?;
    let logps: Vec<PairLogps> = (0..n)
        .map(|i| PairLogps {
            policy_chosen: values[i] as f64,
            policy_rejected: values[n + i] as f64,
            reference_chosen: reference[i].0,
            reference_rejected: reference[i].1,
        })
        .collect();
    let losses: Vec<PairLoss> = logps
        .iter()
        .zip(pairs)
        .map(|(lp, p)| objective.pair_loss(lp, completion_tokens(&p.chosen)))
        .collect();
    let grads = if backward {
        let coef: Vec<f32> = losses
            .iter()
            .map(|l| l.grad.policy_chosen as f32)
            .chain(losses.iter().map(|l| l.grad.policy_rejected as f32))
            .collect();
        let coef = Tensor::from_vec(coef, 2 * n, device)?;
        Some((logps_t * coef)?.sum_all()?.backward()?)
    } else {
        None
    };
    Ok(PairBatch {
        logps,
        losses,
        grads,
        tokens: batch.tokens,
    })
}

/// The number of completion tokens of `example` (the positions its log-probability sums).
pub fn completion_tokens(example: &Example) -> usize {
    example.ids.len().saturating_sub(example.prompt_len.max(1))
}

/// Mean loss, rewards, reward accuracy and margin over some pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardStats {
    /// Number of pairs.
    pub pairs: usize,
    /// Mean loss.
    pub loss: f64,
    /// Mean chosen reward `β (π_c − ref_c)`.
    pub chosen_reward: f64,
    /// Mean rejected reward `β (π_r − ref_r)`.
    pub rejected_reward: f64,
    /// Share of pairs whose chosen reward exceeds the rejected one.
    pub accuracy: f64,
    /// Mean of chosen minus rejected reward.
    pub margin: f64,
}

impl RewardStats {
    /// The statistics of pairs with log-probabilities `logps` and losses `losses`.
    pub fn of(logps: &[PairLogps], losses: &[PairLoss], beta: f64) -> Self {
        let mut s = Self {
            pairs: logps.len(),
            ..Self::default()
        };
        for (lp, l) in logps.iter().zip(losses) {
            let (c, r) = (lp.chosen_reward(beta), lp.rejected_reward(beta));
            s.loss += l.loss;
            s.chosen_reward += c;
            s.rejected_reward += r;
            s.accuracy += (c > r) as u8 as f64;
            s.margin += c - r;
        }
        let n = logps.len().max(1) as f64;
        s.loss /= n;
        s.chosen_reward /= n;
        s.rejected_reward /= n;
        s.accuracy /= n;
        s.margin /= n;
        s
    }
}
