//! T5 v1.0 and v1.1 / flan-t5 / mT5, as transformers' `T5ForConditionalGeneration` computes
//! them.
//!
//! Differences from the BART family, all from the checkpoint's `config.json`: RMS layer norm
//! without bias, no bias anywhere, attention without the 1/sqrt(d) scaling, relative position
//! buckets (a learned bias per bucket and head in the first layer of each stack, shared by the
//! others; bidirectional in the encoder, causal in the decoder), `relu` (v1.0) or gated-gelu
//! (v1.1, mT5) feed-forward, and tied embeddings rescaled by d_model^-0.5 before the output
//! projection (v1.0) or an untied `lm_head` (v1.1). Names mirror the checkpoint
//! (`encoder.block.0.layer.0.SelfAttention.q.weight`, …).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, RmsNorm, VarBuilder};
use serde::Deserialize;

use crate::generate::{DecoderCache, Seq2Seq};

use super::layers::{Linear, last_position, linear_no_bias, padding_mask};

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
pub fn bucket(relative: i64, bidirectional: bool, num_buckets: usize, max_distance: usize) -> usize {
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

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    d_kv: usize,
    bias: Option<Embedding>,
    num_buckets: usize,
    max_distance: usize,
}

impl Attention {
    fn new(cfg: &Config, has_bias: bool, vb: VarBuilder) -> Result<Self> {
        let inner = cfg.num_heads * cfg.d_kv;
        Ok(Attention {
            q: linear_no_bias(cfg.d_model, inner, vb.pp("q"))?,
            k: linear_no_bias(cfg.d_model, inner, vb.pp("k"))?,
            v: linear_no_bias(cfg.d_model, inner, vb.pp("v"))?,
            o: linear_no_bias(inner, cfg.d_model, vb.pp("o"))?,
            heads: cfg.num_heads,
            d_kv: cfg.d_kv,
            bias: if has_bias {
                Some(candle_nn::embedding(
                    cfg.relative_attention_num_buckets,
                    cfg.num_heads,
                    vb.pp("relative_attention_bias"),
                )?)
            } else {
                None
            },
            num_buckets: cfg.relative_attention_num_buckets,
            max_distance: cfg.relative_attention_max_distance,
        })
    }

    fn split(&self, xs: &Tensor) -> Result<Tensor> {
        let (n, t, _) = xs.dims3()?;
        xs.reshape((n, t, self.heads, self.d_kv))?.transpose(1, 2)?.contiguous()
    }

    fn project_kv(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.split(&self.k.forward(xs)?)?, self.split(&self.v.forward(xs)?)?))
    }

    /// `[1, H, t, k]` position bias for queries at `past..past+t` over keys `0..k`.
    fn position_bias(&self, t: usize, past: usize, k: usize, bidirectional: bool, dev: &Device) -> Result<Tensor> {
        let table = self.bias.as_ref().expect("only the first layer computes the bias");
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
        table.forward(&ids)?.permute((2, 0, 1))?.unsqueeze(0)
    }

    fn attend(&self, xs: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (n, t, _) = xs.dims3()?;
        let q = self.split(&self.q.forward(xs)?)?;
        // T5 folds the scaling into its initialisation: no 1/sqrt(d) here.
        let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?.to_dtype(xs.dtype())?;
        let out = probs
            .matmul(v)?
            .transpose(1, 2)?
            .reshape((n, t, self.heads * self.d_kv))?;
        self.o.forward(&out)
    }
}

#[derive(Debug, Clone)]
enum Ffn {
    Plain {
        wi: Linear,
        wo: Linear,
        gelu: bool,
    },
    Gated {
        wi_0: Linear,
        wi_1: Linear,
        wo: Linear,
        gelu: bool,
    },
}

impl Ffn {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let (d, f) = (cfg.d_model, cfg.d_ff);
        let proj = cfg.feed_forward_proj.as_str();
        let gelu = proj.contains("gelu");
        if proj.starts_with("gated-") {
            Ok(Ffn::Gated {
                wi_0: linear_no_bias(d, f, vb.pp("wi_0"))?,
                wi_1: linear_no_bias(d, f, vb.pp("wi_1"))?,
                wo: linear_no_bias(f, d, vb.pp("wo"))?,
                gelu,
            })
        } else {
            Ok(Ffn::Plain {
                wi: linear_no_bias(d, f, vb.pp("wi"))?,
                wo: linear_no_bias(f, d, vb.pp("wo"))?,
                gelu,
            })
        }
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // transformers maps "gated-gelu" to gelu_new, the tanh approximation; "gelu" alone is exact.
        match self {
            Ffn::Plain { wi, wo, gelu } => {
                let h = wi.forward(xs)?;
                wo.forward(&if *gelu { h.gelu_erf()? } else { h.relu()? })
            }
            Ffn::Gated { wi_0, wi_1, wo, gelu } => {
                let g = wi_0.forward(xs)?;
                let g = if *gelu { g.gelu()? } else { g.relu()? };
                wo.forward(&(g * wi_1.forward(xs)?)?)
            }
        }
    }
}

