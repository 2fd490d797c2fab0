//! The decoder: RMSNorm, interleaved RoPE, SwiGLU, grouped-query attention, tied or untied output.
//!
//! Weights live in a [`VarMap`] under their GGUF tensor names (`token_embd.weight`,
//! `blk.N.attn_q.weight`, …), with linear weights stored `(out, in)`, so checkpoints and GGUF
//! export share one naming. Attention heads use the interleaved RoPE layout that
//! `quantized_llama` and llama.cpp apply to the `llama` architecture, so export needs no q/k
//! permutation.

use super::attention::{attention_mixer, Heads};
use super::config::ModelConfig;
use super::fused::{linear, linear_cross_entropy, swiglu_mixer};
use super::lora::{adapter_shapes, LoraConfig};
use super::ops::{causal_softmax, frozen_matmul, rms_norm, weighted_cross_entropy, RopeTables};
use super::sublayer::residual_sub_layer;
use crate::rng::Rng;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;

/// A weight matrix `(out, in)`, optionally with a LoRA update `scale · B·A`.
struct Linear {
    w: Tensor,
    lora: Option<(Tensor, Tensor, f64)>,
}

impl Linear {
    /// `x (n, in)` → `(n, out)`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match &self.lora {
            None => x.matmul(&self.w.t()?)?,
            Some((a, b, scale)) => {
                let y = frozen_matmul(x, &self.w)?;
                (y + (x.matmul(&a.t()?)?.matmul(&b.t()?)? * *scale)?)?
            }
        })
    }
}

/// One transformer block's weights.
struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Tensor,
    w_gate: Linear,
    w_up: Linear,
    w_down: Linear,
}

/// How the forward pass (and so its backward pass) is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// The fused CPU ops: one op for each pre-norm residual sub-layer ([`super::sublayer`]:
    /// norm, projections and the attention or SwiGLU mixer) and one for the output projection
    /// with the loss ([`super::fused`]). The default for full training on CPU.
    Fused,
    /// candle's basic ops (matmul, transposes, silu, …) around the small fused ops of
    /// [`super::ops`]: any device, and LoRA (whose frozen products skip weight gradients).
    Composed,
}

/// The model: weights (shared with a [`VarMap`]) and RoPE tables.
pub struct Llama {
    /// The hyper-parameters.
    pub config: ModelConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Option<Tensor>,
    rope: RopeTables,
    frozen: bool,
    kernels: Kernels,
}

/// Every tensor name and shape of a model with `config`, in a fixed order.
pub fn tensor_shapes(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (d, hd, f) = (config.dim, config.head_dim(), config.ffn_dim);
    let (q, kv) = (config.n_heads * hd, config.n_kv_heads * hd);
    let mut out = vec![("token_embd.weight".to_string(), vec![config.vocab_size, d])];
    for i in 0..config.n_layers {
        let p = |n: &str| format!("blk.{i}.{n}.weight");
        out.push((p("attn_norm"), vec![d]));
        out.push((p("attn_q"), vec![q, d]));
        out.push((p("attn_k"), vec![kv, d]));
        out.push((p("attn_v"), vec![kv, d]));
        out.push((p("attn_output"), vec![d, q]));
        out.push((p("ffn_norm"), vec![d]));
        out.push((p("ffn_gate"), vec![f, d]));
        out.push((p("ffn_up"), vec![f, d]));
        out.push((p("ffn_down"), vec![d, f]));
    }
    out.push(("output_norm.weight".to_string(), vec![d]));
    if !config.tie_embeddings {
        out.push(("output.weight".to_string(), vec![config.vocab_size, d]));
    }
    out
}

/// Whether a tensor is a norm weight or an embedding (excluded from weight decay).
pub fn is_norm_or_embedding(name: &str) -> bool {
    name.contains("norm") || name.starts_with("token_embd")
}

