//! wasm32 simd128 kernels for the 4- and 8-bit layouts (the browser build enables simd128 in
//! `.cargo/config.toml`): `i8 × i8` products widened to 16 bits, paired into 32-bit lanes.
//! Same sums as [`Matrix::row_dot`](super::quant::Matrix::row_dot), in other lanes.

use super::quant::{dot_f32, Layout, Matrix, QuantizedVector, BLOCK};
use core::arch::wasm32::*;

/// Σ of the products of 16 `i8` pairs, in 4 `i32` lanes.
#[inline(always)]
fn dot16(w: v128, x: v128) -> v128 {
    let lo = i16x8_extmul_low_i8x16(w, x);
    let hi = i16x8_extmul_high_i8x16(w, x);
    // |w·x| ≤ 128·127, so two products fit in 16 bits.
    i32x4_extadd_pairwise_i16x8(i16x8_add(lo, hi))
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

/// `out[i] = row(first + i) · x` for a quantized matrix.
pub fn rows_simd128(m: &Matrix, first: usize, out: &mut [f32], xq: &QuantizedVector) {
    let c = m.cols;
    let blocks = c / BLOCK;
    let x = |b: usize, half: usize| -> v128 {
        let s = &xq.q[b * 32 + half * 16..b * 32 + half * 16 + 16];
        // SAFETY: `s` holds 16 bytes; v128 loads need no alignment.
        unsafe { v128_load(s.as_ptr() as *const v128) }
    };
    match &m.layout {
        Layout::Nibbles { q, scale, min } => {
            let mask = u8x16_splat(0x0F);
            for (i, o) in out.iter_mut().enumerate() {
                let b0 = (first + i) * blocks;
                let mut acc = f32x4_splat(0.0);
                for b in 0..blocks {
                    let s = &q[(b0 + b) * 16..(b0 + b) * 16 + 16];
                    // SAFETY: `s` holds 16 bytes.
                    let raw = unsafe { v128_load(s.as_ptr() as *const v128) };
                    let lo = v128_and(raw, mask);
                    let hi = u8x16_shr(raw, 4);
                    let p = i32x4_add(dot16(lo, x(b, 0)), dot16(hi, x(b, 1)));
                    let d = f32x4_splat(scale[b0 + b] * xq.scale[b]);
                    acc = f32x4_add(acc, f32x4_mul(d, f32x4_convert_i32x4(p)));
                }
                *o = hsum(acc) + dot_f32(&min[b0..b0 + blocks], &xq.sum[..blocks]);
            }
        }
        Layout::Bytes { q, scale, group } => {
            let groups = c / group;
            for (i, o) in out.iter_mut().enumerate() {
                let r = first + i;
                let row = &q[r * c..(r + 1) * c];
                let sc = &scale[r * groups..(r + 1) * groups];
                let mut acc = f32x4_splat(0.0);
                for b in 0..blocks {
                    // SAFETY: the row holds 32 bytes at `b * 32`.
                    let (w0, w1) = unsafe {
                        (
                            v128_load(row.as_ptr().add(b * 32) as *const v128),
                            v128_load(row.as_ptr().add(b * 32 + 16) as *const v128),
                        )
                    };
                    let (p0, p1) = (dot16(w0, x(b, 0)), dot16(w1, x(b, 1)));
                    let d = xq.scale[b];
                    if *group == 32 {
                        let s = f32x4_splat(sc[b] * d);
                        acc = f32x4_add(acc, f32x4_mul(s, f32x4_convert_i32x4(i32x4_add(p0, p1))));
                    } else {
                        let (s0, s1) = (f32x4_splat(sc[2 * b] * d), f32x4_splat(sc[2 * b + 1] * d));
                        acc = f32x4_add(acc, f32x4_mul(s0, f32x4_convert_i32x4(p0)));
                        acc = f32x4_add(acc, f32x4_mul(s1, f32x4_convert_i32x4(p1)));
                    }
                }
                *o = hsum(acc);
            }
        }
        Layout::Floats(_) => unreachable!("float matrices use the generic kernel"),
    }
}
