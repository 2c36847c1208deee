//! Building blocks shared by the encoder-decoder families (the BART family and T5): multi-head
//! attention over padded batches with its cached form, the feed-forward (plain or gated),
//! activations by their `config.json` names, masks, the linear layer. What a family does its
//! own way (norms, positions, T5's relative bias) stays in its file.
//!
//! Written on candle-core/candle-nn rather than taken from candle-transformers because the
//! batch pipeline needs what those models lack: padding masks in the encoder and in
//! cross-attention, and K/V that are computed once (cross) or appended in place (self) by the
//! caller's [`crate::generate::DecoderCache`].

use std::sync::Arc;

use candle_core::{DType, Device, Module, Result, Storage, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::generate::DecoderCache;
use crate::generate::cache::{KvBuffer, KvView, LayerCache};

use super::attend;
use super::matmul::{self, PackedF32, QuantMatrix};

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
    pub fn new(d_model: usize, heads: usize, format: WeightFormat, vb: VarBuilder) -> Result<Self> {
        let head_dim = d_model / heads;
        let projections = [
            linear(d_model, d_model, format, vb.pp("q_proj"))?,
            linear(d_model, d_model, format, vb.pp("k_proj"))?,
            linear(d_model, d_model, format, vb.pp("v_proj"))?,
            linear(d_model, d_model, format, vb.pp("out_proj"))?,
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

    /// The queries of `xs`, scaled where the family scales them, `[N, T, H × Dh]`.
    fn queries(&self, xs: &Tensor) -> Result<Tensor> {
        let q = self.q_proj.forward(xs)?;
        match self.scaling {
            Some(s) => q * s,
            None => Ok(q),
        }
    }

    /// Whether a step can take [`super::attend`]: one position per row, float32 on the CPU.
    fn one_position(xs: &Tensor) -> Result<bool> {
        Ok(xs.dim(1)? == 1 && xs.dtype() == DType::F32 && own_kernels(xs.device()))
    }

    /// `mask` as [`attend::MaskView`] reads it, if it is `[1|N, 1|H, 1, len]`: run `f` on it.
    /// Whether `mask` is `[1|rows, 1|H, 1, len]` in float32, as [`attend::MaskView`] reads it.
    fn mask_fits(&self, mask: &Tensor, rows: usize, len: usize) -> bool {
        let Ok((mr, mh, one, ml)) = mask.dims4() else {
            return false;
        };
        one == 1 && ml == len && (mr == 1 || mr == rows) && (mh == 1 || mh == self.heads) && mask.dtype() == DType::F32
    }

    fn with_mask<R>(
        &self,
        mask: Option<&Tensor>,
        rows: usize,
        len: usize,
        f: impl FnOnce(attend::MaskView) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some(m) = mask else {
            return f(attend::MaskView::NONE).map(Some);
        };
        if !self.mask_fits(m, rows, len) {
            return Ok(None);
        }
        let (mr, mh) = (m.dim(0)?, m.dim(1)?);
        let m = m.contiguous()?;
        with_f32(&m, |data| {
            f(attend::MaskView {
                data,
                rows: mr,
                heads: mh,
            })
        })?
        .map(Some)
    }

    /// [`Attention::attend`] by [`super::attend`], where it applies (one position per row,
    /// float32 on the CPU, contiguous `[N, H, S, Dh]` keys and values).
    fn attend_in_place(
        &self,
        xs: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
        sources: Option<&[u32]>,
    ) -> Result<Option<Tensor>> {
        if !Self::one_position(xs)? || !k.is_contiguous() || !v.is_contiguous() || k.dtype() != DType::F32 {
            return Ok(None);
        }
        let n = xs.dim(0)?;
        let (kn, kh, len, dh) = k.dims4()?;
        let rows_ok = match sources {
            Some(src) => src.len() == n && src.iter().all(|&r| (r as usize) < kn),
            None => kn == n,
        };
        if !rows_ok || (kh, dh) != (self.heads, self.head_dim) || v.dims() != k.dims() {
            return Ok(None);
        }
        let q = self.queries(xs)?.contiguous()?;
        let shape = attend::Shape {
            rows: n,
            heads: self.heads,
            dh,
            len,
        };
        let (row, head) = (self.heads * len * dh, len * dh);
        fn view(data: &[f32], row: usize, head: usize) -> KvView<'_> {
            KvView { data, row, head }
        }
        let mask_rows = if sources.is_some() { kn } else { n };
        let out = self.with_mask(mask, mask_rows, len, |m| {
            let out = with_f32(&q, |q| {
                with_f32(k, |k| {
                    with_f32(v, |v| {
                        attend::attend(q, view(k, row, head), view(v, row, head), m, shape, sources)
                    })
                })
            })???;
            Ok(out)
        })?;
        out.map(|o| {
            self.out_proj
                .forward(&Tensor::from_vec(o, (n, 1, self.heads * dh), xs.device())?)
        })
        .transpose()
    }

    /// [`Attention::forward_cached`] by [`super::attend`] over the cache's host buffers, where
    /// it applies.
    fn forward_cached_in_place(
        &self,
        xs: &Tensor,
        cache: &mut KvBuffer,
        mask: Option<&Tensor>,
    ) -> Result<Option<Tensor>> {
        if !Self::one_position(xs)? || !cache.takes_host() {
            return Ok(None);
        }
        let n = xs.dim(0)?;
        let len = cache.len() + 1;
        // The mask must fit before anything is appended.
        if mask.is_some_and(|m| !self.mask_fits(m, n, len)) {
            return Ok(None);
        }
        let (k, v) = (
            self.k_proj.forward(xs)?.contiguous()?,
            self.v_proj.forward(xs)?.contiguous()?,
        );
        let host = cache.host_mut().expect("takes host buffers");
        with_f32(&k, |k| {
            with_f32(&v, |v| host.append(k, v, n, self.heads, self.head_dim))
        })???;
        let q = self.queries(xs)?.contiguous()?;
        let shape = attend::Shape {
            rows: n,
            heads: self.heads,
            dh: self.head_dim,
            len,
        };
        let out = self
            .with_mask(mask, n, len, |m| {
                with_f32(&q, |q| attend::attend(q, host.keys(), host.values(), m, shape, None))
            })?
            .expect("the mask fits");
        self.out_proj
            .forward(&Tensor::from_vec(out, (n, 1, self.heads * self.head_dim), xs.device())?)
            .map(Some)
    }

    /// Attend from `xs` (`[N, Tq, D]`) over the given keys and values (`[N, H, Tk, Dh]`),
    /// adding `mask` (a padding or causal mask, or a position bias) to the scores.
    pub(crate) fn attend(&self, xs: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        if let Some(out) = self.attend_in_place(xs, k, v, mask, None)? {
            return Ok(out);
        }
        let (n, t, _) = xs.dims3()?;
        let q = self.split_heads(&self.queries(xs)?)?;
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

    /// Cross-attention at a decoding step: from `xs` (`[N, t, D]`) over `cache`'s encoder K/V
    /// and mask, which hold one row per encoder row; row `r` of `xs` reads row
    /// `cache.sources()[r]` of them.
    pub(crate) fn attend_cross(
        &self,
        xs: &Tensor,
        layer: &LayerCache,
        cache_mask: &Tensor,
        sources: &[u32],
    ) -> Result<Tensor> {
        let (k, v) = (&layer.cross_k, &layer.cross_v);
        if let Some(out) = self.attend_in_place(xs, k, v, Some(cache_mask), Some(sources))? {
            return Ok(out);
        }
        // Elsewhere (several positions, another dtype or device), candle's ops want the rows
        // side by side: gather them, unless they already are.
        let identity = sources.len() == k.dim(0)? && sources.iter().enumerate().all(|(i, &r)| r as usize == i);
        if identity {
            return self.attend(xs, k, v, Some(cache_mask));
        }
        let idx = Tensor::new(sources, k.device())?;
        let (k, v, m) = (
            k.index_select(&idx, 0)?,
            v.index_select(&idx, 0)?,
            cache_mask.index_select(&idx, 0)?,
        );
        self.attend(xs, &k, &v, Some(&m))
    }

    /// Self-attention without a cache (the encoder).
    pub fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (k, v) = self.project_kv(xs)?;
        self.attend(xs, &k, &v, mask)
    }

    /// Decoder self-attention: the keys and values of `xs` join those `cache` holds, and `xs`
    /// attends over all of them.
    pub(crate) fn forward_cached(&self, xs: &Tensor, cache: &mut KvBuffer, mask: Option<&Tensor>) -> Result<Tensor> {
        if let Some(out) = self.forward_cached_in_place(xs, cache, mask)? {
            return Ok(out);
        }
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

/// How a family keeps its linear layers' weights: as loaded (in the VarBuilder's dtype), or
/// quantised to int8 at load. Set by the loader (`dtype = "int8"`), not by `config.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightFormat {
    #[default]
    AsLoaded,
    Int8,
}

/// A linear layer, `y = x Wᵀ + b`, with `W` as checkpoints store it (`[out, in]`).
///
/// In float32 on a CPU with AVX2 or AVX-512 the product is [`super::matmul`]'s, which reads
/// `W` in place (gemm, under candle's matmul, repacked it at every decoding step); int8
/// weights always go through it. Other dtypes and devices use candle's matmul, with one
/// row split across rayon's threads: gemm runs a matrix-vector product on one thread, and
/// decoding one sequence greedily is nothing but those (`benches/peers/seq2seq.sh`: greedy
/// batch 1 from 36 to 55-58 tok/s on 2 threads for the opus-mt shape).
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    weight: Weight,
    bias: Option<Tensor>,
}

#[derive(Debug, Clone)]
enum Weight {
    Dense(Tensor),
    /// Float32 packed for the AVX-512 kernel (made where it runs).
    Packed(Arc<PackedF32>),
    Int8(Arc<QuantMatrix>),
}

/// Whether float32 weights are packed at load: where the AVX-512 kernel reads them.
fn packs(w: &Tensor) -> bool {
    w.dtype() == DType::F32
        && own_kernels(w.device())
        && matches!(matmul::isa(), matmul::Isa::Avx512 | matmul::Isa::Avx512Vnni)
}

/// `w` (`[rows, cols]`, float32 on the CPU) packed for the AVX-512 kernel.
fn pack(w: &Tensor) -> Result<PackedF32> {
    let (rows, cols) = w.dims2()?;
    with_f32(&w.contiguous()?, |v| PackedF32::pack(v, rows, cols))
}

/// Whether svodka's own kernels ([`super::matmul`], [`super::attend`], the row split) run on
/// `device`: on the CPU, unless `SVODKA_CPU_KERNELS=off`, which leaves every product and
/// attention to candle's ops as on a GPU, so that the tests can prove that path on a CPU
/// (the parity fixtures, token for token) where no GPU is at hand.
pub(crate) fn own_kernels(device: &Device) -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    device.is_cpu() && !*OFF.get_or_init(|| std::env::var("SVODKA_CPU_KERNELS").is_ok_and(|v| v == "off"))
}

