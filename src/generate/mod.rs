//! Generation: settings ([`config`]), logits processors ([`logits`]), the greedy and beam
//! searches ([`search`]), decoder-only sampling ([`sample`]) and its continuous batching
//! ([`continuous`]), all with Hugging Face transformers' semantics so that outputs are
//! token-identical to `model.generate()`.
//!
//! Generation owns the interfaces it decodes through ([`decoder`]: [`Seq2Seq`], [`CausalLm`])
//! and the per-batch decoder state ([`cache`]); the model families implement them, so
//! the `models` module depends on this one and never the reverse.

pub mod cache;
pub mod config;
pub mod continuous;
pub mod decoder;
pub mod logits;
pub mod sample;
pub mod search;

pub use cache::DecoderCache;
pub use config::{EarlyStopping, GenerationConfig, Resolved};
pub use decoder::{CausalLm, Seq2Seq};
pub use search::generate;
