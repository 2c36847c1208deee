//! The BART family: BART, mBART, M2M100/NLLB and Marian (opus-mt), as transformers'
//! `BartForConditionalGeneration`, `MBartForConditionalGeneration`,
//! `M2M100ForConditionalGeneration` and `MarianMTModel` compute them.
//!
//! One file because the four share their layers (attention, feed-forward, each a residual
//! around a LayerNorm) and differ in a few places, switched by the [`Flavour`] that
//! `config.json`'s `model_type` names and by the config's own fields:
//! - BART: learned positions offset by 2, `layernorm_embedding`, post-norm layers;
//! - mBART: the same but pre-norm layers and a final `layer_norm` after each stack;
//! - M2M100/NLLB: pre-norm with final norms, no `layernorm_embedding`, and sinusoidal
//!   positions that skip padding (a token's position counts the non-pad tokens before it,
//!   offset past `pad_token_id`, and pad tokens get the zero row);
//! - Marian: post-norm like BART, no `layernorm_embedding`, and static sinusoidal positions
//!   (not stored in checkpoints; sines of the even frequencies, then cosines), looked up at
//!   the position itself. Its config may also give the decoder its own token table
//!   (`share_encoder_decoder_embeddings: false`) and a smaller `decoder_vocab_size`.
//!
//! All of them may scale embeddings by √d_model (`scale_embedding`), tie or untie the output
//! projection (`tie_word_embeddings`), and add a `final_logits_bias` when the checkpoint has one.
//!
//! Written here on candle-core / candle-nn rather than taken from candle-transformers: its
//! models run one unpadded sequence at a time (no encoder or cross-attention padding mask),
//! recompute cross-attention K/V at every step, grow the self-attention cache by
//! concatenation, and have no beam search, and a batch pipeline needs all of that. Weight
//! names mirror the checkpoint (`model.encoder.layers.0.self_attn.q_proj.weight`, …); the
//! weights are immutable, so one copy serves every worker, and state lives in the caller's
//! [`DecoderCache`].

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use crate::generate::cache::LayerCache;
use crate::generate::{DecoderCache, Seq2Seq};

use super::layers::{
    Activation, Attention, FeedForward, Linear, TokenTable, WeightFormat, causal_mask, first_present, last_position,
    layer_norm, linear, new_decoder_cache, padding_mask,
};

/// BART's learned position tables have two extra rows at the front.
const POSITION_OFFSET: usize = 2;

fn default_true() -> bool {
    true
}

fn default_pad() -> u32 {
    1
}

/// The `config.json` fields the family uses; the rest are ignored. Optional fields default as
/// in transformers' configs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Not read from `config.json`: how the linear layers keep their weights, set by the
    /// loader from the configured dtype (as candle's models take `use_flash_attn`).
    #[serde(skip)]
    pub weights: WeightFormat,
    pub vocab_size: usize,
    /// Marian: the decoder's vocabulary, when it differs from `vocab_size`.
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
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
    /// Marian: `false` gives the decoder its own token table.
    #[serde(default = "default_true")]
    pub share_encoder_decoder_embeddings: bool,
    /// Read by M2M100's padding-aware positions only.
    #[serde(default = "default_pad")]
    pub pad_token_id: u32,
    /// Set from `model_type`.
    #[serde(skip)]
    pub flavour: Flavour,
}

impl Config {
    /// Rows of the output projection: `decoder_vocab_size`, else `vocab_size`.
    pub(crate) fn target_vocab_size(&self) -> usize {
        self.decoder_vocab_size.unwrap_or(self.vocab_size)
    }
}

/// Which member of the family a checkpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    #[default]
    Bart,
    MBart,
    M2M100,
    Marian,
}

impl Flavour {
    /// Norms before each sub-layer and after each stack (else after each sub-layer).
    fn pre_norm(self) -> bool {
        matches!(self, Flavour::MBart | Flavour::M2M100)
    }

    /// A LayerNorm over the summed token and position embeddings.
    fn layernorm_embedding(self) -> bool {
        matches!(self, Flavour::Bart | Flavour::MBart)
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

/// One encoder or decoder layer: self-attention, then (decoder) attention over the encoder
/// output, then the feed-forward, each a residual around its LayerNorm.
#[derive(Debug, Clone)]
struct Layer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    /// Decoder layers only.
    encoder_attn: Option<(Attention, LayerNorm)>,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
    pre: bool,
}

impl Layer {
    fn new(cfg: &Config, decoder: bool, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let (heads, ffn_dim) = if decoder {
            (cfg.decoder_attention_heads, cfg.decoder_ffn_dim)
        } else {
            (cfg.encoder_attention_heads, cfg.encoder_ffn_dim)
        };
        let norm = |name: &str| layer_norm(d, 1e-5, vb.pp(name));
        let encoder_attn = if decoder {
            Some((
                Attention::new(d, heads, cfg.weights, vb.pp("encoder_attn"))?,
                norm("encoder_attn_layer_norm")?,
            ))
        } else {
            None
        };
        Ok(Layer {
            self_attn: Attention::new(d, heads, cfg.weights, vb.pp("self_attn"))?,
            self_attn_layer_norm: norm("self_attn_layer_norm")?,
            encoder_attn,
            ffn: FeedForward::new(
                linear(d, ffn_dim, cfg.weights, vb.pp("fc1"))?,
                linear(ffn_dim, d, cfg.weights, vb.pp("fc2"))?,
                cfg.activation_function,
            ),
            final_layer_norm: norm("final_layer_norm")?,
            pre: cfg.flavour.pre_norm(),
        })
    }

