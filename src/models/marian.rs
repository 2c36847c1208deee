//! Marian (opus-mt) encoder-decoder, as transformers' `MarianMTModel` computes it.
//!
//! Post-norm layers, static sinusoidal positions (not stored in checkpoints), optional
//! `scale_embedding`, `final_logits_bias`, shared or separate decoder vocabulary. Weight names
//! mirror the checkpoint (`model.encoder.layers.0.self_attn.q_proj.weight`, …). The model
//! holds only immutable weights, so one copy serves every worker; each batch brings its own
//! [`DecoderCache`].

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use crate::generate::cache::LayerCache;
use crate::generate::{DecoderCache, Seq2Seq};

use super::layers::{
    Activation, Attention, Linear, causal_mask, last_position, layer_norm, linear, padding_mask, sinusoidal_marian,
};

fn default_true() -> bool {
    true
}

/// The `config.json` fields Marian uses; the rest are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
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
    pub pad_token_id: u32,
    pub eos_token_id: u32,
    #[serde(default)]
    pub decoder_start_token_id: Option<u32>,
    #[serde(default = "default_true")]
    pub share_encoder_decoder_embeddings: bool,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
}

impl Config {
    pub fn target_vocab_size(&self) -> usize {
        self.decoder_vocab_size.unwrap_or(self.vocab_size)
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    final_layer_norm: LayerNorm,
    act: Activation,
}

impl EncoderLayer {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(EncoderLayer {
            self_attn: Attention::new(d, cfg.encoder_attention_heads, vb.pp("self_attn"))?,
            self_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("self_attn_layer_norm"))?,
            fc1: linear(d, cfg.encoder_ffn_dim, vb.pp("fc1"))?,
            fc2: linear(cfg.encoder_ffn_dim, d, vb.pp("fc2"))?,
            final_layer_norm: layer_norm(d, 1e-5, vb.pp("final_layer_norm"))?,
            act: cfg.activation_function,
        })
    }

    fn forward(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let h = (xs + self.self_attn.forward(xs, Some(mask))?)?;
        let h = self.self_attn_layer_norm.forward(&h)?;
        let ff = self.fc2.forward(&self.act.forward(&self.fc1.forward(&h)?)?)?;
        self.final_layer_norm.forward(&(h + ff)?)
    }
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    encoder_attn: Attention,
    encoder_attn_layer_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    final_layer_norm: LayerNorm,
    act: Activation,
}

impl DecoderLayer {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(DecoderLayer {
            self_attn: Attention::new(d, cfg.decoder_attention_heads, vb.pp("self_attn"))?,
            self_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("self_attn_layer_norm"))?,
            encoder_attn: Attention::new(d, cfg.decoder_attention_heads, vb.pp("encoder_attn"))?,
            encoder_attn_layer_norm: layer_norm(d, 1e-5, vb.pp("encoder_attn_layer_norm"))?,
            fc1: linear(d, cfg.decoder_ffn_dim, vb.pp("fc1"))?,
            fc2: linear(cfg.decoder_ffn_dim, d, vb.pp("fc2"))?,
            final_layer_norm: layer_norm(d, 1e-5, vb.pp("final_layer_norm"))?,
            act: cfg.activation_function,
        })
    }

    fn forward(
        &self,
        xs: &Tensor,
        cache: &mut LayerCache,
        self_mask: Option<&Tensor>,
        enc_mask: &Tensor,
    ) -> Result<Tensor> {
        let (k, v) = self.self_attn.project_kv(xs)?;
        let (k, v) = cache.self_kv.append(&k, &v)?;
        let h = (xs + self.self_attn.attend(xs, &k, &v, self_mask)?)?;
        let h = self.self_attn_layer_norm.forward(&h)?;
        let c = self
            .encoder_attn
            .attend(&h, &cache.cross_k, &cache.cross_v, Some(enc_mask))?;
        let h = self.encoder_attn_layer_norm.forward(&(h + c)?)?;
        let ff = self.fc2.forward(&self.act.forward(&self.fc1.forward(&h)?)?)?;
        self.final_layer_norm.forward(&(h + ff)?)
    }
}

/// `MarianMTModel`.
#[derive(Debug, Clone)]
pub struct Marian {
    cfg: Config,
    enc_embed: Embedding,
    dec_embed: Embedding,
    positions: Tensor,
    encoder: Vec<EncoderLayer>,
    decoder: Vec<DecoderLayer>,
    lm_head: Linear,
    final_logits_bias: Tensor,
    embed_scale: f64,
    dtype: DType,
    device: Device,
}