/// Below this many weights a split costs more in scheduling than it saves.
const SPLIT_MIN: usize = 1 << 18;

/// Run `f` on the values of a contiguous float32 CPU tensor, in place.
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(cpu), Some((a, b))) => Ok(f(&cpu.as_slice::<f32>()?[a..b])),
        _ => candle_core::bail!("expected a contiguous f32 tensor on the CPU"),
    }
}

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear {
            weight: Weight::Dense(weight),
            bias,
        }
    }

    /// A layer over weights already quantised (a tied output projection sharing its token
    /// table's).
    pub(crate) fn from_int8(weight: Arc<QuantMatrix>, bias: Option<Tensor>) -> Linear {
        Linear {
            weight: Weight::Int8(weight),
            bias,
        }
    }

    /// This layer in `format`: its weight quantised to int8 (the bias stays float32), or as
    /// loaded (packed, where the AVX-512 kernel will read it).
    pub(crate) fn into_format(self, format: WeightFormat) -> Result<Linear> {
        let weight = match (format, &self.weight) {
            (WeightFormat::Int8, Weight::Dense(w)) => Weight::Int8(Arc::new(quantize(w)?)),
            (WeightFormat::AsLoaded, Weight::Dense(w)) if packs(w) => Weight::Packed(Arc::new(pack(w)?)),
            _ => return Ok(self),
        };
        Ok(Linear {
            weight,
            bias: self.bias,
        })
    }

    /// `(rows, width)` of `xs` seen as a matrix, and the output's shape.
    fn as_rows(&self, xs: &Tensor, out: usize) -> Result<(usize, usize, Vec<usize>)> {
        let k = xs.dim(candle_core::D::Minus1)?;
        let mut shape = xs.dims().to_vec();
        *shape.last_mut().expect("xs has a last dimension") = out;
        Ok((xs.elem_count() / k.max(1), k, shape))
    }

    /// The product by [`super::matmul`]'s kernels, where they apply.
    fn forward_kernels(&self, xs: &Tensor) -> Result<Option<Tensor>> {
        if !own_kernels(xs.device()) || xs.dtype() != DType::F32 {
            return match self.weight {
                Weight::Int8(_) | Weight::Packed(_) => {
                    candle_core::bail!("int8 and packed weights take float32 inputs on the CPU")
                }
                Weight::Dense(_) => Ok(None),
            };
        }
        let xs = xs.contiguous()?;
        let product = |x: &[f32], bias: Option<&[f32]>| -> Result<Option<(Vec<f32>, Vec<usize>)>> {
            match &self.weight {
                Weight::Int8(q) => {
                    let (m, k, shape) = self.as_rows(&xs, q.rows())?;
                    Ok(Some((matmul::xwt_i8(x, m, k, q, bias), shape)))
                }
                Weight::Packed(p) => {
                    let (m, k, shape) = self.as_rows(&xs, p.rows())?;
                    Ok(Some((matmul::xwt_packed_f32(x, m, k, p, bias), shape)))
                }
                Weight::Dense(w) if w.dtype() == DType::F32 && own_kernels(w.device()) => {
                    let (n, _) = w.dims2()?;
                    let (m, k, shape) = self.as_rows(&xs, n)?;
                    let y = with_f32(w, |w| matmul::xwt_f32(x, m, k, w, n, bias))?;
                    Ok(y.map(|y| (y, shape)))
                }
                Weight::Dense(_) => Ok(None),
            }
        };
        let ys = with_f32(&xs, |x| match &self.bias {
            Some(b) if b.dtype() == DType::F32 => with_f32(b, |b| product(x, Some(b)))?,
            Some(_) => Ok(None),
            None => product(x, None),
        })??;
        ys.map(|(y, shape)| Tensor::from_vec(y, shape, xs.device())).transpose()
    }

    fn split_one_row(&self, w: &Tensor, xs: &Tensor) -> Result<Option<Tensor>> {
        let (out, inp) = w.dims2()?;
        let threads = rayon::current_num_threads();
        if xs.elem_count() != inp || threads < 2 || out * inp < SPLIT_MIN || !own_kernels(xs.device()) {
            return Ok(None);
        }
        let x = xs.reshape((1, inp))?;
        let step = out.div_ceil(2 * threads);
        let blocks: Vec<(usize, usize)> = (0..out).step_by(step).map(|s| (s, step.min(out - s))).collect();
        use rayon::prelude::*;
        let parts = blocks
            .par_iter()
            .map(|&(s, n)| x.matmul(&w.narrow(0, s, n)?.t()?))
            .collect::<Result<Vec<_>>>()?;
        let mut shape = xs.dims().to_vec();
        *shape.last_mut().expect("xs has a last dimension") = out;
        let ys = Tensor::cat(&parts, 1)?.reshape(shape)?;
        match &self.bias {
            Some(b) => ys.broadcast_add(b).map(Some),
            None => Ok(Some(ys)),
        }
    }
}

