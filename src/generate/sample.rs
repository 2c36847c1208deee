//! Decoding for decoder-only (GGUF instruct) models: the prompt is run in blocks, then one
//! token at a time until an end-of-generation token or `max_new_tokens`. The model is any
//! [`CausalLm`] (the GGUF `Llm` implements it), so this module names no model family.
//!
//! Greedy by default, so that the same input gives the same output; temperature, top-k and
//! top-p sampling with a fixed seed through candle-transformers' `LogitsProcessor`; the
//! repetition penalty as llama.cpp and transformers apply it (divide positive logits, multiply
//! negative ones, over the last `repeat_last_n` tokens) through candle-transformers'
//! `apply_repeat_penalty`. One sequence per call: callers run several sequences at once on
//! rayon, each with its own cache over the same shared weights.

use candle_core::{Result, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::decoder::CausalLm;

/// How tokens are chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// 1.0 = off.
    pub top_p: f64,
    /// 0 = off.
    pub top_k: usize,
    pub seed: u64,
    /// 1.0 = off.
    pub repetition_penalty: f32,
    pub repeat_last_n: usize,
    /// Prompt tokens run per forward pass.
    pub prompt_block: usize,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 299_792_458,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            prompt_block: 512,
        }
    }
}

impl SamplingConfig {
    fn sampling(&self) -> Sampling {
        let t = self.temperature;
        match (t > 0.0, self.top_k > 0, self.top_p < 1.0) {
            (false, _, _) => Sampling::ArgMax,
            (true, false, false) => Sampling::All { temperature: t },
            (true, true, false) => Sampling::TopK {
                k: self.top_k,
                temperature: t,
            },
            (true, false, true) => Sampling::TopP {
                p: self.top_p,
                temperature: t,
            },
            (true, true, true) => Sampling::TopKThenTopP {
                k: self.top_k,
                p: self.top_p,
                temperature: t,
            },
        }
    }
}

/// What one generation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// New tokens, without the stop token.
    pub tokens: Vec<u32>,
    /// Whether a stop token ended it (else `max_new_tokens` or the context did).
    pub stopped: bool,
}

/// Generate after `prompt`, stopping at any of `stop`.
pub fn complete<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    stop: &[u32],
    cfg: &SamplingConfig,
) -> Result<Generated> {
    let mut cache = model.new_cache();
    complete_with(model, &mut cache, prompt, stop, cfg)
}

/// [`complete`] with a caller's cache (reset first), so a worker can reuse its buffers.
pub fn complete_with<M: CausalLm + ?Sized>(
    model: &M,
    cache: &mut M::Cache,
    prompt: &[u32],
    stop: &[u32],
    cfg: &SamplingConfig,
) -> Result<Generated> {
    model.reset_cache(cache);
    if prompt.is_empty() {
        candle_core::bail!("empty prompt");
    }
    let context = model.context_len();
    if prompt.len() >= context {
        candle_core::bail!("the prompt has {} tokens, the context {}", prompt.len(), context);
    }
    let mut logits: Option<Tensor> = None;
    for block in prompt.chunks(cfg.prompt_block.max(1)) {
        logits = Some(model.decode_step(cache, block)?);
    }
    let mut logits = logits.expect("a non-empty prompt").squeeze(0)?;
    let mut sampler = LogitsProcessor::from_sampling(cfg.seed, cfg.sampling());
    let mut history: Vec<u32> = prompt.to_vec();
    let mut tokens = Vec::new();
    let budget = cfg.max_new_tokens.min(context - prompt.len());
    for _ in 0..budget {
        if cfg.repetition_penalty != 1.0 {
            let start = history.len().saturating_sub(cfg.repeat_last_n);
            logits =
                candle_transformers::utils::apply_repeat_penalty(&logits, cfg.repetition_penalty, &history[start..])?;
        }
        let next = sampler.sample(&logits)?;
        if stop.contains(&next) {
            return Ok(Generated { tokens, stopped: true });
        }
        tokens.push(next);
        history.push(next);
        if tokens.len() == budget {
            break;
        }
        logits = model.decode_step(cache, &[next])?.squeeze(0)?;
    }
    Ok(Generated { tokens, stopped: false })
}
