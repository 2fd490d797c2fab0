//! Products of weight matrices with one activation vector (decoding) or with many (prefill),
//! split over the runtime's threads.
//!
//! - one vector: each row's integer dot with the quantized vector ([`Matrix::row_dot`]);
//! - many vectors: rows are turned into floats a tile at a time and multiplied with the `gemm`
//!   crate, so each weight is unpacked once per prompt instead of once per token.
//!
//! The row kernels are chosen by [`Simd`]: on x86-64 at run time, AVX2 or AVX-512 VNNI integer
//! kernels (`kernels_x86`); in the browser the simd128 kernels (`kernels_wasm`, the build enables
//! simd128 in `.cargo/config.toml`); elsewhere the generic [`Matrix::row_dot`].

use super::quant::{Layout, Matrix, QuantizedVector};
use super::threads::Threads;

/// Rows handed to a thread at a time when decoding.
const ROWS_PER_TASK: usize = 64;
/// Rows turned into floats and multiplied at a time during prefill.
const PREFILL_TILE: usize = 64;

thread_local! {
    /// Each thread's buffer for a tile of rows turned into floats.
    static TILE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[inline(always)]
fn rows_generic(m: &Matrix, first: usize, out: &mut [f32], x: &[f32], xq: &QuantizedVector) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = m.row_dot(first + i, x, xq);
    }
}

/// The generic kernel compiled for AVX2 (float rows: auto-vectorized).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_generic_avx2(
    m: &Matrix,
    first: usize,
    out: &mut [f32],
    x: &[f32],
    xq: &QuantizedVector,
) {
    rows_generic(m, first, out, x, xq)
}

/// The widest kernel set this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// The compile-time target's own (SSE2 natively, simd128 in the browser).
    Baseline,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 (F, BW, VL, VNNI).
    Avx512,
}

impl Simd {
    /// Detects the CPU's kernel set (`EERD_SIMD=baseline|avx2|avx512` caps it, for comparisons).
    pub fn detect() -> Self {
        let cap = std::env::var("EERD_SIMD").unwrap_or_default();
        let best = Self::detect_uncapped();
        match cap.as_str() {
            "baseline" => Simd::Baseline,
            "avx2" if best == Simd::Avx512 => Simd::Avx2,
            _ => best,
        }
    }

    fn detect_uncapped() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512vnni")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma");
            let avx2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma");
            if avx512 {
                Simd::Avx512
            } else if avx2 {
                Simd::Avx2
            } else {
                Simd::Baseline
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Simd::Baseline
    }

    /// Every kernel set this CPU runs, narrowest first (for comparisons and tests).
    pub fn available() -> Vec<Simd> {
        let best = Self::detect_uncapped();
        [Simd::Baseline, Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|s| *s as u8 <= best as u8)
            .collect()
    }
}

/// `m · x` with the kernel set `simd` (which must be one of [`Simd::available`]), on the
/// calling thread.
pub fn product(m: &Matrix, x: &[f32], simd: Simd) -> Vec<f32> {
    assert!(
        Simd::available().contains(&simd),
        "{simd:?} is not available here"
    );
    let mut xq = QuantizedVector::default();
    if m.wants_quantized() {
        xq.quantize(x);
    }
    let mut out = vec![0f32; m.rows];
    rows(simd, m, 0, &mut out, x, &xq);
    out
}

fn rows(simd: Simd, m: &Matrix, first: usize, out: &mut [f32], x: &[f32], xq: &QuantizedVector) {
    match simd {
        // SAFETY: `Simd::detect` chose these only when the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 | Simd::Avx2 if !m.wants_quantized() => unsafe {
            rows_generic_avx2(m, first, out, x, xq)
        },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { super::kernels_x86::rows_vnni(m, first, out, xq) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { super::kernels_x86::rows_avx2(m, first, out, xq) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        _ if m.wants_quantized() => super::kernels_wasm::rows_simd128(m, first, out, xq),
        _ => rows_generic(m, first, out, x, xq),
    }
}

/// `out = m · x` for one vector (`xq`: `x` quantized, filled by the caller when
/// [`Matrix::wants_quantized`]).
pub fn matvec(
    threads: &Threads,
    simd: Simd,
    m: &Matrix,
    x: &[f32],
    xq: &QuantizedVector,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), m.rows);
    threads.for_chunks(out, ROWS_PER_TASK, m.rows * m.cols, |first, chunk| {
        rows(simd, m, first, chunk, x, xq)
    });
}

