//! The one place `--threads` (`run.threads`) means anything: the threads every stage runs on,
//! set up once at start-up.
//!
//! Model computation — a backend's batches in parallel, svodka's kernels and candle's matrix
//! products inside each — shares rayon's global pool, so workers × intra-op threads stay
//! within `run.threads` (0 = one per core). candle sizes its products by `RAYON_NUM_THREADS`,
//! set here to the same number unless the user set it: without it candle works out the
//! physical cores again, by reading /proc/cpuinfo, at every matrix product (a third of the
//! time of a small model's decoding step; `cargo bench --bench pipeline`, end-to-end).
//! candle also runs element-wise operations on a spinning pool of its own, sized by
//! `CANDLE_NUM_THREADS`: set to 1 here (unless the user set it), because that pool's threads
//! competed with rayon's for the same cores: one thread for those small operations was 5–20%
//! faster at beam search and large batches and no slower at batch 1 (`benches/seq2seq.rs`,
//! 2 threads, t5-small and opus-mt shapes). `svodka bench` passes the same environment to the
//! process it starts for each model.
//!
//! Parsing gets a pool of its own of the same size ([`parse_pool`]): parse workers block on the
//! input channel while they wait, and must never hold the threads the models need.

use crate::config::RunConfig;

/// Size the global pools for `run`; returns a message when the requested number was capped.
/// Call once, at start-up, before any other thread exists (it sets environment variables).
pub fn init(run: &RunConfig) -> Option<String> {
    let (n, capped) = run.effective_threads();
    // SAFETY: documented as called at start-up, before any other thread exists.
    unsafe {
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
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
