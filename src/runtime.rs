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
