//! Translation and summary quality metrics with the definitions users compare against:
//! sacrebleu's corpus BLEU (13a tokenisation, exponential smoothing) and chrF (character
//! order 6, β = 2), so that `svodka` scores can be quoted next to published ones.
//!
//! Written here rather than taken from a crate: the Rust ports we could find differ from
//! sacrebleu in tokenisation or smoothing details, and a score that is "almost BLEU" is not
//! comparable. `tests/metrics.rs` holds the parity check against sacrebleu itself.

pub mod bleu;
pub mod chrf;

pub use bleu::{Bleu, bleu};
pub use chrf::chrf;
