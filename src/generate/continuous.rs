//! Continuous batching for decoder-only models: many prompts (a run's summaries, the pieces of
//! its translations) answered by one model, up to `batch` sequences decoded together.
//!
//! Decoding one sequence is bound by memory bandwidth: every step reads every weight to make
//! one token. Sequences that step together share that read ([`CausalLm::decode_batch`]: one
//! product over their rows), so a step of eight costs little more than a step of one. When an
//! answer ends, the next waiting prompt is run (alone, in blocks, as it would be on its own)
//! and joins the batch, so the batch stays full until the queue runs dry; llama.cpp's server
//! and vLLM schedule the same way.
//!
//! Each sequence keeps its own cache, position, sampler and history ([`Sequence`]), so what it
//! generates does not depend on what shares its batch: the model's batched step gives each row
//! the bits a step alone gives it, and a test holds the two to the token.
//!
//! Memory: each sequence's K/V cache is allocated whole when it joins (prompt + its answer
//! budget, [`CausalLm::reserve`]), and it joins only if that fits in `cache_budget` bytes beside
//! the others'. A sequence alone always runs, whatever it needs.

use candle_core::{Error, Result};

use super::decoder::CausalLm;
use super::sample::{Generated, SamplingConfig, Sequence};

/// One prompt to answer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub prompt: &'a [u32],
    pub stop: &'a [u32],
    pub cfg: &'a SamplingConfig,
}

/// How the sequences are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most sequences decoded together (at least 1).
    pub batch: usize,
    /// Most bytes of K/V cache the sequences decoded together may take.
    pub cache_budget: usize,
}

struct Active<'a, C> {
    index: usize,
    cache: C,
    seq: Sequence<'a>,
    next: u32,
    bytes: usize,
}

/// Answer every request, `limits.batch` at a time; results in the requests' order. One
/// request's failure (a prompt longer than the context) is its own result: the others go on.
pub fn complete_all<M: CausalLm + ?Sized>(
    model: &M,
    requests: &[Request<'_>],
    limits: BatchLimits,
) -> Vec<Result<Generated>> {
    let mut results: Vec<Option<Result<Generated>>> = (0..requests.len()).map(|_| None).collect();
    let per_position = model.cache_bytes_per_position();
    let mut active: Vec<Active<'_, M::Cache>> = Vec::new();
    let mut used = 0usize;
    let mut waiting = 0usize;
    loop {
        // Fill the batch, in order, while the next prompt's cache fits.
        while waiting < requests.len() && active.len() < limits.batch.max(1) {
            let r = &requests[waiting];
            let positions = Sequence::length(model, r.prompt, r.cfg);
            let bytes = positions * per_position;
            if !active.is_empty() && used + bytes > limits.cache_budget {
                break;
            }
            let index = waiting;
            waiting += 1;
            let mut cache = model.new_cache();
            let started = model
                .reserve(&mut cache, positions)
                .and_then(|()| Sequence::start(model, &mut cache, r.prompt, r.stop, r.cfg));
            let (mut seq, logits) = match started {
                Ok(s) => s,
                Err(e) => {
                    results[index] = Some(Err(e));
                    continue;
                }
            };
            match seq.step(&logits) {
                Ok(Some(next)) => {
                    used += bytes;
                    active.push(Active {
                        index,
                        cache,
                        seq,
                        next,
                        bytes,
                    });
                }
                Ok(None) => results[index] = Some(Ok(seq.finish())),
                Err(e) => results[index] = Some(Err(e)),
            }
        }
        if active.is_empty() {
            if waiting >= requests.len() {
                break;
            }
            continue;
        }
        let tokens: Vec<u32> = active.iter().map(|a| a.next).collect();
        let mut caches: Vec<&mut M::Cache> = active.iter_mut().map(|a| &mut a.cache).collect();
        let stepped = model.decode_batch(&mut caches, &tokens).and_then(|logits| {
            let mut done = Vec::new();
            for (row, a) in active.iter_mut().enumerate() {
                match a.seq.step(&logits.get(row)?)? {
                    Some(next) => a.next = next,
                    None => done.push(row),
                }
            }
            Ok(done)
        });
        match stepped {
            Ok(done) => {
                for row in done.into_iter().rev() {
                    let a = active.remove(row);
                    used -= a.bytes;
                    results[a.index] = Some(Ok(a.seq.finish()));
                }
            }
            Err(e) => {
                // A failed step leaves every cache in it one position behind: the sequences in
                // it cannot go on, the waiting ones can.
                let message = e.to_string();
                for a in active.drain(..) {
                    results[a.index] = Some(Err(Error::Msg(format!("decoding with others: {message}"))));
                }
                used = 0;
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Msg("not run".into()))))
        .collect()
}
