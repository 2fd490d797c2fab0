//! LoRA adapters: a frozen base matrix `W` plus a trainable low-rank update
//! `(alpha / rank) · B·A`, on every attention and feed-forward matrix of the blocks. The
//! embedding, output and norms stay frozen. Export merges the update into `W`.
//!
//! Base weights enter the graph detached, so backward computes no gradient for them (only for
//! the activations flowing through them and for `A` and `B`).

use super::config::ModelConfig;
use super::llama::tensor_shapes;
use crate::rng::Rng;
use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// LoRA hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// Rank of the update.
    pub rank: usize,
    /// Scale numerator: the update is multiplied by `alpha / rank`.
    pub alpha: f64,
}

impl LoraConfig {
    /// The factor applied to `B·A`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

/// Whether tensor `name` gets an adapter (the block matrices).
pub fn is_target(name: &str) -> bool {
    name.starts_with("blk.") && !name.contains("norm")
}

/// Names and shapes of the adapter tensors: `NAME.lora_a` `(rank, in)` and `NAME.lora_b`
/// `(out, rank)` for each target `NAME` (without the `.weight` suffix).
pub fn adapter_shapes(config: &ModelConfig, lora: &LoraConfig) -> Vec<(String, Vec<usize>)> {
    tensor_shapes(config)
        .into_iter()
        .filter(|(n, _)| is_target(n))
        .flat_map(|(n, s)| {
            let base = n.trim_end_matches(".weight").to_string();
            [
                (format!("{base}.lora_a"), vec![lora.rank, s[1]]),
                (format!("{base}.lora_b"), vec![s[0], lora.rank]),
            ]
        })
        .collect()
}

/// Fresh adapters: `A` normal with std `1/sqrt(in)`, `B` zero (so training starts at the base).
pub fn init_adapters(
    config: &ModelConfig,
    lora: &LoraConfig,
    seed: u64,
    device: &Device,
) -> Result<VarMap> {
    let varmap = VarMap::new();
    let mut rng = Rng::new(seed ^ 0x10_4a);
    {
        let mut data = varmap.data().lock().expect("varmap lock");
        for (name, shape) in adapter_shapes(config, lora) {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if name.ends_with("lora_a") {
                let std = 1.0 / (shape[1] as f64).sqrt();
                (0..n).map(|_| (rng.normal() * std) as f32).collect()
            } else {
                vec![0.0; n]
            };
            let t = Tensor::from_vec(values, shape, device)?;
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    Ok(varmap)
}

/// The base weights with each adapter's update `scale · B·A` added.
pub fn merge(
    base: &HashMap<String, Tensor>,
    adapters: &HashMap<String, Tensor>,
    lora: &LoraConfig,
) -> Result<HashMap<String, Tensor>> {
    let mut out = HashMap::new();
    for (name, w) in base {
        let merged = if is_target(name) {
            let stem = name.trim_end_matches(".weight");
            let a = adapters
                .get(&format!("{stem}.lora_a"))
                .with_context(|| format!("no adapter `{stem}.lora_a`"))?;
            let b = adapters
                .get(&format!("{stem}.lora_b"))
                .with_context(|| format!("no adapter `{stem}.lora_b`"))?;
            (w + (b.matmul(a)? * lora.scale())?)?
        } else {
            w.clone()
        };
        out.insert(name.clone(), merged);
    }
    Ok(out)
}
