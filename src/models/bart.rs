//! BART, mBART and M2M100/NLLB, as transformers' `BartForConditionalGeneration`,
//! `MBartForConditionalGeneration` and `M2M100ForConditionalGeneration` compute them.
//!
//! One file because the three share their layers and differ in a few places, decided by
//! `config.json`'s `model_type`:
//! - BART: learned positions offset by 2, `layernorm_embedding`, post-norm layers;
//! - mBART: the same but pre-norm layers and a final `layer_norm` after each stack;
//! - M2M100/NLLB: pre-norm with final norms, no `layernorm_embedding`, and sinusoidal
//!   positions that skip padding (a token's position counts the non-pad tokens before it,
//!   offset past `pad_token_id`, and pad tokens get the zero row).
//!
//! Weight names mirror the checkpoint; state lives in the caller's [`DecoderCache`].

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use crate::generate::cache::LayerCache;
use crate::generate::{DecoderCache, Seq2Seq};

use super::layers::{Activation, Attention, Linear, causal_mask, last_position, layer_norm, linear, padding_mask};

/// BART's learned position tables have two extra rows at the front.
const POSITION_OFFSET: usize = 2;

fn default_true() -> bool {
    true
}

/// The `config.json` fields BART and mBART use.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub decoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    pub activation_function: Activation,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub scale_embedding: bool,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_pad")]
    pub pad_token_id: u32,
    /// Set from `model_type`.
    #[serde(skip)]
    pub flavour: Flavour,
}

fn default_pad() -> u32 {
    1
}

/// Which member of the family a checkpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    #[default]
    Bart,
    MBart,
    M2M100,
}

impl Flavour {
    fn pre_norm(self) -> bool {
        self != Flavour::Bart
    }
}

#[derive(Debug, Clone)]
struct Ffn {
    fc1: Linear,
    fc2: Linear,
    act: Activation,
}

impl Ffn {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.forward(&self.fc1.forward(xs)?)?)
    }
}

/// `x + f(x)` around a norm: before it (pre-norm) or after it (post-norm).
fn residual(xs: &Tensor, norm: &LayerNorm, pre: bool, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    if pre {
        xs + f(&norm.forward(xs)?)?
    } else {
        norm.forward(&(xs + f(xs)?)?)
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    ffn: Ffn,
    final_layer_norm: LayerNorm,
    pre: bool,
}

impl EncoderLayer {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(EncoderLayer {
            self_attn: Attention::new(d, cfg.encoder_attention_heads, vb.pp("self_attn"))?,
            self_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("self_attn_layer_norm"))?,
            ffn: Ffn {
                fc1: linear(d, cfg.encoder_ffn_dim, vb.pp("fc1"))?,
                fc2: linear(cfg.encoder_ffn_dim, d, vb.pp("fc2"))?,
                act: cfg.activation_function,
            },
            final_layer_norm: layer_norm(d, 1e-5, vb.pp("final_layer_norm"))?,
            pre: cfg.flavour.pre_norm(),
        })
    }

    fn forward(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let h = residual(xs, &self.self_attn_layer_norm, self.pre, |x| {
            self.self_attn.forward(x, Some(mask))
        })?;
        residual(&h, &self.final_layer_norm, self.pre, |x| self.ffn.forward(x))
    }
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    encoder_attn: Attention,
    encoder_attn_layer_norm: LayerNorm,
    ffn: Ffn,
    final_layer_norm: LayerNorm,
    pre: bool,
}

impl DecoderLayer {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(DecoderLayer {
            self_attn: Attention::new(d, cfg.decoder_attention_heads, vb.pp("self_attn"))?,
            self_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("self_attn_layer_norm"))?,
            encoder_attn: Attention::new(d, cfg.decoder_attention_heads, vb.pp("encoder_attn"))?,
            encoder_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("encoder_attn_layer_norm"))?,
            ffn: Ffn {
                fc1: linear(d, cfg.decoder_ffn_dim, vb.pp("fc1"))?,
                fc2: linear(cfg.decoder_ffn_dim, d, vb.pp("fc2"))?,
                act: cfg.activation_function,
            },
            final_layer_norm: layer_norm(d, 1e-5, vb.pp("final_layer_norm"))?,
            pre: cfg.flavour.pre_norm(),
        })
    }

    fn forward(
        &self,
        xs: &Tensor,
        cache: &mut LayerCache,
        self_mask: Option<&Tensor>,
        enc_mask: &Tensor,
    ) -> Result<Tensor> {
        let h = residual(xs, &self.self_attn_layer_norm, self.pre, |x| {
            let (k, v) = self.self_attn.project_kv(x)?;
            let (k, v) = cache.self_kv.append(&k, &v)?;
            self.self_attn.attend(x, &k, &v, self_mask)
        })?;
        let h = residual(&h, &self.encoder_attn_layer_norm, self.pre, |x| {
            self.encoder_attn
                .attend(x, &cache.cross_k, &cache.cross_v, Some(enc_mask))
        })?;
        residual(&h, &self.final_layer_norm, self.pre, |x| self.ffn.forward(x))
    }
}

