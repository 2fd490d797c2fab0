//! Weight matrices in the runtime's own layouts, and their products with activations.
//!
//! GGUF blocks are repacked once, at load, into three layouts with one kernel each:
//! - [`Layout::Nibbles`]: 4-bit values in blocks of 32, `w = d·q + m` (Q4_0, Q4_1, Q4_K);
//! - [`Layout::Bytes`]: 8-bit signed values in blocks of 32 or 16, `w = d·q` (Q8_0, Q6_K);
//! - [`Layout::Floats`]: plain f32 (F32, F16, BF16 and every other GGUF type, dequantized).
//!
//! The repacking is exact: each weight has the same value as in the GGUF file. Activations
//! are quantized to 8 bits per block of 32 ([`QuantizedVector`], as llama.cpp does) for the
//! 4- and 8-bit layouts, so a row's product is integer arithmetic plus one scale per block.

use super::{Result, RuntimeError};
use candle_core::quantized::GgmlDType;
use half::{bf16, f16};

/// Values per activation block.
pub const BLOCK: usize = 32;

/// How a matrix stores its weights.
#[derive(Clone, Debug)]
pub enum Layout {
    /// 4-bit values in blocks of 32: byte `j` of a block holds value `j` (low nibble) and
    /// value `j + 16` (high nibble); `w = scale·q + min`.
    Nibbles {
        /// Packed values, 16 bytes per block.
        q: Vec<u8>,
        /// One scale per block.
        scale: Vec<f32>,
        /// One offset per block.
        min: Vec<f32>,
    },
    /// 8-bit signed values in blocks of `group` (32 or 16); `w = scale·q`.
    Bytes {
        /// The values.
        q: Vec<i8>,
        /// One scale per group.
        scale: Vec<f32>,
        /// Values per scale: 32 or 16.
        group: usize,
    },
    /// Plain floats.
    Floats(Vec<f32>),
}

/// A `rows × cols` weight matrix (row-major: a row is one output).
#[derive(Clone, Debug)]
pub struct Matrix {
    /// Outputs.
    pub rows: usize,
    /// Inputs.
    pub cols: usize,
    /// The weights.
    pub layout: Layout,
}

