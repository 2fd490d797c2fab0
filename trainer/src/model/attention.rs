//! Fused causal self-attention for training: the q|k|v projection, RoPE, grouped-query heads,
//! scaled causal softmax, the value mix and the output projection in one CPU op, forward and
//! backward.
//!
//! Inside, the `q|k|v` rows `(batch·seq, (heads + 2·kv_heads)·head_dim)` are read in place and
//! the attention writes `(batch·seq, heads·head_dim)` for the output projection. No
//! transposed copies, no repeated key/value heads, no stored probabilities: the backward pass
//! computes them again, block by block. Rows come in blocks of [`BLOCK`] queries and each block
//! only multiplies the keys it can see, so the masked half of the scores is never computed.
//! One parallel task per (sequence, key/value head) owns that head's rows of the gradient.

use super::fastmath::{self, exp_in_place, simd_fn};
use super::ops::RopeTables;
use super::sgemm::{sgemm_serial, Operand};
use super::sublayer::Mixer;
use candle_core::{bail, Result};
use rayon::prelude::*;

/// Queries per block of the causal product.
const BLOCK: usize = 64;

/// The attention's shape.
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    /// Sequences.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (divides `heads`).
    pub kv_heads: usize,
    /// Width of a head.
    pub head_dim: usize,
}

impl Heads {
    fn qkv_width(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.head_dim
    }

