//! AdamW with decoupled weight decay, updating weights in place; gradient accumulation buffers,
//! global-norm clipping, and the warmup + cosine learning-rate schedule.
//!
//! Norm weights and embeddings are not decayed. Moments are kept as plain `Vec<f32>`, so a
//! step allocates nothing and checkpoints store the exact state.

use crate::model::llama::is_norm_or_embedding;
use anyhow::{bail, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Tensor, Var};
use candle_nn::VarMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;

/// Values per parallel task of the element-wise loops.
const CHUNK: usize = 1 << 14;

/// AdamW hyper-parameters (the learning rate comes from [`Schedule`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamWConfig {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay (per unit of learning rate).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
        }
    }
}

/// Linear warmup to `lr`, then cosine decay to `min_lr` at step `total`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate.
    pub min_lr: f64,
    /// Warmup steps.
    pub warmup: u64,
    /// Total steps.
    pub total: u64,
}

impl Schedule {
    /// The learning rate of optimizer step `step` (0-based).
    pub fn at(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        self.min_lr
            + 0.5 * (self.lr - self.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// Runs `f` on the contiguous f32 data of `t` (copied first if `t` is not a contiguous CPU
/// tensor).
fn with_data<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) =
            (&*storage, layout.contiguous_offsets())
        {
            return Ok(f(&v[a..b]));
        }
    }
    let v: Vec<f32> = t
        .flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1()?;
    Ok(f(&v))
}

struct Param {
    name: String,
    var: Var,
    decay: bool,
    m: Vec<f32>,
    v: Vec<f32>,
    grad: Vec<f32>,
}

/// The optimizer and its gradient accumulators, over every variable of a [`VarMap`] (sorted by
/// name for a stable order).
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<Param>,
    /// Number of updates applied so far.
    pub steps: u64,
}

/// What one update did.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// Global gradient norm before clipping (of the scaled gradient).
    pub grad_norm: f64,
    /// Factor applied by clipping (1 if not clipped).
    pub clip_factor: f64,
}

impl AdamW {
    /// An optimizer with zero moments for every variable in `varmap`.
    pub fn new(varmap: &VarMap, config: AdamWConfig) -> Self {
        let data = varmap.data().lock().expect("varmap lock");
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        let params = names
            .into_iter()
            .map(|name| {
                let var = data[name].clone();
                let n = var.elem_count();
                Param {
                    decay: !is_norm_or_embedding(name),
                    name: name.clone(),
                    var,
                    m: vec![0.0; n],
                    v: vec![0.0; n],
                    grad: vec![0.0; n],
                }
            })
            .collect();
        Self {
            config,
            params,
            steps: 0,
        }
    }

    /// Adds the gradients in `grads` to the accumulators. Fails if a variable has none (a
    /// parameter the loss does not reach).
    pub fn accumulate(&mut self, grads: &GradStore) -> Result<()> {
        for p in &mut self.params {
            let g = grads
                .get(p.var.as_tensor())
                .with_context(|| format!("no gradient for `{}`", p.name))?;
            with_data(g, |g| {
                p.grad
                    .par_chunks_mut(CHUNK)
                    .zip(g.par_chunks(CHUNK))
                    .for_each(|(acc, g)| acc.iter_mut().zip(g).for_each(|(a, &x)| *a += x));
            })?;
        }
        Ok(())
    }

    /// Clears the gradient accumulators.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.grad.iter_mut().for_each(|g| *g = 0.0);
        }
    }

    /// Applies one update with the accumulated gradients multiplied by `scale` (e.g. 1 / number
    /// of target tokens), clipped to global norm `max_norm` (0 disables), at learning rate
    /// `lr`; then clears the accumulators.
    pub fn step(&mut self, lr: f64, scale: f64, max_norm: f64) -> Result<StepInfo> {
        // Chunk sums in a fixed order: the same norm whatever the thread count.
        let sq: f64 = self
            .params
            .iter()
            .flat_map(|p| {
                p.grad
                    .par_chunks(CHUNK)
                    .map(|c| c.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>())
                    .collect::<Vec<f64>>()
            })
            .sum();
        let grad_norm = sq.sqrt() * scale;
        if !grad_norm.is_finite() {
            bail!("gradient norm is {grad_norm}: training diverged");
        }
        let clip_factor = if max_norm > 0.0 && grad_norm > max_norm {
            max_norm / grad_norm
        } else {
            1.0
        };
        self.steps += 1;
        let c = &self.config;
        let t = self.steps as i32;
        let update = Update {
            lr: lr as f32,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            bc1: (1.0 - c.beta1.powi(t)) as f32,
            bc2: (1.0 - c.beta2.powi(t)) as f32,
            gscale: (scale * clip_factor) as f32,
        };
        for p in &mut self.params {
            let decay = if p.decay {
                (lr * c.weight_decay) as f32
            } else {
                0.0
            };
            let tensor = p.var.as_tensor();
            if tensor.device().is_cpu() {
                let op = InPlace {
                    update: &update,
                    decay,
                    m: RefCell::new(&mut p.m),
                    v: RefCell::new(&mut p.v),
                    g: &p.grad,
                };
                tensor.inplace_op1(&op)?;
            } else {
                let mut w: Vec<f32> = tensor.flatten_all()?.to_vec1()?;
                update.apply(&mut w, &mut p.m, &mut p.v, &p.grad, decay);
                p.var
                    .set(&Tensor::from_vec(w, tensor.shape(), tensor.device())?)?;
            }
            p.grad.par_chunks_mut(CHUNK).for_each(|g| g.fill(0.0));
        }
        Ok(StepInfo {
            grad_norm,
            clip_factor,
        })
    }

    /// The moments as named tensors (`m.NAME`, `v.NAME`) for a checkpoint.
    pub fn state_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for p in &self.params {
            let shape = p.var.shape();
            let dev = &candle_core::Device::Cpu;
            out.insert(
                format!("m.{}", p.name),
                Tensor::from_slice(&p.m, shape, dev)?,
            );
            out.insert(
                format!("v.{}", p.name),
                Tensor::from_slice(&p.v, shape, dev)?,
            );
        }
        Ok(out)
    }

    /// Restores the moments saved by [`AdamW::state_tensors`] and the step count.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, steps: u64) -> Result<()> {
        for p in &mut self.params {
            for (key, dst) in [("m", &mut p.m), ("v", &mut p.v)] {
                let name = format!("{key}.{}", p.name);
                let t = tensors
                    .get(&name)
                    .with_context(|| format!("optimizer state has no `{name}`"))?;
                let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
                if v.len() != dst.len() {
                    bail!(
                        "optimizer state `{name}` has {} values, expected {}",
                        v.len(),
                        dst.len()
                    );
                }
                *dst = v;
            }
        }
        self.steps = steps;
        Ok(())
    }
}

