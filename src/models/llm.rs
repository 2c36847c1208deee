//! Decoder-only instruct models from one GGUF file: the llama family as llama.cpp lays it out
//! (`token_embd`, `blk.N.attn_q`, …, `output_norm`, `output`), for the architectures
//! `qwen2` (q/k/v biases), `qwen3` (per-head q/k RMS norms), `llama` (interleaved RoPE,
//! Llama 3 frequency factors) and `gemma3` (embeddings scaled by √d, norms after attention and
//! feed-forward too, GELU, sliding-window attention on five layers in six with their own RoPE
//! base), following llama.cpp's reading of each.
//!
//! Why not candle-transformers' `quantized_*::ModelWeights`: they keep the KV cache inside
//! the weights, so serving several articles at once means one copy of the model per worker
//! (and `quantized_qwen2` cannot even be cloned), they grow the cache by concatenation,
//! re-copying it every step, and `quantized_gemma3` drops the sliding window once a prompt
//! is cached (decode steps and later prompt blocks see every position). Here, as in the seq2seq engine, the weights are immutable and
//! shared by every worker (`QMatMul` over candle's quantized kernels, read through
//! candle-transformers' GGUF `VarBuilder`), and each sequence owns an [`LlmCache`] whose K/V
//! buffers grow in place. Hyper-parameters, rope settings and context length come from the
//! file's metadata.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_transformers::quantized_var_builder::VarBuilder;

use super::ModelError;
use crate::generate::CausalLm;
use crate::generate::cache::KvBuffer;

/// The architectures this file implements, by `general.architecture`.
pub(crate) const SUPPORTED: &str = "qwen2, qwen3, llama, gemma3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Qwen2,
    Qwen3,
    Llama,
    Gemma3,
}

/// Gemma 3's local attention.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindow {
    /// A query at position i sees keys j with i - j < `size` (llama.cpp's standard SWA).
    pub size: usize,
    /// Every `pattern`-th layer (1-based) is global, the others local.
    pub pattern: usize,
    /// RoPE base of the local layers.
    pub rope_base: f32,
}

/// Hyper-parameters from the GGUF metadata (`{arch}.block_count`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub arch: Arch,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub rms_eps: f64,
    pub rope_base: f32,
    /// Rotate pairs `(2i, 2i+1)` (llama.cpp's NORM rope) instead of `(i, i + d/2)` (NEOX).
    pub rope_interleaved: bool,
    /// Global layers' positions are multiplied by this (linear RoPE scaling; 1 = none).
    pub rope_scale: f32,
    pub context: usize,
    pub sliding_window: Option<SlidingWindow>,
    /// Multiply the embeddings by √hidden (Gemma).
    pub scale_embeddings: bool,
    /// GELU (tanh approximation) in the feed-forward instead of SiLU (Gemma).
    pub gelu: bool,
    /// Attention scores are multiplied by this.
    pub attention_scale: f64,
}

fn meta<'a>(
    md: &'a gguf_file::Content,
    key: &str,
    path: &Path,
) -> std::result::Result<&'a gguf_file::Value, ModelError> {
    md.metadata.get(key).ok_or_else(|| ModelError::Invalid {
        path: path.to_path_buf(),
        message: format!("no `{key}` in the GGUF metadata"),
    })
}

fn meta_usize(md: &gguf_file::Content, key: &str, path: &Path) -> std::result::Result<usize, ModelError> {
    let v = meta(md, key, path)?;
    v.to_u32()
        .map(|v| v as usize)
        .or_else(|_| v.to_u64().map(|v| v as usize))
        .or_else(|_| v.to_i32().map(|v| v as usize))
        .map_err(|e| ModelError::Invalid {
            path: path.to_path_buf(),
            message: format!("`{key}`: {e}"),
        })
}

fn meta_f32(md: &gguf_file::Content, key: &str, path: &Path) -> std::result::Result<f32, ModelError> {
    let v = meta(md, key, path)?;
    v.to_f32()
        .or_else(|_| v.to_f64().map(|v| v as f32))
        .map_err(|e| ModelError::Invalid {
            path: path.to_path_buf(),
            message: format!("`{key}`: {e}"),
        })
}

