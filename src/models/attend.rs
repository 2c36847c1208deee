//! Attention for one new position per row (a decoding step), computed in place over the
//! keys and values where they lie: the decoder cache's own buffers for self-attention, the
//! cross-attention K/V tensors for the encoder.
//!
//! Why not candle's ops, as in the encoder: at a decoding step each (row, head) is a
//! 1 × Dh by Dh × L product, and candle ran them as hundreds of tiny batched gemm calls plus
//! a softmax and a copy to split the heads, around 10% of a beam-search step; and its cache
//! had to be copied (`index_select` of the whole buffer) whenever beam search reordered the
//! beams, another 10% (t5-small, beam 4, batch 32). Here the cache's rows are read through
//! strides, so the cache reorders only what it holds (see `generate::cache`), and each
//! (row, head) is one pass of dot products, softmax and weighted sum.
//!
//! Each (row, head) is computed alone, the same way whatever else is in the batch, so a row's
//! result does not depend on the rows it shares a batch with. The dot products use AVX-512 or
//! AVX2 where the CPU has them (detected at run time, as `matmul` does).

use rayon::prelude::*;

pub(crate) use crate::generate::cache::KvView;

use super::matmul::{Isa, isa};
use crate::generate::logits::exp_sum;
#[cfg(target_arch = "x86_64")]
use crate::generate::logits::exp_sum512;

/// An additive mask over `[rows, heads, 1, len]`, broadcast where `rows` or `heads` is 1
/// (a padding mask `[N, 1, 1, S]`, T5's position bias `[1, H, 1, L]`), or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MaskView<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub heads: usize,
}

impl MaskView<'_> {
    pub const NONE: MaskView<'static> = MaskView {
        data: &[],
        rows: 0,
        heads: 0,
    };

    #[inline(always)]
    fn at(&self, n: usize, h: usize, len: usize) -> Option<&[f32]> {
        if self.data.is_empty() {
            return None;
        }
        let n = if self.rows == 1 { 0 } else { n };
        let h = if self.heads == 1 { 0 } else { h };
        let start = (n * self.heads + h) * len;
        Some(&self.data[start..start + len])
    }
}

/// The shape of one step's attention.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub rows: usize,
    pub heads: usize,
    pub dh: usize,
    /// Positions attended over.
    pub len: usize,
}

/// Softmax(q·Kᵀ + mask)·V for every row and head. `q` is `[rows, heads·dh]` (already scaled
/// where the family scales it); the result has the same layout. With `sources`, row `n` reads
/// row `sources[n]` of `k`, `v` and `mask` (the beams of one input share its cross-attention
/// K/V); without, row `n`.
pub(crate) fn attend(q: &[f32], k: KvView, v: KvView, mask: MaskView, s: Shape, sources: Option<&[u32]>) -> Vec<f32> {
    assert_eq!(q.len(), s.rows * s.heads * s.dh, "q is rows × heads·dh");
    if let Some(src) = sources {
        assert_eq!(src.len(), s.rows, "one source per row");
    }
    let kv_rows = sources.map_or(s.rows, |src| src.iter().max().map_or(0, |&m| m as usize + 1));
    if s.len > 0 && kv_rows * s.heads > 0 {
        let end = |kv: &KvView| (kv_rows - 1) * kv.row + (s.heads - 1) * kv.head + s.len * s.dh;
        assert!(
            k.data.len() >= end(&k) && v.data.len() >= end(&v),
            "K/V hold every position"
        );
    }
    if !mask.data.is_empty() {
        assert!(
            mask.data.len() >= mask.rows.max(1) * mask.heads.max(1) * s.len,
            "the mask covers every position"
        );
        assert!(mask.rows == 1 || mask.rows >= kv_rows, "mask rows broadcast");
        assert!(mask.heads == 1 || mask.heads == s.heads, "mask heads broadcast");
    }
    let mut out = vec![0f32; q.len()];
    let isa = isa();
    let work = |(i, out): (usize, &mut [f32])| {
        let (n, h) = (i / s.heads, i % s.heads);
        let q = &q[i * s.dh..(i + 1) * s.dh];
        let n = sources.map_or(n, |src| src[n] as usize);
        let k = &k.data[n * k.row + h * k.head..];
        let v = &v.data[n * v.row + h * v.head..];
        let m = mask.at(n, h, s.len);
        // SAFETY: the instruction set was detected on this CPU.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            match isa {
                Isa::Avx512 | Isa::Avx512Vnni => one_avx512(q, k, v, m, s.len, out),
                Isa::Avx2 => one_avx2(q, k, v, m, s.len, out),
                Isa::Scalar => one(q, k, v, m, s.len, out, dot, exp_sum),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = isa;
            one(q, k, v, m, s.len, out, dot, exp_sum)
        }
    };
    let pairs = s.rows * s.heads;
    if pairs * s.len * s.dh < 1 << 14 {
        out.chunks_mut(s.dh.max(1)).enumerate().for_each(work);
    } else {
        out.par_chunks_mut(s.dh.max(1))
            .enumerate()
            .with_min_len(4)
            .for_each(work);
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn one_avx512(q: &[f32], k: &[f32], v: &[f32], m: Option<&[f32]>, len: usize, out: &mut [f32]) {
    one(
        q,
        k,
        v,
        m,
        len,
        out,
        |a, b| unsafe { dot512(a, b) },
        |s, max| unsafe { exp_sum512(s, max) },
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn one_avx2(q: &[f32], k: &[f32], v: &[f32], m: Option<&[f32]>, len: usize, out: &mut [f32]) {
    one(q, k, v, m, len, out, |a, b| unsafe { dot256(a, b) }, exp_sum)
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dot512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    unsafe {
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc);
            i += 16;
        }
        if i < n {
            let m: __mmask16 = ((1u32 << (n - i)) - 1) as u16;
            acc = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, pa.add(i)),
                _mm512_maskz_loadu_ps(m, pb.add(i)),
                acc,
            );
        }
        _mm512_reduce_add_ps(acc)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot256(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    unsafe {
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= n {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc);
            i += 8;
        }
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        let mut sum = _mm_cvtss_f32(s);
        while i < n {
            sum += a[i] * b[i];
            i += 1;
        }
        sum
    }
}

