//! The one f32 matrix product of training: `C (m×n) = op(A) · op(B)` (`+ C` when
//! accumulating), row-major, by the `gemm` crate (AVX-512 micro-kernels chosen at run time).
//!
//! [`product`] and [`product_onto`] split the product into one block of rows (or of columns, when `C`
//! is wide and short) per thread of the rayon pool; each block runs single-threaded, so the
//! fused kernels that multiply inside their own parallel loops ([`sgemm_serial`]) never nest
//! thread pools. The sum over `k` is the same whatever the split.
//!
//! Intel MKL (the PyPI `mkl-static` wheel, linked statically) was measured as a second backend
//! on this project's CPU (AMD EPYC, AVX-512), one thread, 21 training shapes and layouts:
//! `gemm` was faster on 17 (92–114 GFLOP/s against MKL's 83–102), so MKL is not linked.

/// A row-major operand: `data` holds the matrix `(rows, cols)`; `transposed` says the product
/// reads its transpose.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    data: &'a [f32],
    /// Row stride of the stored matrix.
    ld: usize,
    transposed: bool,
}

impl<'a> Operand<'a> {
    /// The stored matrix `data` with `cols` columns, read as is.
    pub fn plain(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            ld: cols,
            transposed: false,
        }
    }

    /// The stored matrix `data` with `cols` columns, read transposed.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            ld: cols,
            transposed: true,
        }
    }

    /// The stored matrix with row stride `ld` (a view of a wider matrix).
    pub fn with_stride(data: &'a [f32], ld: usize, transposed: bool) -> Self {
        Self {
            data,
            ld,
            transposed,
        }
    }

    /// Pointer to logical element `(i, j)` of `op(M)`.
    fn at(&self, i: usize, j: usize) -> *const f32 {
        let offset = if self.transposed {
            j * self.ld + i
        } else {
            i * self.ld + j
        };
        self.data[offset..].as_ptr()
    }
}

/// `c (m×n, row stride ldc) = a (m×k) · b (k×n)`, plus the old `c` when `accumulate`, on the
/// calling thread only.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_serial(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    check_extent(m, n, k, &a, &b, c.len(), ldc);
    // SAFETY: the extents were checked above, so every element the product reads or writes
    // lies inside the slices.
    unsafe { raw(m, n, k, a, 0, b, 0, c.as_mut_ptr(), ldc, accumulate) }
}

/// The product `a (m×k) · b (k×n)` in a new `m × n` buffer, split over the rayon pool's
/// threads (the buffer is written once, never zeroed first).
pub fn product(m: usize, n: usize, k: usize, a: Operand, b: Operand) -> Vec<f32> {
    let len = m * n;
    let mut c = Vec::with_capacity(len);
    if len == 0 {
        return c;
    }
    check_extent(m, n, k, &a, &b, len, n);
    // SAFETY: the capacity holds `m × n` values and the product writes every one of them
    // (without reading: not accumulating), so all of them are initialized before `set_len`.
    unsafe {
        split(m, n, k, a, b, c.as_mut_ptr(), false);
        c.set_len(len);
    }
    c
}

/// `c + a (m×k) · b (k×n)` for the `m × n` values of `c`, split over the rayon pool's threads.
pub fn product_onto(
    mut c: Vec<f32>,
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
) -> Vec<f32> {
    if m * n == 0 {
        return c;
    }
    check_extent(m, n, k, &a, &b, c.len(), n);
    // SAFETY: `c` holds the `m × n` values (checked).
    unsafe { split(m, n, k, a, b, c.as_mut_ptr(), true) };
    c
}

/// # Safety
/// `c` must be valid for `m × n` values and the operands must hold what the product reads.
unsafe fn split(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: *mut f32,
    accumulate: bool,
) {
    let threads = rayon::current_num_threads().max(1);
    let split_rows = m >= n;
    let span = if split_rows { m } else { n };
    let parts = threads.min(span.div_ceil(16)).max(1);
    let out = SendPtr(c);
    let block = |p: usize| {
        let (lo, hi) = (span * p / parts, span * (p + 1) / parts);
        let out = &out;
        // SAFETY: blocks write disjoint rows (or columns) of `c`, all inside it.
        unsafe {
            if split_rows {
                raw(hi - lo, n, k, a, lo, b, 0, out.0.add(lo * n), n, accumulate)
            } else {
                raw(m, hi - lo, k, a, 0, b, lo, out.0.add(lo), n, accumulate)
            }
        }
    };
    if parts == 1 {
        block(0);
    } else {
        rayon::scope(|s| {
            for p in 1..parts {
                s.spawn(move |_| block(p));
            }
            block(0);
        });
    }
}