/// The `general.architecture` of a GGUF file.
pub fn architecture(md: &gguf_file::Content, path: &Path) -> std::result::Result<String, ModelError> {
    meta(md, "general.architecture", path)?
        .to_string()
        .cloned()
        .map_err(|e| ModelError::Invalid {
            path: path.to_path_buf(),
            message: format!("`general.architecture`: {e}"),
        })
}

impl Config {
    /// Whether layer `i` attends within the sliding window.
    pub(crate) fn is_local(&self, i: usize) -> bool {
        self.sliding_window
            .as_ref()
            .is_some_and(|w| w.pattern == 0 || !(i + 1).is_multiple_of(w.pattern))
    }

    pub fn from_gguf(md: &gguf_file::Content, path: &Path) -> std::result::Result<Config, ModelError> {
        let name = architecture(md, path)?;
        let arch = match name.as_str() {
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "llama" => Arch::Llama,
            "gemma3" => Arch::Gemma3,
            _ => {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    model_type: name,
                    supported: SUPPORTED,
                });
            }
        };
        let key = |k: &str| format!("{name}.{k}");
        let hidden = meta_usize(md, &key("embedding_length"), path)?;
        let heads = meta_usize(md, &key("attention.head_count"), path)?;
        let kv_heads = meta_usize(md, &key("attention.head_count_kv"), path).unwrap_or(heads);
        let head_dim = meta_usize(md, &key("attention.key_length"), path).unwrap_or(hidden / heads.max(1));
        let cfg = Config {
            arch,
            hidden,
            layers: meta_usize(md, &key("block_count"), path)?,
            heads,
            kv_heads,
            head_dim,
            rms_eps: meta_f32(md, &key("attention.layer_norm_rms_epsilon"), path)? as f64,
            rope_base: meta_f32(md, &key("rope.freq_base"), path).unwrap_or(10_000.0),
            rope_interleaved: arch == Arch::Llama,
            rope_scale: meta_f32(md, &key("rope.scaling.factor"), path).map_or(1.0, |f| 1.0 / f.max(1e-6)),
            context: meta_usize(md, &key("context_length"), path)?,
            sliding_window: None,
            scale_embeddings: arch == Arch::Gemma3,
            gelu: arch == Arch::Gemma3,
            attention_scale: 1.0 / (head_dim as f64).sqrt(),
        };
        let mut cfg = cfg;
        if arch == Arch::Gemma3 {
            cfg.sliding_window = Some(SlidingWindow {
                size: meta_usize(md, &key("attention.sliding_window"), path)?,
                pattern: meta_usize(md, &key("attention.sliding_window_pattern"), path).unwrap_or(6),
                rope_base: meta_f32(md, &key("rope.freq_base_swa"), path)
                    .or_else(|_| meta_f32(md, &key("rope.local_freq_base"), path))
                    .unwrap_or(10_000.0),
            });
            // llama.cpp's one exception: Gemma 3 27B (62 layers) scales by 1/√(hidden/heads).
            if cfg.layers == 62 {
                cfg.attention_scale = 1.0 / ((cfg.hidden / cfg.heads) as f64).sqrt();
            }
        }
        if heads == 0 || kv_heads == 0 || !heads.is_multiple_of(kv_heads) || !head_dim.is_multiple_of(2) {
            return Err(ModelError::Invalid {
                path: path.to_path_buf(),
                message: format!("{heads} attention heads over {kv_heads} key/value heads of size {head_dim}"),
            });
        }
        Ok(cfg)
    }
}

#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(vb: &VarBuilder, name: &str, eps: f64) -> Result<RmsNorm> {
        let weight = vb.get_no_shape(name)?.dequantize(vb.device())?;
        Ok(RmsNorm { weight, eps })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(&xs.contiguous()?, &self.weight, self.eps as f32)
    }
}

/// Most rows one quantised product runs in a decode step (see [`Linear`]).
const DECODE_ROWS: usize = 31;

