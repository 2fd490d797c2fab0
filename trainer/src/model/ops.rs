//! Fused CPU operations with hand-written backward passes: RoPE (interleaved), RMSNorm, causal
//! softmax and masked cross-entropy.
//!
//! candle's fast versions of these (`rope_i`, `rms_norm`, `softmax_last_dim`) have no backward
//! pass, and its differentiable versions are compositions of many small tensor ops. These
//! `CustomOp`s run one loop forward and one loop backward, over rows split across rayon's pool
//! ([`ROWS_PER_TASK`] rows a task); the exponentials are `fastmath`'s. The cross-entropy keeps
//! its gradient from the forward pass. On a non-CPU device the public functions fall back to
//! differentiable compositions of candle ops.

use super::fastmath::{self, exp_into, exp_into_sum, simd_fn};
use super::fused::{with_f32s, ROWS_PER_TASK};
use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, D,
};
use rayon::prelude::*;
use std::sync::Arc;

/// The contiguous `f32` data of a CPU storage.
pub(crate) fn f32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v,
        _ => bail!("{op}: expected f32 data, got {:?}", s.dtype()),
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => bail!("{op}: input must be contiguous"),
    }
}

/// The contiguous `u32` data of a CPU storage.
fn u32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [u32]> {
    let data = match s {
        CpuStorage::U32(v) => v,
        _ => bail!("{op}: expected u32 data, got {:?}", s.dtype()),
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => bail!("{op}: input must be contiguous"),
    }
}

// ---------------------------------------------------------------------------------------------
// RoPE

/// Precomputed RoPE tables for the interleaved layout (pairs `(2i, 2i+1)` of each head).
#[derive(Clone, Debug)]
pub struct RopeTables {
    /// `cos(pos · θ_i)`, shape `(max_seq_len, head_dim / 2)`.
    pub cos: Tensor,
    /// `sin(pos · θ_i)`, shape `(max_seq_len, head_dim / 2)`.
    pub sin: Tensor,
    cos_data: Arc<Vec<f32>>,
    sin_data: Arc<Vec<f32>>,
    half: usize,
}

impl RopeTables {
    /// Tables for `max_seq_len` positions of heads of width `head_dim`, base `theta`.
    pub fn new(
        head_dim: usize,
        max_seq_len: usize,
        theta: f32,
        device: &candle_core::Device,
    ) -> Result<Self> {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_seq_len * half);
        let mut sin = Vec::with_capacity(max_seq_len * half);
        for pos in 0..max_seq_len {
            for i in 0..half {
                let freq = 1.0 / theta.powf((2 * i) as f32 / head_dim as f32);
                let angle = pos as f32 * freq;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        Ok(Self {
            cos: Tensor::from_slice(&cos, (max_seq_len, half), device)?,
            sin: Tensor::from_slice(&sin, (max_seq_len, half), device)?,
            cos_data: Arc::new(cos),
            sin_data: Arc::new(sin),
            half,
        })
    }

    /// Half the head width: the number of rotated pairs.
    pub fn half(&self) -> usize {
        self.half
    }

    /// The number of positions the tables cover.
    pub fn positions(&self) -> usize {
        self.cos_data.len() / self.half.max(1)
    }

    /// Writes `src` (one head, `head_dim` wide) rotated for position `pos` into `dst`; by the
    /// opposite angle when `inverse` (the rotation's transpose, its backward pass).
    #[inline(always)]
    pub fn rotate(&self, src: &[f32], dst: &mut [f32], pos: usize, inverse: bool) {
        let half = self.half;
        let cos = &self.cos_data[pos * half..(pos + 1) * half];
        let sin = &self.sin_data[pos * half..(pos + 1) * half];
        let sign = if inverse { -1.0 } else { 1.0 };
        let pairs = dst.chunks_exact_mut(2).zip(src.chunks_exact(2));
        for ((d, x), (&c, &s)) in pairs.zip(cos.iter().zip(sin)) {
            let s = sign * s;
            d[0] = x[0] * c - x[1] * s;
            d[1] = x[0] * s + x[1] * c;
        }
    }

    /// Applies the rotation to `x` of shape `(batch, heads, seq, head_dim)`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, t, hd) = x.dims4()?;
        if hd != 2 * self.half {
            bail!(
                "rope: head dim {hd} does not match the tables ({})",
                2 * self.half
            );
        }
        if x.device().is_cpu() && x.dtype() == DType::F32 {
            x.contiguous()?.apply_op1(Rope {
                tables: self.clone(),
                inverse: false,
            })
        } else {
            let cos = self.cos.narrow(0, 0, t)?;
            let sin = self.sin.narrow(0, 0, t)?;
            candle_nn::rotary_emb::rope_i_slow(x, &cos, &sin)
        }
    }
}

