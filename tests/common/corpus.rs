//! The real news corpus beside the checkout (`../shared/real-corpus`, or `SVODKA_REAL_CORPUS`;
//! found by `build.rs`, which also sets `cfg(real_corpus)`). Its text is not ours: tests read it
//! where it lies and never copy it. Tests that need it are
//! `#[cfg_attr(not(real_corpus), ignore = "…")]`, so they show as ignored where it is absent and
//! fail, never pass, if asked to run without it.

use std::path::PathBuf;

pub fn dir() -> PathBuf {
    match option_env!("SVODKA_REAL_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => panic!(
            "SVODKA_REAL_CORPUS_DIR was not set at build time: the real corpus was not found \
             (set SVODKA_REAL_CORPUS to ../shared/real-corpus and rebuild)"
        ),
    }
}

/// One file of the corpus, whole.
pub fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