/// Position embeddings of one stack.
#[derive(Debug, Clone)]
enum Positions {
    /// BART/mBART: a learned table, looked up at `position + 2`.
    Learned(Embedding),
    /// M2M100: a fixed sinusoidal table, looked up at padding-aware positions.
    Sinusoidal { table: Tensor, padding_idx: u32 },
}

/// One stack's embedding side.
#[derive(Debug, Clone)]
struct Embeddings {
    positions: Positions,
    layernorm_embedding: Option<LayerNorm>,
}

/// M2M100's sinusoidal table (tensor2tensor layout: all sines, then all cosines), computed in
/// f32 as transformers does, with the padding row zeroed.
fn m2m100_sinusoidal(n: usize, dim: usize, padding_idx: usize, dtype: DType, dev: &Device) -> Result<Tensor> {
    let half = dim / 2;
    let step = (10000f64.ln() / (half as f64 - 1.0)) as f32;
    let freqs: Vec<f32> = (0..half).map(|j| (j as f32 * -step).exp()).collect();
    let mut data = vec![0f32; n * dim];
    for pos in 0..n {
        if pos == padding_idx {
            continue;
        }
        for (j, f) in freqs.iter().enumerate() {
            let a = pos as f32 * f;
            data[pos * dim + j] = a.sin();
            data[pos * dim + half + j] = a.cos();
        }
    }
    Tensor::from_vec(data, (n, dim), dev)?.to_dtype(dtype)
}

/// `BartForConditionalGeneration` / `MBartForConditionalGeneration`.
#[derive(Debug, Clone)]
pub struct Bart {
    cfg: Config,
    shared: Embedding,
    enc: Embeddings,
    dec: Embeddings,
    encoder: Vec<EncoderLayer>,
    decoder: Vec<DecoderLayer>,
    /// mBART's final norms after each stack.
    enc_layer_norm: Option<LayerNorm>,
    dec_layer_norm: Option<LayerNorm>,
    lm_head: Linear,
    final_logits_bias: Tensor,
    embed_scale: f64,
    dtype: DType,
    device: Device,
}