struct Update {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,
    bc2: f32,
    gscale: f32,
}

impl Update {
    /// Updates `w` and its moments, in parallel chunks.
    fn apply(&self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], decay: f32) {
        w.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((w, m), v), g)| self.apply_serial(w, m, v, g, decay));
    }

    fn apply_serial(&self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], decay: f32) {
        for i in 0..w.len() {
            let grad = g[i] * self.gscale;
            m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * grad;
            v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * grad * grad;
            let mhat = m[i] / self.bc1;
            let vhat = v[i] / self.bc2;
            w[i] -= decay * w[i] + self.lr * mhat / (vhat.sqrt() + self.eps);
        }
    }
}

struct InPlace<'a> {
    update: &'a Update,
    decay: f32,
    m: RefCell<&'a mut Vec<f32>>,
    v: RefCell<&'a mut Vec<f32>>,
    g: &'a [f32],
}

impl InplaceOp1 for InPlace<'_> {
    fn name(&self) -> &'static str {
        "adamw"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("adamw: weights must be f32");
        };
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("adamw: weights must be contiguous");
        };
        let w = &mut data[a..b];
        let (mut m, mut v) = (self.m.borrow_mut(), self.v.borrow_mut());
        self.update.apply(w, &mut m, &mut v, self.g, self.decay);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_shape() {
        let s = Schedule {
            lr: 1.0,
            min_lr: 0.1,
            warmup: 10,
            total: 110,
        };
        assert!((s.at(0) - 0.1).abs() < 1e-12);
        assert!((s.at(9) - 1.0).abs() < 1e-12);
        assert!((s.at(60) - 0.55).abs() < 1e-9);
        assert!((s.at(110) - 0.1).abs() < 1e-12);
        assert!((s.at(500) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn matches_reference_adamw_and_skips_decay_on_norms() {
        let varmap = VarMap::new();
        let dev = Device::Cpu;
        {
            let mut d = varmap.data().lock().unwrap();
            let w = Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0]], &dev).unwrap();
            d.insert("blk.0.attn_q.weight".into(), Var::from_tensor(&w).unwrap());
            let n = Tensor::new(&[1.0f32, 1.0], &dev).unwrap();
            d.insert(
                "blk.0.attn_norm.weight".into(),
                Var::from_tensor(&n).unwrap(),
            );
        }
        let mut opt = AdamW::new(&varmap, AdamWConfig::default());
        let vars = varmap.data().lock().unwrap().clone();
        let (q, n) = (
            &vars["blk.0.attn_q.weight"],
            &vars["blk.0.attn_norm.weight"],
        );
        for _ in 0..3 {
            let loss = ((q.as_tensor().sqr().unwrap().sum_all().unwrap()
                + n.as_tensor().sum_all().unwrap())
            .unwrap()
                * 2.0)
                .unwrap();
            opt.accumulate(&loss.backward().unwrap()).unwrap();
            opt.step(0.1, 0.5, 0.0).unwrap();
        }
        // Reference: plain AdamW on w with gradient 0.5 · 2 · 2w = 2w.
        let (lr, b1, b2, eps, wd) = (0.1f64, 0.9f64, 0.95f64, 1e-8f64, 0.1f64);
        let mut w = [1.0f64, -2.0, 0.5, 3.0];
        let (mut m, mut v) = ([0f64; 4], [0f64; 4]);
        for t in 1..=3 {
            for i in 0..4 {
                let g = 2.0 * w[i];
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let mh = m[i] / (1.0 - b1.powi(t));
                let vh = v[i] / (1.0 - b2.powi(t));
                w[i] -= lr * wd * w[i] + lr * mh / (vh.sqrt() + eps);
            }
        }
        let got: Vec<f32> = q.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        for (a, b) in got.iter().zip(w) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
        // The norm weight's gradient is constant 1: each Adam step moves it by ~lr, no decay.
        let got: Vec<f32> = n.as_tensor().to_vec1().unwrap();
        assert!((got[0] - 0.7).abs() < 1e-4, "{got:?}");
    }

    #[test]
    fn clipping_limits_the_norm() {
        let varmap = VarMap::new();
        {
            let mut d = varmap.data().lock().unwrap();
            let w = Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap();
            d.insert("x.weight".into(), Var::from_tensor(&w).unwrap());
        }
        let mut opt = AdamW::new(&varmap, AdamWConfig::default());
        let x = varmap.all_vars()[0].clone();
        let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
        opt.accumulate(&loss.backward().unwrap()).unwrap();
        let info = opt.step(0.01, 1.0, 1.0).unwrap();
        assert!((info.grad_norm - 10.0).abs() < 1e-6);
        assert!((info.clip_factor - 0.1).abs() < 1e-9);
    }
}
