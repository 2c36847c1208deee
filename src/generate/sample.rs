//! Decoding for decoder-only (GGUF instruct) models: the prompt is run in blocks, then one
//! token at a time until an end-of-generation token or `max_new_tokens`. The model is any
//! [`CausalLm`] (the GGUF `Llm` implements it), so this module names no model family.
//!
//! Greedy by default, so that the same input gives the same output; with `do_sample`,
//! temperature, top-k and top-p sampling with a fixed seed through candle-transformers' `LogitsProcessor`; the
//! repetition penalty as llama.cpp and transformers apply it (divide positive logits, multiply
//! negative ones, over the last `repeat_last_n` tokens) through candle-transformers'
//! `apply_repeat_penalty`. One sequence per call here; [`super::continuous`] decodes several
//! together with the same [`Sequence`] choosing each one's tokens.

use candle_core::{Result, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::decoder::CausalLm;
use crate::generate::GenerationConfig;

/// How tokens are chosen. Built from a task's generation settings by
/// [`SamplingConfig::from_settings`]; [`SamplingConfig::default`] is the GGUF default.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// Default: [`MAX_NEW_TOKENS`].
    pub max_new_tokens: usize,
    /// 0 = greedy. Default: 0.
    pub temperature: f64,
    /// 1.0 = off. Default: 1.0.
    pub top_p: f64,
    /// 0 = off. Default: 0.
    pub top_k: usize,
    /// Default: [`SEED`].
    pub seed: u64,
    /// 1.0 = off. Default: [`REPETITION_PENALTY`].
    pub repetition_penalty: f32,
    /// Default: [`REPEAT_LAST_N`].
    pub repeat_last_n: usize,
    /// Prompt tokens run per forward pass. Default: [`PROMPT_BLOCK`].
    pub prompt_block: usize,
}

/// GGUF models' `max_new_tokens` when no layer of generation settings sets it.
pub(crate) const MAX_NEW_TOKENS: usize = 384;
/// GGUF models' `repetition_penalty` when no layer of generation settings sets it.
pub(crate) const REPETITION_PENALTY: f32 = 1.1;
/// `llm.seed`'s default.
pub(crate) const SEED: u64 = 299_792_458;
/// `llm.repeat_last_n`'s default.
pub(crate) const REPEAT_LAST_N: usize = 64;
/// `llm.prompt_block`'s default.
pub(crate) const PROMPT_BLOCK: usize = 512;
/// `llm.batch`'s default.
pub(crate) const BATCH: usize = 8;
/// `llm.kv_cache_mb`'s default.
pub(crate) const KV_CACHE_MB: usize = 2048;
/// transformers' `top_k` when sampling and not set.
pub(crate) const SAMPLING_TOP_K: usize = 50;

impl Default for SamplingConfig {
    /// The GGUF default: greedy, [`MAX_NEW_TOKENS`] new tokens, [`REPETITION_PENALTY`] over the
    /// last [`REPEAT_LAST_N`] tokens.
    fn default() -> Self {
        SamplingConfig {
            max_new_tokens: MAX_NEW_TOKENS,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: SEED,
            repetition_penalty: REPETITION_PENALTY,
            repeat_last_n: REPEAT_LAST_N,
            prompt_block: PROMPT_BLOCK,
        }
    }
}