/// A weight matrix and how its products are run, so that a sequence's result does not depend
/// on how many other sequences share its decode step. candle picks its x86 kernel by the
/// number of rows: a single row of a Q6_K product goes through the compact dot product,
/// several through repacked 16-row tiles, and the two round differently; from 32 rows on a
/// Q4_K product goes through AMX, which rounds differently again. Every other kernel computes
/// each row on its own, whatever the number of rows (the tiles too: one accumulator per row,
/// the same order of operations). So a single row of a Q6_K product is run as two (itself
/// twice), a decode step runs its rows in groups of at most [`DECODE_ROWS`], and dense (F32,
/// F16) weights row by row. Prompt blocks
/// run as they are (AMX and all): a prompt is always run alone.
///
/// Q8_0 matrices whose rows are not a whole number of 256-value superblocks (Qwen2.5 0.5B's
/// 896-wide projections and output) have no tiled kernel in candle, only a generic dot
/// product that converts each block's f16 scale through a function call: 80% of a decode
/// step of that model in `perf`. Their rows are padded with zero blocks to the next multiple
/// of 256 (the activations with zeros to match), which adds nothing to any product and takes
/// them to the VNNI tiles.
#[derive(Debug, Clone)]
struct Linear {
    w: QMatMul,
    pad_single: bool,
    /// Zero columns added to the weight's rows (and to the activations).
    pad_k: usize,
}

/// Whether candle runs Q8_0 products through its repacked tiles here (x86 with VNNI).
fn q8_0_tiles() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni"))
            || is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `t` (Q8_0, `[n, k]`) with each row followed by zero blocks up to `kp` values.
fn pad_q8_0(t: &QTensor, kp: usize) -> Result<QTensor> {
    const BLOCK: usize = 34; // f16 scale + 32 × i8
    let (n, k) = t.shape().dims2()?;
    let data = t.data()?;
    let (row, prow) = (k / 32 * BLOCK, kp / 32 * BLOCK);
    let mut out = vec![0u8; n * prow];
    for (src, dst) in data.chunks_exact(row).zip(out.chunks_exact_mut(prow)) {
        dst[..row].copy_from_slice(src);
    }
    candle_core::quantized::ggml_file::qtensor_from_ggml(t.dtype(), &out, vec![n, kp], &Device::Cpu)
}

impl Linear {
    fn new(t: Arc<QTensor>) -> Result<Linear> {
        use candle_core::quantized::GgmlDType as G;
        let (n, k) = t.shape().dims2()?;
        // The padding works around candle's x86 kernels; a GPU's have their own shapes.
        let cpu = t.device().is_cpu();
        let pad_single = cpu && cfg!(target_arch = "x86_64") && t.dtype() == G::Q6K && n % 16 == 0 && k % 256 == 0;
        let (t, pad_k) = if cpu && t.dtype() == G::Q8_0 && k % 256 != 0 && n % 16 == 0 && q8_0_tiles() {
            let kp = k.next_multiple_of(256);
            (Arc::new(pad_q8_0(&t, kp)?), kp - k)
        } else {
            (t, 0)
        };
        Ok(Linear {
            w: QMatMul::from_arc(t)?,
            pad_single,
            pad_k,
        })
    }

    /// `xs`: `[b, t, k]`; `decode`: one position of each of `b` sequences.
    fn forward(&self, xs: &Tensor, decode: bool) -> Result<Tensor> {
        if self.pad_k > 0 {
            let xs = xs.pad_with_zeros(D::Minus1, 0, self.pad_k)?;
            return self.product(&xs, decode);
        }
        self.product(xs, decode)
    }

