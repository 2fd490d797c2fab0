//! CPU thread settings for candle.
//!
//! candle's element-wise ops run on one thread and its matrix multiplies use rayon; on this
//! project's 2-core machines one thread is as fast or faster (and avoids the quantized matmul's
//! spin-waiting pool collapsing under load). candle reads `RAYON_NUM_THREADS` for its matmul
//! parallelism and `CANDLE_NUM_THREADS` for the quantized pool, so both are set here before
//! any tensor work.

/// Sets the thread count for candle (both variables) and rayon's global pool. Call once, at
/// the start of a command, before any tensor is created. `None` keeps whatever the
/// environment says, defaulting to 1.
pub fn configure(threads: Option<usize>) -> usize {
    let from_env = std::env::var("CANDLE_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    let n = threads.or(from_env).unwrap_or(1).max(1);
    std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    n
}

/// The compute device named `name`: `cpu`, or `cuda` / `cuda:N` when built with the `cuda`
/// feature.
pub fn device(name: &str) -> anyhow::Result<candle_core::Device> {
    match name {
        "cpu" => Ok(candle_core::Device::Cpu),
        "cuda" => Ok(candle_core::Device::new_cuda(0)?),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => Ok(candle_core::Device::new_cuda(n)?),
            None => anyhow::bail!("unknown device `{other}` (expected cpu, cuda or cuda:N)"),
        },
    }
}
