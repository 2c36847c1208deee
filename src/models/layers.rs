//! Building blocks shared by the encoder-decoder families (the BART family and T5): multi-head
//! attention over padded batches with its cached form, the feed-forward (plain or gated),
//! activations by their `config.json` names, masks, the linear layer. What a family does its
//! own way (norms, positions, T5's relative bias) stays in its file.
//!
//! Written on candle-core/candle-nn rather than taken from candle-transformers because the
//! batch pipeline needs what those models lack: padding masks in the encoder and in
//! cross-attention, and K/V that are computed once (cross) or appended in place (self) by the
//! caller's [`crate::generate::DecoderCache`].

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::generate::DecoderCache;
use crate::generate::cache::KvBuffer;

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
pub(crate) fn mask_value(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => -65504.0,
        DType::BF16 => -3.389_531_4e38,
        DType::F64 => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

/// `[B, S]` 0/1 attention mask → additive `[B, 1, 1, S]` mask in `dtype` (0 where a token
/// is kept, the dtype's minimum where it is padding).
pub(crate) fn padding_mask(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let (b, s) = mask.dims2()?;
    let add = (mask.to_dtype(DType::F32)?.affine(-1.0, 1.0)? * mask_value(dtype))?;
    add.reshape((b, 1, 1, s))?.to_dtype(dtype)
}

/// Additive causal mask `[1, 1, t, past + t]` for `t` new positions after `past` cached ones.
pub(crate) fn causal_mask(t: usize, past: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let min = mask_value(DType::F32) as f32;
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..past + t).map(move |j| if j > past + i { min } else { 0.0 }))
        .collect();
    Tensor::from_vec(data, (1, 1, t, past + t), device)?.to_dtype(dtype)
}

/// Multi-head attention over padded batches, for every encoder-decoder family: projections
/// `[q, k, v, out]`, heads of `head_dim`, and an additive mask or bias over the scores. The
/// families differ only in how scores are formed: the BART family scales queries by
/// 1/√head_dim and takes the softmax in the weights' dtype ([`Attention::new`]); T5 does not
/// scale and takes the softmax in f32 ([`Attention::softmax_in_f32`]).
#[derive(Debug, Clone)]
pub(crate) struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    /// What queries are multiplied by, if anything.
    scaling: Option<f64>,
    softmax_f32: bool,
}

impl Attention {
    /// The BART family's layout: biased `q_proj`, `k_proj`, `v_proj`, `out_proj`, all
    /// `d_model` wide, queries scaled by 1/√head_dim.
    pub fn new(d_model: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        let head_dim = d_model / heads;
        let projections = [
            linear(d_model, d_model, vb.pp("q_proj"))?,
            linear(d_model, d_model, vb.pp("k_proj"))?,
            linear(d_model, d_model, vb.pp("v_proj"))?,
            linear(d_model, d_model, vb.pp("out_proj"))?,
        ];
        let mut attention = Attention::from_projections(projections, heads, head_dim);
        attention.scaling = Some((head_dim as f64).powf(-0.5));
        Ok(attention)
    }

    /// Attention over the given `[q, k, v, out]` projections, queries not scaled, softmax in
    /// the weights' dtype.
    pub(crate) fn from_projections(projections: [Linear; 4], heads: usize, head_dim: usize) -> Self {
        let [q_proj, k_proj, v_proj, out_proj] = projections;
        Attention {
            q_proj,
            k_proj,
            v_proj,
            out_proj,
            heads,
            head_dim,
            scaling: None,
            softmax_f32: false,
        }
    }

    /// Take the softmax in f32 whatever the weights' dtype.
    pub(crate) fn softmax_in_f32(mut self) -> Self {
        self.softmax_f32 = true;
        self
    }

