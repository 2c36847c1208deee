//! The one place `--threads` (`run.threads`) means anything: the threads every stage runs on,
//! set up once at start-up.
//!
//! Model computation — a backend's batches in parallel, svodka's kernels and candle's matrix
//! products inside each — shares rayon's global pool, so workers × intra-op threads stay
//! within `run.threads` (0 = one per core). candle sizes its products by `RAYON_NUM_THREADS`,
//! set here to the same number unless the user set it: without it candle works out the
//! physical cores again, by reading /proc/cpuinfo, at every matrix product (a third of the
//! time of a small model's decoding step; `cargo bench --bench pipeline`, end-to-end).
//! candle also runs element-wise operations and its quantised (GGUF) products on a pool of
//! its own, sized by `CANDLE_NUM_THREADS`: set to the same number too, unless the user set it.
//! (One thread there made seq2seq beam search 5–20% faster, its threads no longer competing
//! with rayon's, but GGUF generation 27% slower: candle's quantised products run on that pool;
//! `svodka run` of two real articles with Qwen2.5-Coder-0.5B, 119.8 s against 94.3 s.) `svodka
//! bench` passes the same environment to the process it starts for each model.
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
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
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