    fn cross(&self) -> &(Attention, LayerNorm) {
        self.encoder_attn
            .as_ref()
            .expect("decoder layers attend to the encoder")
    }

    /// An encoder layer over `xs`, with the additive padding `mask`.
    fn encode(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let h = residual(xs, &self.self_attn_layer_norm, self.pre, |x| {
            self.self_attn.forward(x, Some(mask))
        })?;
        residual(&h, &self.final_layer_norm, self.pre, |x| self.ffn.forward(x))
    }

    /// A decoder layer over `xs`, the positions after those `cache` holds (which it extends).
    fn decode(
        &self,
        xs: &Tensor,
        cache: &mut LayerCache,
        self_mask: Option<&Tensor>,
        enc_mask: &Tensor,
        sources: &[u32],
    ) -> Result<Tensor> {
        let h = residual(xs, &self.self_attn_layer_norm, self.pre, |x| {
            self.self_attn.forward_cached(x, &mut cache.self_kv, self_mask)
        })?;
        let (encoder_attn, encoder_attn_layer_norm) = self.cross();
        let h = residual(&h, encoder_attn_layer_norm, self.pre, |x| {
            encoder_attn.attend_cross(x, cache, enc_mask, sources)
        })?;
        residual(&h, &self.final_layer_norm, self.pre, |x| self.ffn.forward(x))
    }
}

/// Position embeddings of one stack.
#[derive(Debug, Clone)]
enum Positions {
    /// BART/mBART: a learned table, looked up at `position + 2`.
    Learned(Embedding),
    /// Marian: a fixed sinusoidal table, looked up at the position.
    Static(Tensor),
    /// M2M100: a fixed sinusoidal table, looked up at padding-aware positions.
    SkipPadding { table: Tensor, padding_idx: u32 },
}

/// One stack's embedding side.
#[derive(Debug, Clone)]
struct Embeddings {
    tokens: TokenTable,
    positions: Positions,
    layernorm_embedding: Option<LayerNorm>,
}

/// Marian's sinusoidal table as transformers builds it: `[n_pos, dim]`, sines of the even
/// frequencies in the first half, cosines in the second.
fn marian_sinusoidal(n_pos: usize, dim: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let half = dim / 2 + dim % 2;
    let mut data = vec![0f32; n_pos * dim];
    for pos in 0..n_pos {
        for j in 0..dim {
            let angle = pos as f64 / 10000f64.powf(2.0 * (j / 2) as f64 / dim as f64);
            // Even j feed the sine half, odd j the cosine half.
            if j % 2 == 0 {
                data[pos * dim + j / 2] = angle.sin() as f32;
            } else {
                data[pos * dim + half + j / 2] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(data, (n_pos, dim), device)?.to_dtype(dtype)
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

/// The encoder's and the decoder's token tables: one shared table (tied weights are stored
/// once, under one of several names depending on the transformers version that saved them),
/// or, for a Marian that does not share, the encoder's and the decoder's own.
fn token_tables(cfg: &Config, vb: &VarBuilder) -> Result<(TokenTable, TokenTable)> {
    let d = cfg.d_model;
    let names: &[&str] = if cfg.share_encoder_decoder_embeddings {
        &[
            "model.shared.weight",
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ]
    } else {
        &["model.encoder.embed_tokens.weight", "model.shared.weight"]
    };
    let name = first_present(vb, names).unwrap_or("model.shared.weight");
    let enc = TokenTable::new(vb.get((cfg.vocab_size, d), name)?, cfg.weights)?;
    if cfg.share_encoder_decoder_embeddings {
        return Ok((enc.clone(), enc));
    }
    // transformers builds the separate decoder table as a copy of the shared one, so it has
    // `vocab_size` rows even when the decoder vocabulary is smaller: take it as stored.
    let table = vb.get_unchecked("model.decoder.embed_tokens.weight")?;
    let tgt_v = cfg.target_vocab_size();
    if table.dim(1)? != d || table.dim(0)? < tgt_v {
        candle_core::bail!(
            "model.decoder.embed_tokens.weight has shape {:?}, expected [≥{tgt_v}, {d}]",
            table.dims()
        );
    }
    Ok((enc, TokenTable::new(table, cfg.weights)?))
}

/// `BartForConditionalGeneration`, `MBartForConditionalGeneration`,
/// `M2M100ForConditionalGeneration` or `MarianMTModel`, as the config's flavour says.
#[derive(Debug, Clone)]
pub struct Bart {
    cfg: Config,
    enc: Embeddings,
    dec: Embeddings,
    encoder: Vec<Layer>,
    decoder: Vec<Layer>,
    /// The pre-norm flavours' final norms after each stack.
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
        let tgt_v = cfg.target_vocab_size();
        let (enc_tokens, dec_tokens) = token_tables(cfg, &vb)?;
        let n = cfg.max_position_embeddings + POSITION_OFFSET;
        // The fixed tables are the same for both stacks: computed once.
        let fixed = match cfg.flavour {
            Flavour::Marian => Some(Positions::Static(marian_sinusoidal(
                cfg.max_position_embeddings,
                d,
                vb.dtype(),
                vb.device(),
            )?)),
            Flavour::M2M100 => Some(Positions::SkipPadding {
                table: m2m100_sinusoidal(n, d, cfg.pad_token_id as usize, vb.dtype(), vb.device())?,
                padding_idx: cfg.pad_token_id,
            }),
            Flavour::Bart | Flavour::MBart => None,
        };
        let stack = |p: &str, tokens: TokenTable| -> Result<Embeddings> {
            let vb = vb.pp(p);
            let positions = match &fixed {
                Some(fixed) => fixed.clone(),
                None => Positions::Learned(candle_nn::embedding(n, d, vb.pp("embed_positions"))?),
            };
            let layernorm_embedding = if cfg.flavour.layernorm_embedding() {
                Some(layer_norm(d, 1e-5, vb.pp("layernorm_embedding"))?)
            } else {
                None
            };
            Ok(Embeddings {
                tokens,
                positions,
                layernorm_embedding,
            })
        };
        let lm_head = if cfg.tie_word_embeddings || !vb.contains_tensor("lm_head.weight") {
            dec_tokens.tied_head()
        } else {
            Linear::new(vb.get((tgt_v, d), "lm_head.weight")?, None).into_format(cfg.weights)?
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, tgt_v), "final_logits_bias")?
        } else {
            Tensor::zeros((1, tgt_v), vb.dtype(), vb.device())?
        };
        let final_norm = |p: &str| -> Result<Option<LayerNorm>> {
            if cfg.flavour.pre_norm() {
                layer_norm(d, 1e-5, vb.pp(p)).map(Some)
            } else {
                Ok(None)
            }
        };
        let layers = |decoder: bool, n: usize, p: &str| -> Result<Vec<Layer>> {
            (0..n)
                .map(|i| Layer::new(cfg, decoder, vb.pp(format!("{p}.{i}"))))
                .collect()
        };
        Ok(Bart {
            enc: stack("model.encoder", enc_tokens)?,
            dec: stack("model.decoder", dec_tokens)?,
            encoder: layers(false, cfg.encoder_layers, "model.encoder.layers")?,
            decoder: layers(true, cfg.decoder_layers, "model.decoder.layers")?,
            enc_layer_norm: final_norm("model.encoder.layer_norm")?,
            dec_layer_norm: final_norm("model.decoder.layer_norm")?,
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
        let tokens = (e.tokens.forward(ids)? * self.embed_scale)?;
        let xs = match &e.positions {
            Positions::Learned(table) => {
                let pos = Tensor::arange(
                    (past + POSITION_OFFSET) as u32,
                    (past + t + POSITION_OFFSET) as u32,
                    &self.device,
                )?;
                tokens.broadcast_add(&table.forward(&pos)?)?
            }
            Positions::Static(table) => tokens.broadcast_add(&table.narrow(0, past, t)?)?,
            Positions::SkipPadding { table, padding_idx } => {
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
            xs = l.encode(&xs, &add)?;
        }
        match &self.enc_layer_norm {
            Some(n) => n.forward(&xs),
            None => Ok(xs),
        }
    }

    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache> {
        new_decoder_cache(self.decoder.iter().map(|l| &l.cross().0), encoded, mask, self.dtype)
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
        let sources = cache.sources().to_vec();
        for (l, c) in self.decoder.iter().zip(cache.layers.iter_mut()) {
            xs = l.decode(&xs, c, self_mask.as_ref(), &enc_mask, &sources)?;
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
        for flavour in [Flavour::Bart, Flavour::MBart, Flavour::M2M100, Flavour::Marian] {
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