    /// `[N, T, H × Dh]` → `[N, H, T, Dh]`, contiguous.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (n, t, _) = xs.dims3()?;
        xs.reshape((n, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values of `xs`, split into heads.
    pub(crate) fn project_kv(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let k = self.split_heads(&self.k_proj.forward(xs)?)?;
        let v = self.split_heads(&self.v_proj.forward(xs)?)?;
        Ok((k, v))
    }

    /// Attend from `xs` (`[N, Tq, D]`) over the given keys and values (`[N, H, Tk, Dh]`),
    /// adding `mask` (a padding or causal mask, or a position bias) to the scores.
    pub(crate) fn attend(&self, xs: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (n, t, _) = xs.dims3()?;
        let q = self.q_proj.forward(xs)?;
        let q = match self.scaling {
            Some(s) => (q * s)?,
            None => q,
        };
        let q = self.split_heads(&q)?;
        let scores = q.matmul(&k.t()?)?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let probs = if self.softmax_f32 {
            candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?.to_dtype(xs.dtype())?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let out = probs
            .matmul(v)?
            .transpose(1, 2)?
            .reshape((n, t, self.heads * self.head_dim))?;
        self.out_proj.forward(&out)
    }

    /// Self-attention without a cache (the encoder).
    pub fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (k, v) = self.project_kv(xs)?;
        self.attend(xs, &k, &v, mask)
    }

    /// Decoder self-attention: the keys and values of `xs` join those `cache` holds, and `xs`
    /// attends over all of them.
    pub(crate) fn forward_cached(&self, xs: &Tensor, cache: &mut KvBuffer, mask: Option<&Tensor>) -> Result<Tensor> {
        let (k, v) = self.project_kv(xs)?;
        let (k, v) = cache.append(&k, &v)?;
        self.attend(xs, &k, &v, mask)
    }
}

/// A batch's fresh decoder state: the keys and values of `encoded` (`[B, S, D]`) under each
/// decoder layer's cross-attention, computed once, and the additive form of `mask`.
pub(crate) fn new_decoder_cache<'a>(
    cross_attention: impl Iterator<Item = &'a Attention>,
    encoded: &Tensor,
    mask: &Tensor,
    dtype: DType,
) -> Result<DecoderCache> {
    let cross_kv = cross_attention.map(|a| a.project_kv(encoded)).collect::<Result<_>>()?;
    Ok(DecoderCache::new(cross_kv, padding_mask(mask, dtype)?))
}

/// A position-wise feed-forward: `down(act(up(x)))`, or with a gate (T5 v1.1's gated units)
/// `down(act(up(x)) * gate(x))`.
#[derive(Debug, Clone)]
pub(crate) struct FeedForward {
    up: Linear,
    gate: Option<Linear>,
    down: Linear,
    act: Activation,
}

impl FeedForward {
    pub fn new(up: Linear, down: Linear, act: Activation) -> Self {
        FeedForward {
            up,
            gate: None,
            down,
            act,
        }
    }

    /// A gated unit: `up` is activated and multiplied by `gate`, which is not.
    pub(crate) fn gated(up: Linear, gate: Linear, down: Linear, act: Activation) -> Self {
        FeedForward {
            up,
            gate: Some(gate),
            down,
            act,
        }
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let h = self.act.forward(&self.up.forward(xs)?)?;
        match &self.gate {
            Some(gate) => self.down.forward(&(h * gate.forward(xs)?)?),
            None => self.down.forward(&h),
        }
    }
}

/// LayerNorm with transformers' default eps unless the config says otherwise.
pub(crate) fn layer_norm(d: usize, eps: f64, vb: VarBuilder) -> Result<candle_nn::LayerNorm> {
    candle_nn::layer_norm(
        d,
        candle_nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
        vb,
    )
}

/// A linear layer, `y = x Wᵀ + b`, with `W` as checkpoints store it (`[out, in]`).
///
/// Like candle-nn's, except for one row. Decoding one sequence greedily, every layer is a
/// matrix-vector product, and gemm runs that case on one thread; between steps the output
/// projection onto the vocabulary (128 MB for opus-mt in f32) pushes the other weights out of
/// the caches, so each step streams every weight from memory at what one core can pull. With
/// one row, the output features are therefore split into blocks computed on rayon's threads:
/// each block is the same product on a contiguous slice of `W` (equal to rounding: gemm may
/// group a block's sums differently), and the weights stream on every core
/// (`benches/peers/seq2seq.sh`: greedy batch 1 from 36 to 55-58 tok/s on 2 threads for the
/// opus-mt shape). From two rows on, gemm's own kernels use the threads.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

/// Below this many weights a split costs more in scheduling than it saves.
const SPLIT_MIN: usize = 1 << 18;

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear { weight, bias }
    }

    fn split_one_row(&self, xs: &Tensor) -> Result<Option<Tensor>> {
        let (out, inp) = self.weight.dims2()?;
        let threads = rayon::current_num_threads();
        if xs.elem_count() != inp || threads < 2 || out * inp < SPLIT_MIN || !xs.device().is_cpu() {
            return Ok(None);
        }
        let x = xs.reshape((1, inp))?;
        let step = out.div_ceil(2 * threads);
        let blocks: Vec<(usize, usize)> = (0..out).step_by(step).map(|s| (s, step.min(out - s))).collect();
        use rayon::prelude::*;
        let parts = blocks
            .par_iter()
            .map(|&(s, n)| x.matmul(&self.weight.narrow(0, s, n)?.t()?))
            .collect::<Result<Vec<_>>>()?;
        let mut shape = xs.dims().to_vec();
        *shape.last_mut().expect("xs has a last dimension") = out;
        Ok(Some(Tensor::cat(&parts, 1)?.reshape(shape)?))
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let ys = match self.split_one_row(xs)? {
            Some(ys) => ys,
            None => return candle_nn::Linear::new(self.weight.clone(), self.bias.clone()).forward(xs),
        };
        match &self.bias {
            Some(b) => ys.broadcast_add(b),
            None => Ok(ys),
        }
    }
}

