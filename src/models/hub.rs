//! Where a model's files come from: a local directory, or a card's Hugging Face Hub repo
//! through hf-hub (the standard cache under `HF_HOME`, revision pinning, `HF_HUB_OFFLINE=1`).
//!
//! A model is named by a card (`opus-mt-ru-en`) or a directory path; both resolve to a local
//! directory holding config, tokenizer and weight files, which is all the loaders see. When a
//! card's files are neither cached nor downloadable, the error says which model, what was
//! tried and how to get it, so the run stops before any work.
//!
//! Two things are added to hf-hub here. The Hub's answers are explained (404 repo or revision,
//! 401 gated without or with `HF_TOKEN`, which hf-hub itself does not read, 5xx, no network).
//! And every file fetched is checked against its checksum: hf-hub names a blob by the ETag the
//! Hub sent (an LFS file's SHA-256, a small file's git blob SHA-1) but does not check what it
//! wrote, so a connection dropped in the middle of a file left the part it got renamed as the
//! whole blob (seen with the test Hub of `tests/hub_cli.rs`). A file that does not match is
//! removed, blob and snapshot link, so that the next run downloads it again.

use std::path::{Path, PathBuf};

use super::card::{self, Card};
use super::{ModelError, weights};

/// A model ready to load.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub dir: PathBuf,
    pub card: Option<Card>,
    /// Card name or directory, as the user wrote it.
    pub name: String,
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn cache() -> hf_hub::Cache {
    hf_hub::Cache::from_env()
}

/// Where the Hugging Face cache is (`HF_HOME`/hub, else `~/.cache/huggingface/hub`).
pub(crate) fn cache_dir() -> PathBuf {
    cache().path().clone()
}

/// The commit of a Hub cache snapshot directory (`…/snapshots/COMMIT`), if `dir` is one.
pub(crate) fn snapshot_commit(dir: &Path) -> Option<String> {
    let parent = dir.parent()?;
    (parent.file_name()? == "snapshots")
        .then(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .flatten()
}

fn hub_repo(c: &Card) -> hf_hub::Repo {
    hf_hub::Repo::with_revision(c.repo.clone(), hf_hub::RepoType::Model, c.revision.clone())
}

/// The cached snapshot of a card, if it holds config and weights. A revision that is a commit
/// hash is its snapshot directory, as Python's huggingface_hub reads it (hf-hub looks for a ref
/// of that name, which only a download by that name writes).
pub(crate) fn cached_dir(c: &Card) -> Option<PathBuf> {
    let is_commit = c.revision.len() == 40 && c.revision.chars().all(|ch| ch.is_ascii_hexdigit());
    let dir = if is_commit {
        let dir = cache()
            .path()
            .join(hub_repo(c).folder_name())
            .join("snapshots")
            .join(&c.revision);
        dir.join("config.json").is_file().then_some(dir)?
    } else {
        cache().repo(hub_repo(c)).get("config.json")?.parent()?.to_path_buf()
    };
    weights::discover(&dir).ok().map(|_| dir)
}

/// A directory path or a card name → a local directory, downloading a card's files if
/// needed and allowed.
pub(crate) fn locate(spec: &str) -> Result<Located, ModelError> {
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(Located {
            dir: path.to_path_buf(),
            card: None,
            name: spec.to_string(),
        });
    }
    let Some(c) = card::find(spec) else {
        let names: Vec<String> = card::all().into_iter().map(|c| c.name).collect();
        return Err(ModelError::UnknownModel {
            spec: spec.to_string(),
            cards: names.join(", "),
        });
    };
    if let Some(dir) = cached_dir(&c) {
        return Ok(Located {
            dir,
            card: Some(c),
            name: spec.to_string(),
        });
    }
    // Progress bars only where someone watches.
    let dir = fetch(&c, std::io::IsTerminal::is_terminal(&std::io::stderr()))?;
    Ok(Located {
        dir,
        card: Some(c),
        name: spec.to_string(),
    })
}

/// Files of a repo svodka needs: configs, tokenizers, and one form of the weights.
fn wanted(files: &[String]) -> Vec<String> {
    let small = |f: &str| {
        matches!(
            f,
            "config.json"
                | "generation_config.json"
                | "tokenizer_config.json"
                | "special_tokens_map.json"
                | "vocab.json"
                | "target_vocab.json"
                | "tokenizer.json"
                | "spiece.model"
                | "sentencepiece.bpe.model"
                | "source.spm"
                | "target.spm"
        )
    };
    let mut out: Vec<String> = files.iter().filter(|f| small(f)).cloned().collect();
    if files.iter().any(|f| f == "model.safetensors") {
        out.push("model.safetensors".into());
    } else if files.iter().any(|f| f == "model.safetensors.index.json") {
        out.extend(
            files
                .iter()
                .filter(|f| {
                    f.starts_with("model-") && f.ends_with(".safetensors") || *f == "model.safetensors.index.json"
                })
                .cloned(),
        );
    } else if files.iter().any(|f| f == "pytorch_model.bin") {
        out.push("pytorch_model.bin".into());
    }
    out
}

