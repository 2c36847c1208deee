//! Per-article errors: what went wrong with one input, in which stage, of which kind.
//!
//! A leaf of the module graph on purpose: every stage (ingest, article, the backends, the
//! executor) reports a failed article with the same type, and the output record serialises it
//! as its `error` object (`stage`, `kind`, `message`) as it is. Such an error never stops the
//! run; the run-stopping errors are [`crate::error::Error`], at the top.

use serde::{Deserialize, Serialize};

use crate::task::Task;

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

impl From<Task> for Stage {
    fn from(t: Task) -> Stage {
        match t {
            Task::Summarize => Stage::Summarize,
            Task::Translate => Stage::Translate,
        }
    }
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

/// One article's failure: becomes an error record (its `error` object), never stops the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
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

/// An error and its sources on one line ("a: b: c"), for messages that must fit in a record
/// or a report field.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
