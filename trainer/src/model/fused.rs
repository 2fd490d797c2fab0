//! Fused CPU training ops, each one forward pass and one backward pass over plain buffers: the
//! linear layer (one [`product`] forward, two backward), the output projection with its
//! cross-entropy, and SwiGLU, the mixer of the feed-forward sub-layer ([`super::sublayer`]).
//!
//! They take the places of candle's matmul (whose backward transposes and copies), `silu` and
//! the products that compose SwiGLU. CPU and f32 only: [`super::llama::Llama`] uses them on that
//! device and its candle composition elsewhere.

use super::fastmath::{exp, simd_fn};
use super::ops::{cross_entropy_rows, f32s, scale_rows};
use super::sgemm::{product, Operand};
use super::sublayer::Mixer;
use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

/// Runs `f` on the contiguous f32 data of the CPU tensors `tensors`, in order.
pub(crate) fn with_f32s<const N: usize, R>(
    tensors: [&Tensor; N],
    op: &str,
    f: impl FnOnce([&[f32]; N]) -> R,
) -> Result<R> {
    let guards = tensors.map(|t| t.storage_and_layout());
    let mut data: [&[f32]; N] = [&[]; N];
    for (slot, (storage, layout)) in data.iter_mut().zip(&guards) {
        *slot = match &**storage {
            Storage::Cpu(s) => f32s(s, layout, op)?,
            _ => bail!("{op}: expected a CPU tensor"),
        };
    }
    Ok(f(data))
}

/// Rows handed to one parallel task by the element-wise loops.
pub(crate) const ROWS_PER_TASK: usize = 16;

// ---------------------------------------------------------------------------------------------
// Linear

/// `x (n, in) · wᵀ` for `w (out, in)`, differentiable in both.
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, Linear)
}

struct Linear;

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        "linear"
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
        let (out, inp) = l2.shape().dims2()?;
        let n = rows_of(l1, inp, self.name())?;
        let y = product(
            n,
            out,
            inp,
            Operand::plain(x, inp),
            Operand::transposed(w, inp),
        );
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("rows_of checked the rank") = out;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (out, inp) = w.dims2()?;
        let n = x.elem_count() / inp;
        let grad = grad.contiguous()?;
        let (dx, dw) = with_f32s([&grad, w, x], self.name(), |[g, wv, xv]| {
            let dx = product(n, inp, out, Operand::plain(g, out), Operand::plain(wv, inp));
            let dw = product(
                out,
                inp,
                n,
                Operand::transposed(g, out),
                Operand::plain(xv, inp),
            );
            (dx, dw)
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dw, (out, inp), w.device())?),
        ))
    }
}

/// The number of rows of an input whose last dimension must be `width`.
pub(crate) fn rows_of(l: &Layout, width: usize, op: &str) -> Result<usize> {
    match l.dims().last() {
        Some(&d) if d == width => Ok(l.shape().elem_count() / width),
        _ => bail!("{op}: input {:?} does not end in {width}", l.dims()),
    }
}

// ---------------------------------------------------------------------------------------------
// Output projection and cross-entropy

/// The weighted cross-entropy of the logits `h (n, d) · wᵀ` for `w (vocab, d)`:
/// `weights[i] · (logsumexp(logits[i]) − logits[i, targets[i]])`, shape `(n)`; differentiable in
/// `h` and `w`. The logits and their gradient stay inside the op (the largest buffers of a
/// step, which candle's backward pass would otherwise zero and add once more).
pub fn linear_cross_entropy(
    h: &Tensor,
    w: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
) -> Result<Tensor> {
    let n = h.dim(0)?;
    if h.rank() != 2 || targets.dims() != [n] || weights.dims() != [n] {
        bail!("linear-cross-entropy: expected h (n, d), targets (n) and weights (n)");
    }
    let op = LinearCrossEntropy {
        targets: targets.to_vec1()?,
        weights: weights.to_vec1()?,
        gradient: Default::default(),
    };
    h.contiguous()?.apply_op2(&w.contiguous()?, op)
}

struct LinearCrossEntropy {
    targets: Vec<u32>,
    weights: Vec<f32>,
    /// The logits' gradient for an upstream gradient of one, from the forward pass.
    gradient: std::sync::Mutex<Vec<f32>>,
}

