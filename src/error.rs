//! Typed errors of the library.
//!
//! Two kinds, kept apart on purpose (as ripgrep does): a [`Error`] stops the run (bad
//! configuration, an output that cannot be written) and `main` prints its source chain;
//! an [`ArticleError`] belongs to one input article, becomes an error record in the output,
//! and the run goes on. Each keeps the stage it happened in and a machine-readable kind,
//! because the record's `error` object carries both.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A failure that ends the whole run; exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot read input `{}`", path.display())]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write output `{}`", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the output `{}` is {} the input `{}`: choose an output outside the inputs",
        output.display(),
        if *inside { "inside" } else { "the same file as" },
        input.display()
    )]
    OutputIsInput {
        output: PathBuf,
        input: PathBuf,
        /// Inside an input directory, rather than the input file itself.
        inside: bool,
    },
    #[error("cannot resume into `{}`: {reason}", path.display())]
    Resume { path: PathBuf, reason: String },
    #[error("cannot set up the models")]
    Tasks(#[source] Box<crate::tasks::TaskError>),
    #[error("cannot start the worker pool")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    #[error("the {stage} stage stopped unexpectedly")]
    Stage { stage: &'static str },
}

impl From<crate::tasks::TaskError> for Error {
    fn from(e: crate::tasks::TaskError) -> Self {
        Error::Tasks(Box::new(e))
    }
}

/// The pipeline stage an article failed in; serialised into the record's `error.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Read,
    Decode,
    Parse,
    Chunk,
    Summarize,
    Translate,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Stage::Read => "read",
            Stage::Decode => "decode",
            Stage::Parse => "parse",
            Stage::Chunk => "chunk",
            Stage::Summarize => "summarize",
            Stage::Translate => "translate",
        };
        f.write_str(s)
    }
}

/// What went wrong with one article; serialised into the record's `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file or member could not be read (I/O error, missing path).
    Io,
    /// The archive ended in the middle of this member, or its compressed stream is corrupt.
    Truncated,
    /// Larger than `input.max_bytes`.
    TooLarge,
    /// An archive nested deeper than svodka opens (`ingest::MAX_NESTING`).
    TooDeep,
    /// Something svodka cannot read by design: an encrypted archive member, a compression
    /// method it does not have.
    Unsupported,
    /// Looks like a binary file, not text.
    Binary,
    /// No text at all (zero bytes, whitespace only, or no body after parsing).
    Empty,
    /// Bytes that are not valid in the detected encoding.
    Encoding,
    /// A JSONL line that is not a JSON object with a string `text`.
    Json,
    /// An HTML page with no visible article text.
    NoBody,
    /// A model backend failed on this article.
    Model,
}

/// One article's failure: becomes an error record, never stops the run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct ArticleError {
    pub stage: Stage,
    pub kind: ErrorKind,
    pub message: String,
}

impl ArticleError {
    pub fn new(stage: Stage, kind: ErrorKind, message: impl Into<String>) -> Self {
        ArticleError {
            stage,
            kind,
            message: message.into(),
        }
    }

    /// An I/O error while reading, keeping the OS's wording.
    pub fn io(err: &std::io::Error) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::UnexpectedEof {
            ErrorKind::Truncated
        } else {
            ErrorKind::Io
        };
        let message = if kind == ErrorKind::Truncated {
            format!("truncated: the data ends unexpectedly ({err})")
        } else {
            err.to_string()
        };
        ArticleError::new(Stage::Read, kind, message)
    }
}
