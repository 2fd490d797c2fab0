//! A sub-layer as one training op: `mix(h · w_inᵀ) · w_outᵀ`, an input projection, a mixer
//! (attention, SwiGLU) and an output projection, forward and backward.
//!
//! Keeping the projections inside the op keeps their outputs out of candle's graph, whose
//! backward pass zeroes a buffer and adds into it for every input of every node. The forward
//! pass keeps the input projection and the mixer's output for the backward pass (a second
//! backward pass over the same graph computes them again).

use super::fused::{rows_of, with_f32};
use super::ops::f32s;
use super::sgemm::{product, Operand};
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::Mutex;

/// The part of a sub-layer between its projections, on rows of plain buffers.
pub trait Mixer: Send + Sync + 'static {
    /// The op's name in errors.
    fn name(&self) -> &'static str;
    /// The mixer's output rows for the input projection's rows `x`.
    fn forward(&self, x: &[f32]) -> Vec<f32>;
    /// The gradient of `x` from the gradient `dout` of the mixer's output.
    fn backward(&self, x: &[f32], dout: &[f32]) -> Vec<f32>;
}

/// `mixer(h · w_inᵀ) · w_outᵀ` for `h (…, dim)`, `w_in (in_width, dim)` and
/// `w_out (dim, mixed_width)`, where the mixer turns rows of `in_width` into rows of
/// `mixed_width`. Differentiable in `h`, `w_in` and `w_out`. The caller checks the shapes.
pub fn sub_layer<M: Mixer>(h: &Tensor, w_in: &Tensor, w_out: &Tensor, mixer: M) -> Result<Tensor> {
    let op = SubLayer {
        mixer,
        saved: Mutex::new(None),
    };
    h.contiguous()?
        .apply_op3(&w_in.contiguous()?, &w_out.contiguous()?, op)
}

struct SubLayer<M> {
    mixer: M,
    /// The input projection and the mixer's output, from the forward pass.
    saved: Mutex<Option<(Vec<f32>, Vec<f32>)>>,
}

impl<M: Mixer> SubLayer<M> {
    /// The input projection of `h` and the mixer's output.
    fn inner(&self, h: &[f32], w_in: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
        let (rows, in_width) = (h.len() / dim, w_in.len() / dim);
        let x = product(
            rows,
            in_width,
            dim,
            Operand::plain(h, dim),
            Operand::transposed(w_in, dim),
        );
        let mixed = self.mixer.forward(&x);
        (x, mixed)
    }
}

impl<M: Mixer> CustomOp3 for SubLayer<M> {
    fn name(&self) -> &'static str {
        self.mixer.name()
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
        let (h, w_in, w_out) = (
            f32s(s1, l1, self.name())?,
            f32s(s2, l2, self.name())?,
            f32s(s3, l3, self.name())?,
        );
        let (dim, mixed_width) = l3.shape().dims2()?;
        let rows = rows_of(l1, dim, self.name())?;
        let (x, mixed) = self.inner(h, w_in, dim);
        let out = product(
            rows,
            dim,
            mixed_width,
            Operand::plain(&mixed, mixed_width),
            Operand::transposed(w_out, mixed_width),
        );
        *self.saved.lock().expect("sub-layer lock") = Some((x, mixed));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        h: &Tensor,
        w_in: &Tensor,
        w_out: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (dim, mixed_width) = w_out.dims2()?;
        let in_width = w_in.dim(0)?;
        let rows = h.elem_count() / dim;
        let saved = self.saved.lock().expect("sub-layer lock").take();
        let name = self.name();
        let (dh, dw_in, dw_out) = with_f32(h, name, |hv| {
            with_f32(w_in, name, |w_in| {
                with_f32(w_out, name, |w_out| {
                    with_f32(&grad, name, |g| {
                        let (x, mixed) = saved.unwrap_or_else(|| self.inner(hv, w_in, dim));
                        let dmixed = product(
                            rows,
                            mixed_width,
                            dim,
                            Operand::plain(g, dim),
                            Operand::plain(w_out, mixed_width),
                        );
                        let dw_out = product(
                            dim,
                            mixed_width,
                            rows,
                            Operand::transposed(g, dim),
                            Operand::plain(&mixed, mixed_width),
                        );
                        let dx = self.mixer.backward(&x, &dmixed);
                        let dh = product(
                            rows,
                            dim,
                            in_width,
                            Operand::plain(&dx, in_width),
                            Operand::plain(w_in, dim),
                        );
                        let dw_in = product(
                            in_width,
                            dim,
                            rows,
                            Operand::transposed(&dx, in_width),
                            Operand::plain(hv, dim),
                        );
                        (dh, dw_in, dw_out)
                    })
                })
            })
        })????;
        Ok((
            Some(Tensor::from_vec(dh, h.shape(), h.device())?),
            Some(Tensor::from_vec(dw_in, w_in.shape(), w_in.device())?),
            Some(Tensor::from_vec(dw_out, w_out.shape(), w_out.device())?),
        ))
    }
}
