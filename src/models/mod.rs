//! Model families and loading.
//!
//! Every encoder-decoder family implements generation's [`Seq2Seq`], one method vocabulary for
//! all: `new(cfg, vb)` builds it from a serde `Config` and a VarBuilder whose paths mirror the
//! checkpoint names; `encode` runs the encoder over a padded batch; `new_cache` prepares a
//! batch's decoder state (cross-attention K/V computed once); `decode_step` feeds tokens and
//! returns the last position's logits. The decoder-only [`llm::Llm`] implements
//! [`crate::generate::CausalLm`] likewise. Models depend on `generate`, never the reverse. The
//! family is chosen from `config.json`'s `model_type`, as a tagged enum (the way
//! text-embeddings-inference picks its backends), so adding a family touches one match.
//!
//! Why not candle-transformers' models: they run one unpadded sequence at a time (no encoder
//! or cross-attention padding mask), recompute cross-attention K/V at every step, grow the
//! self-attention cache by concatenation, and have no beam search; a batch pipeline needs all
//! of that, so the families are written here on candle-core / candle-nn, in candle's style.

pub mod bart;
pub mod card;
pub mod hub;
pub mod layers;
pub mod llm;
pub mod t5;
pub mod weights;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use serde::Deserialize;

use crate::generate::Seq2Seq;

/// Errors loading or running a model; each names the file or model it is about.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not valid JSON for what it should hold", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{}`: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot load the weights in `{}`", path.display())]
    Weights {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
    #[error("`{}`: model_type `{model_type}` is not supported (supported: {supported})", path.display())]
    Unsupported {
        path: PathBuf,
        model_type: String,
        supported: &'static str,
    },
    #[error("unknown model `{spec}`: neither a directory nor a model card (cards: {cards})")]
    UnknownModel { spec: String, cards: String },
    #[error("model `{name}` is not available here. Tried: {tried}. To get it: {how}")]
    NotAvailable { name: String, tried: String, how: String },
    #[error("unknown dtype `{0}` (expected f32, f16 or bf16)")]
    DType(String),
    #[error("cannot load the tokenizer")]
    Tokenizer(#[from] crate::tokenizer::TokenizerError),
    #[error("invalid generation settings for `{model}`")]
    Generation {
        model: String,
        #[source]
        source: crate::generate::config::GenerationConfigError,
    },
    #[error("model `{model}` has no language token for `{lang}` (its codes look like `{example}`)")]
    Language {
        model: String,
        lang: String,
        example: String,
    },
    #[error("model computation failed")]
    Candle(#[from] candle_core::Error),
}

/// `config.json`, tagged by `model_type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "model_type", rename_all = "lowercase")]
pub enum FamilyConfig {
    Marian(bart::Config),
    Bart(bart::Config),
    #[serde(rename = "mbart")]
    MBart(bart::Config),
    #[serde(rename = "t5", alias = "mt5")]
    T5(t5::Config),
    #[serde(rename = "m2m_100", alias = "nllb-moe")]
    M2M100(bart::Config),
}

const SUPPORTED: &str = "marian, bart, mbart, t5, mt5, m2m_100";

/// Parse a dtype name from the configuration.
pub fn parse_dtype(s: &str) -> Result<DType, ModelError> {
    match s {
        "f32" | "float32" => Ok(DType::F32),
        "f16" | "float16" => Ok(DType::F16),
        "bf16" | "bfloat16" => Ok(DType::BF16),
        other => Err(ModelError::DType(other.to_string())),
    }
}

/// Read `config.json` of a model directory.
pub fn read_config(dir: &Path) -> Result<(FamilyConfig, serde_json::Value), ModelError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: path.clone(),
        source,
    })?;
    let model_type = raw["model_type"].as_str().unwrap_or("").to_string();
    if !["marian", "bart", "mbart", "t5", "mt5", "m2m_100"].contains(&model_type.as_str()) {
        return Err(ModelError::Unsupported {
            path,
            model_type,
            supported: SUPPORTED,
        });
    }
    let cfg = serde_json::from_value(raw.clone()).map_err(|source| ModelError::Json { path, source })?;
    Ok((cfg, raw))
}

/// Load the model of a directory: config, weights (any of the supported forms), family.
pub fn load_seq2seq(dir: &Path, dtype: DType, device: &Device) -> Result<Box<dyn Seq2Seq>, ModelError> {
    let (cfg, _) = read_config(dir)?;
    let files = weights::discover(dir)?;
    let vb = files.var_builder(dtype, device)?;
    let weights_path = match &files {
        weights::WeightFiles::Safetensors(p) => p[0].clone(),
        weights::WeightFiles::PyTorch(p) => p.clone(),
    };
    let weights_err = |source| ModelError::Weights {
        path: weights_path.clone(),
        source,
    };
    let model: Box<dyn Seq2Seq> = match cfg {
        FamilyConfig::Marian(mut c) => {
            c.flavour = bart::Flavour::Marian;
            Box::new(bart::Bart::new(&c, vb).map_err(weights_err)?)
        }
        FamilyConfig::Bart(c) => Box::new(bart::Bart::new(&c, vb).map_err(weights_err)?),
        FamilyConfig::MBart(mut c) => {
            c.flavour = bart::Flavour::MBart;
            Box::new(bart::Bart::new(&c, vb).map_err(weights_err)?)
        }
        FamilyConfig::M2M100(mut c) => {
            c.flavour = bart::Flavour::M2M100;
            Box::new(bart::Bart::new(&c, vb).map_err(weights_err)?)
        }
        FamilyConfig::T5(c) => Box::new(t5::T5::new(&c, vb).map_err(weights_err)?),
    };
    Ok(model)
}
