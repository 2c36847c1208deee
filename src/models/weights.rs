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
pub enum WeightFiles {
    Safetensors(Vec<PathBuf>),
    PyTorch(PathBuf),
}

pub fn discover(dir: &Path) -> Result<WeightFiles, ModelError> {
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
    /// A VarBuilder over the files, loading tensors as `dtype`.
    pub fn var_builder(&self, dtype: DType, device: &Device) -> Result<VarBuilder<'static>, ModelError> {
        match self {
            WeightFiles::Safetensors(paths) => {
                // SAFETY: the files are memory-mapped read-only; svodka never writes them, and
                // a file changed underneath a running process is outside what it can guard.
                unsafe { VarBuilder::from_mmaped_safetensors(paths, dtype, device) }.map_err(|source| {
                    ModelError::Weights {
                        path: paths[0].clone(),
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