/// `w` (`[rows, cols]`, any float dtype) quantised to int8 per row.
fn quantize(w: &Tensor) -> Result<QuantMatrix> {
    let (rows, cols) = w.dims2()?;
    let w = w.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.contiguous()?;
    with_f32(&w, |w| QuantMatrix::quantize(w, rows, cols))
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if let Some(ys) = self.forward_kernels(xs)? {
            return Ok(ys);
        }
        let Weight::Dense(w) = &self.weight else {
            unreachable!("int8 and packed weights always take the kernels' path")
        };
        match self.split_one_row(w, xs)? {
            Some(ys) => Ok(ys),
            None => candle_nn::Linear::new(w.clone(), self.bias.clone()).forward(xs),
        }
    }
}

/// A token table: rows looked up by token id, kept as loaded or quantised to int8 per row.
/// An int8 table serves a tied output projection too, so that a tied model holds one int8
/// copy of its largest matrix (opus-mt: 62,518 × 512) rather than a float one for lookups.
#[derive(Debug, Clone)]
pub(crate) enum TokenTable {
    Float(candle_nn::Embedding),
    /// Float32 packed for the AVX-512 kernel: the tied projection reads it so, and a lookup
    /// gathers a row from its panel.
    Packed(Arc<PackedF32>),
    Int8(Arc<QuantMatrix>),
}

