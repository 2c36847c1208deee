//! Building blocks shared by the encoder-decoder families: multi-head attention over padded
//! batches, activations by their `config.json` names, sinusoidal position tables, masks.
//!
//! Written on candle-core/candle-nn rather than taken from candle-transformers because the
//! batch pipeline needs what those models lack: padding masks in the encoder and in
//! cross-attention, and K/V that are computed once (cross) or appended in place (self) by the
//! caller's [`super::cache::DecoderCache`].

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use serde::Deserialize;

/// Activation functions by their Hugging Face names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    #[serde(alias = "swish")]
    #[serde(rename = "silu")]
    Silu,
    #[serde(rename = "relu")]
    Relu,
    /// The exact (erf) GELU, transformers' "gelu".
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation.
    #[serde(alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    #[serde(rename = "gelu_new")]
    GeluNew,
}

impl Activation {
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Silu => xs.silu(),
            Activation::Relu => xs.relu(),
            Activation::Gelu => xs.gelu_erf(),
            Activation::GeluNew => xs.gelu(),
        }
    }
}

/// The value additive masks use for "never attend", as transformers does (the dtype's
/// minimum, not -inf, so a fully masked row cannot turn into NaN).
pub fn mask_value(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => -65504.0,
        DType::BF16 => -3.389_531_4e38,
        DType::F64 => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

/// `[B, S]` 0/1 attention mask → additive `[B, 1, 1, S]` mask in `dtype` (0 where a token
/// is kept, the dtype's minimum where it is padding).
pub fn padding_mask(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let (b, s) = mask.dims2()?;
    let add = (mask.to_dtype(DType::F32)?.affine(-1.0, 1.0)? * mask_value(dtype))?;
    add.reshape((b, 1, 1, s))?.to_dtype(dtype)
}

/// Additive causal mask `[1, 1, t, past + t]` for `t` new positions after `past` cached ones.
pub fn causal_mask(t: usize, past: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let min = mask_value(DType::F32) as f32;
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..past + t).map(move |j| if j > past + i { min } else { 0.0 }))
        .collect();
    Tensor::from_vec(data, (1, 1, t, past + t), device)?.to_dtype(dtype)
}

/// The sinusoidal position table of Marian and M2M100 as transformers builds it:
/// `[n_pos, dim]`, sines of the even frequencies in the first half, cosines in the second.
pub fn sinusoidal_marian(n_pos: usize, dim: usize, dtype: DType, device: &Device) -> Result<Tensor> {
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

/// Multi-head attention with biased projections (BART, Marian, M2M100 layout:
/// `q_proj`, `k_proj`, `v_proj`, `out_proj`).
#[derive(Debug, Clone)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    scaling: f64,
}

impl Attention {
    pub fn new(d_model: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        let head_dim = d_model / heads;
        Ok(Attention {
            q_proj: linear(d_model, d_model, vb.pp("q_proj"))?,
            k_proj: linear(d_model, d_model, vb.pp("k_proj"))?,
            v_proj: linear(d_model, d_model, vb.pp("v_proj"))?,
            out_proj: linear(d_model, d_model, vb.pp("out_proj"))?,
            heads,
            head_dim,
            scaling: (head_dim as f64).powf(-0.5),
        })
    }

    /// `[N, T, D]` → `[N, H, T, Dh]`, contiguous.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (n, t, _) = xs.dims3()?;
        xs.reshape((n, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values of `xs`, split into heads.
    pub fn project_kv(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let k = self.split_heads(&self.k_proj.forward(xs)?)?;
        let v = self.split_heads(&self.v_proj.forward(xs)?)?;
        Ok((k, v))
    }

    /// Attend from `xs` (`[N, Tq, D]`) over the given keys and values (`[N, H, Tk, Dh]`).
    pub fn attend(&self, xs: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (n, t, d) = xs.dims3()?;
        let q = self.split_heads(&(self.q_proj.forward(xs)? * self.scaling)?)?;
        let scores = q.matmul(&k.t()?)?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(v)?.transpose(1, 2)?.reshape((n, t, d))?;
        self.out_proj.forward(&out)
    }

    /// Self-attention without a cache (the encoder).
    pub fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (k, v) = self.project_kv(xs)?;
        self.attend(xs, &k, &v, mask)
    }
}

/// LayerNorm with transformers' default eps unless the config says otherwise.
pub fn layer_norm(d: usize, eps: f64, vb: VarBuilder) -> Result<candle_nn::LayerNorm> {
    candle_nn::layer_norm(
        d,
        candle_nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
        vb,
    )
}

/// Row-wise last position of `[N, T, V]` → `[N, V]`.
pub fn last_position(xs: &Tensor) -> Result<Tensor> {
    let t = xs.dim(1)?;
    xs.narrow(1, t - 1, 1)?.squeeze(1)
}
