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
use candle_core::{DType, Device, Module, Result, Tensor};
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

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: RmsNorm,
    q: QMatMul,
    k: QMatMul,
    v: QMatMul,
    o: QMatMul,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    ffn_norm: RmsNorm,
    post_attn_norm: Option<RmsNorm>,
    post_ffn_norm: Option<RmsNorm>,
    local: bool,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
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
    output: QMatMul,
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
    if !matches!(t.dtype(), G::Q4_1 | G::Q5_0 | G::Q5_1) {
        return Ok(t);
    }
    let dense = t.dequantize(&Device::Cpu)?;
    Ok(Arc::new(QTensor::quantize(&dense, G::Q8_0)?))
}

fn qmatmul(vb: &VarBuilder, name: &str) -> Result<QMatMul> {
    QMatMul::from_arc(repack(vb.get_no_shape(name)?)?)
}

fn optional(vb: &VarBuilder, name: &str) -> Result<Option<Tensor>> {
    if vb.contains_key(name) {
        Ok(Some(vb.get_no_shape(name)?.dequantize(vb.device())?))
    } else {
        Ok(None)
    }
}

impl Llm {
    /// Read `path`: its metadata (returned, for the tokenizer and chat template) and weights.
    pub fn load(path: &Path) -> std::result::Result<(Llm, gguf_file::Content), ModelError> {
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
        let device = Device::Cpu;
        let vb = VarBuilder::from_gguf(path, &device).map_err(|source| ModelError::Weights {
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
            qmatmul(vb, "output.weight")?
        } else {
            QMatMul::from_arc(repack(embed_q)?)?
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
                q: qmatmul(vb, &p("attn_q.weight"))?,
                k: qmatmul(vb, &p("attn_k.weight"))?,
                v: qmatmul(vb, &p("attn_v.weight"))?,
                o: qmatmul(vb, &p("attn_output.weight"))?,
                q_bias: optional(vb, &p("attn_q.bias"))?,
                k_bias: optional(vb, &p("attn_k.bias"))?,
                v_bias: optional(vb, &p("attn_v.bias"))?,
                q_norm: maybe_norm("attn_q_norm.weight")?,
                k_norm: maybe_norm("attn_k_norm.weight")?,
                ffn_norm: norm("ffn_norm.weight")?,
                post_attn_norm: maybe_norm("post_attention_norm.weight")?,
                post_ffn_norm: maybe_norm("post_ffw_norm.weight")?,
                local: cfg.is_local(i),
                gate: qmatmul(vb, &p("ffn_gate.weight"))?,
                up: qmatmul(vb, &p("ffn_up.weight"))?,
                down: qmatmul(vb, &p("ffn_down.weight"))?,
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
    pub(crate) fn limit_context(&mut self, n: usize) {
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

    fn attention(&self, l: &Layer, xs: &Tensor, kv: &mut KvBuffer, pos: usize) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        let (h, kvh, hd) = (self.cfg.heads, self.cfg.kv_heads, self.cfg.head_dim);
        let project = |m: &QMatMul, bias: &Option<Tensor>, norm: &Option<RmsNorm>, heads: usize| -> Result<Tensor> {
            let mut y = m.forward(xs)?;
            if let Some(bias) = bias {
                y = y.broadcast_add(bias)?;
            }
            let mut y = y.reshape((b, t, heads, hd))?;
            if let Some(n) = norm {
                y = n.forward(&y)?;
            }
            y.transpose(1, 2)?.contiguous()
        };
        let q = self.rope(&project(&l.q, &l.q_bias, &l.q_norm, h)?, pos, l.local)?;
        let k = self.rope(&project(&l.k, &l.k_bias, &l.k_norm, kvh)?, pos, l.local)?;
        let v = project(&l.v, &l.v_bias, &None, kvh)?;
        let (k, v) = kv.append(&k, &v)?;
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
            let mask = Tensor::from_vec(mask, (group * t, seen), xs.device())?;
            scores.broadcast_add(&mask)?
        } else {
            scores
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v.contiguous()?)?; // [b, kvh, group * t, hd]
        let out = out.reshape((b, h, t, hd))?.transpose(1, 2)?.reshape((b, t, h * hd))?;
        l.o.forward(&out)
    }

    /// Run `tokens` after what `cache` holds; returns the logits `[n, V]` of every new position
    /// (`all`) or of the last one (`[1, V]`).
    pub fn forward(&self, tokens: &[u32], cache: &mut LlmCache, all: bool) -> Result<Tensor> {
        let t = tokens.len();
        if t == 0 {
            candle_core::bail!("no tokens to run");
        }
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
        let ids = Tensor::new(tokens, &Device::Cpu)?;
        let mut xs = self.embed.embedding(&ids)?.unsqueeze(0)?;
        if self.cfg.scale_embeddings {
            xs = (xs * (self.cfg.hidden as f64).sqrt())?;
        }
        let post = |norm: &Option<RmsNorm>, ys: Tensor| match norm {
            Some(n) => n.forward(&ys),
            None => Ok(ys),
        };
        for (l, kv) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let attn = self.attention(l, &l.attn_norm.forward(&xs)?, kv, cache.pos)?;
            xs = (xs + post(&l.post_attn_norm, attn)?)?;
            let h = l.ffn_norm.forward(&xs)?;
            let gate = l.gate.forward(&h)?;
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
            let ffn = l.down.forward(&(gate * l.up.forward(&h)?)?)?;
            xs = (xs + post(&l.post_ffn_norm, ffn)?)?;
        }
        cache.pos += t;
        let xs = if all { xs } else { xs.narrow(1, t - 1, 1)? };
        let xs = self.norm.forward(&xs)?;
        self.output.forward(&xs)?.squeeze(0)?.to_dtype(DType::F32)
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
}
