//! Finding and opening a checkpoint's weights: `model.safetensors` (memory-mapped), sharded
//! safetensors with `model.safetensors.index.json`, or `pytorch_model.bin` (many opus-mt repos
//! have only that). The caller never names the files: a directory is enough.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::{ModelError, read_json};

/// The weight files a directory holds, in the order they are preferred.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WeightFiles {
    Safetensors(Vec<PathBuf>),
    PyTorch(PathBuf),
}

pub(crate) fn discover(dir: &Path) -> Result<WeightFiles, ModelError> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(WeightFiles::Safetensors(vec![single]));
    }
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let v = read_json(&index)?;
        let files: BTreeSet<String> = v["weight_map"]
            .as_object()
            .ok_or_else(|| ModelError::Invalid {
                path: index.clone(),
                message: "no `weight_map` object".into(),
            })?
            .values()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        if files.is_empty() {
            return Err(ModelError::Invalid {
                path: index,
                message: "`weight_map` names no shard".into(),
            });
        }
        let paths: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
        if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
            return Err(ModelError::Invalid {
                path: index,
                message: format!("shard `{}` is missing", missing.display()),
            });
        }
        return Ok(WeightFiles::Safetensors(paths));
    }
    let bin = dir.join("pytorch_model.bin");
    if bin.is_file() {
        return Ok(WeightFiles::PyTorch(bin));
    }
    Err(ModelError::Invalid {
        path: dir.to_path_buf(),
        message: "no weights: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin".into(),
    })
}

impl WeightFiles {
    /// The file errors about the weights name: the only one, or the first shard (`None` only
    /// for an empty list, which [`discover`] never returns).
    pub(crate) fn primary(&self) -> Option<&Path> {
        match self {
            WeightFiles::Safetensors(paths) => paths.first().map(PathBuf::as_path),
            WeightFiles::PyTorch(path) => Some(path),
        }
    }

    /// A VarBuilder over the files, loading tensors as `dtype`.
    pub(crate) fn var_builder(&self, dtype: DType, device: &Device) -> Result<VarBuilder<'static>, ModelError> {
        match self {
            WeightFiles::Safetensors(paths) => {
                // SAFETY: the files are memory-mapped read-only; svodka never writes them, and
                // a file changed underneath a running process is outside what it can guard.
                unsafe { VarBuilder::from_mmaped_safetensors(paths, dtype, device) }.map_err(|source| {
                    ModelError::Weights {
                        path: self.primary().map(Path::to_path_buf).unwrap_or_default(),
                        source,
                    }
                })
            }
            WeightFiles::PyTorch(path) => {
                VarBuilder::from_pth(path, dtype, device).map_err(|source| ModelError::Weights {
                    path: path.clone(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_dir(index: &str, shards: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors.index.json"), index).unwrap();
        for shard in shards {
            std::fs::write(dir.path().join(shard), b"").unwrap();
        }
        dir
    }

    #[test]
    fn an_index_without_shards_is_an_error_naming_it() {
        for index in [r#"{"weight_map": {}}"#, r#"{"weight_map": {"lm_head.weight": 3}}"#] {
            let dir = index_dir(index, &[]);
            let err = discover(dir.path()).unwrap_err();
            let path = dir.path().join("model.safetensors.index.json");
            assert!(
                matches!(&err, ModelError::Invalid { path: p, .. } if *p == path),
                "{err:?}"
            );
            assert!(err.to_string().contains("`weight_map` names no shard"), "{err}");
        }
    }

    #[test]
    fn an_index_lists_its_shards_once_in_order() {
        let index = r#"{"weight_map": {"a": "model-00002-of-00002.safetensors",
            "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}"#;
        let shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
        let dir = index_dir(index, &shards);
        let files = discover(dir.path()).unwrap();
        let paths: Vec<PathBuf> = shards.iter().map(|s| dir.path().join(s)).collect();
        assert_eq!(files.primary(), Some(paths[0].as_path()));
        assert_eq!(files, WeightFiles::Safetensors(paths));
    }
}