/// `Linear` with weight `{vb}.weight` `[out, in]` and bias `{vb}.bias`.
pub(crate) fn linear(inp: usize, out: usize, vb: VarBuilder) -> Result<Linear> {
    Ok(Linear::new(vb.get((out, inp), "weight")?, Some(vb.get(out, "bias")?)))
}

/// `Linear` with weight `{vb}.weight` `[out, in]` and no bias.
pub(crate) fn linear_no_bias(inp: usize, out: usize, vb: VarBuilder) -> Result<Linear> {
    Ok(Linear::new(vb.get((out, inp), "weight")?, None))
}

/// First of `names` present in the checkpoint (tied weights are stored once, under one of
/// several names depending on the transformers version that saved them).
pub(crate) fn first_present<'a>(vb: &VarBuilder, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| vb.contains_tensor(n))
}

/// Row-wise last position of `[N, T, V]` → `[N, V]`.
pub(crate) fn last_position(xs: &Tensor) -> Result<Tensor> {
    let t = xs.dim(1)?;
    xs.narrow(1, t - 1, 1)?.squeeze(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-row split gives the unsplit product up to float rounding (gemm may group the
    /// sums differently for a block than for the whole), in every shape the models use.
    #[test]
    fn one_row_split_equals_the_product() {
        let dev = Device::Cpu;
        // 701 outputs: blocks of unequal size; 701 × 400 weights: above SPLIT_MIN.
        let w = Tensor::randn(0f32, 0.05, (701, 400), &dev).unwrap();
        let b = Tensor::randn(0f32, 0.05, 701, &dev).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            for bias in [None, Some(b.clone())] {
                let ours = Linear::new(w.clone(), bias.clone());
                let theirs = candle_nn::Linear::new(w.clone(), bias);
                for shape in [vec![1, 400], vec![1, 1, 400], vec![3, 400], vec![2, 1, 400]] {
                    let xs = Tensor::randn(0f32, 1.0, shape.as_slice(), &dev).unwrap();
                    if shape.iter().product::<usize>() == 400 {
                        assert!(ours.split_one_row(&xs).unwrap().is_some(), "{shape:?} should split");
                    }
                    let (a, e) = (ours.forward(&xs).unwrap(), theirs.forward(&xs).unwrap());
                    assert_eq!(a.dims(), e.dims());
                    let (a, e) = (
                        a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                        e.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    );
                    let worst = a
                        .iter()
                        .zip(&e)
                        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                        .fold(0f32, f32::max);
                    assert!(worst < 4.0 * f32::EPSILON * 400f32.sqrt(), "{shape:?}: off by {worst}");
                }
            }
        });
    }
}
