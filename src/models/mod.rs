//! Model families and loading.
//!
//! Every encoder-decoder family implements generation's [`Seq2Seq`], one method vocabulary for
//! all: `new(cfg, vb)` builds it from a serde `Config` and a VarBuilder whose paths mirror the
//! checkpoint names; `encode` runs the encoder over a padded batch; `new_cache` prepares a
//! batch's decoder state (cross-attention K/V computed once); `decode_step` feeds tokens and
//! returns the last position's logits. The decoder-only [`llm::Llm`] implements
//! [`crate::generate::CausalLm`] likewise. Models depend on `generate`, never the reverse. The
//! family is chosen from `config.json`'s `model_type` through one table, `FAMILIES`, so
//! adding a family or a BART flavour touches one list.
//!
//! Why not candle-transformers' models: they run one unpadded sequence at a time (no encoder
//! or cross-attention padding mask), recompute cross-attention K/V at every step, grow the
//! self-attention cache by concatenation, and have no beam search; a batch pipeline needs all
//! of that, so the families are written here on candle-core / candle-nn, in candle's style.

pub(crate) mod attend;
pub mod bart;
pub mod card;
pub mod fingerprint;
pub mod hub;
pub mod layers;
pub mod llm;
pub(crate) mod matmul;
pub mod t5;
pub mod weights;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
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
    #[error("unknown dtype `{0}` (expected auto, f32, f16, bf16 or int8)")]
    DType(String),
    #[error(
        "dtype int8 runs on the CPU only (svodka's own int8 kernels); on {device} use bf16 (the default there), f16 or f32"
    )]
    Int8OnGpu { device: String },
    #[error("cannot use the device the configuration names (run.device)")]
    Device(#[from] crate::device::DeviceError),
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

/// Which implementation reads a `model_type`.
#[derive(Debug, Clone, Copy)]
enum Family {
    Bart(bart::Flavour),
    T5,
}

/// The supported `model_type`s, each with the family that reads it: the one list of families.
/// [`read_config`]'s check, the list its error gives and the loader all come from here, so a
/// new `model_type` is one row (a new BART flavour, one row and its [`bart::Flavour`]).
const FAMILIES: &[(&str, Family)] = &[
    ("marian", Family::Bart(bart::Flavour::Marian)),
    ("bart", Family::Bart(bart::Flavour::Bart)),
    ("mbart", Family::Bart(bart::Flavour::MBart)),
    ("t5", Family::T5),
    ("mt5", Family::T5),
    ("m2m_100", Family::Bart(bart::Flavour::M2M100)),
];

/// The names of [`FAMILIES`], for errors.
static SUPPORTED: LazyLock<String> =
    LazyLock::new(|| FAMILIES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "));

impl Family {
    fn of(model_type: &str) -> Option<Family> {
        FAMILIES.iter().find(|(name, _)| *name == model_type).map(|&(_, f)| f)
    }

    /// This family's settings from `config.json`, read in place (no copy of the JSON).
    fn read(self, raw: &serde_json::Value) -> serde_json::Result<FamilyConfig> {
        Ok(match self {
            Family::Bart(flavour) => FamilyConfig::Bart(bart::Config {
                flavour,
                ..bart::Config::deserialize(raw)?
            }),
            Family::T5 => FamilyConfig::T5(t5::Config::deserialize(raw)?),
        })
    }
}

/// A model's settings from `config.json`, by the implementation that reads them.
#[derive(Debug, Clone)]
pub(crate) enum FamilyConfig {
    /// BART, mBART, M2M100/NLLB or Marian: the config's `flavour` says which.
    Bart(bart::Config),
    T5(t5::Config),
}

impl FamilyConfig {
    /// These settings with the linear layers' weights kept in `format`.
    fn with_weights(&self, format: layers::WeightFormat) -> FamilyConfig {
        let mut cfg = self.clone();
        match &mut cfg {
            FamilyConfig::Bart(c) => c.weights = format,
            FamilyConfig::T5(c) => c.weights = format,
        }
        cfg
    }

    /// The model these settings describe, over the weights in `vb`.
    pub fn build(&self, vb: VarBuilder) -> candle_core::Result<Box<dyn Seq2Seq>> {
        Ok(match self {
            FamilyConfig::Bart(c) => Box::new(bart::Bart::new(c, vb)?),
            FamilyConfig::T5(c) => Box::new(t5::T5::new(c, vb)?),
        })
    }
}

/// Read and parse a JSON file; errors name it.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// What a seq2seq model computes in: a float dtype for weights and activations, or int8
/// weights (quantised at load, per output row) with float32 activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    Float(DType),
    Int8,
}

impl Precision {
    /// The dtype of the activations and of the weights kept in float (norms, positions).
    pub fn dtype(self) -> DType {
        match self {
            Precision::Float(d) => d,
            Precision::Int8 => DType::F32,
        }
    }

    /// The linear layers' weight format.
    pub(crate) fn weights(self) -> layers::WeightFormat {
        match self {
            Precision::Float(_) => layers::WeightFormat::AsLoaded,
            Precision::Int8 => layers::WeightFormat::Int8,
        }
    }
}

impl From<DType> for Precision {
    fn from(d: DType) -> Self {
        Precision::Float(d)
    }
}

/// The dtypes a seq2seq model can be run in, as the configuration names them.
pub const SEQ2SEQ_DTYPES: &str = "auto, f32, f16, bf16, int8";

/// Parse a dtype name from the configuration; `auto` is float32, the CPU's (see
/// [`precision_for`] for the device's).
pub fn parse_precision(s: &str) -> Result<Precision, ModelError> {
    precision_for(s, &Device::Cpu)
}

/// The precision `s` (a `dtype` setting) means on `device`: `auto` is float32 on the CPU and
/// bfloat16 on a GPU (half the memory and bandwidth, tensor cores; bf16 keeps float32's range,
/// where T5's activations overflow f16), float16 on a GPU older than Ampere (no bf16 there).
/// int8 is svodka's CPU kernels' format, refused elsewhere.
pub fn precision_for(s: &str, device: &Device) -> Result<Precision, ModelError> {
    let p = match s {
        "auto" if device.is_cpu() => Precision::Float(DType::F32),
        "auto" if crate::device::has_bf16(device) => Precision::Float(DType::BF16),
        "auto" => Precision::Float(DType::F16),
        "f32" | "float32" => Precision::Float(DType::F32),
        "f16" | "float16" => Precision::Float(DType::F16),
        "bf16" | "bfloat16" => Precision::Float(DType::BF16),
        "int8" | "i8" => Precision::Int8,
        other => return Err(ModelError::DType(other.to_string())),
    };
    if p == Precision::Int8 && !device.is_cpu() {
        return Err(ModelError::Int8OnGpu {
            device: crate::device::name(device),
        });
    }
    Ok(p)
}

/// The configuration's name of `p`, as manifests and benchmarks record it.
pub fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::Float(DType::F16) => "f16",
        Precision::Float(DType::BF16) => "bf16",
        Precision::Float(_) => "f32",
        Precision::Int8 => "int8",
    }
}