struct Rope {
    tables: RopeTables,
    inverse: bool,
}

impl CustomOp1 for Rope {
    fn name(&self) -> &'static str {
        "rope-interleaved"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l, self.name())?;
        let dims = l.dims();
        let (t, hd) = (dims[2], dims[3]);
        let mut out = vec![0f32; x.len()];
        for (row, (xr, yr)) in x.chunks_exact(hd).zip(out.chunks_exact_mut(hd)).enumerate() {
            self.tables.rotate(xr, yr, row % t, self.inverse);
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // The rotation is orthogonal: its transpose is the rotation by the opposite angle.
        let inverse = Rope {
            tables: self.tables.clone(),
            inverse: !self.inverse,
        };
        Ok(Some(grad.contiguous()?.apply_op1(inverse)?))
    }
}

// ---------------------------------------------------------------------------------------------
// Frozen matmul

/// `x (n, in) · wᵀ` for a frozen `w (out, in)`: the backward pass computes only the gradient of
/// `x`, not the (unused) one of `w` that candle's matmul backward always computes.
pub fn frozen_matmul(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let y = x.detach().matmul(&w.detach().t()?)?;
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.apply_op2(&y, FrozenMatmul { w: w.detach() })
    } else {
        x.matmul(&w.detach().t()?)
    }
}

/// Passes `y` (the product computed without tracking) through, with `x`'s gradient as
/// backward.
struct FrozenMatmul {
    w: Tensor,
}

impl CustomOp2 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        _l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32s(s2, l2, self.name())?;
        Ok((CpuStorage::F32(y.to_vec()), l2.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _y: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.matmul(&self.w)?), None))
    }
}

// ---------------------------------------------------------------------------------------------
// RMSNorm

/// `x / sqrt(mean(x²) + eps) * weight` over the last dimension, differentiable in both inputs.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?
            .apply_op2(&weight.contiguous()?, RmsNorm { eps })
    } else {
        let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
        let inv = (ms + eps as f64)?.sqrt()?.recip()?;
        x.broadcast_mul(&inv)?.broadcast_mul(weight)
    }
}

struct RmsNorm {
    eps: f32,
}

fn inv_rms(row: &[f32], eps: f32) -> f32 {
    let ms = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
    1.0 / (ms + eps).sqrt()
}

/// `x / rms(x) · w` for each row of `x` (rows as wide as `w`).
pub(crate) fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(d * ROWS_PER_TASK)
        .zip(x.par_chunks(d * ROWS_PER_TASK))
        .for_each(|(out, x)| {
            for (xr, yr) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
                let r = inv_rms(xr, eps);
                for ((y, &xv), &wv) in yr.iter_mut().zip(xr).zip(w) {
                    *y = xv * r * wv;
                }
            }
        });
    out
}

/// Adds the gradient of the rows `x` of [`rms_norm_rows`] from the output gradient `g` to `dx`.
pub(crate) fn rms_norm_backward_x(x: &[f32], w: &[f32], g: &[f32], eps: f32, dx: &mut [f32]) {
    let d = w.len();
    let tasks = dx
        .par_chunks_mut(d * ROWS_PER_TASK)
        .zip(x.par_chunks(d * ROWS_PER_TASK))
        .zip(g.par_chunks(d * ROWS_PER_TASK));
    tasks.for_each(|((out, x), g)| {
        for ((xr, gr), dr) in x
            .chunks_exact(d)
            .zip(g.chunks_exact(d))
            .zip(out.chunks_exact_mut(d))
        {
            let r = inv_rms(xr, eps);
            let dot: f32 = xr.iter().zip(gr).zip(w).map(|((x, g), w)| x * g * w).sum();
            let k = r * r * r * dot / d as f32;
            for j in 0..d {
                dr[j] += r * w[j] * gr[j] - xr[j] * k;
            }
        }
    });
}