impl LinearCrossEntropy {
    fn losses_and_gradient(&self, h: &[f32], w: &[f32], d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let (n, vocab) = (h.len() / d, w.len() / d);
        let logits = product(n, vocab, d, Operand::plain(h, d), Operand::transposed(w, d));
        cross_entropy_rows(&logits, &self.targets, &self.weights, vocab)
    }
}

impl CustomOp2 for LinearCrossEntropy {
    fn name(&self) -> &'static str {
        "linear-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (h, w) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let (_, d) = l2.shape().dims2()?;
        rows_of(l1, d, self.name())?;
        let (losses, gradient) = self.losses_and_gradient(h, w, d)?;
        *self.gradient.lock().expect("linear-cross-entropy lock") = gradient;
        Ok((CpuStorage::F32(losses), Shape::from(self.targets.len())))
    }

    fn bwd(
        &self,
        h: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (vocab, d) = w.dims2()?;
        let n = self.targets.len();
        let mut dz = std::mem::take(&mut *self.gradient.lock().expect("linear-cross-entropy lock"));
        let g: Vec<f32> = grad.to_vec1()?;
        let (dh, dw) = with_f32s([h, w], self.name(), |[hv, wv]| -> Result<_> {
            if dz.len() != n * vocab {
                // A second backward pass over the same graph: compute the gradient again.
                dz = self.losses_and_gradient(hv, wv, d)?.1;
            }
            scale_rows(&mut dz, &g, vocab);
            let dh = product(
                n,
                d,
                vocab,
                Operand::plain(&dz, vocab),
                Operand::plain(wv, d),
            );
            let dw = product(
                vocab,
                d,
                n,
                Operand::transposed(&dz, vocab),
                Operand::plain(hv, d),
            );
            Ok((dh, dw))
        })??;
        Ok((
            Some(Tensor::from_vec(dh, h.shape(), h.device())?),
            Some(Tensor::from_vec(dw, w.shape(), w.device())?),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The SwiGLU feed-forward sub-layer

/// SwiGLU between the projections of a feed-forward sub-layer
/// ([`super::sublayer::residual_sub_layer`]) of hidden width `f`, whose input projection stacks
/// the gate weights over the up weights.
pub fn swiglu_mixer(f: usize) -> impl Mixer {
    SwiGlu { f }
}

/// SwiGLU between the feed-forward projections: rows of `gate|up` (`2f` wide) to rows of
/// `silu(gate) · up` (`f` wide).
struct SwiGlu {
    f: usize,
}

impl Mixer for SwiGlu {
    fn name(&self) -> &'static str {
        "feed-forward"
    }

    fn widths(&self) -> (usize, usize) {
        (2 * self.f, self.f)
    }

    fn forward(&self, gate_up: &[f32]) -> Vec<f32> {
        let f = self.f;
        let mut out = vec![0f32; gate_up.len() / 2];
        out.par_chunks_mut(f * ROWS_PER_TASK)
            .zip(gate_up.par_chunks(2 * f * ROWS_PER_TASK))
            .for_each(|(o, gu)| swiglu_rows(gu, o, f));
        out
    }

    fn backward(&self, gate_up: &[f32], dout: &[f32]) -> Vec<f32> {
        let f = self.f;
        let mut d = vec![0f32; gate_up.len()];
        d.par_chunks_mut(2 * f * ROWS_PER_TASK)
            .zip(gate_up.par_chunks(2 * f * ROWS_PER_TASK))
            .zip(dout.par_chunks(f * ROWS_PER_TASK))
            .for_each(|((d, gu), g)| swiglu_backward_rows(gu, g, d, f));
        d
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

simd_fn! {
    /// `out = silu(gate) · up` for rows of `gate|up` (`2f` wide) and of `out` (`f` wide).
    fn swiglu_rows(gate_up: &[f32], out: &mut [f32], f: usize) {
        for (o, gu) in out.chunks_exact_mut(f).zip(gate_up.chunks_exact(2 * f)) {
            let (g, u) = gu.split_at(f);
            for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                *o = g * sigmoid(g) * u;
            }
        }
    }
}

simd_fn! {
    /// The gradient `d` of `gate|up` rows from the gradient `grad` of the output rows.
    fn swiglu_backward_rows(gate_up: &[f32], grad: &[f32], d: &mut [f32], f: usize) {
        let rows = d.chunks_exact_mut(2 * f).zip(gate_up.chunks_exact(2 * f));
        for ((d, gu), g) in rows.zip(grad.chunks_exact(f)) {
            let (dg, du) = d.split_at_mut(f);
            let (x, u) = gu.split_at(f);
            let outputs = dg.iter_mut().zip(du.iter_mut());
            for ((dg, du), ((&x, &u), &g)) in outputs.zip(x.iter().zip(u).zip(g)) {
                let s = sigmoid(x);
                *dg = g * u * s * (1.0 + x * (1.0 - s));
                *du = g * x * s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::tests::check;
    use candle_core::{Device, D};

    #[test]
    fn linear_matches_matmul_in_both_inputs() {
        let w = crate::model::ops::tests::randn(&[3, 4], 9);
        check(|x| linear(x, &w), |x| x.matmul(&w.t()?), &[10, 4]);
        let x = crate::model::ops::tests::randn(&[5, 4], 8);
        check(|w| linear(&x, w), |w| x.matmul(&w.t()?), &[3, 4]);
    }

    #[test]
    fn linear_cross_entropy_matches_the_two_ops() {
        use crate::model::ops::weighted_cross_entropy;
        let targets = Tensor::new(&[1u32, 0, 6, 2, 9], &Device::Cpu).unwrap();
        let weights = Tensor::new(&[1f32, 0.0, 0.5, 2.0, 1.0], &Device::Cpu).unwrap();
        let w = crate::model::ops::tests::randn(&[10, 4], 9);
        check(
            |h| linear_cross_entropy(h, &w, &targets, &weights),
            |h| weighted_cross_entropy(&h.matmul(&w.t()?)?, &targets, &weights),
            &[5, 4],
        );
        let h = crate::model::ops::tests::randn(&[5, 4], 8);
        check(
            |w| linear_cross_entropy(&h, w, &targets, &weights),
            |w| weighted_cross_entropy(&h.matmul(&w.t()?)?, &targets, &weights),
            &[10, 4],
        );
    }

    #[test]
    fn the_feed_forward_sub_layer_matches_silu_times_up() {
        use crate::model::ops::tests::randn;
        use crate::model::sublayer::residual_sub_layer;
        let reference = |x: &Tensor, (norm, wgu, wdown): (&Tensor, &Tensor, &Tensor)| {
            let (b, t, d) = x.dims3()?;
            let h = candle_nn::ops::rms_norm_slow(x, norm, 1e-5)?;
            let gu = h.reshape((b * t, d))?.matmul(&wgu.t()?)?;
            let f = gu.dim(D::Minus1)? / 2;
            let act = (gu.narrow(D::Minus1, 0, f)?.silu()? * gu.narrow(D::Minus1, f, f)?)?;
            x + act.matmul(&wdown.t()?)?.reshape((b, t, d))?
        };
        let fused = |x: &Tensor, (norm, wgu, wdown): (&Tensor, &Tensor, &Tensor)| {
            // The gate and up weights as two stacked parts, as the model passes them.
            let (gate, up) = (wgu.narrow(0, 0, 5)?, wgu.narrow(0, 5, 5)?);
            residual_sub_layer(x, norm, 1e-5, &[&gate, &up], wdown, swiglu_mixer(5))
        };
        let (x, wgu, wdown) = (randn(&[2, 3, 4], 7), randn(&[10, 4], 8), randn(&[4, 5], 9));
        let norm = randn(&[4], 6).affine(0.2, 1.0).unwrap();
        let w = (&norm, &wgu, &wdown);
        check(|x| fused(x, w), |x| reference(x, w), x.dims());
        check(
            |n| fused(&x, (n, &wgu, &wdown)),
            |n| reference(&x, (n, &wgu, &wdown)),
            norm.dims(),
        );
        check(
            |g| fused(&x, (&norm, g, &wdown)),
            |g| reference(&x, (&norm, g, &wdown)),
            wgu.dims(),
        );
        check(
            |d| fused(&x, (&norm, &wgu, d)),
            |d| reference(&x, (&norm, &wgu, d)),
            wdown.dims(),
        );
    }
}