impl Bart {
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let v = cfg.vocab_size;
        let name = [
            "model.shared.weight",
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ]
        .into_iter()
        .find(|n| vb.contains_tensor(n))
        .unwrap_or("model.shared.weight");
        let shared = Embedding::new(vb.get((v, d), name)?, d);
        let stack = |p: &str| -> Result<Embeddings> {
            let vb = vb.pp(p);
            let n = cfg.max_position_embeddings + POSITION_OFFSET;
            Ok(match cfg.flavour {
                Flavour::M2M100 => Embeddings {
                    positions: Positions::Sinusoidal {
                        table: m2m100_sinusoidal(n, d, cfg.pad_token_id as usize, vb.dtype(), vb.device())?,
                        padding_idx: cfg.pad_token_id,
                    },
                    layernorm_embedding: None,
                },
                _ => Embeddings {
                    positions: Positions::Learned(candle_nn::embedding(n, d, vb.pp("embed_positions"))?),
                    layernorm_embedding: Some(layer_norm(d, 1e-5, vb.pp("layernorm_embedding"))?),
                },
            })
        };
        let lm_head = if !cfg.tie_word_embeddings && vb.contains_tensor("lm_head.weight") {
            Linear::new(vb.get((v, d), "lm_head.weight")?, None)
        } else {
            Linear::new(shared.embeddings().clone(), None)
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, v), "final_logits_bias")?
        } else {
            Tensor::zeros((1, v), vb.dtype(), vb.device())?
        };
        let final_norm = |p: &str| -> Result<Option<LayerNorm>> {
            if cfg.flavour.pre_norm() {
                layer_norm(d, 1e-5, vb.pp(p)).map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(Bart {
            enc: stack("model.encoder")?,
            dec: stack("model.decoder")?,
            encoder: (0..cfg.encoder_layers)
                .map(|i| EncoderLayer::new(cfg, vb.pp(format!("model.encoder.layers.{i}"))))
                .collect::<Result<_>>()?,
            decoder: (0..cfg.decoder_layers)
                .map(|i| DecoderLayer::new(cfg, vb.pp(format!("model.decoder.layers.{i}"))))
                .collect::<Result<_>>()?,
            enc_layer_norm: final_norm("model.encoder.layer_norm")?,
            dec_layer_norm: final_norm("model.decoder.layer_norm")?,
            shared,
            lm_head,
            final_logits_bias,
            embed_scale: if cfg.scale_embedding { (d as f64).sqrt() } else { 1.0 },
            dtype: vb.dtype(),
            device: vb.device().clone(),
            cfg: cfg.clone(),
        })
    }

    fn embed(&self, e: &Embeddings, ids: &Tensor, past: usize) -> Result<Tensor> {
        let (n, t) = ids.dims2()?;
        if past + t > self.cfg.max_position_embeddings {
            candle_core::bail!(
                "sequence of {} positions exceeds max_position_embeddings ({})",
                past + t,
                self.cfg.max_position_embeddings
            );
        }
        let tokens = (self.shared.forward(ids)? * self.embed_scale)?;
        let xs = match &e.positions {
            Positions::Learned(table) => {
                let pos = Tensor::arange(
                    (past + POSITION_OFFSET) as u32,
                    (past + t + POSITION_OFFSET) as u32,
                    &self.device,
                )?;
                tokens.broadcast_add(&table.forward(&pos)?)?
            }
            Positions::Sinusoidal { table, padding_idx } => {
                // transformers' create_position_ids_from_input_ids: (cumsum(not pad) + past) * not pad + pad.
                let rows = ids.to_vec2::<u32>()?;
                let pos: Vec<u32> = rows
                    .iter()
                    .flat_map(|r| {
                        let mut seen = 0u32;
                        r.iter()
                            .map(|&tok| {
                                if tok == *padding_idx {
                                    *padding_idx
                                } else {
                                    seen += 1;
                                    seen + past as u32 + padding_idx
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let pos = Tensor::from_vec(pos, n * t, &self.device)?;
                (tokens + table.index_select(&pos, 0)?.reshape((n, t, self.cfg.d_model))?)?
            }
        };
        match &e.layernorm_embedding {
            Some(ln) => ln.forward(&xs),
            None => Ok(xs),
        }
    }
}

impl Seq2Seq for Bart {
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let add = padding_mask(mask, self.dtype)?;
        let mut xs = self.embed(&self.enc, ids, 0)?;
        for l in &self.encoder {
            xs = l.forward(&xs, &add)?;
        }
        match &self.enc_layer_norm {
            Some(n) => n.forward(&xs),
            None => Ok(xs),
        }
    }

    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache> {
        let cross_kv = self
            .decoder
            .iter()
            .map(|l| l.encoder_attn.project_kv(encoded))
            .collect::<Result<_>>()?;
        Ok(DecoderCache::new(cross_kv, padding_mask(mask, self.dtype)?))
    }

    fn decode_step(&self, cache: &mut DecoderCache, tokens: &Tensor) -> Result<Tensor> {
        let past = cache.past_len();
        let t = tokens.dim(1)?;
        let mut xs = self.embed(&self.dec, tokens, past)?;
        let self_mask = if t > 1 {
            Some(causal_mask(t, past, self.dtype, &self.device)?)
        } else {
            None
        };
        let enc_mask = cache.encoder_mask.clone();
        for (l, c) in self.decoder.iter().zip(cache.layers.iter_mut()) {
            xs = l.forward(&xs, c, self_mask.as_ref(), &enc_mask)?;
        }
        if let Some(n) = &self.dec_layer_norm {
            xs = n.forward(&xs)?;
        }
        let logits = self
            .lm_head
            .forward(&last_position(&xs)?)?
            .broadcast_add(&self.final_logits_bias)?;
        logits.to_dtype(DType::F32)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerationConfig, generate};
    use candle_nn::VarMap;

    fn tiny(flavour: Flavour) -> Bart {
        let mut cfg: Config = serde_json::from_value(serde_json::json!({
            "vocab_size": 64, "d_model": 16, "encoder_layers": 2, "decoder_layers": 1,
            "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32,
            "decoder_ffn_dim": 32, "activation_function": "gelu", "max_position_embeddings": 40,
            "scale_embedding": flavour != Flavour::Bart, "pad_token_id": 1
        }))
        .unwrap();
        cfg.flavour = flavour;
        let vm = VarMap::new();
        Bart::new(&cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu)).unwrap()
    }

    /// Until the transformers references of the next fixtures exist, the engine's own
    /// contract: padding must not leak into a row's result.
    #[test]
    fn padded_batch_equals_rows_alone() {
        for flavour in [Flavour::Bart, Flavour::MBart, Flavour::M2M100] {
            let model = tiny(flavour);
            let cfg = GenerationConfig {
                decoder_start_token_id: Some(2),
                eos_token_id: Some(crate::generate::config::TokenIds::One(2)),
                pad_token_id: Some(1),
                max_new_tokens: Some(8),
                num_beams: Some(3),
                ..Default::default()
            }
            .resolve(Some(40))
            .unwrap();
            let inputs = vec![vec![5, 9, 13, 2], vec![7, 2], vec![3, 4, 5, 6, 7, 8, 2]];
            let batched = generate(&model as &dyn Seq2Seq, &inputs, &cfg).unwrap();
            for (i, row) in inputs.iter().enumerate() {
                let alone = generate(&model as &dyn Seq2Seq, std::slice::from_ref(row), &cfg).unwrap();
                assert_eq!(alone[0], batched[i], "{flavour:?}, row {i}");
            }
            assert!(batched.iter().all(|s| s.len() > 1));
        }
    }
}