/// `Σ a·b`, plainly.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One (row, head): scores over `len` positions, softmax as candle computes it (max
/// subtracted, exponentials over their sum), then the weighted sum of the values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn one(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    m: Option<&[f32]>,
    len: usize,
    out: &mut [f32],
    dot: impl Fn(&[f32], &[f32]) -> f32,
    exp_sum: impl Fn(&mut [f32], f32) -> f32,
) {
    let dh = q.len();
    let mut scores = vec![0f32; len];
    for (j, s) in scores.iter_mut().enumerate() {
        *s = dot(q, &k[j * dh..(j + 1) * dh]);
    }
    if let Some(m) = m {
        for (s, m) in scores.iter_mut().zip(m) {
            *s += m;
        }
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum = exp_sum(&mut scores, max);
    out.fill(0.0);
    for (j, s) in scores.iter().enumerate() {
        let p = s / sum;
        for (o, x) in out.iter_mut().zip(&v[j * dh..(j + 1) * dh]) {
            *o += p * x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// The step equals candle's softmax(q·Kᵀ + mask)·V on strided K/V (a cache with spare
    /// capacity) and with each kind of mask broadcast.
    #[test]
    fn one_step_equals_candles_attention() {
        let dev = Device::Cpu;
        let (n, h, dh, len, cap) = (3, 4, 20, 7, 9);
        let q = Tensor::randn(0f32, 1.0, (n, h, 1, dh), &dev).unwrap();
        let kbuf = Tensor::randn(0f32, 1.0, (n, h, cap, dh), &dev).unwrap();
        let vbuf = Tensor::randn(0f32, 1.0, (n, h, cap, dh), &dev).unwrap();
        let (k, v) = (kbuf.narrow(2, 0, len).unwrap(), vbuf.narrow(2, 0, len).unwrap());
        let masks = [
            None,
            Some(Tensor::randn(0f32, 1.0, (n, 1, 1, len), &dev).unwrap()),
            Some(Tensor::randn(0f32, 1.0, (1, h, 1, len), &dev).unwrap()),
        ];
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (kd, vd) = (flat(&kbuf), flat(&vbuf));
        for mask in masks {
            let scores = q.matmul(&k.t().unwrap()).unwrap();
            let scores = match &mask {
                Some(m) => scores.broadcast_add(m).unwrap(),
                None => scores,
            };
            let want = candle_nn::ops::softmax_last_dim(&scores).unwrap().matmul(&v).unwrap();
            let md = mask.as_ref().map(flat).unwrap_or_default();
            let mv = match &mask {
                Some(m) => MaskView {
                    data: &md,
                    rows: m.dim(0).unwrap(),
                    heads: m.dim(1).unwrap(),
                },
                None => MaskView::NONE,
            };
            let view = |d| KvView {
                data: d,
                row: h * cap * dh,
                head: cap * dh,
            };
            let got = attend(
                &flat(&q),
                view(&kd),
                view(&vd),
                mv,
                Shape {
                    rows: n,
                    heads: h,
                    dh,
                    len,
                },
                None,
            );
            for (g, w) in got.iter().zip(flat(&want)) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
            // Rows mapped to their sources: row r of the result is row sources[r] of the
            // unmapped one (queries taken from that row too).
            let sources = [2u32, 0, 0, 1, 2];
            let qd = flat(&q);
            let mapped_q: Vec<f32> = sources
                .iter()
                .flat_map(|&r| qd[r as usize * h * dh..(r as usize + 1) * h * dh].to_vec())
                .collect();
            let shape = Shape {
                rows: sources.len(),
                heads: h,
                dh,
                len,
            };
            let mapped = attend(&mapped_q, view(&kd), view(&vd), mv, shape, Some(&sources));
            for (r, &src) in sources.iter().enumerate() {
                assert_eq!(
                    mapped[r * h * dh..(r + 1) * h * dh],
                    got[src as usize * h * dh..(src as usize + 1) * h * dh]
                );
            }
        }
    }
}
