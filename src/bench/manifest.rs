//! What a benchmark result was measured on, so that two results can be told apart later: the
//! model (id, revision, SHA-256 of its files, dtype or quantisation), the settings of the run
//! and the machine and build (CPU model, threads, svodka version and git commit, time).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The machine and the build; the same for every result of one `svodka bench`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Machine {
    pub svodka_version: String,
    pub git_commit: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub os: String,
    /// UTC, RFC 3339.
    pub time: String,
}

impl Machine {
    pub fn here() -> Machine {
        Machine {
            svodka_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("SVODKA_GIT_COMMIT").unwrap_or("unknown").to_string(),
            cpu_model: cpu_model(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            time: rfc3339_utc(std::time::SystemTime::now()),
        }
    }
}

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
    /// Hub revision of a card; "local" for a path.
    pub revision: String,
    pub files: Vec<FileHash>,
    /// Weights dtype of a seq2seq model, tensor types of a GGUF file.
    pub dtype: String,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// UTC, RFC 3339 (through the chat templates' strftime, the one date formatter svodka has).
fn rfc3339_utc(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    crate::tokenizer::chat::strftime("%Y-%m-%dT%H:%M:%SZ", secs).expect("supported directives")
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

fn hash_all(paths: &[PathBuf]) -> std::io::Result<Vec<FileHash>> {
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

/// Describe the model `spec` names; `dir` is where a card or directory was found.
pub(crate) fn model_info(
    spec: &str,
    located: Option<&crate::models::hub::Located>,
    dtype: &str,
) -> std::io::Result<ModelInfo> {
    if matches!(crate::backends::Spec::parse(spec), crate::backends::Spec::Gguf(_)) {
        let p = PathBuf::from(spec);
        return Ok(ModelInfo {
            spec: spec.into(),
            id: p.display().to_string(),
            revision: "local".into(),
            files: hash_all(std::slice::from_ref(&p))?,
            dtype: gguf_types(&p),
        });
    }
    let Some(loc) = located else {
        // A summariser without weights (lead-3).
        return Ok(ModelInfo {
            spec: spec.into(),
            id: spec.into(),
            revision: env!("CARGO_PKG_VERSION").into(),
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
    Ok(ModelInfo {
        spec: spec.into(),
        id,
        revision,
        files: hash_all(&files)?,
        dtype: dtype.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_hashes() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_869_296);
        assert_eq!(rfc3339_utc(t), "2026-11-28T12:34:56Z");
        assert_eq!(rfc3339_utc(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let (n, h) = sha256_file(&p).unwrap();
        assert_eq!(n, 3);
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
