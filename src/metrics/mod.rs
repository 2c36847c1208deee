//! Translation and summary quality metrics with the definitions users compare against:
//! sacrebleu's corpus BLEU (13a tokenisation, exponential smoothing), chrF (character
//! order 6, β = 2) and chrF++ (plus word bigrams), and rouge-score's ROUGE-1/2/L (with a
//! Unicode-aware tokeniser besides its ASCII one, so Russian is scored at all), so that
//! `svodka` scores can be quoted next to published ones.
//!
//! Written here rather than taken from a crate: the Rust ports we could find differ from
//! sacrebleu and rouge-score in tokenisation or smoothing details, and a score that is
//! "almost BLEU" is not comparable. `tests/metrics.rs` holds the parity check against
//! sacrebleu and rouge-score themselves (`tests/fixtures/metrics/generate.py`).

pub mod bleu;
pub mod chrf;
pub mod rouge;

pub use bleu::{Bleu, bleu};
pub use chrf::{chrf, chrf_pp};
pub use rouge::{Rouge, RougeScore, RougeTokenizer, rouge, rouge_segment};