/// The gradient of the weight (`d` wide) of [`rms_norm_rows`] from the output gradient `g`.
pub(crate) fn rms_norm_backward_w(x: &[f32], g: &[f32], d: usize, eps: f32) -> Vec<f32> {
    // One partial sum per thread, added in a fixed order: the result depends on the thread
    // count only, not on scheduling.
    let rows = x.len() / d.max(1);
    let parts = rayon::current_num_threads().clamp(1, rows.max(1));
    let partials: Vec<Vec<f32>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let (lo, hi) = (rows * p / parts, rows * (p + 1) / parts);
            let mut acc = vec![0f32; d];
            for i in lo..hi {
                let (xr, gr) = (&x[i * d..(i + 1) * d], &g[i * d..(i + 1) * d]);
                let r = inv_rms(xr, eps);
                for j in 0..d {
                    acc[j] += gr[j] * xr[j] * r;
                }
            }
            acc
        })
        .collect();
    let mut out = vec![0f32; d];
    for part in partials {
        out.iter_mut().zip(part).for_each(|(o, p)| *o += p);
    }
    out
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s1, l1, self.name())?;
        let w = f32s(s2, l2, self.name())?;
        let d = w.len();
        if l1.dims().last() != Some(&d) {
            bail!(
                "rms-norm: weight of {d} does not match input {:?}",
                l1.dims()
            );
        }
        let out = rms_norm_rows(x, w, self.eps);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let d = w.elem_count();
        let (dx, dw) = with_f32s([x, w, &grad], self.name(), |[xv, wv, g]| {
            let mut dx = vec![0f32; xv.len()];
            rms_norm_backward_x(xv, wv, g, self.eps, &mut dx);
            (dx, rms_norm_backward_w(xv, g, d, self.eps))
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dw, w.shape(), w.device())?),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Causal softmax

/// Row-wise softmax of `scale · x` over the last dimension of `(…, t, t)` scores, with keys after
/// the query position masked out (causal attention). Differentiable.
pub fn causal_softmax(x: &Tensor, scale: f32) -> Result<Tensor> {
    let dims = x.dims();
    let n = dims.len();
    if n < 2 || dims[n - 1] != dims[n - 2] {
        bail!("causal-softmax: expected square (…, t, t) scores, got {dims:?}");
    }
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(CausalSoftmax { scale })
    } else {
        let t = dims[n - 1];
        let mask: Vec<f32> = (0..t * t)
            .map(|k| {
                if k % t > k / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, t), x.device())?.to_dtype(x.dtype())?;
        candle_nn::ops::softmax(&(x * scale as f64)?.broadcast_add(&mask)?, D::Minus1)
    }
}

struct CausalSoftmax {
    scale: f32,
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l, self.name())?;
        let t = *l.dims().last().unwrap_or(&1);
        let mut out = vec![0f32; x.len()];
        for (row, (xr, yr)) in x.chunks_exact(t).zip(out.chunks_exact_mut(t)).enumerate() {
            let n = row % t + 1;
            let max = fastmath::max(&xr[..n]) * self.scale;
            let sum = exp_into_sum(&xr[..n], &mut yr[..n], self.scale, max);
            let inv = 1.0 / sum;
            yr[..n].iter_mut().for_each(|y| *y *= inv);
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dx = res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxBwd { scale: self.scale })?;
        Ok(Some(dx))
    }
}

