//! Per-batch decoder state: self-attention K/V that grow in place, cross-attention K/V
//! computed once, and the encoder padding mask.
//!
//! The model weights are immutable and shared by every worker; everything that changes while
//! a batch is decoded lives here, one cache per batch. Self-attention K/V are written into a
//! preallocated buffer with `slice_set` (the buffer doubles when full), so a step appends one
//! position instead of re-copying the whole history as concatenation would. Rows can be
//! reordered or dropped with [`DecoderCache::select_rows`]: beam search reorders beams, and
//! rows that finished leave the batch so later steps cost less.
//!
//! It sits in `generate` because the searches drive it; the model families build it
//! ([`DecoderCache::new`]) and append to it, and the decoder-only models reuse [`KvBuffer`].

use candle_core::{Result, Tensor};

/// Growable `[N, H, cap, Dh]` key and value buffers: candle tensors, or (for float32 steps of
/// one position on the CPU, see `models::attend`) plain vectors the attention reads in place.
#[derive(Debug, Clone, Default)]
pub struct KvBuffer {
    k: Option<Tensor>,
    v: Option<Tensor>,
    len: usize,
    host: Option<HostKv>,
}

/// Keys or values of every row and head, where they lie: position `j` of head `h` of row `n`
/// is the `dh` values at `n·row + h·head + j·dh` (the cache's buffers, or a contiguous
/// `[N, H, S, Dh]` tensor's values).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KvView<'a> {
    pub data: &'a [f32],
    pub row: usize,
    pub head: usize,
}

/// `[N, H, cap, Dh]` keys and values in vectors of their own, with a spare pair: reordering
/// rows (beam search, at every step) copies each kept row's filled positions into the spare
/// pair and swaps, so it moves `len` positions rather than the whole capacity, and allocates
/// nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostKv {
    rows: usize,
    heads: usize,
    dh: usize,
    cap: usize,
    len: usize,
    k: Vec<f32>,
    v: Vec<f32>,
    spare_k: Vec<f32>,
    spare_v: Vec<f32>,
}

impl HostKv {
    /// Keys as `models::attend` reads them.
    pub(crate) fn keys(&self) -> KvView<'_> {
        self.view(&self.k)
    }

    pub(crate) fn values(&self) -> KvView<'_> {
        self.view(&self.v)
    }

    fn view<'a>(&self, data: &'a [f32]) -> KvView<'a> {
        KvView {
            data,
            row: self.heads * self.cap * self.dh,
            head: self.cap * self.dh,
        }
    }

    /// Append one position to every row: `k` and `v` are `[rows][heads][dh]`.
    pub(crate) fn append(&mut self, k: &[f32], v: &[f32], rows: usize, heads: usize, dh: usize) -> Result<()> {
        if self.len == 0 && self.cap == 0 {
            (self.heads, self.dh) = (heads, dh);
            if self.rows == 0 {
                self.rows = rows;
            }
        }
        if (rows, heads, dh) != (self.rows, self.heads, self.dh) || k.len() != rows * heads * dh || v.len() != k.len() {
            candle_core::bail!(
                "cache holds {} rows × {} heads × {}, got {rows} × {heads} × {dh} ({} values)",
                self.rows,
                self.heads,
                self.dh,
                k.len()
            );
        }
        if self.len == self.cap {
            let cap = (self.cap * 2).max(16);
            let grow = |old: &[f32]| {
                let mut new = vec![0f32; rows * heads * cap * dh];
                for (i, dst) in new.chunks_mut(cap * dh).enumerate() {
                    let src = &old[i * self.cap * dh..][..self.len * dh];
                    dst[..src.len()].copy_from_slice(src);
                }
                new
            };
            (self.k, self.v) = (grow(&self.k), grow(&self.v));
            self.cap = cap;
        }
        for (i, (kx, vx)) in k.chunks(dh).zip(v.chunks(dh)).enumerate() {
            let at = (i * self.cap + self.len) * dh;
            self.k[at..at + dh].copy_from_slice(kx);
            self.v[at..at + dh].copy_from_slice(vx);
        }
        self.len += 1;
        Ok(())
    }

    fn select_rows(&mut self, rows: &[u32]) {
        let block = self.heads * self.cap * self.dh;
        let filled = self.len * self.dh;
        if block > 0 {
            use rayon::prelude::*;
            for (buf, spare) in [(&self.k, &mut self.spare_k), (&self.v, &mut self.spare_v)] {
                spare.resize(rows.len() * block, 0.0);
                spare.par_chunks_mut(block).zip(rows).for_each(|(dst, &src)| {
                    let src = &buf[src as usize * block..][..block];
                    for (d, s) in dst.chunks_mut(self.cap * self.dh).zip(src.chunks(self.cap * self.dh)) {
                        d[..filled].copy_from_slice(&s[..filled]);
                    }
                });
            }
            std::mem::swap(&mut self.k, &mut self.spare_k);
            std::mem::swap(&mut self.v, &mut self.spare_v);
        }
        self.rows = rows.len();
    }
}

impl KvBuffer {
    pub fn len(&self) -> usize {
        self.host.as_ref().map_or(self.len, |h| h.len)
    }

    /// The host buffers, started if nothing is cached yet; `None` once tensors hold the
    /// cache (a step of several positions came first).
    pub(crate) fn host_mut(&mut self) -> Option<&mut HostKv> {
        if self.host.is_none() && self.k.is_none() {
            self.host = Some(HostKv::default());
        }
        self.host.as_mut()
    }