/// Fills `varmap` with freshly initialised weights for `config`, drawn from `seed`:
/// normal(0, 0.02) for matrices (residual outputs scaled by `1/sqrt(2·layers)`), ones for norms.
pub fn init_varmap(config: &ModelConfig, seed: u64, device: &Device) -> Result<VarMap> {
    config.validate()?;
    let varmap = VarMap::new();
    let mut rng = Rng::new(seed);
    let residual_scale = 1.0 / (2.0 * config.n_layers as f64).sqrt();
    {
        let mut data = varmap.data().lock().expect("varmap lock");
        for (name, shape) in tensor_shapes(config) {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if name.contains("norm") {
                vec![1.0; n]
            } else {
                let std = if name.contains("attn_output") || name.contains("ffn_down") {
                    0.02 * residual_scale
                } else {
                    0.02
                };
                (0..n).map(|_| (rng.normal() * std) as f32).collect()
            };
            let tensor = Tensor::from_vec(values, shape, device)?;
            data.insert(name, Var::from_tensor(&tensor)?);
        }
    }
    Ok(varmap)
}

impl Llama {
    /// A model reading its weights from `varmap` (which must hold every tensor of
    /// [`tensor_shapes`] with the right shape). The model shares the variables' storage, so
    /// optimizer updates to the `VarMap` are seen by the model.
    pub fn new(config: ModelConfig, varmap: &VarMap, device: &Device) -> Result<Self> {
        Self::build(config, varmap, None, device)
    }

    /// A model with frozen base weights from `base` (detached: no gradients) and trainable
    /// LoRA adapters from `adapters` (see [`super::lora`]).
    pub fn with_lora(
        config: ModelConfig,
        base: &VarMap,
        adapters: &VarMap,
        lora: &LoraConfig,
        device: &Device,
    ) -> Result<Self> {
        Self::build(config, base, Some((adapters, lora)), device)
    }

    fn build(
        config: ModelConfig,
        varmap: &VarMap,
        lora: Option<(&VarMap, &LoraConfig)>,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let adapters = match lora {
            Some((adapters, cfg)) => {
                let data = adapters.data().lock().expect("varmap lock");
                let mut out = std::collections::HashMap::new();
                for (name, shape) in adapter_shapes(&config, cfg) {
                    let var = data
                        .get(&name)
                        .with_context(|| format!("missing adapter `{name}`"))?;
                    if var.dims() != shape.as_slice() {
                        bail!(
                            "adapter `{name}` has shape {:?}, expected {shape:?}",
                            var.dims()
                        );
                    }
                    out.insert(name, var.as_tensor().clone());
                }
                Some((out, cfg.scale()))
            }
            None => None,
        };
        let data = varmap.data().lock().expect("varmap lock");
        for (name, shape) in tensor_shapes(&config) {
            let var = data
                .get(&name)
                .with_context(|| format!("missing weight `{name}`"))?;
            if var.dims() != shape.as_slice() {
                bail!(
                    "weight `{name}` has shape {:?}, the config needs {shape:?}",
                    var.dims()
                );
            }
        }
        let get = |name: &str| {
            let t = data[name].as_tensor().clone();
            if adapters.is_some() {
                t.detach()
            } else {
                t
            }
        };
        let linear = |name: String| -> Linear {
            let w = get(&name);
            let lora = adapters.as_ref().map(|(ad, scale)| {
                let stem = name.trim_end_matches(".weight");
                (
                    ad[&format!("{stem}.lora_a")].clone(),
                    ad[&format!("{stem}.lora_b")].clone(),
                    *scale,
                )
            });
            Linear { w, lora }
        };
        let blocks = (0..config.n_layers)
            .map(|i| {
                let g = |n: &str| get(&format!("blk.{i}.{n}.weight"));
                let l = |n: &str| linear(format!("blk.{i}.{n}.weight"));
                Block {
                    attn_norm: g("attn_norm"),
                    wq: l("attn_q"),
                    wk: l("attn_k"),
                    wv: l("attn_v"),
                    wo: l("attn_output"),
                    ffn_norm: g("ffn_norm"),
                    w_gate: l("ffn_gate"),
                    w_up: l("ffn_up"),
                    w_down: l("ffn_down"),
                }
            })
            .collect();
        let rope = RopeTables::new(
            config.head_dim(),
            config.max_seq_len,
            config.rope_theta,
            device,
        )?;
        Ok(Self {
            embed: get("token_embd.weight"),
            norm: get("output_norm.weight"),
            output: (!config.tie_embeddings).then(|| get("output.weight")),
            blocks,
            rope,
            frozen: adapters.is_some(),
            kernels: if adapters.is_none() && device.is_cpu() {
                Kernels::Fused
            } else {
                Kernels::Composed
            },
            config,
        })
    }

