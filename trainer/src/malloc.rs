//! The C allocator's settings for training: training allocates and frees the same large
//! buffers (activations, gradients, logits) at every step. glibc returns such buffers to the
//! kernel (they are `mmap`ed, or trimmed off the heap) and the next step faults every page in
//! again and zeroes it: 10–30 % of a step's time measured at the 2m–8m presets.

/// Keeps freed memory in the process for reuse: every allocation comes from the heap (no
/// `mmap` per buffer) and the heap is never trimmed. Peak memory is unchanged; the resident
/// size stays at the peak. Does nothing on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