    /// Whether [`KvBuffer::host_mut`] would give host buffers.
    pub(crate) fn takes_host(&self) -> bool {
        self.host.is_some() || self.k.is_none()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `cap` positions of `[n, h, ·, d]` f32 keys and values, allocated now and
    /// exactly: a caller that bounds memory (the GGUF engine's `llm.kv_cache_mb`) reserves a
    /// sequence's whole length up front, so that growing never doubles past what it counted.
    pub fn reserve(
        &mut self,
        (n, h, d): (usize, usize, usize),
        cap: usize,
        device: &candle_core::Device,
    ) -> Result<()> {
        if self.host.is_some() {
            return Ok(());
        }
        let have = self.k.as_ref().map_or(0, |b| b.dim(2).unwrap_or(0));
        if cap <= have {
            return Ok(());
        }
        let grow = |old: &Option<Tensor>| -> Result<Tensor> {
            let buf = Tensor::zeros((n, h, cap, d), candle_core::DType::F32, device)?;
            if let Some(old) = old
                && self.len > 0
            {
                buf.slice_set(&old.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            Ok(buf)
        };
        self.k = Some(grow(&self.k)?);
        self.v = Some(grow(&self.v)?);
        Ok(())
    }

    /// Append `[N, H, t, Dh]` keys and values; returns views of everything cached so far.
    pub fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.host.is_some() {
            candle_core::bail!("this cache holds host buffers: steps of one position only");
        }
        let t = k.dim(2)?;
        let need = self.len + t;
        let cap = self.k.as_ref().map_or(0, |b| b.dim(2).unwrap_or(0));
        if need > cap {
            let new_cap = need.max(cap * 2).max(16);
            let grow = |old: &Option<Tensor>, like: &Tensor| -> Result<Tensor> {
                let (n, h, _, d) = like.dims4()?;
                let buf = Tensor::zeros((n, h, new_cap, d), like.dtype(), like.device())?;
                if let Some(old) = old {
                    buf.slice_set(&old.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
                Ok(buf)
            };
            self.k = Some(grow(&self.k, k)?);
            self.v = Some(grow(&self.v, v)?);
        }
        let (kb, vb) = (self.k.as_ref().expect("allocated"), self.v.as_ref().expect("allocated"));
        kb.slice_set(&k.contiguous()?, 2, self.len)?;
        vb.slice_set(&v.contiguous()?, 2, self.len)?;
        self.len = need;
        Ok((kb.narrow(2, 0, need)?, vb.narrow(2, 0, need)?))
    }

    fn select_rows(&mut self, idx: &Tensor, rows: &[u32]) -> Result<()> {
        if let Some(h) = &mut self.host {
            h.select_rows(rows);
            return Ok(());
        }
        if let Some(k) = &self.k {
            self.k = Some(k.index_select(idx, 0)?);
        }
        if let Some(v) = &self.v {
            self.v = Some(v.index_select(idx, 0)?);
        }
        Ok(())
    }
}

/// One decoder layer's cached state.
#[derive(Debug, Clone)]
pub struct LayerCache {
    pub self_kv: KvBuffer,
    /// `[S_rows, H, S, Dh]`: one row per encoder row; decoder row `r` reads row
    /// `sources()[r]`.
    pub cross_k: Tensor,
    pub cross_v: Tensor,
}

/// The state of one batch being decoded.
#[derive(Debug, Clone)]
pub struct DecoderCache {
    pub layers: Vec<LayerCache>,
    /// Additive `[S_rows, 1, 1, S]` mask over the encoder positions, one row per encoder row
    /// as the cross K/V.
    pub encoder_mask: Tensor,
    /// The encoder row each row's cross-attention K/V and mask were taken from.
    sources: Vec<u32>,
}

impl DecoderCache {
    /// The state before the first step: each decoder layer's cross-attention K/V
    /// (`[N, H, S, Dh]`, in layer order) and the additive `[N, 1, 1, S]` encoder mask.
    pub fn new(cross_kv: Vec<(Tensor, Tensor)>, encoder_mask: Tensor) -> DecoderCache {
        let layers = cross_kv
            .into_iter()
            .map(|(cross_k, cross_v)| LayerCache {
                self_kv: KvBuffer::default(),
                cross_k,
                cross_v,
            })
            .collect();
        let sources = (0..encoder_mask.dim(0).unwrap_or(0) as u32).collect();
        DecoderCache {
            layers,
            encoder_mask,
            sources,
        }
    }

    /// Rows currently in the batch.
    pub fn rows(&self) -> Result<usize> {
        Ok(self.sources.len())
    }

    /// Positions decoded so far.
    pub(crate) fn past_len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.self_kv.len())
    }

    /// Keep (and reorder, repeat) rows: row i of the new batch is old row `rows[i]`.
    pub(crate) fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        let idx = Tensor::new(rows, self.encoder_mask.device())?;
        for l in &mut self.layers {
            l.self_kv.select_rows(&idx, rows)?;
        }
        // The cross-attention K/V and the mask stay one row per encoder row: rows from the
        // same source (the beams of one input) would hold copies of the same values. Beam
        // search's first step made four copies of every row of them (t5-small, batch 32: 150
        // MB), and each step then read all of them: a tenth of a beam step went to waiting on
        // memory in the attention. The rows map to their source instead.
        self.sources = rows.iter().map(|&r| self.sources[r as usize]).collect();
        Ok(())
    }

    /// The encoder row of each decoder row: where its cross-attention K/V and mask are.
    pub(crate) fn sources(&self) -> &[u32] {
        &self.sources
    }
}
