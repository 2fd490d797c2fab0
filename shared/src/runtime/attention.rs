//! Causal grouped-query attention over the KV cache: per head for one new token, per head as
//! two matrix products (`QKᵀ`, then `PV`, with the `gemm` crate) for a batch of new tokens.

use super::llama::Config;
use super::matmul::{float_product, SharedOut, Strided};
use super::quant::dot_f32;
use super::threads::Threads;

thread_local! {
    /// Each thread's buffer of attention weights.
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Softmax of `row` in place.
fn softmax(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `out` (`n × heads·head_dim`) = attention of the `n` queries `q` (same layout), new at
/// positions `position..position + n`, over `keys` and `values` (`[position][kv_heads ·
/// head_dim]`, the new positions included); heads as `config` has them.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    threads: &Threads,
    config: &Config,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    position: usize,
    n: usize,
    out: &mut [f32],
) {
    let (heads, kv_heads, hd) = (config.heads, config.kv_heads, config.head_dim());
    let (dim, kv_dim) = (heads * hd, kv_heads * hd);
    let group = heads / kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let total = position + n;
    if n == 1 {
        threads.for_chunks(out, hd, 2 * heads * total * hd, |offset, out| {
            let h = offset / hd;
            let kv = (h / group) * hd;
            let qv = &q[h * hd..(h + 1) * hd];
            SCORES.with_borrow_mut(|scores| {
                scores.clear();
                scores
                    .extend((0..total).map(|j| {
                        dot_f32(qv, &keys[j * kv_dim + kv..j * kv_dim + kv + hd]) * scale
                    }));
                softmax(scores);
                out.fill(0.0);
                for (j, &w) in scores.iter().enumerate() {
                    for (o, &v) in out
                        .iter_mut()
                        .zip(&values[j * kv_dim + kv..j * kv_dim + kv + hd])
                    {
                        *o += w * v;
                    }
                }
            });
        });
        return;
    }
    let dst = SharedOut(out.as_mut_ptr());
    threads.for_ranges(heads, 1, 2 * heads * n * total * hd, |h, _| {
        let kv = (h / group) * hd;
        SCORES.with_borrow_mut(|scores| {
            scores.resize(n * total, 0.0);
            // SAFETY (both products): pointers and strides describe `q`, the cache, `scores`
            // and `out`; each task writes only head `h`'s columns of `out`.
            unsafe {
                // scores (n × total) = q_h (n × hd) · k_hᵀ (hd × total) · scale
                float_product(
                    (n, total, hd),
                    Strided::new(scores.as_mut_ptr(), total, 1),
                    Strided::new(q.as_ptr().add(h * hd), dim, 1),
                    Strided::new(keys.as_ptr().add(kv), 1, kv_dim),
                    scale,
                );
            }
            for t in 0..n {
                let row = &mut scores[t * total..(t + 1) * total];
                let seen = position + t + 1;
                softmax(&mut row[..seen]);
                row[seen..].fill(0.0);
            }
            unsafe {
                // out_h (n × hd) = scores (n × total) · v_h (total × hd)
                float_product(
                    (n, hd, total),
                    Strided::new(dst.at(h * hd), dim, 1),
                    Strided::new(scores.as_ptr(), total, 1),
                    Strided::new(values.as_ptr().add(kv), kv_dim, 1),
                    1.0,
                );
            }
        });
    });
}
