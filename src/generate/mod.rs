//! Generation: settings ([`config`]), logits processors ([`logits`]) and the greedy and beam
//! searches ([`search`]), all with Hugging Face transformers' semantics so that outputs are
//! token-identical to `model.generate()`.

pub mod config;
pub mod logits;
pub mod sample;
pub mod search;

pub use config::{EarlyStopping, GenerationConfig, Resolved};
pub use search::generate;
