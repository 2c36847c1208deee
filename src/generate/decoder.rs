//! The decoder interfaces generation runs over: [`Seq2Seq`] for encoder-decoder models (greedy
//! and beam search, [`super::search`]) and [`CausalLm`] for decoder-only ones (sampling,
//! [`super::sample`]).
//!
//! They live in `generate`, not beside the models, so that the dependency runs one way: the
//! model families (the `models` module) implement these traits and read generation's settings,
//! while generation knows no family. Each trait asks exactly what its search calls, in the one
//! method vocabulary of the families: `encode`, `new_cache`, `decode_step`, `reset_cache`.

use candle_core::{Device, Result, Tensor};

use super::cache::DecoderCache;

/// An encoder-decoder model; weights immutable and shared, state in the [`DecoderCache`].
pub trait Seq2Seq: Send + Sync {
    /// `ids`, `mask`: `[B, S]` u32 (mask 1 = token, 0 = padding) → `[B, S, D]`.
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor>;
    /// A fresh decoder state for an encoded batch: cross-attention K/V computed here, once.
    fn new_cache(&self, encoded: &Tensor, mask: &Tensor) -> Result<DecoderCache>;
    /// `tokens`: `[N, t]` u32 fed after what the cache holds → logits of the last position,
    /// `[N, V]` f32.
    fn decode_step(&self, cache: &mut DecoderCache, tokens: &Tensor) -> Result<Tensor>;
    fn device(&self) -> &Device;
}

/// A decoder-only model; weights immutable and shared, each sequence's state in its own
/// [`CausalLm::Cache`], one sequence or several at a time ([`CausalLm::decode_batch`]).
pub trait CausalLm {
    type Cache;
    fn new_cache(&self) -> Self::Cache;
    /// Forget everything `cache` holds.
    fn reset_cache(&self, cache: &mut Self::Cache);
    /// Positions the model attends over: a prompt and its continuation must fit in them.
    fn context_len(&self) -> usize;
    /// Feed `tokens` after what `cache` holds → logits of the last position, `[1, V]` f32.
    fn decode_step(&self, cache: &mut Self::Cache, tokens: &[u32]) -> Result<Tensor>;
    /// One step of several sequences: `tokens[i]` after what `caches[i]` holds → logits
    /// `[n, V]` f32, row `i` exactly what `decode_step` gives sequence `i` alone. By default
    /// one `decode_step` per sequence; a model that can share one pass over its weights
    /// between the sequences overrides it.
    fn decode_batch(&self, caches: &mut [&mut Self::Cache], tokens: &[u32]) -> Result<Tensor> {
        let rows = caches
            .iter_mut()
            .zip(tokens)
            .map(|(c, &t)| self.decode_step(c, &[t]))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&rows, 0)
    }
    /// Allocate room for `positions` in `cache` now (by default nothing: it grows as needed).
    fn reserve(&self, _cache: &mut Self::Cache, _positions: usize) -> Result<()> {
        Ok(())
    }
    /// Bytes one position of one sequence takes in its cache (0: unknown).
    fn cache_bytes_per_position(&self) -> usize {
        0
    }
}