    fn out_width(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// The attention between the projections of a sub-layer
/// ([`super::sublayer::residual_sub_layer`]): causal attention with RoPE from `rope` over
/// inputs of shape `(heads.batch, heads.seq, ·)`, whose input projection stacks the q, k and v
/// weights.
pub fn attention_mixer(heads: Heads, rope: &RopeTables) -> Result<impl Mixer> {
    if heads.kv_heads == 0 || !heads.heads.is_multiple_of(heads.kv_heads) {
        bail!(
            "attention: {} heads do not share {} key/value heads evenly",
            heads.heads,
            heads.kv_heads
        );
    }
    if rope.half() * 2 != heads.head_dim || rope.positions() < heads.seq {
        bail!("attention: RoPE tables do not fit {heads:?}");
    }
    Ok(Attention {
        heads,
        rope: rope.clone(),
    })
}

/// The attention between its projections: rows of `q|k|v` to rows of the heads' outputs.
struct Attention {
    heads: Heads,
    rope: RopeTables,
}

/// A buffer that parallel tasks write in disjoint places.
struct Shared(*mut f32);
// SAFETY: every task writes only the columns of its own heads.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

impl Attention {
    /// Copies head column block `col` (in units of `head_dim`) of sequence `b` out of the
    /// `width`-wide matrix `m` into `(seq, head_dim)`, rotated by RoPE when `rotate`.
    fn gather(&self, m: &[f32], width: usize, b: usize, col: usize, rotate: bool) -> Vec<f32> {
        let (t, hd) = (self.heads.seq, self.heads.head_dim);
        let mut out = vec![0f32; t * hd];
        let rope = rotate.then_some((&self.rope, false));
        copy_rows(
            &m[b * t * width + col * hd..],
            width,
            &mut out,
            hd,
            (t, hd),
            rope,
        );
        out
    }

    /// Writes `(seq, head_dim)` into head column block `col` of sequence `b` of the
    /// `width`-wide matrix behind `dst`, rotated back by RoPE when `unrotate`.
    ///
    /// # Safety
    /// `dst` must hold `batch · seq` rows of `width`, and no other thread may write this block.
    unsafe fn scatter(
        &self,
        src: &[f32],
        dst: &Shared,
        width: usize,
        b: usize,
        col: usize,
        unrotate: bool,
    ) {
        let (t, hd) = (self.heads.seq, self.heads.head_dim);
        let out = std::slice::from_raw_parts_mut(
            dst.0.add(b * t * width + col * hd),
            (t - 1) * width + hd,
        );
        let rope = unrotate.then_some((&self.rope, true));
        copy_rows(src, hd, out, width, (t, hd), rope);
    }

    fn scale(&self) -> f32 {
        1.0 / (self.heads.head_dim as f32).sqrt()
    }

    /// The causal softmax probabilities of query rows `r0..r1` against keys `0..r1`:
    /// `(r1 - r0, r1)`, zero above the diagonal.
    fn probabilities(&self, q: &[f32], k: &[f32], r0: usize, r1: usize) -> Vec<f32> {
        let hd = self.heads.head_dim;
        let mut p = vec![0f32; (r1 - r0) * r1];
        sgemm_serial(
            r1 - r0,
            r1,
            hd,
            Operand::plain(&q[r0 * hd..r1 * hd], hd),
            Operand::transposed(&k[..r1 * hd], hd),
            &mut p,
            r1,
            false,
        );
        causal_softmax_rows(&mut p, r0, r1, self.scale());
        p
    }

    /// The blocks of query rows.
    fn blocks(&self) -> impl Iterator<Item = (usize, usize)> {
        let t = self.heads.seq;
        (0..t.div_ceil(BLOCK)).map(move |i| (i * BLOCK, ((i + 1) * BLOCK).min(t)))
    }

    /// Tasks: (sequence, key/value head).
    fn tasks(&self) -> impl ParallelIterator<Item = (usize, usize)> {
        let kv = self.heads.kv_heads;
        (0..self.heads.batch * kv)
            .into_par_iter()
            .map(move |i| (i / kv, i % kv))
    }
}

impl Mixer for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn widths(&self) -> (usize, usize) {
        (self.heads.qkv_width(), self.heads.out_width())
    }

    fn check(&self, dims: &[usize]) -> Result<()> {
        let h = self.heads;
        if dims.len() != 3 || dims[..2] != [h.batch, h.seq] {
            bail!(
                "attention: expected an input of shape ({}, {}, d), got {dims:?}",
                h.batch,
                h.seq
            );
        }
        Ok(())
    }

    /// The attention of the `q|k|v` rows: `(batch · seq, heads · head_dim)`.
    fn forward(&self, qkv: &[f32]) -> Vec<f32> {
        let h = self.heads;
        let (hd, width, out_width) = (h.head_dim, h.qkv_width(), h.out_width());
        let rep = h.heads / h.kv_heads;
        let mut out = vec![0f32; h.batch * h.seq * out_width];
        let dst = Shared(out.as_mut_ptr());
        self.tasks().for_each(|(b, g)| {
            let k = self.gather(qkv, width, b, h.heads + g, true);
            let v = self.gather(qkv, width, b, h.heads + h.kv_heads + g, false);
            for head in g * rep..(g + 1) * rep {
                let q = self.gather(qkv, width, b, head, true);
                let mut o = vec![0f32; h.seq * hd];
                for (r0, r1) in self.blocks() {
                    let p = self.probabilities(&q, &k, r0, r1);
                    sgemm_serial(
                        r1 - r0,
                        hd,
                        r1,
                        Operand::plain(&p, r1),
                        Operand::plain(&v[..r1 * hd], hd),
                        &mut o[r0 * hd..r1 * hd],
                        hd,
                        false,
                    );
                }
                // SAFETY: `out` has `batch · seq` rows of `out_width`; head `head` of sequence
                // `b` belongs to this task alone.
                unsafe { self.scatter(&o, &dst, out_width, b, head, false) };
            }
        });
        out
    }

    /// The gradient of the `q|k|v` rows from the gradient `dout` of the attention's output.
    fn backward(&self, qkv: &[f32], dout: &[f32]) -> Vec<f32> {
        let h = self.heads;
        let (hd, width, out_width) = (h.head_dim, h.qkv_width(), h.out_width());
        let rep = h.heads / h.kv_heads;
        let mut d = vec![0f32; h.batch * h.seq * width];
        let dst = Shared(d.as_mut_ptr());
        self.tasks().for_each(|(b, g)| {
            let k = self.gather(qkv, width, b, h.heads + g, true);
            let v = self.gather(qkv, width, b, h.heads + h.kv_heads + g, false);
            let mut dk = vec![0f32; h.seq * hd];
            let mut dv = vec![0f32; h.seq * hd];
            for head in g * rep..(g + 1) * rep {
                let q = self.gather(qkv, width, b, head, true);
                let dout = self.gather(dout, out_width, b, head, false);
                let mut dq = vec![0f32; h.seq * hd];
                for (r0, r1) in self.blocks() {
                    self.block_backward((&q, &k, &v, &dout), (&mut dq, &mut dk, &mut dv), r0, r1);
                }
                // SAFETY: `d` has `batch · seq` rows of `width`; these columns belong to this
                // task alone.
                unsafe { self.scatter(&dq, &dst, width, b, head, true) };
            }
            // SAFETY: as above, for this task's key and value heads.
            unsafe {
                self.scatter(&dk, &dst, width, b, h.heads + g, true);
                self.scatter(&dv, &dst, width, b, h.heads + h.kv_heads + g, false);
            }
        });
        d
    }
}

impl Attention {
    /// The gradient of one block of query rows `r0..r1` of one head: sets those rows of `dq`
    /// and adds to rows `0..r1` of `dk` and `dv` (rotated coordinates).
    fn block_backward(
        &self,
        (q, k, v, dout): (&[f32], &[f32], &[f32], &[f32]),
        (dq, dk, dv): (&mut [f32], &mut [f32], &mut [f32]),
        r0: usize,
        r1: usize,
    ) {
        let hd = self.heads.head_dim;
        let rows = r1 - r0;
        let p = self.probabilities(q, k, r0, r1);
        let dout = &dout[r0 * hd..r1 * hd];
        // dV[..r1] += Pᵀ · dO
        sgemm_serial(
            r1,
            hd,
            rows,
            Operand::transposed(&p, r1),
            Operand::plain(dout, hd),
            &mut dv[..r1 * hd],
            hd,
            true,
        );
        // dP = dO · V[..r1]ᵀ, then dS = P ∘ (dP − rowsum(P ∘ dP)) · scale
        let mut ds = vec![0f32; rows * r1];
        sgemm_serial(
            rows,
            r1,
            hd,
            Operand::plain(dout, hd),
            Operand::transposed(&v[..r1 * hd], hd),
            &mut ds,
            r1,
            false,
        );
        softmax_backward_rows(&p, &mut ds, r1, self.scale());
        // dQ[r0..r1] = dS · K[..r1];  dK[..r1] += dSᵀ · Q[r0..r1]
        sgemm_serial(
            rows,
            hd,
            r1,
            Operand::plain(&ds, r1),
            Operand::plain(&k[..r1 * hd], hd),
            &mut dq[r0 * hd..r1 * hd],
            hd,
            false,
        );
        sgemm_serial(
            r1,
            hd,
            rows,
            Operand::transposed(&ds, r1),
            Operand::plain(&q[r0 * hd..r1 * hd], hd),
            &mut dk[..r1 * hd],
            hd,
            true,
        );
    }
}

simd_fn! {
    /// Copies `shape = (rows, hd)`: `rows` rows of `hd` values from `src` (row stride `src_stride`) to `dst` (row
    /// stride `dst_stride`). With `rope`, row `i` is rotated for position `i` (by the opposite
    /// angle when the flag says inverse).
    fn copy_rows(
        src: &[f32],
        src_stride: usize,
        dst: &mut [f32],
        dst_stride: usize,
        shape: (usize, usize),
        rope: Option<(&RopeTables, bool)>,
    ) {
        let (rows, hd) = shape;
        for i in 0..rows {
            let from = &src[i * src_stride..i * src_stride + hd];
            let to = &mut dst[i * dst_stride..i * dst_stride + hd];
            match rope {
                Some((r, inverse)) => r.rotate(from, to, i, inverse),
                None => to.copy_from_slice(from),
            }
        }
    }
}

simd_fn! {
    /// Softmax of query rows `r0..` (one row of `r1` scores each, scaled by `scale`) over
    /// the keys up to each row's own position; zero after it.
    fn causal_softmax_rows(p: &mut [f32], r0: usize, r1: usize, scale: f32) {
        for (i, row) in p.chunks_exact_mut(r1).enumerate() {
            let n = r0 + i + 1;
            let max = fastmath::max(&row[..n]) * scale;
            let inv = 1.0 / exp_in_place(&mut row[..n], scale, max);
            row[..n].iter_mut().for_each(|v| *v *= inv);
            row[n..].iter_mut().for_each(|v| *v = 0.0);
        }
    }
}

simd_fn! {
    /// The softmax backward pass in place: `ds = scale · p ∘ (ds − rowsum(p ∘ ds))`, rows of
    /// `width`.
    fn softmax_backward_rows(p: &[f32], ds: &mut [f32], width: usize, scale: f32) {
        for (pr, dr) in p.chunks_exact(width).zip(ds.chunks_exact_mut(width)) {
            let s = fastmath::dot(pr, dr);
            for (d, &p) in dr.iter_mut().zip(pr) {
                *d = scale * p * (*d - s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::causal_softmax;
    use crate::model::ops::tests::{check, randn};
    use crate::model::sublayer::residual_sub_layer;
    use candle_core::Device;
    use candle_core::Tensor;

    /// The unfused composition: split, rotate, repeat the key/value heads, softmax, mix.
    fn reference(qkv: &Tensor, h: Heads, rope: &RopeTables) -> Result<Tensor> {
        let (b, t, hd) = (h.batch, h.seq, h.head_dim);
        let qkv = qkv.reshape((b * t, h.qkv_width()))?;
        let part = |start: usize, n: usize| -> Result<Tensor> {
            qkv.narrow(1, start * hd, n * hd)?
                .reshape((b, t, n, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = rope.apply(&part(0, h.heads)?)?;
        let k = rope.apply(&part(h.heads, h.kv_heads)?)?;
        let v = part(h.heads + h.kv_heads, h.kv_heads)?;
        let rep = h.heads / h.kv_heads;
        let expand = |x: Tensor| -> Result<Tensor> {
            x.unsqueeze(2)?
                .broadcast_as((b, h.kv_heads, rep, t, hd))?
                .reshape((b, h.heads, t, hd))
        };
        let (k, v) = (expand(k)?, expand(v)?);
        let p = causal_softmax(&q.matmul(&k.t()?)?, 1.0 / (hd as f32).sqrt())?;
        p.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h.heads * hd))
    }

    /// The unfused sub-layer: norm, projections by matmul around [`reference`], residual.
    fn reference_block(
        x: &Tensor,
        (norm, wqkv, wo): (&Tensor, &Tensor, &Tensor),
        h: Heads,
        rope: &RopeTables,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let normed = candle_nn::ops::rms_norm_slow(x, norm, 1e-5)?;
        let qkv = normed
            .reshape((b * t, d))?
            .matmul(&wqkv.t()?)?
            .reshape((b, t, h.qkv_width()))?;
        let y = reference(&qkv, h, rope)?.reshape((b * t, h.out_width()))?;
        x + y.matmul(&wo.t()?)?.reshape((b, t, d))?
    }

    /// The fused sub-layer with the attention mixer.
    fn fused_block(
        x: &Tensor,
        (norm, wqkv, wo): (&Tensor, &Tensor, &Tensor),
        h: Heads,
        rope: &RopeTables,
    ) -> Result<Tensor> {
        residual_sub_layer(x, norm, 1e-5, &[wqkv], wo, attention_mixer(h, rope)?)
    }

    #[test]
    fn attention_matches_the_composition_of_candle_ops() {
        // 70 tokens: two query blocks, the second one partial; grouped and plain heads.
        for (heads, kv_heads) in [(4, 2), (2, 2)] {
            let h = Heads {
                batch: 2,
                seq: 70,
                heads,
                kv_heads,
                head_dim: 8,
            };
            let dim = 12;
            let rope = RopeTables::new(8, 80, 10_000.0, &Device::Cpu).unwrap();
            let x = randn(&[h.batch, h.seq, dim], 7);
            let norm = randn(&[dim], 6).affine(0.2, 1.0).unwrap();
            let wqkv = (randn(&[h.qkv_width(), dim], 8) * 0.3).unwrap();
            let wo = (randn(&[dim, h.out_width()], 9) * 0.3).unwrap();
            let same = |x: &Tensor, w: (&Tensor, &Tensor, &Tensor)| {
                (fused_block(x, w, h, &rope), reference_block(x, w, h, &rope))
            };
            check(
                |x| same(x, (&norm, &wqkv, &wo)).0,
                |x| same(x, (&norm, &wqkv, &wo)).1,
                x.dims(),
            );
            check(
                |n| same(&x, (n, &wqkv, &wo)).0,
                |n| same(&x, (n, &wqkv, &wo)).1,
                norm.dims(),
            );
            check(
                |w| same(&x, (&norm, w, &wo)).0,
                |w| same(&x, (&norm, w, &wo)).1,
                wqkv.dims(),
            );
            check(
                |w| same(&x, (&norm, &wqkv, w)).0,
                |w| same(&x, (&norm, &wqkv, w)).1,
                wo.dims(),
            );
        }
    }

    #[test]
    fn a_wrong_shape_is_an_error() {
        let h = Heads {
            batch: 1,
            seq: 4,
            heads: 2,
            kv_heads: 2,
            head_dim: 8,
        };
        let rope = RopeTables::new(8, 8, 10_000.0, &Device::Cpu).unwrap();
        let zeros =
            |shape: &[usize]| Tensor::zeros(shape, candle_core::DType::F32, &Device::Cpu).unwrap();
        let (x, norm) = (zeros(&[1, 4, 6]), zeros(&[6]));
        let mixer = || attention_mixer(h, &rope).unwrap();
        let e = residual_sub_layer(
            &x,
            &norm,
            1e-5,
            &[&zeros(&[40, 6])],
            &zeros(&[6, 16]),
            mixer(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("input weights (48 rows in all, 6)"), "{e}");
        let e = residual_sub_layer(
            &zeros(&[2, 2, 6]),
            &norm,
            1e-5,
            &[&zeros(&[48, 6])],
            &zeros(&[6, 16]),
            mixer(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("expected an input of shape (1, 4, d)"), "{e}");
    }
}