struct SoftmaxBwd {
    scale: f32,
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "softmax-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32s(s1, l1, self.name())?;
        let g = f32s(s2, l2, self.name())?;
        let t = *l1.dims().last().unwrap_or(&1);
        let mut out = vec![0f32; y.len()];
        for ((yr, gr), dr) in y
            .chunks_exact(t)
            .zip(g.chunks_exact(t))
            .zip(out.chunks_exact_mut(t))
        {
            let s: f32 = yr.iter().zip(gr).map(|(y, g)| y * g).sum();
            for j in 0..t {
                dr[j] = self.scale * yr[j] * (gr[j] - s);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy

/// Per-row weighted cross-entropy: `weights[i] · (logsumexp(logits[i]) − logits[i, targets[i]])`
/// for `logits (n, vocab)`, `targets (n)` u32 and `weights (n)` f32. Returns shape `(n)`;
/// differentiable in `logits`.
pub fn weighted_cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
) -> Result<Tensor> {
    let (n, v) = logits.dims2()?;
    if targets.dims() != [n] || weights.dims() != [n] {
        bail!("cross-entropy: targets and weights must have shape ({n})");
    }
    if logits.device().is_cpu() && logits.dtype() == DType::F32 {
        logits.contiguous()?.apply_op3(
            &targets.contiguous()?,
            &weights.contiguous()?,
            CrossEntropy {
                vocab: v,
                gradient: Default::default(),
            },
        )
    } else {
        let max = logits.max_keepdim(D::Minus1)?.detach();
        let shifted = logits.broadcast_sub(&max)?;
        let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
        let picked = shifted.gather(&targets.unsqueeze(1)?, 1)?;
        (lse - picked)?.squeeze(1)? * weights
    }
}

/// The weighted losses of the rows of `z (n, v)` and their gradient
/// `w[i] · (softmax(z[i]) − onehot(t[i]))`.
pub(crate) fn cross_entropy_rows(
    z: &[f32],
    t: &[u32],
    w: &[f32],
    v: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let out_of_vocabulary = t
        .iter()
        .zip(w)
        .find(|&(&t, &w)| w != 0.0 && t as usize >= v);
    if let Some((bad, _)) = out_of_vocabulary {
        bail!("cross-entropy: target {bad} outside the vocabulary of {v}");
    }
    let mut out = vec![0f32; t.len()];
    let mut gradient = vec![0f32; z.len()];
    gradient
        .par_chunks_mut(v * ROWS_PER_TASK)
        .zip(z.par_chunks(v * ROWS_PER_TASK))
        .zip(out.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, ((dz, z), out))| {
            let rows = dz.chunks_exact_mut(v).zip(z.chunks_exact(v));
            for (j, ((dr, zr), o)) in rows.zip(out.iter_mut()).enumerate() {
                let i = task * ROWS_PER_TASK + j;
                if w[i] != 0.0 {
                    *o = cross_entropy_row(zr, dr, t[i] as usize, w[i]);
                }
            }
        });
    Ok((out, gradient))
}

simd_fn! {
    /// The loss `w · (logsumexp(z) − z[target])` of one row, with its gradient
    /// `w · (softmax(z) − onehot(target))` written to `dz`.
    fn cross_entropy_row(z: &[f32], dz: &mut [f32], target: usize, w: f32) -> f32 {
        let max = fastmath::max(z);
        let sum = exp_into(z, dz, 1.0, max);
        let k = w / sum;
        dz.iter_mut().for_each(|d| *d *= k);
        dz[target] -= w;
        w * (sum.ln() + max - z[target])
    }
}

/// Multiplies row `i` (`width` values) of `rows` by `factors[i]`: a loss gradient kept for an
/// upstream gradient of one, scaled to the upstream gradient the backward pass received.
pub(crate) fn scale_rows(rows: &mut [f32], factors: &[f32], width: usize) {
    rows.par_chunks_mut(width * ROWS_PER_TASK)
        .zip(factors.par_chunks(ROWS_PER_TASK))
        .for_each(|(rows, factors)| {
            for (row, &k) in rows.chunks_exact_mut(width).zip(factors) {
                if k != 1.0 {
                    row.iter_mut().for_each(|v| *v *= k);
                }
            }
        });
}

/// The forward pass also writes `weights[i] · (softmax(logits[i]) − onehot(targets[i]))`, the
/// loss's gradient for an upstream gradient of one, which the backward pass then only scales:
/// the exponentials are computed once.
struct CrossEntropy {
    vocab: usize,
    gradient: std::sync::Mutex<Vec<f32>>,
}

impl CustomOp3 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let z = f32s(s1, l1, self.name())?;
        let t = u32s(s2, l2, self.name())?;
        let w = f32s(s3, l3, self.name())?;
        let (out, gradient) = cross_entropy_rows(z, t, w, self.vocab)?;
        *self.gradient.lock().expect("cross-entropy lock") = gradient;
        Ok((CpuStorage::F32(out), Shape::from(t.len())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        weights: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let v = self.vocab;
        let mut dz = std::mem::take(&mut *self.gradient.lock().expect("cross-entropy lock"));
        if dz.len() != logits.elem_count() {
            // A second backward pass over the same graph: compute the gradient again.
            let (t, w) = (targets.contiguous()?, weights.contiguous()?);
            let (z, t, w) = (
                logits.flatten_all()?.to_vec1::<f32>()?,
                t.flatten_all()?.to_vec1::<u32>()?,
                w.flatten_all()?.to_vec1::<f32>()?,
            );
            dz = cross_entropy_rows(&z, &t, &w, v)?.1;
        }
        let g: Vec<f32> = grad.flatten_all()?.to_vec1()?;
        scale_rows(&mut dz, &g, v);
        Ok((
            Some(Tensor::from_vec(dz, logits.shape(), logits.device())?),
            None,
            None,
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// A tensor of standard normal values drawn from `seed`.
    pub(crate) fn randn(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = crate::rng::Rng::new(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Forward and gradient of a fused op against candle's composition of basic ops.
    pub(crate) fn check(
        fused: impl Fn(&Tensor) -> Result<Tensor>,
        reference: impl Fn(&Tensor) -> Result<Tensor>,
        shape: &[usize],
    ) {
        let x = Var::from_tensor(&randn(shape, 1)).unwrap();
        let a = fused(x.as_tensor()).unwrap();
        let b = reference(x.as_tensor()).unwrap();
        let probe = randn(a.dims(), 2);
        assert!(max_diff(&a, &b) < 1e-4, "forward differs");
        let ga = (a * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (b * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let (ga, gb) = (
            ga.get(x.as_tensor()).unwrap(),
            gb.get(x.as_tensor()).unwrap(),
        );
        assert!(
            max_diff(ga, gb) < 1e-3,
            "gradient differs: {}",
            max_diff(ga, gb)
        );
    }

    #[test]
    fn frozen_matmul_matches_matmul() {
        let w = randn(&[3, 4], 9);
        check(|x| frozen_matmul(x, &w), |x| x.matmul(&w.t()?), &[5, 4]);
    }

    #[test]
    fn rope_matches_candle() {
        let tables = RopeTables::new(8, 16, 10_000.0, &Device::Cpu).unwrap();
        let (c, s) = (
            tables.cos.narrow(0, 0, 5).unwrap(),
            tables.sin.narrow(0, 0, 5).unwrap(),
        );
        check(
            |x| tables.apply(x),
            |x| candle_nn::rotary_emb::rope_i_slow(x, &c, &s),
            &[2, 3, 5, 8],
        );
    }

    #[test]
    fn rms_norm_matches_candle() {
        let w = randn(&[16], 3);
        check(
            |x| rms_norm(x, &w, 1e-5),
            |x| candle_nn::ops::rms_norm_slow(x, &w, 1e-5),
            &[3, 4, 16],
        );
        let x = randn(&[3, 4, 16], 4);
        let wv = Var::from_tensor(&w).unwrap();
        let probe = randn(&[3, 4, 16], 5);
        let ga = (rms_norm(&x, wv.as_tensor(), 1e-5).unwrap() * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gb = (candle_nn::ops::rms_norm_slow(&x, wv.as_tensor(), 1e-5).unwrap() * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let d = max_diff(
            ga.get(wv.as_tensor()).unwrap(),
            gb.get(wv.as_tensor()).unwrap(),
        );
        assert!(d < 1e-3, "{d}");
    }

    #[test]
    fn causal_softmax_matches_masked_softmax() {
        let t = 6;
        let mask: Vec<f32> = (0..t * t)
            .map(|k| {
                if k % t > k / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, t), &Device::Cpu).unwrap();
        check(
            |x| causal_softmax(x, 0.5),
            |x| candle_nn::ops::softmax(&(x * 0.5)?.broadcast_add(&mask)?, D::Minus1),
            &[2, 3, t, t],
        );
    }

    #[test]
    fn cross_entropy_matches_log_softmax() {
        let targets = Tensor::new(&[1u32, 0, 4, 2], &Device::Cpu).unwrap();
        let weights = Tensor::new(&[1f32, 0.0, 0.5, 2.0], &Device::Cpu).unwrap();
        check(
            |z| weighted_cross_entropy(z, &targets, &weights),
            |z| {
                let lp = candle_nn::ops::log_softmax(z, D::Minus1)?;
                let picked = lp.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?;
                picked.neg()? * &weights
            },
            &[4, 5],
        );
    }
}