impl TokenTable {
    /// The table `[rows, d]` in `format`.
    pub fn new(table: Tensor, format: WeightFormat) -> Result<TokenTable> {
        let d = table.dim(1)?;
        Ok(match format {
            WeightFormat::AsLoaded if packs(&table) => TokenTable::Packed(Arc::new(pack(&table)?)),
            WeightFormat::AsLoaded => TokenTable::Float(candle_nn::Embedding::new(table, d)),
            WeightFormat::Int8 => TokenTable::Int8(Arc::new(quantize(&table)?)),
        })
    }

    /// The output projection tied to this table (no bias).
    pub fn tied_head(&self) -> Linear {
        match self {
            TokenTable::Float(e) => Linear::new(e.embeddings().clone(), None),
            TokenTable::Packed(p) => Linear {
                weight: Weight::Packed(p.clone()),
                bias: None,
            },
            TokenTable::Int8(q) => Linear::from_int8(q.clone(), None),
        }
    }
}

impl Module for TokenTable {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            TokenTable::Float(e) => e.forward(ids),
            TokenTable::Packed(p) => lookup(ids, p.rows(), p.cols(), |r, out| p.row(r, out)),
            TokenTable::Int8(q) => lookup(ids, q.rows(), q.cols(), |r, out| q.row_f32(r, out)),
        }
    }
}