/// A raw pointer that blocks of one product share across threads.
struct SendPtr(*mut f32);
// SAFETY: each thread writes a disjoint part of the buffer behind the pointer.
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

fn check_extent(m: usize, n: usize, k: usize, a: &Operand, b: &Operand, c: usize, ldc: usize) {
    let need = |op: &Operand, rows: usize, cols: usize| {
        let (r, c) = if op.transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if r == 0 || c == 0 {
            0
        } else {
            (r - 1) * op.ld + c
        }
    };
    assert!(
        need(a, m, k) <= a.data.len() && need(b, k, n) <= b.data.len(),
        "sgemm: operands too short for {m}×{k} · {k}×{n}"
    );
    assert!(
        (m - 1) * ldc + n <= c,
        "sgemm: output too short for {m}×{n}"
    );
}

/// The product of rows `a_row..a_row + m` of `op(a)` and columns `b_col..b_col + n` of `op(b)`
/// into `c`.
///
/// # Safety
/// `c` must be valid for `m` rows of `n` values at row stride `ldc`, and the operands must hold
/// the rows and columns read.
#[allow(clippy::too_many_arguments)]
unsafe fn raw(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    a_row: usize,
    b: Operand,
    b_col: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::ptr::write_bytes(c.add(i * ldc), 0, n);
            }
        }
        return;
    }
    // (row stride, column stride) of an operand as the product reads it.
    let strides = |op: &Operand| -> (isize, isize) {
        if op.transposed {
            (1, op.ld as isize)
        } else {
            (op.ld as isize, 1)
        }
    };
    let ((a_rs, a_cs), (b_rs, b_cs)) = (strides(&a), strides(&b));
    gemm::gemm(
        m,
        n,
        k,
        c,
        1,
        ldc as isize,
        accumulate,
        a.at(a_row, 0),
        a_cs,
        a_rs,
        b.at(0, b_col),
        b_cs,
        b_rs,
        1.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: bool, b: &[f32], tb: bool) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for p in 0..k {
                    let x = if ta { a[p * m + i] } else { a[i * k + p] };
                    let y = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += x as f64 * y as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn every_transpose_and_split_matches_the_naive_product() {
        let mut rng = crate::rng::Rng::new(3);
        for &(m, n, k) in &[(37, 5, 11), (3, 70, 9), (64, 64, 1), (1, 1, 1), (40, 40, 0)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // Stored shapes: a is (m, k) or (k, m); b is (k, n) or (n, k).
                let oa = Operand::with_stride(&a, if ta { m } else { k }, ta);
                let ob = Operand::with_stride(&b, if tb { k } else { n }, tb);
                let want = naive(m, n, k, &a, ta, &b, tb);
                let got = product(m, n, k, oa, ob);
                assert_eq!(got.len(), m * n);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-4, "{m}×{n}×{k} {ta} {tb}: {g} vs {w}");
                }
                let mut acc = vec![1f32; m * n];
                sgemm_serial(m, n, k, oa, ob, &mut acc, n, true);
                let onto = product_onto(vec![1f32; m * n], m, n, k, oa, ob);
                for (g, w) in onto.iter().zip(&acc) {
                    assert!((g - w).abs() < 1e-4, "product_onto: {g} vs {w}");
                }
                for (g, w) in acc.iter().zip(&want) {
                    assert!((g - w - 1.0).abs() < 1e-4, "accumulate: {g} vs {w}+1");
                }
            }
        }
    }

    #[test]
    fn a_product_is_the_same_on_one_thread_and_on_several() {
        let mut rng = crate::rng::Rng::new(5);
        let (m, n, k) = (96, 80, 64);
        let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| product(m, n, k, Operand::plain(&a, k), Operand::plain(&b, n)))
        };
        let one = run(1);
        let mut serial = vec![0f32; m * n];
        sgemm_serial(
            m,
            n,
            k,
            Operand::plain(&a, k),
            Operand::plain(&b, n),
            &mut serial,
            n,
            false,
        );
        assert_eq!(one, serial);
        let three = run(3);
        for (x, y) in one.iter().zip(&three) {
            assert!((x - y).abs() < 1e-4);
        }
    }
}