/// First of `names` present in the checkpoint (tied weights are stored once, under one of
/// several names depending on the transformers version that saved them).
fn first_present<'a>(vb: &VarBuilder, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| vb.contains_tensor(n))
}

impl Marian {
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let (src_v, tgt_v) = (cfg.vocab_size, cfg.target_vocab_size());
        let shared = [
            "model.shared.weight",
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ];
        let enc_name = if cfg.share_encoder_decoder_embeddings {
            first_present(&vb, &shared)
        } else {
            first_present(&vb, &["model.encoder.embed_tokens.weight", "model.shared.weight"])
        }
        .unwrap_or("model.shared.weight");
        let enc_embed = Embedding::new(vb.get((src_v, d), enc_name)?, d);
        let dec_embed = if cfg.share_encoder_decoder_embeddings {
            enc_embed.clone()
        } else {
            // transformers builds the separate decoder table as a copy of the shared one, so it has
            // `vocab_size` rows even when the decoder vocabulary is smaller: take it as stored.
            let table = vb.get_unchecked("model.decoder.embed_tokens.weight")?;
            if table.dim(1)? != d || table.dim(0)? < tgt_v {
                candle_core::bail!(
                    "model.decoder.embed_tokens.weight has shape {:?}, expected [≥{tgt_v}, {d}]",
                    table.dims()
                );
            }
            Embedding::new(table, d)
        };
        let lm_head = if cfg.tie_word_embeddings || !vb.contains_tensor("lm_head.weight") {
            Linear::new(dec_embed.embeddings().clone(), None)
        } else {
            Linear::new(vb.get((tgt_v, d), "lm_head.weight")?, None)
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, tgt_v), "final_logits_bias")?
        } else {
            Tensor::zeros((1, tgt_v), vb.dtype(), vb.device())?
        };
        let encoder = (0..cfg.encoder_layers)
            .map(|i| EncoderLayer::new(cfg, vb.pp(format!("model.encoder.layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let decoder = (0..cfg.decoder_layers)
            .map(|i| DecoderLayer::new(cfg, vb.pp(format!("model.decoder.layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Marian {
            positions: sinusoidal_marian(cfg.max_position_embeddings, d, vb.dtype(), vb.device())?,
            cfg: cfg.clone(),
            enc_embed,
            dec_embed,
            encoder,
            decoder,
            lm_head,
            final_logits_bias,
            embed_scale: if cfg.scale_embedding { (d as f64).sqrt() } else { 1.0 },
            dtype: vb.dtype(),
            device: vb.device().clone(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn embed(&self, table: &Embedding, ids: &Tensor, past: usize) -> Result<Tensor> {
        let t = ids.dim(1)?;
        if past + t > self.cfg.max_position_embeddings {
            candle_core::bail!(
                "sequence of {} positions exceeds max_position_embeddings ({})",
                past + t,
                self.cfg.max_position_embeddings
            );
        }
        let xs = (table.forward(ids)? * self.embed_scale)?;
        xs.broadcast_add(&self.positions.narrow(0, past, t)?)
    }
}

impl Seq2Seq for Marian {
    /// Encode a padded batch: `ids` and `mask` are `[B, S]` (u32; mask 1 = token, 0 = pad).
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let add = padding_mask(mask, self.dtype)?;
        let mut xs = self.embed(&self.enc_embed, ids, 0)?;
        for l in &self.encoder {
            xs = l.forward(&xs, &add)?;
        }
        Ok(xs)
    }

    /// A fresh decoder state for an encoded batch: cross-attention K/V computed here, once.
    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache> {
        let cross_kv = self
            .decoder
            .iter()
            .map(|l| l.encoder_attn.project_kv(encoded))
            .collect::<Result<_>>()?;
        Ok(DecoderCache::new(cross_kv, padding_mask(mask, self.dtype)?))
    }

    /// Feed `tokens` (`[N, t]`) after what the cache holds; logits of the last position, `[N, V]`, f32.
    fn decode_step(&self, cache: &mut DecoderCache, tokens: &Tensor) -> Result<Tensor> {
        let past = cache.past_len();
        let t = tokens.dim(1)?;
        let mut xs = self.embed(&self.dec_embed, tokens, past)?;
        let self_mask = if t > 1 {
            Some(causal_mask(t, past, self.dtype, &self.device)?)
        } else {
            None
        };
        let enc_mask = cache.encoder_mask.clone();
        for (l, c) in self.decoder.iter().zip(cache.layers.iter_mut()) {
            xs = l.forward(&xs, c, self_mask.as_ref(), &enc_mask)?;
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
