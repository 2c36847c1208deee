//! Tokenisation for the translation models: SentencePiece models and the OPUS-MT (Marian) tokenizer.
//!
//! Why this is hand-written: the `tokenizers` crate cannot read a SentencePiece `.model` file. In Python the
//! conversion is done by transformers' `convert_slow_tokenizer` (it parses the protobuf and assembles a
//! `tokenizers.Tokenizer`), and Marian repos (`Helsinki-NLP/opus-mt-*`) ship only `source.spm`/`target.spm`
//! plus `vocab.json`, never a `tokenizer.json`. So:
//!
//! * [`proto`] decodes the few `ModelProto` fields we need (no protobuf dependency);
//! * [`spm`] is a SentencePiece model: a native encoder/decoder that reproduces `sentencepiece` piece for
//!   piece, and [`spm::SpmModel::to_tokenizer`], the `tokenizers::Tokenizer` that transformers' converter
//!   would build;
//! * [`marian`] reproduces transformers' `MarianTokenizer` as of 4.57.6 (special tokens, language codes,
//!   vocab.json ids, decoding) on top of the native encoder;
//! * [`moses`] is sacremoses' punctuation normaliser, which `MarianTokenizer` sets up but does not apply.

pub mod chat;
pub mod gguf;
pub mod hf;
pub mod marian;
pub mod moses;
pub mod proto;
pub mod spm;

use std::path::PathBuf;

pub use marian::MarianTokenizer;
pub use moses::normalize_punct;
pub use spm::SpmModel;

/// Everything that can go wrong loading a tokenizer. Each variant names the file it concerns, so that a
/// message like "vocab.json: invalid JSON" points at the broken model directory.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid SentencePiece model: {message}", path.display())]
    Proto { path: PathBuf, message: String },
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    ChatTemplate { origin: String, message: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("tokenizers: {0}")]
    Tokenizers(String),
}

/// Python's `str.isspace()`, which `str.strip()` uses: Unicode White_Space plus the ASCII information
/// separators U+001C..U+001F (Rust's `char::is_whitespace` lacks those four).
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}
