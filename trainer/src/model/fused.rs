//! Fused CPU training ops of the llama block, each one forward loop and one backward loop over
//! plain buffers: the linear layer (one [`product`] forward, two backward) and SwiGLU.
//!
//! They take the places of candle's matmul (whose backward transposes and copies), `silu` and
//! the products that compose SwiGLU. CPU and f32 only: [`super::llama::Llama`] uses them on that
//! device and its candle composition elsewhere.

use super::fastmath::{exp, simd_fn};
use super::ops::f32s;
use super::sgemm::{product, Operand};
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

/// Runs `f` on the contiguous f32 data of the CPU tensor `t`.
pub(crate) fn with_f32<R>(t: &Tensor, op: &str, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(f(f32s(s, layout, op)?)),
        _ => bail!("{op}: expected a CPU tensor"),
    }
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
        let (dx, dw) = with_f32(&grad, self.name(), |g| {
            with_f32(w, self.name(), |wv| {
                with_f32(x, self.name(), |xv| {
                    let dx = product(n, inp, out, Operand::plain(g, out), Operand::plain(wv, inp));
                    let dw = product(
                        out,
                        inp,
                        n,
                        Operand::transposed(g, out),
                        Operand::plain(xv, inp),
                    );
                    (dx, dw)
                })
            })
        })???;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dw, (out, inp), w.device())?),
        ))
    }
}

/// The number of rows of an input whose last dimension must be `width`.
fn rows_of(l: &Layout, width: usize, op: &str) -> Result<usize> {
    match l.dims().last() {
        Some(&d) if d == width => Ok(l.shape().elem_count() / width),
        _ => bail!("{op}: input {:?} does not end in {width}", l.dims()),
    }
}

// ---------------------------------------------------------------------------------------------
// SwiGLU

/// `silu(gate) · up` for `gate_up (…, 2f)` holding the gate in its first `f` columns and the
/// up projection in the last `f`; returns `(…, f)`.
pub fn swiglu(gate_up: &Tensor) -> Result<Tensor> {
    gate_up.contiguous()?.apply_op1(SwiGlu)
}

struct SwiGlu;

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

impl CustomOp1 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let gu = f32s(s, l, self.name())?;
        let two_f = *l.dims().last().unwrap_or(&0);
        if !two_f.is_multiple_of(2) {
            bail!("swiglu: last dimension {two_f} is odd");
        }
        let f = two_f / 2;
        let mut out = vec![0f32; gu.len() / 2];
        out.par_chunks_mut(f * ROWS_PER_TASK)
            .zip(gu.par_chunks(two_f * ROWS_PER_TASK))
            .for_each(|(o, gu)| swiglu_rows(gu, o, f));
        let mut dims = l.dims().to_vec();
        *dims.last_mut().expect("checked above") = f;
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let two_f = *arg.dims().last().unwrap_or(&0);
        let f = two_f / 2;
        let d = with_f32(&grad, self.name(), |g| {
            with_f32(arg, self.name(), |gu| {
                let mut d = vec![0f32; gu.len()];
                d.par_chunks_mut(two_f * ROWS_PER_TASK)
                    .zip(gu.par_chunks(two_f * ROWS_PER_TASK))
                    .zip(g.par_chunks(f * ROWS_PER_TASK))
                    .for_each(|((d, gu), g)| swiglu_backward_rows(gu, g, d, f));
                d
            })
        })??;
        Ok(Some(Tensor::from_vec(d, arg.shape(), arg.device())?))
    }
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
    fn swiglu_matches_silu_times_up() {
        check(
            swiglu,
            |gu| {
                let f = gu.dim(D::Minus1)? / 2;
                gu.narrow(D::Minus1, 0, f)?.silu()? * gu.narrow(D::Minus1, f, f)?
            },
            &[2, 3, 10],
        );
        let odd = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(swiglu(&odd).unwrap_err().to_string().contains("odd"));
    }
}