/// Download a card's files into the HF cache (with progress bars); returns the snapshot dir.
pub fn fetch(c: &Card, progress: bool) -> Result<PathBuf, ModelError> {
    let how = format!(
        "run `svodka models fetch {}` on a machine that can reach huggingface.co (the files go to the Hugging Face cache, {}), \
         copy that cache here, or pass a local model directory instead of the card name",
        c.name,
        cache().path().display()
    );
    if offline() {
        return Err(ModelError::NotAvailable {
            name: c.name.clone(),
            tried: format!(
                "the Hugging Face cache for {} @ {} (HF_HUB_OFFLINE is set, so no download)",
                c.repo, c.revision
            ),
            how,
        });
    }
    let unavailable = |e: String| ModelError::NotAvailable {
        name: c.name.clone(),
        tried: format!(
            "the Hugging Face cache, then downloading {} @ {} from the Hub, which failed: {e}",
            c.repo, c.revision
        ),
        how: how.clone(),
    };
    // hf-hub reads a token from HF_HOME/token only; HF_TOKEN is what users set.
    let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.trim().is_empty());
    let has_token = token.is_some() || cache().token().is_some();
    let mut builder = hf_hub::api::sync::ApiBuilder::from_env().with_progress(progress);
    if token.is_some() {
        builder = builder.with_token(token);
    }
    let api = builder.build().map_err(|e| unavailable(e.to_string()))?;
    let repo = api.repo(hub_repo(c));
    let info = repo.info().map_err(|e| unavailable(explain(c, &e, has_token)))?;
    let files: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let mut dir = None;
    for f in wanted(&files) {
        let p = repo
            .get(&f)
            .map_err(|e| unavailable(format!("{f}: {}", explain(c, &e, has_token))))?;
        verify(&p).map_err(|e| unavailable(format!("{f}: {e}")))?;
        if f == "config.json" {
            dir = p.parent().map(Path::to_path_buf);
        }
    }
    let dir = dir.ok_or_else(|| unavailable("the repo has no config.json".into()))?;
    weights::discover(&dir)?;
    Ok(dir)
}

/// What the Hub's answer means for the user, in words.
fn explain(c: &Card, e: &hf_hub::api::sync::ApiError, has_token: bool) -> String {
    use hf_hub::api::sync::ApiError;
    let ApiError::RequestError(re) = e else {
        return e.to_string();
    };
    match re.as_ref() {
        ureq::Error::Status(code, resp) => {
            let kind = resp.header("X-Error-Code").unwrap_or("").to_string();
            match code {
                404 if kind == "RevisionNotFound" => format!(
                    "the Hub has no revision `{}` of {} (404 not found): check the card's revision",
                    c.revision, c.repo
                ),
                404 if kind == "EntryNotFound" => format!("the Hub's {} has no such file (404 not found)", c.repo),
                404 => format!(
                    "the Hub has no repository {} (404 not found): it may have moved or been removed; give a local model directory instead",
                    c.repo
                ),
                401 | 403 if has_token => format!(
                    "the Hub refused the token (HF_TOKEN, or HF_HOME/token) for {} ({code}): check that it is valid and that its account has accepted the model's terms",
                    c.repo
                ),
                401 | 403 => format!(
                    "{} is gated or private ({code}): accept its terms on its page on the Hub, then set HF_TOKEN to an access token of that account",
                    c.repo
                ),
                500..=599 => format!("the Hub answered {code} (a server error): try again later"),
                _ => format!("the Hub answered {code}: {}", resp.status_text()),
            }
        }
        ureq::Error::Transport(t) => format!(
            "cannot reach the Hub ({t}): no network here? With the model in the cache, HF_HUB_OFFLINE=1 uses it without asking"
        ),
    }
}

/// `prefix` then the bytes of `path`, streamed through the digest `D`: (bytes of the file,
/// lowercase hex). The Hub names blobs by SHA-256 (weights) or git's SHA-1; run manifests
/// fingerprint model files by SHA-256.
pub(crate) fn digest_file<D: sha2::Digest>(path: &Path, prefix: &[u8]) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = D::new();
    h.update(prefix);
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

/// Check a fetched file against the checksum its blob is named by (a 64-digit SHA-256 for LFS
/// files, a 40-digit git blob SHA-1 for small ones); a file that does not match is removed
/// with its snapshot link.
fn verify(path: &Path) -> Result<(), String> {
    let blob = std::fs::canonicalize(path).map_err(|e| format!("cannot read the downloaded file: {e}"))?;
    let name = blob
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(()); // not named by a checksum: nothing to check against
    }
    let unreadable = |e: std::io::Error| format!("cannot read the downloaded file: {e}");
    // Streamed: weights files run to gigabytes.
    let (len, got) = match name.len() {
        64 => digest_file::<sha2::Sha256>(&blob, b"").map_err(unreadable)?,
        40 => {
            // Git's blob id: SHA-1 of "blob LEN\0" and the bytes.
            let len = std::fs::metadata(&blob).map_err(unreadable)?.len();
            digest_file::<sha1::Sha1>(&blob, format!("blob {len}\0").as_bytes()).map_err(unreadable)?
        }
        _ => return Ok(()),
    };
    if got == name.to_ascii_lowercase() {
        return Ok(());
    }
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(&blob);
    Err(format!(
        "the download was cut or damaged ({len} bytes whose checksum is not the Hub's {name}); removed: run again to download it afresh"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_one_weight_form() {
        let files: Vec<String> = [
            "config.json",
            "pytorch_model.bin",
            "model.safetensors",
            "tf_model.h5",
            "source.spm",
            "README.md",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(wanted(&files), ["config.json", "source.spm", "model.safetensors"]);
        let sharded: Vec<String> = [
            "config.json",
            "model.safetensors.index.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(wanted(&sharded).len(), 4);
    }
}
