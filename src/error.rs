//! The run-stopping errors of the library.
//!
//! Two kinds of error are kept apart on purpose (as ripgrep does): an [`Error`] stops the
//! run (bad configuration, a model named outright that cannot be loaded, an output that cannot
//! be written) and `main` prints its source chain; a
//! [`crate::record_error::ArticleError`] belongs to one input article, becomes an error
//! record, and the run goes on. This module sits at the top of the house, since it gathers
//! the errors of every stage below; the per-article errors live in a leaf module that every
//! stage may use.

use std::path::PathBuf;

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
    Backends(#[source] Box<crate::backends::LoadError>),
    #[error("cannot start the worker pool")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    #[error("the {stage} stage stopped unexpectedly")]
    Stage { stage: &'static str },
    #[error("cannot read the files of the model `{key}` to fingerprint them for the run manifest")]
    Fingerprint {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot merge into `{}`: {reason}", output.display())]
    Merge { output: PathBuf, reason: String },
}

impl From<crate::backends::LoadError> for Error {
    fn from(e: crate::backends::LoadError) -> Self {
        Error::Backends(Box::new(e))
    }
}