    fn product(&self, xs: &Tensor, decode: bool) -> Result<Tensor> {
        let b = xs.dim(0)?;
        if self.pad_single && xs.elem_count() == xs.dim(D::Minus1)? {
            return self.w.forward(&Tensor::cat(&[xs, xs], 0)?)?.narrow(0, 0, 1);
        }
        if decode && b > 1 && matches!(self.w, QMatMul::Tensor(_) | QMatMul::TensorF16(_)) {
            // Dense weights (F32/F16 files) go through gemm, whose kernels depend on the number
            // of rows too: a decode step runs them row by row.
            let rows = (0..b)
                .map(|i| self.w.forward(&xs.narrow(0, i, 1)?))
                .collect::<Result<Vec<_>>>()?;
            return Tensor::cat(&rows, 0);
        }
        if decode && b > DECODE_ROWS {
            let parts = (0..b)
                .step_by(DECODE_ROWS)
                .map(|i| self.product(&xs.narrow(0, i, DECODE_ROWS.min(b - i))?, true))
                .collect::<Result<Vec<_>>>()?;
            return Tensor::cat(&parts, 0);
        }
        self.w.forward(xs)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    ffn_norm: RmsNorm,
    post_attn_norm: Option<RmsNorm>,
    post_ffn_norm: Option<RmsNorm>,
    local: bool,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A loaded decoder; immutable, shared by every worker.
#[derive(Debug)]
pub struct Llm {
    cfg: Config,
    /// Kept quantized: rows are dequantized as tokens are looked up (a dense copy of Qwen2.5
    /// 1.5B's 151936 × 1536 table would be 0.9 GB).
    embed: Arc<QTensor>,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    /// RoPE tables of the sliding-window layers, when their base differs.
    local_rope: Option<(Tensor, Tensor)>,
    vocab: usize,
    path: PathBuf,
}

/// One sequence's state: per-layer K/V and the number of positions cached.
#[derive(Debug, Clone, Default)]
pub struct LlmCache {
    layers: Vec<KvBuffer>,
    pos: usize,
}

impl LlmCache {
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

/// Block types for which candle has no SIMD dot product on x86 (its Q4_1, Q5_0 and Q5_1
/// kernels are scalar, several times slower than its Q8_0 one): such weights are re-packed
/// as Q8_0 at load. Q8_0 holds every Q4_1/Q5_x value to within half a step of 1/127 of the
/// block's range, at 1.5-2× the memory of those tensors.
fn repack(t: Arc<QTensor>) -> Result<Arc<QTensor>> {
    use candle_core::quantized::GgmlDType as G;
    // candle's CUDA kernels handle these types as they are.
    if !matches!(t.dtype(), G::Q4_1 | G::Q5_0 | G::Q5_1) || !t.device().is_cpu() {
        return Ok(t);
    }
    let dense = t.dequantize(&Device::Cpu)?;
    Ok(Arc::new(QTensor::quantize(&dense, G::Q8_0)?))
}

fn linear(vb: &VarBuilder, name: &str) -> Result<Linear> {
    Linear::new(repack(vb.get_no_shape(name)?)?)
}

fn optional(vb: &VarBuilder, name: &str) -> Result<Option<Tensor>> {
    if vb.contains_key(name) {
        Ok(Some(vb.get_no_shape(name)?.dequantize(vb.device())?))
    } else {
        Ok(None)
    }
}

impl Llm {
    /// Read `path`: its metadata (returned, for the tokenizer and chat template) and weights,
    /// which stay quantised, on `device`.
    pub fn load(path: &Path, device: &Device) -> std::result::Result<(Llm, gguf_file::Content), ModelError> {
        let io = |source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| ModelError::Invalid {
            path: path.to_path_buf(),
            message: format!("not a readable GGUF file: {e}"),
        })?;
        let cfg = Config::from_gguf(&content, path)?;
        let vb = VarBuilder::from_gguf(path, device).map_err(|source| ModelError::Weights {
            path: path.to_path_buf(),
            source,
        })?;
        let model = Llm::new(&cfg, &vb, path).map_err(|source| ModelError::Weights {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((model, content))
    }

    pub fn new(cfg: &Config, vb: &VarBuilder, path: &Path) -> Result<Llm> {
        let embed_q: Arc<QTensor> = vb.get_no_shape("token_embd.weight")?;
        let vocab = embed_q.shape().dims2()?.0;
        let embed = Arc::clone(&embed_q);
        let output = if vb.contains_key("output.weight") {
            linear(vb, "output.weight")?
        } else {
            Linear::new(repack(embed_q)?)?
        };
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let p = |n: &str| format!("blk.{i}.{n}");
            let norm = |n: &str| RmsNorm::new(vb, &p(n), cfg.rms_eps);
            // A norm only some architectures have.
            let maybe_norm = |n: &str| -> Result<Option<RmsNorm>> {
                if vb.contains_key(&p(n)) {
                    norm(n).map(Some)
                } else {
                    Ok(None)
                }
            };
            layers.push(Layer {
                attn_norm: norm("attn_norm.weight")?,
                q: linear(vb, &p("attn_q.weight"))?,
                k: linear(vb, &p("attn_k.weight"))?,
                v: linear(vb, &p("attn_v.weight"))?,
                o: linear(vb, &p("attn_output.weight"))?,
                q_bias: optional(vb, &p("attn_q.bias"))?,
                k_bias: optional(vb, &p("attn_k.bias"))?,
                v_bias: optional(vb, &p("attn_v.bias"))?,
                q_norm: maybe_norm("attn_q_norm.weight")?,
                k_norm: maybe_norm("attn_k_norm.weight")?,
                ffn_norm: norm("ffn_norm.weight")?,
                post_attn_norm: maybe_norm("post_attention_norm.weight")?,
                post_ffn_norm: maybe_norm("post_ffw_norm.weight")?,
                local: cfg.is_local(i),
                gate: linear(vb, &p("ffn_gate.weight"))?,
                up: linear(vb, &p("ffn_up.weight"))?,
                down: linear(vb, &p("ffn_down.weight"))?,
            });
        }
        // RoPE tables; Llama 3.1+ files carry per-frequency divisors in `rope_freqs.weight`.
        let factors: Option<Vec<f32>> = match optional(vb, "rope_freqs.weight")? {
            Some(t) => Some(t.flatten_all()?.to_vec1()?),
            None => None,
        };
        let half = cfg.head_dim / 2;
        let table = |base: f32, scale: f32, factors: Option<&Vec<f32>>| -> Result<(Tensor, Tensor)> {
            let theta: Vec<f32> = (0..half)
                .map(|i| {
                    let f = 1.0 / base.powf(2.0 * i as f32 / cfg.head_dim as f32);
                    scale * f / factors.and_then(|v| v.get(i)).copied().unwrap_or(1.0)
                })
                .collect();
            let theta = Tensor::new(theta.as_slice(), vb.device())?;
            let positions = Tensor::arange(0u32, cfg.context as u32, vb.device())?
                .to_dtype(DType::F32)?
                .reshape((cfg.context, 1))?;
            let angles = positions.matmul(&theta.reshape((1, half))?)?;
            Ok((angles.cos()?, angles.sin()?))
        };
        let (cos, sin) = table(cfg.rope_base, cfg.rope_scale, factors.as_ref())?;
        let local_rope = match &cfg.sliding_window {
            Some(w) => Some(table(w.rope_base, 1.0, None)?),
            None => None,
        };
        Ok(Llm {
            cfg: cfg.clone(),
            embed,
            layers,
            norm: RmsNorm::new(vb, "output_norm.weight", cfg.rms_eps)?,
            output,
            cos,
            sin,
            local_rope,
            vocab,
            path: path.to_path_buf(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Use at most `n` positions (the file's context is often 32768: that much KV cache per
    /// sequence is memory the user did not ask for).
    pub fn limit_context(&mut self, n: usize) {
        self.cfg.context = self.cfg.context.min(n.max(1));
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn new_cache(&self) -> LlmCache {
        LlmCache {
            layers: vec![KvBuffer::default(); self.cfg.layers],
            pos: 0,
        }
    }

    pub fn reset_cache(&self, cache: &mut LlmCache) {
        *cache = self.new_cache();
    }

    fn rope(&self, xs: &Tensor, pos: usize, local: bool) -> Result<Tensor> {
        let t = xs.dim(2)?;
        let (cos, sin) = match (&self.local_rope, local) {
            (Some((c, s)), true) => (c, s),
            _ => (&self.cos, &self.sin),
        };
        let cos = cos.narrow(0, pos, t)?;
        let sin = sin.narrow(0, pos, t)?;
        if self.cfg.rope_interleaved {
            candle_nn::rotary_emb::rope_i(&xs.contiguous()?, &cos, &sin)
        } else {
            candle_nn::rotary_emb::rope(&xs.contiguous()?, &cos, &sin)
        }
    }

    /// Queries, keys and values of `xs` (`[b, t, hidden]`), each `[b, heads, t, hd]`: biases and
    /// per-head norms applied, RoPE not yet (positions are each sequence's own).
    fn qkv(&self, l: &Layer, xs: &Tensor, decode: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let (b, t, _) = xs.dims3()?;
        let (h, kvh, hd) = (self.cfg.heads, self.cfg.kv_heads, self.cfg.head_dim);
        let project = |m: &Linear, bias: &Option<Tensor>, norm: &Option<RmsNorm>, heads: usize| -> Result<Tensor> {
            let mut y = m.forward(xs, decode)?;
            if let Some(bias) = bias {
                y = y.broadcast_add(bias)?;
            }
            let mut y = y.reshape((b, t, heads, hd))?;
            if let Some(n) = norm {
                y = n.forward(&y)?;
            }
            y.transpose(1, 2)?.contiguous()
        };
        Ok((
            project(&l.q, &l.q_bias, &l.q_norm, h)?,
            project(&l.k, &l.k_bias, &l.k_norm, kvh)?,
            project(&l.v, &l.v_bias, &None, kvh)?,
        ))
    }

    /// One sequence's attention: `q`, `k`, `v` (`[1, heads, t, hd]`, before RoPE) of the `t`
    /// positions after the `pos` that `kv` holds → `[1, t, heads·hd]`, before the output
    /// projection.
    fn attend(&self, l: &Layer, q: &Tensor, k: &Tensor, v: &Tensor, kv: &mut KvBuffer, pos: usize) -> Result<Tensor> {
        let (b, _, t, _) = q.dims4()?;
        let (h, kvh, hd) = (self.cfg.heads, self.cfg.kv_heads, self.cfg.head_dim);
        let q = self.rope(q, pos, l.local)?;
        let k = self.rope(k, pos, l.local)?;
        let (k, v) = kv.append(&k, v)?;
        let total = k.dim(2)?;
        // Sliding window: keys older than the window for the block's first query are never
        // seen, so they are left out; the mask below handles the rest of the block.
        let window = self.cfg.sliding_window.as_ref().filter(|_| l.local).map(|w| w.size);
        let first = match window {
            Some(w) => (pos + 1).saturating_sub(w),
            None => 0,
        };
        let (k, v) = if first > 0 {
            (k.narrow(2, first, total - first)?, v.narrow(2, first, total - first)?)
        } else {
            (k, v)
        };
        let seen = total - first;
        // Grouped-query attention without copying K/V per head: the `group` query heads that
        // share a K/V head are stacked along the time axis.
        let group = h / kvh;
        let q = q.reshape((b, kvh, group * t, hd))?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? * self.cfg.attention_scale)?;
        let scores = if t > 1 {
            // Causal: query i (absolute position pos + i) sees keys up to pos + i, and within
            // the window only those less than `window` positions back.
            let mask: Vec<f32> = (0..group * t)
                .flat_map(|r| {
                    let q = pos + r % t;
                    (first..total).map(move |j| {
                        let visible = j <= q && window.is_none_or(|w| q - j < w);
                        if visible { 0.0 } else { f32::NEG_INFINITY }
                    })
                })
                .collect();
            let mask = Tensor::from_vec(mask, (group * t, seen), q.device())?;
            scores.broadcast_add(&mask)?
        } else {
            scores
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v.contiguous()?)?; // [b, kvh, group * t, hd]
        out.reshape((b, h, t, hd))?.transpose(1, 2)?.reshape((b, t, h * hd))
    }

    /// Embeddings of `ids` as `[b, t, hidden]`.
    fn embed(&self, ids: &[u32], (b, t): (usize, usize)) -> Result<Tensor> {
        let ids = Tensor::new(ids, self.cos.device())?;
        let xs = self.embed.embedding(&ids)?.reshape((b, t, self.cfg.hidden))?;
        if self.cfg.scale_embeddings {
            xs * (self.cfg.hidden as f64).sqrt()
        } else {
            Ok(xs)
        }
    }

    /// The decoder layers over `xs` (`[b, t, hidden]`): `caches` holds one cache per row
    /// (`b` sequences of one new position each, `decode`) or one for a block of `t` positions.
    fn layers(&self, mut xs: Tensor, caches: &mut [&mut LlmCache], decode: bool) -> Result<Tensor> {
        let post = |norm: &Option<RmsNorm>, ys: Tensor| match norm {
            Some(n) => n.forward(&ys),
            None => Ok(ys),
        };
        for (i, l) in self.layers.iter().enumerate() {
            let (q, k, v) = self.qkv(l, &l.attn_norm.forward(&xs)?, decode)?;
            let attn = if caches.len() == 1 {
                self.attend(l, &q, &k, &v, &mut caches[0].layers[i], caches[0].pos)?
            } else {
                let rows = caches
                    .iter_mut()
                    .enumerate()
                    .map(|(r, c)| {
                        let row = |x: &Tensor| x.narrow(0, r, 1);
                        self.attend(l, &row(&q)?, &row(&k)?, &row(&v)?, &mut c.layers[i], c.pos)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Tensor::cat(&rows, 0)?
            };
            xs = (xs + post(&l.post_attn_norm, l.o.forward(&attn, decode)?)?)?;
            let h = l.ffn_norm.forward(&xs)?;
            let gate = l.gate.forward(&h, decode)?;
            let gate = if self.cfg.gelu {
                // As ggml computes it on the CPU: a table of GELU over f16 inputs, held in f16.
                gate.to_dtype(DType::F16)?
                    .to_dtype(DType::F32)?
                    .gelu()?
                    .to_dtype(DType::F16)?
                    .to_dtype(DType::F32)?
            } else {
                candle_nn::ops::silu(&gate)?
            };
            let ffn = l.down.forward(&(gate * l.up.forward(&h, decode)?)?, decode)?;
            xs = (xs + post(&l.post_ffn_norm, ffn)?)?;
        }
        Ok(xs)
    }

    fn check_room(&self, cache: &mut LlmCache, t: usize) -> Result<()> {
        if cache.pos + t > self.cfg.context {
            candle_core::bail!(
                "{} positions exceed the model's context length {}",
                cache.pos + t,
                self.cfg.context
            );
        }
        if cache.layers.len() != self.layers.len() {
            *cache = self.new_cache();
        }
        Ok(())
    }

    /// Run `tokens` after what `cache` holds; returns the logits `[n, V]` of every new position
    /// (`all`) or of the last one (`[1, V]`). One token is a decode step, as
    /// [`Llm::forward_batch`] runs it for one sequence.
    pub fn forward(&self, tokens: &[u32], cache: &mut LlmCache, all: bool) -> Result<Tensor> {
        let t = tokens.len();
        if t == 0 {
            candle_core::bail!("no tokens to run");
        }
        if t == 1 {
            return self.forward_batch(tokens, &mut [cache]);
        }
        self.check_room(cache, t)?;
        let xs = self.layers(self.embed(tokens, (1, t))?, &mut [&mut *cache], false)?;
        cache.pos += t;
        let xs = if all { xs } else { xs.narrow(1, t - 1, 1)? };
        let xs = self.norm.forward(&xs)?;
        self.output.forward(&xs, false)?.squeeze(0)?.to_dtype(DType::F32)
    }

    /// One decode step of several sequences: `tokens[i]` follows what `caches[i]` holds.
    /// The weights are read once for all of them (one product over the rows), while each
    /// sequence attends over its own cache at its own position. Returns the logits `[n, V]`;
    /// row `i` is what [`Llm::forward`] gives for sequence `i` alone, bit for bit.
    pub fn forward_batch(&self, tokens: &[u32], caches: &mut [&mut LlmCache]) -> Result<Tensor> {
        let b = tokens.len();
        if b == 0 || b != caches.len() {
            candle_core::bail!("{b} tokens for {} sequences", caches.len());
        }
        for c in caches.iter_mut() {
            self.check_room(c, 1)?;
        }
        let xs = self.layers(self.embed(tokens, (b, 1))?, caches, true)?;
        for c in caches.iter_mut() {
            c.pos += 1;
        }
        let xs = self.norm.forward(&xs)?;
        self.output.forward(&xs, true)?.squeeze(1)?.to_dtype(DType::F32)
    }

    /// Bytes of K/V cache one position of one sequence takes.
    pub fn cache_bytes_per_position(&self) -> usize {
        2 * self.cfg.layers * self.cfg.kv_heads * self.cfg.head_dim * std::mem::size_of::<f32>()
    }

    /// Allocate `cache`'s K/V for `positions` in all, now and exactly.
    pub fn reserve(&self, cache: &mut LlmCache, positions: usize) -> Result<()> {
        if cache.layers.len() != self.layers.len() {
            *cache = self.new_cache();
        }
        let shape = (1, self.cfg.kv_heads, self.cfg.head_dim);
        let positions = positions.min(self.cfg.context);
        for kv in cache.layers.iter_mut() {
            kv.reserve(shape, positions, self.cos.device())?;
        }
        Ok(())
    }
}

impl CausalLm for Llm {
    type Cache = LlmCache;

    fn new_cache(&self) -> LlmCache {
        Llm::new_cache(self)
    }

    fn reset_cache(&self, cache: &mut LlmCache) {
        Llm::reset_cache(self, cache);
    }

    fn context_len(&self) -> usize {
        self.cfg.context
    }

    fn decode_step(&self, cache: &mut LlmCache, tokens: &[u32]) -> Result<Tensor> {
        self.forward(tokens, cache, false)
    }

    fn decode_batch(&self, caches: &mut [&mut LlmCache], tokens: &[u32]) -> Result<Tensor> {
        self.forward_batch(tokens, caches)
    }

    fn reserve(&self, cache: &mut LlmCache, positions: usize) -> Result<()> {
        Llm::reserve(self, cache, positions)
    }

    fn cache_bytes_per_position(&self) -> usize {
        Llm::cache_bytes_per_position(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::GgmlDType;

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    }

    /// A decode row's product has the same bits alone, among a few rows and among more than
    /// [`DECODE_ROWS`] (where candle would change kernels), for every block type candle has
    /// more than one kernel for.
    /// Q8_0 rows padded to whole superblocks give the product of the unpadded matrix.
    #[test]
    fn padded_q8_0_rows_give_the_same_product() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (48, 896), &dev).unwrap();
        let q = Arc::new(QTensor::quantize(&w, GgmlDType::Q8_0).unwrap());
        let padded = pad_q8_0(&q, 1024).unwrap();
        let a = q.dequantize(&dev).unwrap();
        let b = padded.dequantize(&dev).unwrap();
        assert_eq!(b.dims(), &[48, 1024]);
        assert!(bits(&a) == bits(&b.narrow(1, 0, 896).unwrap()));
        assert!(
            b.narrow(1, 896, 128)
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                == 0.0
        );
        let lin = Linear::new(q).unwrap();
        let xs = Tensor::randn(0f32, 1.0, (3, 1, 896), &dev).unwrap();
        let got = lin.forward(&xs, true).unwrap();
        let want = xs
            .matmul(
                &a.t()
                    .unwrap()
                    .unsqueeze(0)
                    .unwrap()
                    .broadcast_as((3, 896, 48))
                    .unwrap()
                    .contiguous()
                    .unwrap(),
            )
            .unwrap();
        let scale = want.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        let diff = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // The activations are quantised to 8 bits: within 2% of the largest output.
        assert!(
            diff < 0.02 * scale,
            "max |Δ| {diff} against the dense product (largest {scale})"
        );
    }

    #[test]
    fn a_rows_product_does_not_depend_on_the_other_rows() {
        let dev = Device::Cpu;
        for (dtype, k) in [
            (GgmlDType::Q4K, 512),
            (GgmlDType::Q6K, 512),
            (GgmlDType::Q8_0, 512),
            (GgmlDType::Q8_0, 896),
            (GgmlDType::F32, 512),
        ] {
            let w = Tensor::randn(0f32, 1.0, (64, k), &dev).unwrap();
            let lin = Linear::new(Arc::new(QTensor::quantize(&w, dtype).unwrap())).unwrap();
            let xs = Tensor::randn(0f32, 1.0, (40, 1, k), &dev).unwrap();
            let all = lin.forward(&xs, true).unwrap();
            assert_eq!(all.dims(), &[40, 1, 64]);
            for b in [1, 2, 5, 33] {
                let part = lin.forward(&xs.narrow(0, 0, b).unwrap(), true).unwrap();
                assert!(
                    bits(&part) == bits(&all.narrow(0, 0, b).unwrap()),
                    "{dtype:?}: the first {b} rows differ from the same rows among 40"
                );
            }
        }
    }
}
