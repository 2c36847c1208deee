//! T5 v1.0 and v1.1 / flan-t5 / mT5, as transformers' `T5ForConditionalGeneration` computes
//! them.
//!
//! Differences from the BART family, all from the checkpoint's `config.json`: RMS layer norm
//! without bias, no bias anywhere, attention without the 1/sqrt(d) scaling, relative position
//! buckets (a learned bias per bucket and head in the first layer of each stack, shared by the
//! others; bidirectional in the encoder, causal in the decoder), `relu` (v1.0) or gated-gelu
//! (v1.1, mT5) feed-forward, and tied embeddings rescaled by d_model^-0.5 before the output
//! projection (v1.0) or an untied `lm_head` (v1.1), and the softmax taken in f32. Names mirror
//! the checkpoint (`encoder.block.0.layer.0.SelfAttention.q.weight`, …).
//!
//! Its own file, not a BART flavour: the blocks are laid out and normed differently (pre-norm
//! RMS sub-layers, the position bias threaded through every layer). What is the same logic
//! (multi-head attention and its cache, the feed-forward, masks, the decoder cache) comes
//! from [`super::layers`], written by hand on candle for the same reasons as the BART family
//! (batched padding masks, cross-attention K/V computed once, beam search).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, RmsNorm, VarBuilder};
use serde::Deserialize;

use crate::generate::{DecoderCache, Seq2Seq};

use super::layers::{
    Activation, Attention, FeedForward, Linear, TokenTable, WeightFormat, causal_mask, first_present, last_position,
    linear_no_bias, new_decoder_cache, padding_mask,
};

fn default_true() -> bool {
    true
}
fn default_eps() -> f64 {
    1e-6
}
fn default_max_distance() -> usize {
    128
}
fn default_ff() -> String {
    "relu".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Not read from `config.json`: how the linear layers keep their weights, set by the
    /// loader from the configured dtype (as candle's models take `use_flash_attn`).
    #[serde(skip)]
    pub weights: WeightFormat,
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    pub num_heads: usize,
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// "relu", "gated-gelu", "gated-relu", "gelu", …
    #[serde(default = "default_ff")]
    pub feed_forward_proj: String,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
}

/// The relative-position bucket of `relative` (key position − query position), as
/// transformers computes it (the logarithmic part in f32, truncated).
pub(crate) fn bucket(relative: i64, bidirectional: bool, num_buckets: usize, max_distance: usize) -> usize {
    let mut buckets = 0usize;
    let mut n = num_buckets;
    let rel = if bidirectional {
        n /= 2;
        if relative > 0 {
            buckets += n;
        }
        relative.unsigned_abs() as usize
    } else {
        (-relative.min(0)) as usize
    };
    let max_exact = n / 2;
    if rel < max_exact {
        return buckets + rel;
    }
    let scaled = ((rel as f32 / max_exact as f32).ln() / ((max_distance as f64 / max_exact as f64).ln() as f32)
        * (n - max_exact) as f32) as usize;
    buckets + (max_exact + scaled).min(n - 1)
}

/// The relative-position bias of a stack: a learned value per bucket and head, held by the
/// stack's first layer and added to every layer's attention scores.
#[derive(Debug, Clone)]
struct RelativeBias {
    table: Embedding,
    num_buckets: usize,
    max_distance: usize,
}

impl RelativeBias {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        Ok(RelativeBias {
            table: candle_nn::embedding(cfg.relative_attention_num_buckets, cfg.num_heads, vb)?,
            num_buckets: cfg.relative_attention_num_buckets,
            max_distance: cfg.relative_attention_max_distance,
        })
    }

    /// `[1, H, t, k]` position bias for queries at `past..past+t` over keys `0..k`.
    fn position_bias(&self, t: usize, past: usize, k: usize, bidirectional: bool, dev: &Device) -> Result<Tensor> {
        let ids: Vec<u32> = (0..t)
            .flat_map(|i| {
                (0..k).map(move |j| {
                    bucket(
                        j as i64 - (past + i) as i64,
                        bidirectional,
                        self.num_buckets,
                        self.max_distance,
                    ) as u32
                })
            })
            .collect();
        let ids = Tensor::from_vec(ids, (t, k), dev)?;
        self.table.forward(&ids)?.permute((2, 0, 1))?.unsqueeze(0)
    }
}

/// T5's attention: `q`, `k`, `v`, `o` without bias over `num_heads × d_kv`, scores not scaled
/// (T5 folds the 1/√d into its initialisation) and the softmax taken in f32.
fn attention(cfg: &Config, vb: VarBuilder) -> Result<Attention> {
    let inner = cfg.num_heads * cfg.d_kv;
    let projections = [
        linear_no_bias(cfg.d_model, inner, cfg.weights, vb.pp("q"))?,
        linear_no_bias(cfg.d_model, inner, cfg.weights, vb.pp("k"))?,
        linear_no_bias(cfg.d_model, inner, cfg.weights, vb.pp("v"))?,
        linear_no_bias(inner, cfg.d_model, cfg.weights, vb.pp("o"))?,
    ];
    Ok(Attention::from_projections(projections, cfg.num_heads, cfg.d_kv).softmax_in_f32())
}

