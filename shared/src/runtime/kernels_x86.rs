//! x86-64 kernels for the 4- and 8-bit layouts: 32 products of a block in a few
//! instructions (`vpmaddubsw` with AVX2, `vpdpbusd` with AVX-512 VNNI), as llama.cpp does.
//! Same sums as [`Matrix::row_dot`](super::quant::Matrix::row_dot), computed in other lanes.

use super::quant::{dot_f32, Layout, Matrix, QuantizedVector, BLOCK};
use std::arch::x86_64::*;

/// Sum of the 8 lanes.
#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

/// The row kernel of one instruction set; `$dot` sums the 4-byte groups of `u8 × i8`
/// products of two 32-byte registers into 8 `i32` lanes.
macro_rules! kernels {
    ($rows:ident, $features:literal, |$w:ident, $x:ident| $dot:expr) => {
        /// `out[i] = row(first + i) · x` for a quantized matrix.
        ///
        /// # Safety
        /// The CPU must have the enabled features; `xq` must hold `m.cols` quantized values.
        #[target_feature(enable = $features)]
        pub unsafe fn $rows(m: &Matrix, first: usize, out: &mut [f32], xq: &QuantizedVector) {
            let c = m.cols;
            let blocks = c / BLOCK;
            assert!(xq.q.len() >= c && xq.scale.len() >= blocks && xq.sum.len() >= blocks);
            let (xs, xd) = (xq.q.as_ptr(), xq.scale.as_ptr());
            match &m.layout {
                Layout::Nibbles { q, scale, min } => {
                    assert!((first + out.len()) * blocks <= scale.len());
                    let mask = _mm_set1_epi8(0x0F);
                    for (i, o) in out.iter_mut().enumerate() {
                        let b0 = (first + i) * blocks;
                        let (qp, sp, mp) = (
                            q.as_ptr().add(b0 * 16),
                            scale.as_ptr().add(b0),
                            min.as_ptr().add(b0),
                        );
                        let mut acc = _mm256_setzero_ps();
                        for b in 0..blocks {
                            let raw = _mm_loadu_si128(qp.add(b * 16) as *const __m128i);
                            let lo = _mm_and_si128(raw, mask);
                            let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
                            let w = _mm256_set_m128i(hi, lo);
                            let x = _mm256_loadu_si256(xs.add(b * 32) as *const __m256i);
                            let p = _mm256_cvtepi32_ps({
                                let ($w, $x) = (w, x);
                                $dot
                            });
                            acc = _mm256_fmadd_ps(_mm256_set1_ps(*sp.add(b) * *xd.add(b)), p, acc);
                        }
                        // The blocks' offsets: Σ_b min[b] · Σ x[b].
                        let offset =
                            dot_f32(std::slice::from_raw_parts(mp, blocks), &xq.sum[..blocks]);
                        *o = hsum(acc) + offset;
                    }
                }
                Layout::Bytes { q, scale, group } => {
                    let groups = c / group;
                    assert!((first + out.len()) * c <= q.len());
                    assert!((first + out.len()) * groups <= scale.len());
                    for (i, o) in out.iter_mut().enumerate() {
                        let r = first + i;
                        let (qp, sp) = (q.as_ptr().add(r * c), scale.as_ptr().add(r * groups));
                        let mut acc = _mm256_setzero_ps();
                        for b in 0..blocks {
                            let w = _mm256_loadu_si256(qp.add(b * 32) as *const __m256i);
                            let x = _mm256_loadu_si256(xs.add(b * 32) as *const __m256i);
                            let p = _mm256_cvtepi32_ps({
                                let ($w, $x) = (_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
                                $dot
                            });
                            let d = *xd.add(b);
                            let s = if *group == 32 {
                                _mm256_set1_ps(*sp.add(b) * d)
                            } else {
                                _mm256_set_m128(
                                    _mm_set1_ps(*sp.add(2 * b + 1) * d),
                                    _mm_set1_ps(*sp.add(2 * b) * d),
                                )
                            };
                            acc = _mm256_fmadd_ps(s, p, acc);
                        }
                        *o = hsum(acc);
                    }
                }
                Layout::Floats(_) => unreachable!("float matrices use the generic kernel"),
            }
        }
    };
}

kernels!(rows_avx2, "avx2,fma", |w, x| _mm256_madd_epi16(
    _mm256_maddubs_epi16(w, x),
    _mm256_set1_epi16(1)
));

kernels!(
    rows_vnni,
    "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma",
    |w, x| _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x)
);
