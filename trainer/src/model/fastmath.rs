//! Vectorizable math for the element-wise loops of training: a branch-free `exp` (the C
//! library's `expf` is a call per value), sums and maxima over lanes (a plain fold is one long
//! dependency chain), and `simd_fn!`, which compiles a loop for AVX2 + FMA as well and picks
//! that copy when the CPU has them.
//!
//! `exp(x) = 2^k · e^r` with `k = round(x / ln 2)` and `|r| ≤ ln 2 / 2`; `e^r` by the
//! degree-7 polynomial of Cephes' `expf`. Relative error below 2·10⁻⁷ over the clamped range;
//! inputs below −87 give a value below 2⁻¹²⁵ instead of a subnormal, and NaN stays NaN.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding it rounds an f32 of magnitude below 2²² to an integer.
const ROUNDER: f32 = 12_582_912.0;

/// `e^x`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUNDER;
    let k = shifted - ROUNDER;
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // The low bits of `shifted` hold k; move them into the exponent field.
    let scale = f32::from_bits(
        (shifted.to_bits().wrapping_sub(ROUNDER.to_bits()) as i32 + 127).wrapping_shl(23) as u32,
    );
    er * scale
}

/// Lanes of the reductions.
const LANES: usize = 16;

/// The sum of `xs`, added in [`LANES`] interleaved partial sums.
#[inline(always)]
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `Σ a[i] · b[i]`, added in [`LANES`] interleaved partial sums.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((a, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *a += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// The largest value of `xs` (−∞ when empty).
#[inline(always)]
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    let rest = chunks.remainder().iter().copied();
    acc.into_iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, f32::max)
}

/// `dst[i] = e^(src[i] · scale − shift)`; returns the sum of `dst`.
#[inline(always)]
pub fn exp_into(src: &[f32], dst: &mut [f32], scale: f32, shift: f32) -> f32 {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = exp(x * scale - shift);
    }
    sum(dst)
}

/// `xs[i] = e^(xs[i] · scale − shift)`; returns the sum of `xs`.
#[inline(always)]
pub fn exp_in_place(xs: &mut [f32], scale: f32, shift: f32) -> f32 {
    for x in xs.iter_mut() {
        *x = exp(*x * scale - shift);
    }
    sum(xs)
}

/// Defines a function whose body is compiled twice, for baseline x86-64 and for AVX2 + FMA,
/// and runs the AVX2 copy when the CPU has those features (the crate is built for baseline
/// x86-64, where `mul_add` is a library call and vectors are 4 wide). The body should call
/// only `#[inline(always)]` helpers, which are compiled into each copy.
macro_rules! simd_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2_fma($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if $crate::model::fastmath::has_avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA.
                    return unsafe { avx2_fma($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_fn;

/// Whether the CPU has AVX2 and FMA (checked once).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    })
}

simd_fn! {
    /// `dst[i] = e^(src[i] · scale − shift)`, and the sum of `dst`.
    pub fn exp_into_sum(src: &[f32], dst: &mut [f32], scale: f32, shift: f32) -> f32 {
        exp_into(src, dst, scale, shift)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_two_ulps_of_the_library() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (super::exp(x) as f64, (x as f64).exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_7;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert!(super::exp(f32::NAN).is_nan());
        assert!(super::exp(-1e4) < 1e-37 && super::exp(-1e4) >= 0.0);
        assert!(super::exp(1e4).is_finite());
    }

    #[test]
    fn lane_reductions_match_plain_folds() {
        let xs: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 - 3.5).collect();
        assert_eq!(super::sum(&xs), xs.iter().sum::<f32>());
        assert_eq!(super::max(&xs), 6.5);
        assert_eq!(super::max(&[]), f32::NEG_INFINITY);
        let mut dst = vec![0f32; 37];
        let total = super::exp_into_sum(&xs, &mut dst, 0.5, 1.0);
        let mut again = xs.clone();
        assert_eq!(super::exp_in_place(&mut again, 0.5, 1.0), total);
        assert_eq!(again, dst);
        let want: f32 = xs.iter().map(|x| (x * 0.5 - 1.0).exp()).sum();
        assert!((total - want).abs() < 1e-4 * want);
    }
}