/// `DenseReluDense`: `wi`/`wo` (v1.0: `relu`, or any activation by its Hugging Face name), or
/// the gated `wi_0`, `wi_1`, `wo` (`gated-ACT`: v1.1, mT5, Flan-T5). As transformers reads
/// `feed_forward_proj`: the activation is the part after `gated-`, except that "gated-gelu"
/// means gelu_new (the tanh approximation); anything else is an error, not a silent relu.
fn feed_forward(cfg: &Config, vb: VarBuilder) -> Result<FeedForward> {
    let (d, f) = (cfg.d_model, cfg.d_ff);
    let (gated, act) = parse_feed_forward_proj(&cfg.feed_forward_proj)?;
    if gated {
        Ok(FeedForward::gated(
            linear_no_bias(d, f, cfg.weights, vb.pp("wi_0"))?,
            linear_no_bias(d, f, cfg.weights, vb.pp("wi_1"))?,
            linear_no_bias(f, d, cfg.weights, vb.pp("wo"))?,
            act,
        ))
    } else {
        Ok(FeedForward::new(
            linear_no_bias(d, f, cfg.weights, vb.pp("wi"))?,
            linear_no_bias(f, d, cfg.weights, vb.pp("wo"))?,
            act,
        ))
    }
}

/// `feed_forward_proj` → (gated, activation).
fn parse_feed_forward_proj(proj: &str) -> Result<(bool, Activation)> {
    let (gated, name) = match proj.split_once('-') {
        Some(("gated", act)) => (true, act),
        None => (false, proj),
        Some(_) => candle_core::bail!("feed_forward_proj `{proj}` is neither ACT nor gated-ACT"),
    };
    let name = if proj == "gated-gelu" { "gelu_new" } else { name };
    let act = serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| candle_core::Error::Msg(format!("feed_forward_proj `{proj}`: unknown activation `{name}`")))?;
    Ok((gated, act))
}

fn rms(cfg: &Config, vb: VarBuilder) -> Result<RmsNorm> {
    candle_nn::rms_norm(cfg.d_model, cfg.layer_norm_epsilon, vb)
}

#[derive(Debug, Clone)]
struct Block {
    self_attn: Attention,
    /// The stack's first block only.
    relative: Option<RelativeBias>,
    self_norm: RmsNorm,
    cross: Option<(Attention, RmsNorm)>,
    ffn: FeedForward,
    ffn_norm: RmsNorm,
}

impl Block {
    fn new(cfg: &Config, decoder: bool, first: bool, vb: VarBuilder) -> Result<Self> {
        let l = vb.pp("layer");
        let ffn_idx = if decoder { 2 } else { 1 };
        let self_attn = l.pp("0").pp("SelfAttention");
        Ok(Block {
            relative: if first {
                Some(RelativeBias::new(cfg, self_attn.pp("relative_attention_bias"))?)
            } else {
                None
            },
            self_attn: attention(cfg, self_attn)?,
            self_norm: rms(cfg, l.pp("0").pp("layer_norm"))?,
            cross: if decoder {
                Some((
                    attention(cfg, l.pp("1").pp("EncDecAttention"))?,
                    rms(cfg, l.pp("1").pp("layer_norm"))?,
                ))
            } else {
                None
            },
            ffn: feed_forward(cfg, l.pp(ffn_idx).pp("DenseReluDense"))?,
            ffn_norm: rms(cfg, l.pp(ffn_idx).pp("layer_norm"))?,
        })
    }

    fn cross(&self) -> &(Attention, RmsNorm) {
        self.cross.as_ref().expect("decoder blocks attend to the encoder")
    }
}

/// The bias a stack's first block holds.
fn relative(blocks: &[Block]) -> &RelativeBias {
    blocks[0]
        .relative
        .as_ref()
        .expect("the first block holds the position bias")
}

/// `T5ForConditionalGeneration`.
#[derive(Debug, Clone)]
pub struct T5 {
    cfg: Config,
    shared: TokenTable,
    encoder: Vec<Block>,
    decoder: Vec<Block>,
    enc_final: RmsNorm,
    dec_final: RmsNorm,
    lm_head: Linear,
    dtype: DType,
    device: Device,
}

