//! The runtime's worker threads: a private rayon pool natively (workers sleep when idle, so
//! a busy machine does not lose a core to spinning), the calling thread alone in the browser.

/// Multiply-adds below which a call stays on the calling thread (about 20 µs of work).
#[cfg(not(target_arch = "wasm32"))]
const MIN_PARALLEL_WORK: usize = 1 << 18;

/// How many threads the runtime's products use, and the pool that runs them.
pub struct Threads {
    count: usize,
    #[cfg(not(target_arch = "wasm32"))]
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Threads({})", self.count)
    }
}

impl Threads {
    /// `count` threads (at least 1; always 1 in wasm32).
    pub fn new(count: usize) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let count = count.max(1);
            let pool = (count > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(count)
                        .thread_name(|i| format!("eerd-runtime-{i}"))
                        .build()
                        .ok()
                })
                .flatten();
            let count = if pool.is_some() { count } else { 1 };
            Self { count, pool }
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = count;
            Self { count: 1 }
        }
    }

    /// Number of threads.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The pool, if `work` (multiply-adds) is worth handing to it: below
    /// [`MIN_PARALLEL_WORK`] the calling thread is faster than waking the others.
    #[cfg(not(target_arch = "wasm32"))]
    fn pool_for(&self, work: usize) -> Option<&rayon::ThreadPool> {
        self.pool.as_ref().filter(|_| work >= MIN_PARALLEL_WORK)
    }

    /// Calls `f(offset, chunk)` for each run of `chunk` items of `data`, on the pool when
    /// the call's `work` (multiply-adds) is worth it.
    pub fn for_chunks<T: Send>(
        &self,
        data: &mut [T],
        chunk: usize,
        work: usize,
        f: impl Fn(usize, &mut [T]) + Sync,
    ) {
        let chunk = chunk.max(1);
        #[cfg(target_arch = "wasm32")]
        let _ = work;
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(pool) = self.pool_for(work) {
            use rayon::prelude::*;
            pool.install(|| {
                data.par_chunks_mut(chunk)
                    .enumerate()
                    .for_each(|(i, c)| f(i * chunk, c))
            });
            return;
        }
        for (i, c) in data.chunks_mut(chunk).enumerate() {
            f(i * chunk, c);
        }
    }

    /// Calls `f(start, end)` for each run of `chunk` indices of `0..total`, on the pool when
    /// the call's `work` (multiply-adds) is worth it.
    pub fn for_ranges(
        &self,
        total: usize,
        chunk: usize,
        work: usize,
        f: impl Fn(usize, usize) + Sync,
    ) {
        let chunk = chunk.max(1);
        let runs = total.div_ceil(chunk);
        let run = |i: usize| f(i * chunk, ((i + 1) * chunk).min(total));
        #[cfg(target_arch = "wasm32")]
        let _ = work;
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(pool) = self.pool_for(work) {
            use rayon::prelude::*;
            pool.install(|| (0..runs).into_par_iter().for_each(run));
            return;
        }
        (0..runs).for_each(run);
    }
}