/// Read `config.json` of a model directory: its family's settings, and the whole JSON for
/// the callers that look up other keys. Called several times per load, so it parses the file
/// once and reads the settings from the parsed value in place.
pub(crate) fn read_config(dir: &Path) -> Result<(FamilyConfig, serde_json::Value), ModelError> {
    let path = dir.join("config.json");
    let raw = read_json(&path)?;
    let model_type = raw["model_type"].as_str().unwrap_or("");
    let Some(family) = Family::of(model_type) else {
        return Err(ModelError::Unsupported {
            model_type: model_type.to_string(),
            path,
            supported: SUPPORTED.as_str(),
        });
    };
    let cfg = family.read(&raw).map_err(|source| ModelError::Json { path, source })?;
    Ok((cfg, raw))
}

/// Load the model of a directory: config, weights (any of the supported forms), family.
pub fn load_seq2seq(
    dir: &Path,
    precision: impl Into<Precision>,
    device: &Device,
) -> Result<Box<dyn Seq2Seq>, ModelError> {
    let (cfg, _) = read_config(dir)?;
    load_seq2seq_with(&cfg, dir, precision.into(), device)
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (the same in its v2 and v3 headers).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// After a load: give the freed memory back to the system, then keep what is freed from now on.
///
/// Building copied each tensor out of the checkpoint, then packed or quantised the copy and
/// dropped it; the allocator (mimalloc, see lib.rs) would keep those pages for reuse. They go
/// back at once, so that resident memory is the model's (int8 opus-mt: 0.28× its float32 size
/// instead of 0.7×).
///
/// Decoding, on the contrary, frees and allocates the same large buffers at every step
/// (logits, layer outputs, growing caches); given back after mimalloc's default 10 ms, they
/// came back as fresh pages the kernel zeroes: `clear_page_erms` was 17% of a distilbart
/// beam-4 batch-32 profile, and keeping them took that row from 105 to 118 tok/s (opus-mt:
/// 270 → 302). The cost: resident memory stays at the largest batch's working set (there,
/// 1.85 → 2.05 GB).
fn give_back_then_keep() {
    // SAFETY: setting an option is allowed at any time (10 ms: the default, -1: never), and
    // mi_collect only returns free memory to the system.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10);
        libmimalloc_sys::mi_collect(true);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

/// [`load_seq2seq`] with `config.json` already read (by a caller that needs it too).
pub(crate) fn load_seq2seq_with(
    cfg: &FamilyConfig,
    dir: &Path,
    precision: Precision,
    device: &Device,
) -> Result<Box<dyn Seq2Seq>, ModelError> {
    let files = weights::discover(dir)?;
    let vb = files.var_builder(precision.dtype(), device)?;
    let model = cfg
        .with_weights(precision.weights())
        .build(vb)
        .map_err(|source| ModelError::Weights {
            path: files.primary().unwrap_or(dir).to_path_buf(),
            source,
        })?;
    // Building copied each tensor out of the checkpoint, then packed or quantised the copy
    // and dropped it; the allocator (mimalloc, see lib.rs) would keep those pages for reuse.
    // Give them back, so that resident memory is the model's (int8 opus-mt: 0.3× instead of
    // 0.7× its float32 size).
    give_back_then_keep();
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir(json: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        dir
    }

    #[test]
    fn dtype_names_and_auto_on_the_cpu() {
        let cpu = Device::Cpu;
        assert_eq!(precision_for("auto", &cpu).unwrap(), Precision::Float(DType::F32));
        assert_eq!(precision_for("bf16", &cpu).unwrap(), Precision::Float(DType::BF16));
        assert_eq!(precision_for("int8", &cpu).unwrap(), Precision::Int8);
        for (name, p) in [("f32", DType::F32), ("f16", DType::F16), ("bf16", DType::BF16)] {
            assert_eq!(precision_name(parse_precision(name).unwrap()), name);
            assert_eq!(precision_name(Precision::Float(p)), name);
        }
        assert_eq!(precision_name(Precision::Int8), "int8");
        let e = parse_precision("f8").unwrap_err().to_string();
        assert!(e.contains("`f8`") && e.contains("auto, f32"), "{e}");
    }

    #[test]
    fn an_unsupported_model_type_lists_the_table() {
        for json in [r#"{"model_type": "nllb-moe"}"#, r#"{"d_model": 4}"#] {
            let dir = config_dir(json);
            let err = read_config(dir.path()).unwrap_err();
            assert!(matches!(err, ModelError::Unsupported { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .ends_with("is not supported (supported: marian, bart, mbart, t5, mt5, m2m_100)"),
                "{err}"
            );
        }
    }

    #[test]
    fn every_model_type_reads_its_family() {
        let bart = r#""vocab_size": 8, "d_model": 4, "encoder_layers": 1, "decoder_layers": 1,
            "encoder_attention_heads": 1, "decoder_attention_heads": 1, "encoder_ffn_dim": 8,
            "decoder_ffn_dim": 8, "activation_function": "gelu", "max_position_embeddings": 8"#;
        let t5 = r#""vocab_size": 8, "d_model": 4, "d_kv": 4, "d_ff": 8, "num_layers": 1,
            "num_heads": 1, "relative_attention_num_buckets": 4"#;
        for &(name, family) in FAMILIES {
            let fields = if matches!(family, Family::T5) { t5 } else { bart };
            let dir = config_dir(&format!(r#"{{"model_type": "{name}", {fields}}}"#));
            let (cfg, raw) = read_config(dir.path()).unwrap();
            assert_eq!(raw["model_type"], name);
            match (cfg, family) {
                (FamilyConfig::Bart(c), Family::Bart(flavour)) => assert_eq!(c.flavour, flavour, "{name}"),
                (FamilyConfig::T5(_), Family::T5) => {}
                (cfg, _) => panic!("{name} read as {cfg:?}"),
            }
        }
    }
}
