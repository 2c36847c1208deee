//! Where a model's files come from: a local directory, or a card's Hugging Face Hub repo
//! through hf-hub (the standard cache under `HF_HOME`, revision pinning, `HF_HUB_OFFLINE=1`).
//!
//! A model is named by a card (`opus-mt-ru-en`) or a directory path; both resolve to a local
//! directory holding config, tokenizer and weight files, which is all the loaders see. When a
//! card's files are neither cached nor downloadable, the error says which model, what was
//! tried and how to get it, so the run stops before any work.

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

fn hub_repo(c: &Card) -> hf_hub::Repo {
    hf_hub::Repo::with_revision(c.repo.clone(), hf_hub::RepoType::Model, c.revision.clone())
}

/// The cached snapshot of a card, if it holds config and weights.
pub(crate) fn cached_dir(c: &Card) -> Option<PathBuf> {
    let config = cache().repo(hub_repo(c)).get("config.json")?;
    let dir = config.parent()?.to_path_buf();
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
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(progress)
        .build()
        .map_err(|e| unavailable(e.to_string()))?;
    let repo = api.repo(hub_repo(c));
    let info = repo.info().map_err(|e| unavailable(e.to_string()))?;
    let files: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let mut dir = None;
    for f in wanted(&files) {
        let p = repo.get(&f).map_err(|e| unavailable(format!("{f}: {e}")))?;
        if f == "config.json" {
            dir = p.parent().map(Path::to_path_buf);
        }
    }
    let dir = dir.ok_or_else(|| unavailable("the repo has no config.json".into()))?;
    weights::discover(&dir)?;
    Ok(dir)
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
