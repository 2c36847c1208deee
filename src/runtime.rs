//! The one place `--threads` (`run.threads`) means anything: the threads every stage runs on,
//! set up once at start-up.
//!
//! Model computation — a backend's batches in parallel, and candle's kernels inside each —
//! shares rayon's global pool, so workers × intra-op threads stay within `run.threads`
//! (0 = one per core). candle's kernels run on pools of their own, sized by
//! `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`, else the physical cores) when first used:
//! they are sized here to the same number, unless the user set one. `RAYON_NUM_THREADS`
//! matters on its own too: without it candle works out the physical cores again, by reading
//! /proc/cpuinfo, at every matrix product (a third of the time of a small model's decoding
//! step; `cargo bench --bench pipeline`, end-to-end). `svodka bench` passes the same
//! environment to the process it starts for each model.
//!
//! Parsing gets a pool of its own of the same size ([`parse_pool`]): parse workers block on the
//! input channel while they wait, and must never hold the threads the models need.

use crate::config::RunConfig;

/// Size the global pools for `run`; returns a message when the requested number was capped.
/// Call once, at start-up, before any other thread exists (it sets environment variables).
pub fn init(run: &RunConfig) -> Option<String> {
    keep_freed_memory();
    let (n, capped) = run.effective_threads();
    let candle = std::env::var("CANDLE_NUM_THREADS").ok();
    let rayon_set = std::env::var_os("RAYON_NUM_THREADS").is_some();
    // SAFETY: documented as called at start-up, before any other thread exists.
    unsafe {
        if candle.is_none() && !rayon_set {
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        }
        if !rayon_set {
            std::env::set_var("RAYON_NUM_THREADS", candle.unwrap_or_else(|| n.to_string()));
        }
    }
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        tracing::debug!("rayon's global pool was already set up: {e}");
    }
    capped
}

/// The pool that decodes, parses and chunks articles, as many threads as the models get.
pub(crate) fn parse_pool(run: &RunConfig) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let (threads, _) = run.effective_threads();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("svodka-parse-{i}"))
        .build()
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (the same in its v2 and v3 headers).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Let the allocator (mimalloc, see lib.rs) keep freed memory for a second before giving it
/// back to the system, instead of 10 ms. A decoding step frees and allocates the same large
/// buffers (logits, reordered caches) tens of milliseconds apart; given back at once, each
/// came back as fresh pages the kernel had to zero: 20% of a beam-search profile (t5-small,
/// beam 4, batch 32) was `clear_page_erms`. Loading still gives its transient copies back at
/// once (`models::load_seq2seq_with`).
fn keep_freed_memory() {
    // SAFETY: setting an option is allowed at any time; the value is a delay in ms.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
}