fn half_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// The 6-bit scale and min `j` (0..8) of a Q4_K super-block (ggml's `get_scale_min_k4`).
fn k4_scale_min(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

impl Matrix {
    /// Repacks the raw GGUF bytes of a `rows × cols` tensor of type `dtype`. Types without a
    /// repacking of their own are read with `dequantize` (candle's dequantization to f32).
    pub fn from_gguf(
        name: &str,
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        dequantize: impl FnOnce() -> Result<Vec<f32>>,
    ) -> Result<Self> {
        let n = rows * cols;
        let expected = n / dtype.block_size() * dtype.type_size();
        if !n.is_multiple_of(dtype.block_size()) || bytes.len() != expected {
            return Err(RuntimeError::Gguf(format!(
                "tensor `{name}`: {} bytes for {rows}×{cols} {dtype:?} (expected {expected})",
                bytes.len()
            )));
        }
        let layout = match dtype {
            GgmlDType::F32 => Layout::Floats(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            GgmlDType::F16 => Layout::Floats(
                bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            GgmlDType::BF16 => Layout::Floats(
                bytes
                    .chunks_exact(2)
                    .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            GgmlDType::Q4_0 | GgmlDType::Q4_1 => {
                let size = dtype.type_size();
                let blocks = n / BLOCK;
                let (mut q, mut scale, mut min) = (
                    Vec::with_capacity(blocks * 16),
                    Vec::with_capacity(blocks),
                    Vec::with_capacity(blocks),
                );
                for b in bytes.chunks_exact(size) {
                    let d = half_at(b, 0);
                    scale.push(d);
                    if dtype == GgmlDType::Q4_0 {
                        min.push(-8.0 * d);
                        q.extend_from_slice(&b[2..18]);
                    } else {
                        min.push(half_at(b, 2));
                        q.extend_from_slice(&b[4..20]);
                    }
                }
                Layout::Nibbles { q, scale, min }
            }
            GgmlDType::Q4K => {
                let blocks = n / BLOCK;
                let (mut q, mut scale, mut min) = (
                    Vec::with_capacity(blocks * 16),
                    Vec::with_capacity(blocks),
                    Vec::with_capacity(blocks),
                );
                for b in bytes.chunks_exact(144) {
                    let (d, dmin) = (half_at(b, 0), half_at(b, 2));
                    let scales = &b[4..16];
                    let qs = &b[16..144];
                    for pair in 0..4 {
                        let chunk = &qs[pair * 32..pair * 32 + 32];
                        for (sub, shift) in [(2 * pair, 0u8), (2 * pair + 1, 4u8)] {
                            let (sc, m) = k4_scale_min(sub, scales);
                            scale.push(d * f32::from(sc));
                            min.push(-dmin * f32::from(m));
                            let v = |l: usize| (chunk[l] >> shift) & 0xF;
                            q.extend((0..16).map(|j| v(j) | (v(j + 16) << 4)));
                        }
                    }
                }
                Layout::Nibbles { q, scale, min }
            }
            GgmlDType::Q8_0 => {
                let blocks = n / BLOCK;
                let (mut q, mut scale) = (Vec::with_capacity(n), Vec::with_capacity(blocks));
                for b in bytes.chunks_exact(34) {
                    scale.push(half_at(b, 0));
                    q.extend(b[2..34].iter().map(|&v| v as i8));
                }
                Layout::Bytes {
                    q,
                    scale,
                    group: 32,
                }
            }
            GgmlDType::Q6K => {
                let (mut q, mut scale) = (vec![0i8; n], Vec::with_capacity(n / 16));
                for (bi, b) in bytes.chunks_exact(210).enumerate() {
                    let (ql, qh, sc) = (&b[0..128], &b[128..192], &b[192..208]);
                    let d = half_at(b, 208);
                    scale.extend(sc.iter().map(|&s| d * f32::from(s as i8)));
                    let out = &mut q[bi * 256..bi * 256 + 256];
                    for half in 0..2 {
                        let (ql, qh) = (&ql[half * 64..], &qh[half * 32..]);
                        let y = &mut out[half * 128..half * 128 + 128];
                        for l in 0..32 {
                            let h = qh[l];
                            y[l] = ((ql[l] & 0xF) | ((h & 3) << 4)) as i8 - 32;
                            y[l + 32] = ((ql[l + 32] & 0xF) | (((h >> 2) & 3) << 4)) as i8 - 32;
                            y[l + 64] = ((ql[l] >> 4) | (((h >> 4) & 3) << 4)) as i8 - 32;
                            y[l + 96] = ((ql[l + 32] >> 4) | (((h >> 6) & 3) << 4)) as i8 - 32;
                        }
                    }
                }
                Layout::Bytes {
                    q,
                    scale,
                    group: 16,
                }
            }
            _ => {
                let values = dequantize()?;
                if values.len() != n {
                    return Err(RuntimeError::Gguf(format!(
                        "tensor `{name}`: {} values for {rows}×{cols}",
                        values.len()
                    )));
                }
                Layout::Floats(values)
            }
        };
        if !matches!(layout, Layout::Floats(_)) && !cols.is_multiple_of(BLOCK) {
            return Err(RuntimeError::Gguf(format!(
                "tensor `{name}`: rows of {cols} values are not whole blocks of {BLOCK}"
            )));
        }
        Ok(Self { rows, cols, layout })
    }

    /// Whether products with this matrix take quantized activations.
    pub fn wants_quantized(&self) -> bool {
        !matches!(self.layout, Layout::Floats(_))
    }

    /// Writes row `r`'s weights as floats into `out` (`cols` values).
    pub fn row_to_f32(&self, r: usize, out: &mut [f32]) {
        let c = self.cols;
        match &self.layout {
            Layout::Floats(w) => out.copy_from_slice(&w[r * c..(r + 1) * c]),
            Layout::Nibbles { q, scale, min } => {
                let b0 = r * c / BLOCK;
                for (b, y) in out.chunks_exact_mut(BLOCK).enumerate() {
                    let (d, m) = (scale[b0 + b], min[b0 + b]);
                    let qs = &q[(b0 + b) * 16..(b0 + b) * 16 + 16];
                    for j in 0..16 {
                        y[j] = d * f32::from(qs[j] & 0xF) + m;
                        y[j + 16] = d * f32::from(qs[j] >> 4) + m;
                    }
                }
            }
            Layout::Bytes { q, scale, group } => {
                let g0 = r * c / group;
                for (g, y) in out.chunks_exact_mut(*group).enumerate() {
                    let d = scale[g0 + g];
                    let qs = &q[(g0 + g) * group..(g0 + g + 1) * group];
                    for (y, &v) in y.iter_mut().zip(qs) {
                        *y = d * f32::from(v);
                    }
                }
            }
        }
    }

    /// Writes rows `range` as floats into `out` (`range.len() × cols`, row-major).
    pub fn rows_to_f32(&self, range: std::ops::Range<usize>, out: &mut [f32]) {
        for (i, r) in range.enumerate() {
            self.row_to_f32(r, &mut out[i * self.cols..(i + 1) * self.cols]);
        }
    }

    /// The product of row `r` with an activation vector (`x` as floats, `xq` its quantized
    /// form when [`Matrix::wants_quantized`]).
    #[inline(always)]
    pub fn row_dot(&self, r: usize, x: &[f32], xq: &QuantizedVector) -> f32 {
        let c = self.cols;
        match &self.layout {
            Layout::Floats(w) => dot_f32(&w[r * c..(r + 1) * c], x),
            Layout::Nibbles { q, scale, min } => {
                let b0 = r * c / BLOCK;
                let blocks = c / BLOCK;
                dot_nibbles(
                    &q[b0 * 16..(b0 + blocks) * 16],
                    &scale[b0..b0 + blocks],
                    &min[b0..b0 + blocks],
                    xq,
                )
            }
            Layout::Bytes { q, scale, group } => {
                let g0 = r * c / group;
                let groups = c / group;
                let (q, s) = (&q[r * c..(r + 1) * c], &scale[g0..g0 + groups]);
                if *group == 32 {
                    dot_bytes32(q, s, xq)
                } else {
                    dot_bytes16(q, s, xq)
                }
            }
        }
    }
}

/// An activation vector quantized to 8 bits per block of 32 (ggml's Q8_1): `x ≈ scale·q`.
#[derive(Clone, Debug, Default)]
pub struct QuantizedVector {
    /// The values.
    pub q: Vec<i8>,
    /// One scale per block.
    pub scale: Vec<f32>,
    /// Per block, `scale · Σ q` rounded to f16 as ggml's Q8_1 stores it (for the offsets of
    /// [`Layout::Nibbles`]).
    pub sum: Vec<f32>,
    /// Per block, `scale · Σ q` unrounded (for kernels that shift signed weights to unsigned
    /// and take the shift back out).
    pub exact_sum: Vec<f32>,
}

impl QuantizedVector {
    /// Quantizes `x` (a whole number of blocks) into `self`, reusing its buffers.
    pub fn quantize(&mut self, x: &[f32]) {
        let blocks = x.len() / BLOCK;
        self.q.resize(x.len(), 0);
        self.scale.resize(blocks, 0.0);
        self.sum.resize(blocks, 0.0);
        self.exact_sum.resize(blocks, 0.0);
        for (b, (xs, qs)) in x
            .chunks_exact(BLOCK)
            .zip(self.q.chunks_exact_mut(BLOCK))
            .enumerate()
        {
            let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut s = 0i32;
            for (q, &v) in qs.iter_mut().zip(xs) {
                *q = (v * inv).round() as i8;
                s += i32::from(*q);
            }
            // Scales rounded to f16, as ggml's Q8_0/Q8_1 store them: the same integer sums
            // and scales as llama.cpp's products.
            self.scale[b] = f16::from_f32(d).to_f32();
            self.sum[b] = f16::from_f32(d * s as f32).to_f32();
            self.exact_sum[b] = self.scale[b] * s as f32;
        }
    }
}

/// Σ w·x over floats, in 16 independent lanes (so the compiler vectorizes it).
#[inline(always)]
pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (wc, xc) = (w.chunks_exact(16), x.chunks_exact(16));
    let (wr, xr) = (wc.remainder(), xc.remainder());
    for (a, b) in wc.zip(xc) {
        for i in 0..16 {
            acc[i] += a[i] * b[i];
        }
    }
    let mut tail = 0f32;
    for (a, b) in wr.iter().zip(xr) {
        tail += a * b;
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn dot_nibbles(q: &[u8], scale: &[f32], min: &[f32], x: &QuantizedVector) -> f32 {
    let mut acc = 0f32;
    for b in 0..scale.len() {
        let qs = &q[b * 16..b * 16 + 16];
        let xs = &x.q[b * 32..b * 32 + 32];
        let mut s = 0i32;
        for j in 0..16 {
            s += i32::from(qs[j] & 0xF) * i32::from(xs[j])
                + i32::from(qs[j] >> 4) * i32::from(xs[j + 16]);
        }
        acc += scale[b] * x.scale[b] * s as f32 + min[b] * x.sum[b];
    }
    acc
}

#[inline(always)]
fn dot_bytes32(q: &[i8], scale: &[f32], x: &QuantizedVector) -> f32 {
    let mut acc = 0f32;
    for b in 0..scale.len() {
        let (qs, xs) = (&q[b * 32..b * 32 + 32], &x.q[b * 32..b * 32 + 32]);
        let mut s = 0i32;
        for j in 0..32 {
            s += i32::from(qs[j]) * i32::from(xs[j]);
        }
        acc += scale[b] * x.scale[b] * s as f32;
    }
    acc
}

#[inline(always)]
fn dot_bytes16(q: &[i8], scale: &[f32], x: &QuantizedVector) -> f32 {
    let mut acc = 0f32;
    for b in 0..scale.len() / 2 {
        let (qs, xs) = (&q[b * 32..b * 32 + 32], &x.q[b * 32..b * 32 + 32]);
        let (mut lo, mut hi) = (0i32, 0i32);
        for j in 0..16 {
            lo += i32::from(qs[j]) * i32::from(xs[j]);
            hi += i32::from(qs[j + 16]) * i32::from(xs[j + 16]);
        }
        acc += x.scale[b] * (scale[2 * b] * lo as f32 + scale[2 * b + 1] * hi as f32);
    }
    acc
}