    /// The same model computed with `kernels` (fused kernels apply only to full training on
    /// CPU; elsewhere the model stays composed).
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        if kernels == Kernels::Composed || (!self.frozen && self.embed.device().is_cpu()) {
            self.kernels = kernels;
        }
        self
    }

    /// The kernels in use.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Logits at every position: `ids (batch, seq)` u32 → `(batch, seq, vocab)` f32.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let h = self.hidden(ids)?;
        let logits = self.project(&h.reshape((b * t, self.config.dim))?)?;
        Ok(logits.reshape((b, t, self.config.vocab_size))?)
    }

    /// The summed weighted cross-entropy of predicting `targets (batch, seq)` from
    /// `ids (batch, seq)`, each position weighted by `weights (batch, seq)` (0 masks it out).
    pub fn loss_sum(&self, ids: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<Tensor> {
        Ok(self.token_losses(ids, targets, weights)?.sum_all()?)
    }

    /// The weighted cross-entropy of each position, `(batch, seq)`: `weights · −log p(target)`.
    /// On the fused path the logits never enter candle's graph.
    pub fn token_losses(&self, ids: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let h = self.hidden(ids)?.reshape((b * t, self.config.dim))?;
        let (targets, weights) = (targets.reshape(b * t)?, weights.reshape(b * t)?);
        let per_token = match self.kernels {
            Kernels::Fused => {
                let w = self.output.as_ref().unwrap_or(&self.embed);
                linear_cross_entropy(&h, w, &targets, &weights)?
            }
            Kernels::Composed => weighted_cross_entropy(&self.project(&h)?, &targets, &weights)?,
        };
        Ok(per_token.reshape((b, t))?)
    }

    fn project(&self, h: &Tensor) -> Result<Tensor> {
        let w = self.output.as_ref().unwrap_or(&self.embed);
        if self.kernels == Kernels::Fused {
            Ok(linear(h, w)?)
        } else if self.frozen {
            Ok(frozen_matmul(h, w)?)
        } else {
            Ok(h.matmul(&w.t()?)?)
        }
    }

    /// The final-normed hidden states `(batch, seq, dim)`.
    fn hidden(&self, ids: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let (b, t) = ids.dims2()?;
        if t > c.max_seq_len {
            bail!(
                "sequence of {t} tokens exceeds max_seq_len {}",
                c.max_seq_len
            );
        }
        let mut x = self
            .embed
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        for block in &self.blocks {
            x = match self.kernels {
                Kernels::Fused => self.fused_block(block, &x)?,
                Kernels::Composed => self.block(block, &x)?,
            };
        }
        Ok(rms_norm(&x, &self.norm, c.norm_eps)?)
    }

    /// A block with the fused ops: `x + attention(norm(x))`, then `+ swiglu(norm(·))`, each one
    /// op.
    fn fused_block(&self, w: &Block, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let (b, t, _) = x.dims3()?;
        let heads = Heads {
            batch: b,
            seq: t,
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            head_dim: c.head_dim(),
        };
        let attention = attention_mixer(heads, &self.rope)?;
        let (wq, wk, wv) = (&w.wq.w, &w.wk.w, &w.wv.w);
        let x = residual_sub_layer(
            x,
            &w.attn_norm,
            c.norm_eps,
            &[wq, wk, wv],
            &w.wo.w,
            attention,
        )?;
        let (gate, up) = (&w.w_gate.w, &w.w_up.w);
        let ffn = swiglu_mixer(c.ffn_dim);
        Ok(residual_sub_layer(
            &x,
            &w.ffn_norm,
            c.norm_eps,
            &[gate, up],
            &w.w_down.w,
            ffn,
        )?)
    }

    /// A block composed of candle ops.
    fn block(&self, w: &Block, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let (b, t, d) = x.dims3()?;
        let hd = c.head_dim();
        let h = rms_norm(x, &w.attn_norm, c.norm_eps)?.reshape((b * t, d))?;
        let heads = |m: &Linear, n: usize| -> Result<Tensor> {
            Ok(m.forward(&h)?
                .reshape((b, t, n, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = self.rope.apply(&heads(&w.wq, c.n_heads)?)?;
        let k = self.rope.apply(&heads(&w.wk, c.n_kv_heads)?)?;
        let v = heads(&w.wv, c.n_kv_heads)?;
        let (k, v) = if c.n_kv_heads < c.n_heads {
            let rep = c.n_heads / c.n_kv_heads;
            let expand = |x: Tensor| -> Result<Tensor> {
                Ok(x.unsqueeze(2)?
                    .broadcast_as((b, c.n_kv_heads, rep, t, hd))?
                    .reshape((b, c.n_heads, t, hd))?)
            };
            (expand(k)?, expand(v)?)
        } else {
            (k, v)
        };
        let scores = q.matmul(&k.t()?)?;
        let probs = causal_softmax(&scores, 1.0 / (hd as f32).sqrt())?;
        let y = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b * t, c.n_heads * hd))?;
        let y = w.wo.forward(&y)?.reshape((b, t, d))?;
        let x = (x + y)?;
        let h = rms_norm(&x, &w.ffn_norm, c.norm_eps)?.reshape((b * t, d))?;
        let gate = w.w_gate.forward(&h)?.silu()?;
        let up = w.w_up.forward(&h)?;
        let y = w.w_down.forward(&(gate * up)?)?.reshape((b, t, d))?;
        Ok((x + y)?)
    }
}

/// The total number of scalar weights in `varmap`.
pub fn count_params(varmap: &VarMap) -> usize {
    varmap.all_vars().iter().map(|v| v.elem_count()).sum()
}

/// Checks that `t` is an f32 tensor (the only training dtype).
pub fn ensure_f32(t: &Tensor) -> Result<()> {
    if t.dtype() != DType::F32 {
        bail!("expected f32 weights, got {:?}", t.dtype());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(tie: bool) -> ModelConfig {
        let mut c = ModelConfig::preset("tiny", 97).unwrap();
        c.tie_embeddings = tie;
        c.max_seq_len = 32;
        c
    }

    fn batch(device: &Device) -> (Tensor, Tensor, Tensor) {
        let ids: Vec<u32> = (0..2 * 12).map(|i| (i * 7 % 97) as u32).collect();
        let targets: Vec<u32> = (0..2 * 12).map(|i| (i * 5 % 97) as u32).collect();
        let weights: Vec<f32> = (0..2 * 12)
            .map(|i| if i % 12 < 3 { 0.0 } else { 1.0 })
            .collect();
        (
            Tensor::from_vec(ids, (2, 12), device).unwrap(),
            Tensor::from_vec(targets, (2, 12), device).unwrap(),
            Tensor::from_vec(weights, (2, 12), device).unwrap(),
        )
    }

    #[test]
    fn every_parameter_gets_a_gradient() {
        let device = Device::Cpu;
        for tie in [false, true] {
            let config = tiny(tie);
            let varmap = init_varmap(&config, 1, &device).unwrap();
            assert_eq!(count_params(&varmap), config.param_count());
            let model = Llama::new(config, &varmap, &device).unwrap();
            let (ids, targets, weights) = batch(&device);
            let loss = model.loss_sum(&ids, &targets, &weights).unwrap();
            let grads = loss.backward().unwrap();
            let data = varmap.data().lock().unwrap();
            for (name, var) in data.iter() {
                let norm = gradient_norm(&grads, var, name);
                assert!(norm > 0.0 && norm.is_finite(), "zero gradient for {name}");
            }
        }
    }

    /// The L1 norm of `var`'s gradient; panics when it has none.
    fn gradient_norm(
        grads: &candle_core::backprop::GradStore,
        var: &candle_core::Var,
        name: &str,
    ) -> f32 {
        grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"))
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The largest absolute difference between `a` and `b`, relative to `a`'s largest value.
    fn relative_difference(a: &Tensor, b: &Tensor) -> f32 {
        let scalar = |t: Tensor| t.flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>();
        let diff = scalar((a - b).unwrap().abs().unwrap()).unwrap();
        diff / scalar(a.abs().unwrap()).unwrap().max(1e-12)
    }

    #[test]
    fn fused_kernels_give_the_composed_losses_and_gradients() {
        let device = Device::Cpu;
        // 70 tokens: two attention blocks of queries; grouped key/value heads (tiny: 4 / 2).
        let (b, t) = (2, 70);
        for tie in [false, true] {
            let mut config = tiny(tie);
            config.max_seq_len = 80;
            let varmap = init_varmap(&config, 3, &device).unwrap();
            let fused = Llama::new(config.clone(), &varmap, &device).unwrap();
            assert_eq!(fused.kernels(), Kernels::Fused);
            let composed = Llama::new(config, &varmap, &device)
                .unwrap()
                .with_kernels(Kernels::Composed);
            let mut rng = Rng::new(4);
            let mut tokens =
                |n: usize| -> Vec<u32> { (0..n).map(|_| rng.below(97) as u32).collect() };
            let ids = Tensor::from_vec(tokens(b * t), (b, t), &device).unwrap();
            let targets = Tensor::from_vec(tokens(b * t), (b, t), &device).unwrap();
            let weights: Vec<f32> = (0..b * t).map(|i| (i % 3) as f32 * 0.5).collect();
            let weights = Tensor::from_vec(weights, (b, t), &device).unwrap();
            let run = |model: &Llama| {
                let loss = model.loss_sum(&ids, &targets, &weights).unwrap();
                (loss.to_scalar::<f32>().unwrap(), loss.backward().unwrap())
            };
            let ((loss_f, grads_f), (loss_c, grads_c)) = (run(&fused), run(&composed));
            assert!(
                (loss_f - loss_c).abs() < 1e-5 * loss_c.abs(),
                "{loss_f} vs {loss_c}"
            );
            let logits_f = fused.forward(&ids).unwrap();
            let logits_c = composed.forward(&ids).unwrap();
            assert!(relative_difference(&logits_c, &logits_f) < 1e-5);
            for (name, var) in varmap.data().lock().unwrap().iter() {
                let (gf, gc) = (grads_f.get(var).unwrap(), grads_c.get(var).unwrap());
                let d = relative_difference(gc, gf);
                assert!(d < 1e-4, "gradient of {name} differs by {d}");
            }
        }
    }

    #[test]
    fn lora_trains_only_adapters() {
        use crate::model::lora::{init_adapters, LoraConfig};
        let device = Device::Cpu;
        let config = tiny(false);
        let base = init_varmap(&config, 1, &device).unwrap();
        let lora = LoraConfig {
            rank: 4,
            alpha: 8.0,
        };
        let adapters = init_adapters(&config, &lora, 1, &device).unwrap();
        // Make B non-zero so that A gets a gradient too.
        for (name, var) in adapters.data().lock().unwrap().iter() {
            if name.ends_with("lora_b") {
                var.set(&(var.as_tensor().ones_like().unwrap() * 0.01).unwrap())
                    .unwrap();
            }
        }
        let model = Llama::with_lora(config, &base, &adapters, &lora, &device).unwrap();
        let (ids, targets, weights) = batch(&device);
        let grads = model
            .loss_sum(&ids, &targets, &weights)
            .unwrap()
            .backward()
            .unwrap();
        for (name, var) in adapters.data().lock().unwrap().iter() {
            let norm = gradient_norm(&grads, var, name);
            assert!(norm > 0.0, "zero gradient for {name}");
        }
        for (name, var) in base.data().lock().unwrap().iter() {
            assert!(grads.get(var.as_tensor()).is_none(), "{name} is not frozen");
        }
    }

    #[test]
    fn loss_matches_logits_and_is_causal() {
        let device = Device::Cpu;
        let config = tiny(false);
        let varmap = init_varmap(&config, 2, &device).unwrap();
        let model = Llama::new(config, &varmap, &device).unwrap();
        let (ids, targets, weights) = batch(&device);
        let logits = model.forward(&ids).unwrap();
        // Initial loss ≈ ln(vocab).
        let loss = model.loss_sum(&ids, &targets, &weights).unwrap();
        let n = weights.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let mean = loss.to_scalar::<f32>().unwrap() / n;
        assert!((mean - (97f32).ln()).abs() < 0.2, "{mean}");
        // Changing a later token leaves earlier logits unchanged.
        let mut changed: Vec<u32> = ids.flatten_all().unwrap().to_vec1().unwrap();
        changed[8] = 3;
        let changed = Tensor::from_vec(changed, (2, 12), &device).unwrap();
        let logits2 = model.forward(&changed).unwrap();
        let a = logits.narrow(1, 0, 8).unwrap();
        let b = logits2.narrow(1, 0, 8).unwrap();
        let diff = (a - b).unwrap().abs().unwrap().sum_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        let a = logits.narrow(1, 8, 1).unwrap();
        let b = logits2.narrow(1, 8, 1).unwrap();
        let diff = (a - b).unwrap().abs().unwrap().sum_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() > 0.0);
    }
}