/// The rows of a `rows × d` table at `ids` (`[..]` → `[.., d]`), each written by `row`.
fn lookup(ids: &Tensor, rows: usize, d: usize, row: impl Fn(usize, &mut [f32])) -> Result<Tensor> {
    let flat = ids.flatten_all()?.to_vec1::<u32>()?;
    let mut out = vec![0f32; flat.len() * d];
    for (slot, &id) in out.chunks_mut(d.max(1)).zip(&flat) {
        let id = id as usize;
        if id >= rows {
            candle_core::bail!("token id {id} is outside the table's {rows} rows");
        }
        row(id, slot);
    }
    let mut shape = ids.dims().to_vec();
    shape.push(d);
    Tensor::from_vec(out, shape, ids.device())
}

/// `Linear` with weight `{vb}.weight` `[out, in]` and bias `{vb}.bias`.
pub(crate) fn linear(inp: usize, out: usize, format: WeightFormat, vb: VarBuilder) -> Result<Linear> {
    Linear::new(vb.get((out, inp), "weight")?, Some(vb.get(out, "bias")?)).into_format(format)
}

/// `Linear` with weight `{vb}.weight` `[out, in]` and no bias.
pub(crate) fn linear_no_bias(inp: usize, out: usize, format: WeightFormat, vb: VarBuilder) -> Result<Linear> {
    Linear::new(vb.get((out, inp), "weight")?, None).into_format(format)
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

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn worst(a: &[f32], e: &[f32]) -> f32 {
        a.iter()
            .zip(e)
            .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
            .fold(0f32, f32::max)
    }

    /// Every path of the layer — the kernels, the one-row split of the fallback, int8 —
    /// gives candle-nn's product, to float rounding (float32: the paths group the sums
    /// differently) or to int8's rounding, in every shape the models use.
    #[test]
    fn every_path_gives_candles_product() {
        let dev = Device::Cpu;
        // 701 outputs: blocks of unequal size; 701 × 400 weights: above SPLIT_MIN.
        let w = Tensor::randn(0f32, 0.05, (701, 400), &dev).unwrap();
        let b = Tensor::randn(0f32, 0.05, 701, &dev).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            for bias in [None, Some(b.clone())] {
                let ours = Linear::new(w.clone(), bias.clone());
                let int8 = ours.clone().into_format(WeightFormat::Int8).unwrap();
                let packed = ours.clone().into_format(WeightFormat::AsLoaded).unwrap();
                let theirs = candle_nn::Linear::new(w.clone(), bias);
                for shape in [
                    vec![1, 400],
                    vec![1, 1, 400],
                    vec![3, 400],
                    vec![2, 1, 400],
                    vec![2, 9, 400],
                ] {
                    let xs = Tensor::randn(0f32, 1.0, shape.as_slice(), &dev).unwrap();
                    let e = theirs.forward(&xs).unwrap();
                    let a = ours.forward(&xs).unwrap();
                    assert_eq!(a.dims(), e.dims());
                    let bound = 4.0 * f32::EPSILON * 400f32.sqrt();
                    assert!(worst(&values(&a), &values(&e)) < bound, "{shape:?}");
                    let p = packed.forward(&xs).unwrap();
                    assert!(worst(&values(&p), &values(&e)) < bound, "{shape:?} packed");
                    if shape.iter().product::<usize>() == 400 {
                        let split = ours.split_one_row(&w, &xs).unwrap().expect("one row splits");
                        assert!(worst(&values(&split), &values(&e)) < bound, "{shape:?} split");
                    }
                    let q = int8.forward(&xs).unwrap();
                    assert_eq!(q.dims(), e.dims());
                    // |x| ≲ 4.5, |w| ≲ 0.25: 400 products, each off by under
                    // (4.5 · 0.25 + 0.25 · 4.5) / 254.
                    assert!(
                        worst(&values(&q), &values(&e)) < 400.0 * 2.25 / 254.0 / 4.0,
                        "{shape:?} int8"
                    );
                }
            }
        });
    }

    #[test]
    fn an_int8_token_table_looks_up_and_projects_like_the_float_one() {
        let dev = Device::Cpu;
        let table = Tensor::randn(0f32, 0.5, (50, 24), &dev).unwrap();
        // As loaded: packed where AVX-512 is, a candle Embedding elsewhere; both compared
        // with candle's own.
        let (f, q) = (
            TokenTable::new(table.clone(), WeightFormat::AsLoaded).unwrap(),
            TokenTable::new(table.clone(), WeightFormat::Int8).unwrap(),
        );
        let plain = TokenTable::Float(candle_nn::Embedding::new(table, 24));
        let ids = Tensor::new(&[[3u32, 49, 0], [7, 7, 1]], &dev).unwrap();
        assert_eq!(values(&f.forward(&ids).unwrap()), values(&plain.forward(&ids).unwrap()));
        let (a, e) = (q.forward(&ids).unwrap(), f.forward(&ids).unwrap());
        assert_eq!(a.dims(), &[2, 3, 24]);
        assert!(worst(&values(&a), &values(&e)) < 2.5 / 254.0);
        let xs = Tensor::randn(0f32, 1.0, (2, 24), &dev).unwrap();
        let (a, e) = (q.tied_head().forward(&xs).unwrap(), f.tied_head().forward(&xs).unwrap());
        assert!(worst(&values(&a), &values(&e)) < 0.1);
        let (a, e) = (
            f.tied_head().forward(&xs).unwrap(),
            plain.tied_head().forward(&xs).unwrap(),
        );
        assert!(worst(&values(&a), &values(&e)) < 1e-5);
        for t in [&f, &q] {
            let err = t.forward(&Tensor::new(&[50u32], &dev).unwrap()).unwrap_err();
            assert!(err.to_string().contains("token id 50"), "{err}");
        }
    }
}
