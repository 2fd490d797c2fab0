//! CPU thread settings.
//!
//! The training kernels (`model::fused`, `model::attention`, `model::sgemm`), the optimizer and
//! the runtime run on rayon's global pool; candle's matmul reads `RAYON_NUM_THREADS`. candle's
//! own element-wise pool (sized by `CANDLE_NUM_THREADS`) is kept to the calling thread: its
//! workers spin while they wait, on the cores that the rayon threads need (measured: a third
//! thread spinning through 8 % of a two-thread training step's samples).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The thread count of the first [`configure`] call (0: not yet configured).
static CHOSEN: AtomicUsize = AtomicUsize::new(0);

/// Sets the thread count for rayon's global pool and candle, and returns it. Call at the start
/// of a command, before any tensor is created. `None` means an earlier call's count, else what
/// `CANDLE_NUM_THREADS` says, else 1. Only the first call sizes rayon's pool.
pub fn configure(threads: Option<usize>) -> usize {
    let chosen = CHOSEN.load(Ordering::Relaxed);
    let n = match threads {
        Some(n) => n.max(1),
        None if chosen > 0 => chosen,
        None => from_env().unwrap_or(1),
    };
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    if chosen == 0 {
        CHOSEN.store(n, Ordering::Relaxed);
    }
    n
}

/// [`configure`] for training commands: `None` with no `CANDLE_NUM_THREADS` means every core
/// the machine has (the fused training kernels split their work over the pool: 1.7× on two
/// cores at the 8m preset).
pub fn configure_for_training(threads: Option<usize>) -> usize {
    let cores = || std::thread::available_parallelism().map_or(1, usize::from);
    let unset = CHOSEN.load(Ordering::Relaxed) == 0 && from_env().is_none();
    configure(threads.or_else(|| unset.then(cores)))
}

/// The thread count `CANDLE_NUM_THREADS` asks for, if any.
fn from_env() -> Option<usize> {
    std::env::var("CANDLE_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
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
