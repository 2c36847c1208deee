//! Shared helpers for the reference tests: paths to tests/fixtures/spm and temporary OPUS-MT repo directories.
#![allow(dead_code)]

pub mod archives;
pub mod corpus;
pub mod hub;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spm")
}

/// A JSON file written by Python's `json`, which writes the -inf of recorded logits processors
/// as a bare `-Infinity` that strict JSON lacks (those fields are documentation only).
pub fn read_python_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text.replace("-Infinity", "\"-Infinity\""))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows of token ids: `[[1, 2], [3]]`.
pub fn id_rows(v: &serde_json::Value) -> Vec<Vec<u32>> {
    v.as_array().unwrap().iter().map(ids).collect()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A Marian repo assembled in a fresh temporary directory: the JSON files of `tests/fixtures/spm/<name>/` plus the
/// spm models (stored once under `tests/fixtures/spm/models/` to keep the test data small).
pub fn assemble_repo(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "svodka-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let data = data_dir();
    std::fs::copy(data.join("models/source.model"), dir.join("source.spm")).unwrap();
    std::fs::copy(data.join("models/target.model"), dir.join("target.spm")).unwrap();
    for entry in std::fs::read_dir(data.join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}
