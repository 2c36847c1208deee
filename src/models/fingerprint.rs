//! What a model is, as files: its repository and revision, and the SHA-256 of every file, so
//! that a benchmark result (`svodka bench`) and a run's manifest (`OUT.run.json`) say which
//! weights made them, and shards made with different weights are not merged.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Sha256;

/// One file of the model.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FileHash {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The model of one result.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ModelInfo {
    /// As the suite names it: a card, a path, "lead-3".
    pub spec: String,
    /// Hub repository of a card, else the path.
    pub id: String,
    /// Hub revision of a card (as the card or `CARD@REV` asked); "local" for a path.
    pub revision: String,
    /// The commit that revision was when the files were fetched (the Hub cache's snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub files: Vec<FileHash>,
    /// Weights dtype of a seq2seq model, tensor types of a GGUF file.
    pub dtype: String,
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    super::hub::digest_file::<Sha256>(path, b"")
}

pub(crate) fn hash_all(paths: &[PathBuf]) -> std::io::Result<Vec<FileHash>> {
    paths
        .iter()
        .map(|p| {
            let (bytes, sha256) = sha256_file(p)?;
            Ok(FileHash {
                path: p.display().to_string(),
                bytes,
                sha256,
            })
        })
        .collect()
}

/// Tensor types of a GGUF file, most weights first, e.g. `q4k, q6k, f32`.
fn gguf_types(path: &Path) -> String {
    let read = || -> Option<String> {
        let mut f = std::fs::File::open(path).ok()?;
        let c = candle_core::quantized::gguf_file::Content::read(&mut f).ok()?;
        let mut by_type: std::collections::BTreeMap<String, usize> = Default::default();
        for t in c.tensor_infos.values() {
            *by_type.entry(format!("{:?}", t.ggml_dtype).to_lowercase()).or_default() += t.shape.elem_count();
        }
        let mut v: Vec<(String, usize)> = by_type.into_iter().collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        Some(v.into_iter().map(|(k, _)| k).collect::<Vec<_>>().join(", "))
    };
    read().map_or_else(|| "gguf".into(), |t| format!("gguf: {t}"))
}

/// Where a model's files are (`backends::Spec::files`).
pub(crate) enum Files {
    /// One GGUF file.
    Gguf(PathBuf),
    /// A card or directory, found.
    Located(Box<crate::models::hub::Located>),
    /// None (lead-3, or a card that cannot be had).
    None,
}

/// Describe the model `spec` names, from its files.
pub(crate) fn model_info(spec: &str, files: Files, dtype: &str) -> std::io::Result<ModelInfo> {
    let located = match files {
        Files::Gguf(p) => {
            return Ok(ModelInfo {
                spec: spec.into(),
                id: p.display().to_string(),
                revision: "local".into(),
                commit: None,
                files: hash_all(std::slice::from_ref(&p))?,
                dtype: gguf_types(&p),
            });
        }
        Files::Located(l) => Some(l),
        Files::None => None,
    };
    let Some(loc) = located else {
        // A summariser without weights (lead-3).
        return Ok(ModelInfo {
            spec: spec.into(),
            id: spec.into(),
            revision: env!("CARGO_PKG_VERSION").into(),
            commit: None,
            files: Vec::new(),
            dtype: "none".into(),
        });
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&loc.dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let (id, revision) = match &loc.card {
        Some(c) => (c.repo.clone(), c.revision.clone()),
        None => (loc.dir.display().to_string(), "local".into()),
    };
    let commit = loc
        .card
        .as_ref()
        .and_then(|_| crate::models::hub::snapshot_commit(&loc.dir));
    Ok(ModelInfo {
        spec: spec.into(),
        id,
        commit,
        revision,
        files: hash_all(&files)?,
        dtype: dtype.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let (n, h) = sha256_file(&p).unwrap();
        assert_eq!(n, 3);
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