impl T5 {
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let (v, d) = (cfg.vocab_size, cfg.d_model);
        let name = first_present(
            &vb,
            &[
                "shared.weight",
                "encoder.embed_tokens.weight",
                "decoder.embed_tokens.weight",
            ],
        )
        .unwrap_or("shared.weight");
        let shared = TokenTable::new(vb.get((v, d), name)?, cfg.weights)?;
        let lm_head = if cfg.tie_word_embeddings {
            shared.tied_head()
        } else {
            Linear::new(vb.get((v, d), "lm_head.weight")?, None).into_format(cfg.weights)?
        };
        let dec_layers = cfg.num_decoder_layers.unwrap_or(cfg.num_layers);
        Ok(T5 {
            encoder: (0..cfg.num_layers)
                .map(|i| Block::new(cfg, false, i == 0, vb.pp(format!("encoder.block.{i}"))))
                .collect::<Result<_>>()?,
            decoder: (0..dec_layers)
                .map(|i| Block::new(cfg, true, i == 0, vb.pp(format!("decoder.block.{i}"))))
                .collect::<Result<_>>()?,
            enc_final: rms(cfg, vb.pp("encoder.final_layer_norm"))?,
            dec_final: rms(cfg, vb.pp("decoder.final_layer_norm"))?,
            shared,
            lm_head,
            dtype: vb.dtype(),
            device: vb.device().clone(),
            cfg: cfg.clone(),
        })
    }
}

impl Seq2Seq for T5 {
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let s = ids.dim(1)?;
        let add = padding_mask(mask, self.dtype)?;
        let bias = relative(&self.encoder)
            .position_bias(s, 0, s, true, &self.device)?
            .to_dtype(self.dtype)?
            .broadcast_add(&add)?;
        let mut xs = self.shared.forward(ids)?;
        for b in &self.encoder {
            let n = b.self_norm.forward(&xs)?;
            xs = (&xs + b.self_attn.forward(&n, Some(&bias))?)?;
            xs = (&xs + b.ffn.forward(&b.ffn_norm.forward(&xs)?)?)?;
        }
        self.enc_final.forward(&xs)
    }

    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache> {
        new_decoder_cache(self.decoder.iter().map(|b| &b.cross().0), encoded, mask, self.dtype)
    }

    fn decode_step(&self, cache: &mut DecoderCache, tokens: &Tensor) -> Result<Tensor> {
        let past = cache.past_len();
        let t = tokens.dim(1)?;
        // The causal rule is part of the bias: keys after a query are masked out.
        let mut bias = relative(&self.decoder)
            .position_bias(t, past, past + t, false, &self.device)?
            .to_dtype(self.dtype)?;
        if t > 1 {
            bias = bias.broadcast_add(&causal_mask(t, past, self.dtype, &self.device)?)?;
        }
        let enc_mask = cache.encoder_mask.clone();
        let sources = cache.sources().to_vec();
        let mut xs = self.shared.forward(tokens)?;
        for (b, c) in self.decoder.iter().zip(cache.layers.iter_mut()) {
            let n = b.self_norm.forward(&xs)?;
            xs = (&xs + b.self_attn.forward_cached(&n, &mut c.self_kv, Some(&bias))?)?;
            let (cross, norm) = b.cross();
            let n = norm.forward(&xs)?;
            xs = (&xs + cross.attend_cross(&n, c, &enc_mask, &sources)?)?;
            xs = (&xs + b.ffn.forward(&b.ffn_norm.forward(&xs)?)?)?;
        }
        let mut out = self.dec_final.forward(&last_position(&xs)?)?;
        if self.cfg.tie_word_embeddings {
            out = (out * (self.cfg.d_model as f64).powf(-0.5))?;
        }
        self.lm_head.forward(&out)?.to_dtype(DType::F32)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_forward_proj_as_transformers_reads_it() {
        let p = |s: &str| parse_feed_forward_proj(s).map_err(|e| e.to_string());
        assert_eq!(p("relu"), Ok((false, Activation::Relu)));
        assert_eq!(p("gelu"), Ok((false, Activation::Gelu)));
        assert_eq!(p("gated-gelu"), Ok((true, Activation::GeluNew)));
        assert_eq!(p("gated-silu"), Ok((true, Activation::Silu)));
        assert_eq!(p("gated-relu"), Ok((true, Activation::Relu)));
        assert!(p("gated-tanh").unwrap_err().contains("unknown activation `tanh`"));
        assert!(p("double-gelu").is_err());
    }

    #[test]
    fn buckets_match_transformers() {
        // Values from transformers' _relative_position_bucket (32 buckets, max distance 128).
        assert_eq!(bucket(0, true, 32, 128), 0);
        assert_eq!(bucket(3, true, 32, 128), 19);
        assert_eq!(bucket(-3, true, 32, 128), 3);
        assert_eq!(bucket(-20, true, 32, 128), 10);
        assert_eq!(bucket(-200, true, 32, 128), 15);
        assert_eq!(bucket(-5, false, 32, 128), 5);
        assert_eq!(bucket(5, false, 32, 128), 0);
        assert_eq!(bucket(-40, false, 32, 128), 23);
    }
}