/// `out[t] = m · xs[t]` for `n` vectors (`xs`: `n × cols`, `out`: `n × rows`, row-major):
/// each thread turns a tile of rows into floats and multiplies it with all vectors at once.
pub fn matmul(threads: &Threads, m: &Matrix, xs: &[f32], n: usize, out: &mut [f32]) {
    let (rows, k) = (m.rows, m.cols);
    assert_eq!(xs.len(), n * k);
    assert_eq!(out.len(), n * rows);
    let dst = SharedOut(out.as_mut_ptr());
    // About PREFILL_TILE rows a tile, in a number of tiles that the threads share evenly.
    let tiles = (rows / PREFILL_TILE)
        .max(1)
        .next_multiple_of(threads.count());
    let tile = rows.div_ceil(tiles);
    threads.for_ranges(rows, tile, n * rows * k, |first, end| {
        let tile_rows = end - first;
        TILE.with_borrow_mut(|buf| {
            let weights: &[f32] = match &m.layout {
                Layout::Floats(w) => &w[first * k..end * k],
                _ => {
                    buf.resize(tile_rows * k, 0.0);
                    m.rows_to_f32(first..end, &mut buf[..tile_rows * k]);
                    &buf[..tile_rows * k]
                }
            };
            // out[t, first..end] = xs (n × k) · weightsᵀ (k × tile_rows)
            // SAFETY: the pointers and strides describe `xs`, the tile and `out`; tasks
            // write disjoint columns `first..end` of `out`, which outlives them.
            unsafe {
                float_product(
                    (n, tile_rows, k),
                    Strided::new(dst.at(first), rows, 1),
                    Strided::new(xs.as_ptr(), k, 1),
                    Strided::new(weights.as_ptr(), 1, k),
                    1.0,
                );
            }
        });
    });
}

/// `out`'s pointer, shared by the tasks that write disjoint columns of it.
#[derive(Clone, Copy)]
pub(super) struct SharedOut(pub(super) *mut f32);

impl SharedOut {
    /// The pointer to element `i` (a method, so closures capture the whole `Sync` wrapper).
    ///
    /// # Safety
    /// `i` must be inside the buffer.
    pub(super) unsafe fn at(self, i: usize) -> *mut f32 {
        self.0.add(i)
    }
}

// SAFETY: every task writes only its own columns.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// A strided f32 matrix: element `(i, j)` at `ptr + i·row + j·col`.
#[derive(Clone, Copy)]
pub(super) struct Strided<P> {
    ptr: P,
    row: isize,
    col: isize,
}

impl<P> Strided<P> {
    /// The matrix at `ptr` with strides `row` and `col` (in elements).
    pub(super) fn new(ptr: P, row: usize, col: usize) -> Self {
        Self {
            ptr,
            row: row as isize,
            col: col as isize,
        }
    }
}

/// `dst (m × n) = scale · lhs (m × k) · rhs (k × n)` on the calling thread (the `gemm` crate).
///
/// # Safety
/// The pointers and strides must describe buffers of those shapes; `dst` must not overlap
/// the others.
pub(super) unsafe fn float_product(
    (m, n, k): (usize, usize, usize),
    dst: Strided<*mut f32>,
    lhs: Strided<*const f32>,
    rhs: Strided<*const f32>,
    scale: f32,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst.ptr,
        dst.col,
        dst.row,
        false,
        lhs.ptr,
        lhs.col,
        lhs.row,
        rhs.ptr,
        rhs.col,
        rhs.row,
        0.0,
        scale,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}