impl SamplingConfig {
    /// A GGUF model's decoding from the merged generation settings of its task (`[generate]`,
    /// then `[summarize.generate]` or `[translate.generate]`), with `llm.seed`,
    /// `llm.repeat_last_n` and `llm.prompt_block`. What is unset takes the GGUF default: greedy,
    /// [`MAX_NEW_TOKENS`] new tokens, repetition penalty [`REPETITION_PENALTY`]; with
    /// `do_sample = true`, transformers' sampling defaults (temperature 1.0, top_p 1.0,
    /// top_k [`SAMPLING_TOP_K`]). The keys only seq2seq search knows (`num_beams`,
    /// `min_new_tokens`, `no_repeat_ngram_size`, …) do not apply to GGUF models.
    pub(crate) fn from_settings(
        g: &GenerationConfig,
        seed: u64,
        repeat_last_n: usize,
        prompt_block: usize,
    ) -> SamplingConfig {
        let d = SamplingConfig::default();
        let (temperature, top_p, top_k) = if g.do_sample == Some(true) {
            (
                g.temperature.unwrap_or(1.0),
                g.top_p.unwrap_or(1.0),
                g.top_k.unwrap_or(SAMPLING_TOP_K),
            )
        } else {
            (d.temperature, d.top_p, d.top_k)
        };
        SamplingConfig {
            max_new_tokens: g.max_new_tokens.unwrap_or(d.max_new_tokens),
            temperature,
            top_p,
            top_k,
            seed,
            repetition_penalty: g.repetition_penalty.unwrap_or(d.repetition_penalty),
            repeat_last_n,
            prompt_block,
        }
    }

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
pub(crate) fn complete_with<M: CausalLm + ?Sized>(
    model: &M,
    cache: &mut M::Cache,
    prompt: &[u32],
    stop: &[u32],
    cfg: &SamplingConfig,
) -> Result<Generated> {
    model.reset_cache(cache);
    let (mut seq, mut logits) = Sequence::start(model, cache, prompt, stop, cfg)?;
    while let Some(next) = seq.step(&logits)? {
        logits = model.decode_step(cache, &[next])?.squeeze(0)?;
    }
    Ok(seq.finish())
}

/// One sequence being generated: its sampler, what it has seen and written, its budget. The
/// caller runs the model ([`complete_with`] alone, `continuous` in a batch); the choices made
/// from the logits are the same either way.
pub(crate) struct Sequence<'a> {
    stop: &'a [u32],
    cfg: &'a SamplingConfig,
    sampler: LogitsProcessor,
    history: Vec<u32>,
    tokens: Vec<u32>,
    budget: usize,
    stopped: bool,
}

impl<'a> Sequence<'a> {
    /// Positions a sequence over `prompt` may take in all: the prompt and its answer.
    pub(crate) fn length<M: CausalLm + ?Sized>(model: &M, prompt: &[u32], cfg: &SamplingConfig) -> usize {
        prompt.len() + cfg.max_new_tokens.min(model.context_len().saturating_sub(prompt.len()))
    }

    /// Run `prompt` through `model` (in blocks of `prompt_block`) into an empty `cache`;
    /// returns the sequence and the logits of the prompt's last position.
    pub(crate) fn start<M: CausalLm + ?Sized>(
        model: &M,
        cache: &mut M::Cache,
        prompt: &[u32],
        stop: &'a [u32],
        cfg: &'a SamplingConfig,
    ) -> Result<(Sequence<'a>, Tensor)> {
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
        let logits = logits.expect("a non-empty prompt").squeeze(0)?;
        let seq = Sequence {
            stop,
            cfg,
            sampler: LogitsProcessor::from_sampling(cfg.seed, cfg.sampling()),
            history: prompt.to_vec(),
            tokens: Vec::new(),
            budget: cfg.max_new_tokens.min(context - prompt.len()),
            stopped: false,
        };
        Ok((seq, logits))
    }

    /// Choose the next token from `logits` (`[V]`, of the last position fed). `Some(token)`:
    /// feed it and call again with its logits; `None`: the sequence is done.
    pub(crate) fn step(&mut self, logits: &Tensor) -> Result<Option<u32>> {
        if self.stopped || self.tokens.len() >= self.budget {
            return Ok(None);
        }
        let next = if self.cfg.repetition_penalty != 1.0 {
            let start = self.history.len().saturating_sub(self.cfg.repeat_last_n);
            let logits = candle_transformers::utils::apply_repeat_penalty(
                logits,
                self.cfg.repetition_penalty,
                &self.history[start..],
            )?;
            self.sampler.sample(&logits)?
        } else {
            self.sampler.sample(logits)?
        };
        if self.stop.contains(&next) {
            self.stopped = true;
            return Ok(None);
        }
        self.tokens.push(next);
        self.history.push(next);
        Ok((self.tokens.len() < self.budget).then_some(next))
    }

    pub(crate) fn finish(self) -> Generated {
        Generated {
            tokens: self.tokens,
            stopped: self.stopped,
        }
    }
}
