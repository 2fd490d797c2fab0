//! A pre-norm residual sub-layer as one training op:
//! `x + mix(rms_norm(x) · w_inᵀ) · w_outᵀ` — the RMS norm, an input projection, a mixer
//! (attention, SwiGLU), an output projection and the residual add, forward and backward.
//!
//! candle's backward pass zeroes a buffer and adds into it for every input of every node of
//! the graph; with the whole sub-layer in one node only the residual stream and the weights
//! get such buffers. The forward pass keeps the normed rows, the input projection and the
//! mixer's output for the backward pass (a second backward pass over the same graph computes
//! them again).

use super::fused::{rows_of, with_f32s};
use super::ops::{f32s, rms_norm_backward_w, rms_norm_backward_x, rms_norm_rows};
use super::sgemm::{product, product_onto, Operand};
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};
use std::sync::Mutex;

/// The part of a sub-layer between its projections, on rows of plain buffers.
pub trait Mixer: Send + Sync + 'static {
    /// The op's name in errors.
    fn name(&self) -> &'static str;
    /// The widths of the rows the mixer reads (the input projection's) and writes.
    fn widths(&self) -> (usize, usize);
    /// Checks the shape of the sub-layer's input (the mixer may need a `(batch, seq, ·)`).
    fn check(&self, _dims: &[usize]) -> Result<()> {
        Ok(())
    }
    /// The mixer's output rows for the input projection's rows `x`.
    fn forward(&self, x: &[f32]) -> Vec<f32>;
    /// The gradient of `x` from the gradient `dout` of the mixer's output.
    fn backward(&self, x: &[f32], dout: &[f32]) -> Vec<f32>;
}

/// `x + mixer(rms_norm(x; norm, eps) · w_inᵀ) · w_outᵀ` for `x (…, dim)`, `norm (dim)`, the
/// input projection's weights `w_in` (stacked in order, each `(·, dim)`) and
/// `w_out (dim, ·)`. Differentiable in `x`, `norm` and every weight.
pub fn residual_sub_layer<M: Mixer>(
    x: &Tensor,
    norm: &Tensor,
    eps: f32,
    w_in: &[&Tensor],
    w_out: &Tensor,
    mixer: M,
) -> Result<Tensor> {
    let dim = x.dim(D::Minus1)?;
    let (in_width, out_width) = mixer.widths();
    let rows_in: usize = w_in.iter().map(|w| w.dim(0).unwrap_or(0)).sum();
    let shapes_fit = norm.dims() == [dim]
        && w_in
            .iter()
            .all(|w| w.rank() == 2 && w.dim(1).ok() == Some(dim))
        && rows_in == in_width
        && w_out.dims() == [dim, out_width];
    if !shapes_fit {
        let w_in: Vec<_> = w_in.iter().map(|w| w.dims().to_vec()).collect();
        bail!(
            "{}: expected norm ({dim}), input weights ({in_width} rows in all, {dim}) and output \
             weight ({dim}, {out_width}), got {:?}, {w_in:?} and {:?}",
            mixer.name(),
            norm.dims(),
            w_out.dims()
        );
    }
    mixer.check(x.dims())?;
    let mut packed: Vec<Tensor> = w_in.iter().map(|&w| w.clone()).collect();
    packed.push(norm.unsqueeze(0)?);
    let op = SubLayer {
        mixer,
        eps,
        saved: Mutex::new(None),
    };
    x.contiguous()?
        .apply_op3(&Tensor::cat(&packed, 0)?, &w_out.contiguous()?, op)
}

/// The op; its second input is the input projection's weights with the norm's weight as one
/// more row.
struct SubLayer<M> {
    mixer: M,
    eps: f32,
    /// The normed rows, the input projection and the mixer's output, from the forward pass.
    saved: Mutex<Option<Saved>>,
}

type Saved = (Vec<f32>, Vec<f32>, Vec<f32>);

impl<M: Mixer> SubLayer<M> {
    /// The normed rows of `x`, their input projection and the mixer's output.
    fn inner(&self, x: &[f32], packed: &[f32], dim: usize) -> Saved {
        let (w_in, norm) = packed.split_at(packed.len() - dim);
        let (rows, in_width) = (x.len() / dim, w_in.len() / dim);
        let h = rms_norm_rows(x, norm, self.eps);
        let projected = product(
            rows,
            in_width,
            dim,
            Operand::plain(&h, dim),
            Operand::transposed(w_in, dim),
        );
        let mixed = self.mixer.forward(&projected);
        (h, projected, mixed)
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
        let (x, packed, w_out) = (
            f32s(s1, l1, self.name())?,
            f32s(s2, l2, self.name())?,
            f32s(s3, l3, self.name())?,
        );
        let (dim, mixed_width) = l3.shape().dims2()?;
        let rows = rows_of(l1, dim, self.name())?;
        let saved = self.inner(x, packed, dim);
        let out = product_onto(
            x.to_vec(),
            rows,
            dim,
            mixed_width,
            Operand::plain(&saved.2, mixed_width),
            Operand::transposed(w_out, mixed_width),
        );
        *self.saved.lock().expect("sub-layer lock") = Some(saved);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        packed: &Tensor,
        w_out: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (dim, mixed_width) = w_out.dims2()?;
        let in_width = packed.dim(0)? - 1;
        let rows = x.elem_count() / dim;
        let saved = self.saved.lock().expect("sub-layer lock").take();
        let name = self.name();
        let tensors = [x, packed, w_out, &grad];
        let (dx, dpacked, dw_out) = with_f32s(tensors, name, |[xv, packed, w_out, g]| {
            let (h, projected, mixed) = saved.unwrap_or_else(|| self.inner(xv, packed, dim));
            let (w_in, norm) = packed.split_at(in_width * dim);
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
            let dprojected = self.mixer.backward(&projected, &dmixed);
            let dh = product(
                rows,
                dim,
                in_width,
                Operand::plain(&dprojected, in_width),
                Operand::plain(w_in, dim),
            );
            let mut dpacked = product(
                in_width,
                dim,
                rows,
                Operand::transposed(&dprojected, in_width),
                Operand::plain(&h, dim),
            );
            dpacked.extend(rms_norm_backward_w(xv, &dh, dim, self.eps));
            // The residual passes `g` on; the norm adds its part.
            let mut dx = g.to_vec();
            rms_norm_backward_x(xv, norm, &dh, self.eps, &mut dx);
            (dx, dpacked, dw_out)
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dpacked, packed.shape(), packed.device())?),
            Some(Tensor::from_vec(dw_out, w_out.shape(), w_out.device())?),
        ))
    }
}