fn rms(cfg: &Config, vb: VarBuilder) -> Result<RmsNorm> {
    candle_nn::rms_norm(cfg.d_model, cfg.layer_norm_epsilon, vb)
}

#[derive(Debug, Clone)]
struct Block {
    self_attn: Attention,
    self_norm: RmsNorm,
    cross: Option<(Attention, RmsNorm)>,
    ffn: Ffn,
    ffn_norm: RmsNorm,
}

impl Block {
    fn new(cfg: &Config, decoder: bool, first: bool, vb: VarBuilder) -> Result<Self> {
        let l = vb.pp("layer");
        let ffn_idx = if decoder { 2 } else { 1 };
        Ok(Block {
            self_attn: Attention::new(cfg, first, l.pp("0").pp("SelfAttention"))?,
            self_norm: rms(cfg, l.pp("0").pp("layer_norm"))?,
            cross: if decoder {
                Some((
                    Attention::new(cfg, false, l.pp("1").pp("EncDecAttention"))?,
                    rms(cfg, l.pp("1").pp("layer_norm"))?,
                ))
            } else {
                None
            },
            ffn: Ffn::new(cfg, l.pp(ffn_idx).pp("DenseReluDense"))?,
            ffn_norm: rms(cfg, l.pp(ffn_idx).pp("layer_norm"))?,
        })
    }
}

/// `T5ForConditionalGeneration`.
#[derive(Debug, Clone)]
pub struct T5 {
    cfg: Config,
    shared: Embedding,
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
        let name = [
            "shared.weight",
            "encoder.embed_tokens.weight",
            "decoder.embed_tokens.weight",
        ]
        .into_iter()
        .find(|n| vb.contains_tensor(n))
        .unwrap_or("shared.weight");
        let shared = Embedding::new(vb.get((v, d), name)?, d);
        let lm_head = if cfg.tie_word_embeddings {
            Linear::new(shared.embeddings().clone(), None)
        } else {
            Linear::new(vb.get((v, d), "lm_head.weight")?, None)
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
        let bias = self.encoder[0]
            .self_attn
            .position_bias(s, 0, s, true, &self.device)?
            .to_dtype(self.dtype)?
            .broadcast_add(&add)?;
        let mut xs = self.shared.forward(ids)?;
        for b in &self.encoder {
            let n = b.self_norm.forward(&xs)?;
            let (k, v) = b.self_attn.project_kv(&n)?;
            xs = (&xs + b.self_attn.attend(&n, &k, &v, &bias)?)?;
            xs = (&xs + b.ffn.forward(&b.ffn_norm.forward(&xs)?)?)?;
        }
        self.enc_final.forward(&xs)
    }

    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache> {
        let cross_kv = self
            .decoder
            .iter()
            .map(|b| {
                let (cross, _) = b.cross.as_ref().expect("decoder blocks attend to the encoder");
                cross.project_kv(encoded)
            })
            .collect::<Result<_>>()?;
        Ok(DecoderCache::new(cross_kv, padding_mask(mask, self.dtype)?))
    }

    fn decode_step(&self, cache: &mut DecoderCache, tokens: &Tensor) -> Result<Tensor> {
        let past = cache.past_len();
        let t = tokens.dim(1)?;
        // The causal rule is part of the bias: keys after a query are masked out.
        let mut bias = self.decoder[0]
            .self_attn
            .position_bias(t, past, past + t, false, &self.device)?
            .to_dtype(self.dtype)?;
        if t > 1 {
            bias = bias.broadcast_add(&super::layers::causal_mask(t, past, self.dtype, &self.device)?)?;
        }
        let enc_mask = cache.encoder_mask.clone();
        let mut xs = self.shared.forward(tokens)?;
        for (b, c) in self.decoder.iter().zip(cache.layers.iter_mut()) {
            let n = b.self_norm.forward(&xs)?;
            let (k, v) = b.self_attn.project_kv(&n)?;
            let (k, v) = c.self_kv.append(&k, &v)?;
            xs = (&xs + b.self_attn.attend(&n, &k, &v, &bias)?)?;
            let (cross, norm) = b.cross.as_ref().expect("decoder blocks attend to the encoder");
            let n = norm.forward(&xs)?;
            xs = (&xs + cross.attend(&n, &c.cross_k, &c.cross_v, &enc_mask)?)?;
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
