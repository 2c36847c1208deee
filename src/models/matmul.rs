//! The products of the linear layers, `y = x·Wᵀ + b` with `W` as checkpoints store it
//! (`[out, in]`, each output's weights contiguous), in float32 and in int8.
//!
//! Why not candle's matmul: it runs gemm, which treats `W` as a general matrix and repacks it
//! at every call. Decoding calls every projection once per step with a few rows of `x` (the
//! batch's or the beams' new tokens), so for opus-mt the 62,518 × 512 vocabulary projection
//! was repacked at every step, a quarter of beam search's time (`perf`, in
//! `benches/peers/README.md`). Here the kernel is a dot-product tile: `MR` rows of `x` against
//! `NR` rows of `W`, both read along `in` where they are contiguous, so `W` is used as stored,
//! never copied, and streamed once per call while the few rows of `x` stay in cache. The
//! output columns are dealt to rayon's threads in blocks.
//!
//! int8 (`dtype = "int8"`): `W` is quantised at load, one scale per output row (symmetric,
//! as CTranslate2 does), `x` per row at each call; the products are exact integer dot
//! products (AVX-512 VNNI `vpdpbusd`, or AVX2 `vpmaddubsw` on signs as llama.cpp does), so
//! every instruction set gives the same result to the bit, and a float multiply by the two
//! scales gives `y`. A quarter of the memory and of the bandwidth of float32.
//!
//! The instruction set is detected once, at run time: AVX-512 (with VNNI for int8), else
//! AVX2 + FMA, else a plain loop (int8) or candle's matmul (float32). Written here because no
//! maintained crate offers a product against a fixed, unpacked `[out, in]` matrix with
//! per-row int8 scales.

use std::ops::Range;
use std::sync::OnceLock;

/// The instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512F/BW with VNNI: float32 and int8 with 512-bit vectors.
    Avx512Vnni,
    /// AVX-512F without VNNI: float32 with 512-bit vectors, int8 with AVX2.
    Avx512,
    /// AVX2 + FMA.
    Avx2,
    /// None of the above: int8 by plain loops, float32 left to candle.
    Scalar,
}

/// This CPU's best instruction set (detected once). `SVODKA_ISA=avx2|scalar` lowers it, to
/// measure or test the other paths on a machine that has more.
pub(crate) fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let best = detect();
        match std::env::var("SVODKA_ISA").as_deref() {
            Ok("scalar") => Isa::Scalar,
            Ok("avx2") if best != Isa::Scalar => Isa::Avx2,
            _ => best,
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512bw") && has!("avx2") && has!("fma") {
        if has!("avx512vnni") {
            return Isa::Avx512Vnni;
        }
        return Isa::Avx512;
    }
    if has!("avx2") && has!("fma") {
        return Isa::Avx2;
    }
    Isa::Scalar
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Isa {
    Isa::Scalar
}

/// A raw output pointer shared by the threads; each writes its own tiles only.
#[derive(Clone, Copy)]
struct Out(*mut f32);
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The pointer. A method, so that closures capture the `Out` (Send) and not its field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Below this many multiply-adds one thread does the whole product.
const PARALLEL_MIN: usize = 1 << 16;
/// Rows of `x` per task: enough to reuse each block of `W` many times, few enough to stay in
/// the level-2 cache.
const ROW_BLOCK: usize = 64;

/// Run `tile(rows, cols)` over the `m × n` output in blocks, on rayon's threads when the
/// product is large enough. Column blocks are multiples of `align`.
fn for_blocks(m: usize, n: usize, k: usize, align: usize, tile: impl Fn(Range<usize>, Range<usize>) + Sync) {
    if m * n * k < PARALLEL_MIN {
        tile(0..m, 0..n);
        return;
    }
    let threads = rayon::current_num_threads().max(1);
    let row_blocks = m.div_ceil(ROW_BLOCK);
    // About four column blocks per thread and row block, at most 1024 columns each.
    let per = n.div_ceil(4 * threads.div_ceil(row_blocks).max(1));
    let width = per.next_multiple_of(align).clamp(align, 1024);
    let col_blocks = n.div_ceil(width);
    use rayon::prelude::*;
    (0..row_blocks * col_blocks).into_par_iter().for_each(|t| {
        let (rb, cb) = (t / col_blocks, t % col_blocks);
        let rows = rb * ROW_BLOCK..((rb + 1) * ROW_BLOCK).min(m);
        let cols = cb * width..((cb + 1) * width).min(n);
        tile(rows, cols);
    });
}

/// `x·Wᵀ + b` in float32: `x` is `m × k`, `w` is `n × k`, the result `m × n`, all row-major.
/// `None` where this CPU has no kernel (the caller uses candle's matmul).
pub(crate) fn xwt_f32(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    xwt_f32_with(isa(), x, m, k, w, n, bias)
}

pub(crate) fn xwt_f32_with(
    isa: Isa,
    x: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
) -> Option<Vec<f32>> {
    assert_eq!(x.len(), m * k, "x is m × k");
    assert_eq!(w.len(), n * k, "w is n × k");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "one bias per output");
    }
    if isa == Isa::Scalar || k == 0 {
        return None;
    }
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    let ptr = Out(out.as_mut_ptr());
    for_blocks(m, n, k, 4, |rows, cols| {
        // SAFETY: the detected instruction set is available; tiles write disjoint parts of
        // `out`, which outlives the call; every index stays within the slices' lengths.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            match isa {
                Isa::Avx512Vnni | Isa::Avx512 => x86::f32_block_512(x, k, w, n, bias, rows, cols, ptr.get()),
                Isa::Avx2 => x86::f32_block_256(x, k, w, n, bias, rows, cols, ptr.get()),
                Isa::Scalar => unreachable!(),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (rows, cols, ptr);
    });
    // SAFETY: the tiles wrote every one of the m × n values.
    unsafe { out.set_len(m * n) };
    Some(out)
}

/// Columns of `W` (outputs) per panel in the packed layouts: two 512-bit vectors.
pub(crate) const PANEL: usize = 32;

/// A float32 weight matrix packed for the AVX-512 kernel: panels of [`PANEL`] rows of `W`
/// (output columns), each stored input-major (`[in][PANEL]`), the last panel padded with
/// zeros. The kernel then multiplies a broadcast value of `x` by two vectors of `W` with
/// no sum across lanes at the end, and reads each panel in order.
#[derive(Debug, Clone)]
pub(crate) struct PackedF32 {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl PackedF32 {
    /// Pack a row-major `rows × cols` matrix (`W` as stored, `[out, in]`).
    pub fn pack(w: &[f32], rows: usize, cols: usize) -> PackedF32 {
        assert_eq!(w.len(), rows * cols, "w is rows × cols");
        let panels = rows.div_ceil(PANEL);
        let mut data = vec![0f32; panels * cols * PANEL];
        use rayon::prelude::*;
        data.par_chunks_mut((cols * PANEL).max(1))
            .enumerate()
            .for_each(|(p, panel)| {
                for r in p * PANEL..((p + 1) * PANEL).min(rows) {
                    let c = r - p * PANEL;
                    for (k, v) in w[r * cols..(r + 1) * cols].iter().enumerate() {
                        panel[k * PANEL + c] = *v;
                    }
                }
            });
        PackedF32 { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` of `W` (a token table's lookup).
    pub fn row(&self, r: usize, out: &mut [f32]) {
        let panel = &self.data[(r / PANEL) * self.cols * PANEL..];
        for (k, o) in out.iter_mut().enumerate().take(self.cols) {
            *o = panel[k * PANEL + r % PANEL];
        }
    }
}

/// `x·Wᵀ + b` with `W` packed; `x` is `m × k` float32, the result `m × W.rows`. Only on
/// AVX-512 (where [`PackedF32`] is made).
pub(crate) fn xwt_packed_f32(x: &[f32], m: usize, k: usize, w: &PackedF32, bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(x.len(), m * k, "x is m × k");
    assert_eq!(w.cols, k, "x's width is W's");
    assert!(
        matches!(isa(), Isa::Avx512 | Isa::Avx512Vnni),
        "packed weights need AVX-512"
    );
    let n = w.rows;
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "one bias per output");
    }
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    let ptr = Out(out.as_mut_ptr());
    for_blocks(m, n, k, PANEL, |rows, cols| {
        // SAFETY: AVX-512 is available (asserted); tiles write disjoint parts of `out`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            x86::packed_f32_block(x, k, w, bias, rows, cols, ptr.get())
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (rows, cols, ptr);
    });
    // SAFETY: the tiles wrote every one of the m × n values.
    unsafe { out.set_len(m * n) };
    out
}

/// How a [`QuantMatrix`] lays out its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Row-major, rows padded to `stride`: the AVX2 and plain kernels.
    Rows,
    /// Panels of [`PANEL`] rows, each `[stride / 4][PANEL][4]`: four consecutive inputs of
    /// one output per 32-bit lane, as VNNI's `vpdpbusd` takes them.
    Panels,
}

/// A weight matrix quantised to int8, one scale per row: `W[r][c] ≈ q[r][c] · scale[r]`.
/// Rows are padded with zeros to a multiple of 64 inputs, the kernels' step; the layout is
/// the one this CPU's kernel reads.
#[derive(Debug, Clone)]
pub(crate) struct QuantMatrix {
    rows: usize,
    cols: usize,
    /// Inputs per row as stored: `cols` rounded up to 64.
    stride: usize,
    layout: Layout,
    q: Vec<i8>,
    /// Per row, padded with zeros to whole panels.
    scale: Vec<f32>,
    /// 128 × the sum of each row's `q`: VNNI multiplies unsigned activations, shifted by 128.
    shift: Vec<i32>,
}

/// Quantise `xs` into `q` (`xs.len()` values, the rest left as they are) and return the scale.
fn quantize_row(xs: &[f32], q: &mut [i8]) -> f32 {
    // Lane-wise maxima (the compiler vectorises them), then the largest: max is exact, so
    // the order does not matter.
    let mut lanes = [0f32; 16];
    let chunks = xs.chunks_exact(16);
    for (l, x) in chunks.remainder().iter().enumerate() {
        lanes[l] = x.abs();
    }
    for c in chunks {
        for l in 0..16 {
            lanes[l] = lanes[l].max(c[l].abs());
        }
    }
    let amax = lanes.iter().fold(0f32, |a, &x| a.max(x));
    if amax == 0.0 || !amax.is_finite() {
        q[..xs.len()].fill(0);
        return if amax.is_finite() { 0.0 } else { f32::NAN };
    }
    let inv = 127.0 / amax;
    // Round to nearest (ties to even) by adding and taking away 1.5 · 2²³, which leaves no
    // fraction bits for values this small: the compiler vectorises it, where `round` was a
    // call per value (5% of an int8 beam-search profile).
    const ROUND: f32 = 12_582_912.0;
    for (q, x) in q.iter_mut().zip(xs) {
        *q = ((x * inv + ROUND) - ROUND).clamp(-127.0, 127.0) as i32 as i8;
    }
    amax / 127.0
}

impl QuantMatrix {
    /// Quantise a row-major `rows × cols` float matrix, laid out for this CPU's kernel.
    pub fn quantize(w: &[f32], rows: usize, cols: usize) -> QuantMatrix {
        QuantMatrix::quantize_for(isa(), w, rows, cols)
    }

    fn quantize_for(isa: Isa, w: &[f32], rows: usize, cols: usize) -> QuantMatrix {
        assert_eq!(w.len(), rows * cols, "w is rows × cols");
        let stride = cols.next_multiple_of(64).max(64);
        let padded = rows.next_multiple_of(PANEL);
        let mut q = vec![0i8; padded * stride];
        let mut scale = vec![0f32; padded];
        let mut shift = vec![0i32; padded];
        use rayon::prelude::*;
        q.par_chunks_mut(stride)
            .zip(scale.par_iter_mut().zip(shift.par_iter_mut()))
            .zip(w.par_chunks(cols.max(1)))
            .for_each(|((q, (s, sh)), w)| {
                *s = quantize_row(w, q);
                *sh = 128 * q.iter().map(|&v| i32::from(v)).sum::<i32>();
            });
        let layout = if isa == Isa::Avx512Vnni {
            Layout::Panels
        } else {
            Layout::Rows
        };
        if layout == Layout::Panels {
            let groups = stride / 4;
            let mut panels = vec![0i8; q.len()];
            panels
                .par_chunks_mut(PANEL * stride)
                .enumerate()
                .for_each(|(p, panel)| {
                    for c in 0..PANEL {
                        let row = &q[(p * PANEL + c) * stride..(p * PANEL + c + 1) * stride];
                        for g in 0..groups {
                            panel[(g * PANEL + c) * 4..(g * PANEL + c) * 4 + 4].copy_from_slice(&row[4 * g..4 * g + 4]);
                        }
                    }
                });
            q = panels;
        }
        QuantMatrix {
            rows,
            cols,
            stride,
            layout,
            q,
            scale,
            shift,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` back in float32 (a token table's lookup).
    pub fn row_f32(&self, r: usize, out: &mut [f32]) {
        let s = self.scale[r];
        match self.layout {
            Layout::Rows => {
                let q = &self.q[r * self.stride..r * self.stride + self.cols];
                for (o, &v) in out.iter_mut().zip(q) {
                    *o = f32::from(v) * s;
                }
            }
            Layout::Panels => {
                let panel = &self.q[(r / PANEL) * PANEL * self.stride..];
                let c = r % PANEL;
                for (k, o) in out.iter_mut().enumerate().take(self.cols) {
                    *o = f32::from(panel[((k / 4) * PANEL + c) * 4 + k % 4]) * s;
                }
            }
        }
    }
}

/// `x` quantised per row for the int8 kernels: int8 values (shifted by 128 to unsigned for
/// VNNI), padded like the weights, and one scale per row.
struct QuantRows {
    q: Vec<i8>,
    scale: Vec<f32>,
}

fn quantize_rows(isa: Isa, x: &[f32], m: usize, k: usize, stride: usize, shifted: bool) -> QuantRows {
    let mut q = vec![0i8; m * stride];
    let mut scale = vec![0f32; m];
    let one = |((q, s), x): ((&mut [i8], &mut f32), &[f32])| {
        // SAFETY: the instruction set was detected on this CPU.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            match isa {
                Isa::Avx512 | Isa::Avx512Vnni => quantize_x_avx512(x, q, s, shifted),
                Isa::Avx2 => quantize_x_avx2(x, q, s, shifted),
                Isa::Scalar => quantize_x(x, q, s, shifted),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        quantize_x(x, q, s, shifted)
    };
    if m * k < 1 << 16 {
        q.chunks_mut(stride)
            .zip(scale.iter_mut())
            .zip(x.chunks(k.max(1)))
            .for_each(one);
    } else {
        use rayon::prelude::*;
        q.par_chunks_mut(stride)
            .zip(scale.par_iter_mut())
            .zip(x.par_chunks(k.max(1)))
            .for_each(one);
    }
    QuantRows { q, scale }
}

/// One row of activations: quantised, and shifted by 128 for VNNI.
#[inline(always)]
fn quantize_x(x: &[f32], q: &mut [i8], s: &mut f32, shifted: bool) {
    *s = quantize_row(x, q);
    if shifted {
        // q + 128 as an unsigned byte: flip the sign bit. Padding becomes 128; it meets the
        // weights' zero padding, so it adds nothing.
        q.iter_mut().for_each(|v| *v = (*v as u8 ^ 0x80) as i8);
    }
}

/// [`quantize_x`] in AVX-512: the same arithmetic (the largest |x|, one multiply, rounding to
/// nearest even, the same clamp), so the same bytes, without a loop the compiler would not
/// vectorise (the float → int8 conversion).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_x_avx512(x: &[f32], q: &mut [i8], s: &mut f32, shifted: bool) {
    use std::arch::x86_64::*;
    let n = x.len();
    let tail = |i: usize| -> __mmask16 {
        if n - i >= 16 {
            0xffff
        } else {
            ((1u32 << (n - i)) - 1) as u16
        }
    };
    unsafe {
        let mut m = _mm512_setzero_ps();
        let mut i = 0;
        while i < n {
            m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail(i), x.as_ptr().add(i))));
            i += 16;
        }
        let amax = _mm512_reduce_max_ps(m);
        if amax == 0.0 || !amax.is_finite() {
            return quantize_x(x, q, s, shifted);
        }
        let inv = _mm512_set1_ps(127.0 / amax);
        let (lo, hi) = (_mm512_set1_epi32(-127), _mm512_set1_epi32(127));
        let flip = _mm512_set1_epi32(if shifted { 0x80 } else { 0 });
        let mut i = 0;
        while i < n {
            let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail(i), x.as_ptr().add(i)), inv);
            let r = _mm512_max_epi32(lo, _mm512_min_epi32(hi, _mm512_cvtps_epi32(v)));
            // The byte of r, sign bit flipped when shifted: r + 128 as unsigned.
            let r = _mm512_xor_si512(_mm512_and_si512(r, _mm512_set1_epi32(0xff)), flip);
            _mm512_mask_cvtepi32_storeu_epi8(q.as_mut_ptr().add(i) as *mut _, tail(i), r);
            i += 16;
        }
        if shifted {
            q[n..].iter_mut().for_each(|v| *v = 0x80u8 as i8);
        }
        *s = amax / 127.0;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_x_avx2(x: &[f32], q: &mut [i8], s: &mut f32, shifted: bool) {
    quantize_x(x, q, s, shifted)
}

/// `x·Wᵀ + b` with `W` quantised: `x` is `m × k` float32, `w` is `n × k`, the result `m × n`.
pub(crate) fn xwt_i8(x: &[f32], m: usize, k: usize, w: &QuantMatrix, bias: Option<&[f32]>) -> Vec<f32> {
    xwt_i8_with(isa(), x, m, k, w, bias)
}

pub(crate) fn xwt_i8_with(isa: Isa, x: &[f32], m: usize, k: usize, w: &QuantMatrix, bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(x.len(), m * k, "x is m × k");
    assert_eq!(w.cols, k, "x's width is W's");
    let n = w.rows;
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "one bias per output");
    }
    let vnni = w.layout == Layout::Panels;
    assert!(!vnni || isa == Isa::Avx512Vnni, "panels are VNNI's layout");
    let xq = quantize_rows(isa, x, m, k, w.stride, vnni);
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    let ptr = Out(out.as_mut_ptr());
    for_blocks(m, n, k, if vnni { PANEL } else { 4 }, |rows, cols| {
        // SAFETY: as in `xwt_f32_with`; the int8 rows of `xq` and `w` share the stride.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                _ if vnni => x86::i8_block_vnni(&xq, w, bias, rows, cols, ptr.get()),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni | Isa::Avx512 | Isa::Avx2 => x86::i8_block_256(&xq, w, bias, rows, cols, ptr.get()),
                _ => i8_block_scalar(&xq, w, bias, rows, cols, ptr.get()),
            }
        }
    });
    // SAFETY: the tiles wrote every one of the m × n values.
    unsafe { out.set_len(m * n) };
    out
}

/// The output of one int8 dot product: integer sum → float, with both scales and the bias.
#[inline(always)]
fn dequant(sum: i32, xq: &QuantRows, w: &QuantMatrix, bias: Option<&[f32]>, i: usize, j: usize) -> f32 {
    let y = sum as f32 * (xq.scale[i] * w.scale[j]);
    match bias {
        Some(b) => y + b[j],
        None => y,
    }
}

/// # Safety
/// `out` points to an `m × w.rows` buffer; `rows` and `cols` lie within it.
unsafe fn i8_block_scalar(
    xq: &QuantRows,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    rows: Range<usize>,
    cols: Range<usize>,
    out: *mut f32,
) {
    let s = w.stride;
    for i in rows {
        let x = &xq.q[i * s..(i + 1) * s];
        for j in cols.clone() {
            let wr = &w.q[j * s..(j + 1) * s];
            let sum: i32 = x.iter().zip(wr).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
            unsafe { *out.add(i * w.rows + j) = dequant(sum, xq, w, bias, i, j) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX-512 and AVX2 tiles. Each tile keeps `MR × NR` accumulators in registers over
    //! the whole `in` dimension, then sums each across its lanes.

    use super::{PANEL, PackedF32, QuantMatrix, QuantRows, dequant};
    use std::arch::x86_64::*;
    use std::ops::Range;

    /// Call `$tile::<MR, NR>` for the runtime sizes `$mr`, `$nr` (each 1..=4).
    macro_rules! by_size {
        ($tile:ident, $mr:expr, $nr:expr, ($($arg:expr),*)) => {
            match ($mr, $nr) {
                (4, 4) => $tile::<4, 4>($($arg),*), (4, 3) => $tile::<4, 3>($($arg),*),
                (4, 2) => $tile::<4, 2>($($arg),*), (4, 1) => $tile::<4, 1>($($arg),*),
                (3, 4) => $tile::<3, 4>($($arg),*), (3, 3) => $tile::<3, 3>($($arg),*),
                (3, 2) => $tile::<3, 2>($($arg),*), (3, 1) => $tile::<3, 1>($($arg),*),
                (2, 4) => $tile::<2, 4>($($arg),*), (2, 3) => $tile::<2, 3>($($arg),*),
                (2, 2) => $tile::<2, 2>($($arg),*), (2, 1) => $tile::<2, 1>($($arg),*),
                (1, 4) => $tile::<1, 4>($($arg),*), (1, 3) => $tile::<1, 3>($($arg),*),
                (1, 2) => $tile::<1, 2>($($arg),*), (1, 1) => $tile::<1, 1>($($arg),*),
                _ => unreachable!("tiles are 1..=4 × 1..=4"),
            }
        };
    }

    /// Walk a block in tiles: columns of `W` outermost, so that `NR` rows of `W` stay in the
    /// level-1 cache while every row of `x` in the block passes them.
    #[inline(always)]
    fn tiles(rows: Range<usize>, cols: Range<usize>, nr_max: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        let mut j = cols.start;
        while j < cols.end {
            let nr = nr_max.min(cols.end - j);
            let mut i = rows.start;
            while i < rows.end {
                let mr = 4.min(rows.end - i);
                f(i, mr, j, nr);
                i += mr;
            }
            j += nr;
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn f32_block_512(
        x: &[f32],
        k: usize,
        w: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        rows: Range<usize>,
        cols: Range<usize>,
        out: *mut f32,
    ) {
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let bp = bias.map_or(std::ptr::null(), |b| b.as_ptr());
        tiles(rows, cols, 4, |i, mr, j, nr| unsafe {
            by_size!(
                f32_tile_512,
                mr,
                nr,
                (
                    xp.add(i * k),
                    wp.add(j * k),
                    k,
                    out.add(i * n + j),
                    n,
                    if bp.is_null() { bp } else { bp.add(j) }
                )
            )
        });
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn f32_tile_512<const MR: usize, const NR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: *mut f32,
        ldo: usize,
        bias: *const f32,
    ) {
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); NR]; MR];
            let mut c = 0;
            while c + 16 <= k {
                let mut wv = [_mm512_setzero_ps(); NR];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(w.add(r * k + c));
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm512_loadu_ps(x.add(i * k + c));
                    for (a, wv) in acc.iter_mut().zip(&wv) {
                        *a = _mm512_fmadd_ps(xv, *wv, *a);
                    }
                }
                c += 16;
            }
            if c < k {
                let mask: __mmask16 = (1u32 << (k - c)) as u16 - 1;
                let mut wv = [_mm512_setzero_ps(); NR];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_maskz_loadu_ps(mask, w.add(r * k + c));
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm512_maskz_loadu_ps(mask, x.add(i * k + c));
                    for (a, wv) in acc.iter_mut().zip(&wv) {
                        *a = _mm512_fmadd_ps(xv, *wv, *a);
                    }
                }
            }
            for (i, acc) in acc.iter().enumerate() {
                for (j, a) in acc.iter().enumerate() {
                    let b = if bias.is_null() { 0.0 } else { *bias.add(j) };
                    *out.add(i * ldo + j) = _mm512_reduce_add_ps(*a) + b;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn f32_block_256(
        x: &[f32],
        k: usize,
        w: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        rows: Range<usize>,
        cols: Range<usize>,
        out: *mut f32,
    ) {
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let bp = bias.map_or(std::ptr::null(), |b| b.as_ptr());
        // Sixteen vector registers: 4 × 3 accumulators, three of W, one of x.
        tiles(rows, cols, 3, |i, mr, j, nr| unsafe {
            by_size!(
                f32_tile_256,
                mr,
                nr,
                (
                    xp.add(i * k),
                    wp.add(j * k),
                    k,
                    out.add(i * n + j),
                    n,
                    if bp.is_null() { bp } else { bp.add(j) }
                )
            )
        });
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum256(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn f32_tile_256<const MR: usize, const NR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: *mut f32,
        ldo: usize,
        bias: *const f32,
    ) {
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); NR]; MR];
            let mut c = 0;
            while c + 8 <= k {
                let mut wv = [_mm256_setzero_ps(); NR];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(w.add(r * k + c));
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm256_loadu_ps(x.add(i * k + c));
                    for (a, wv) in acc.iter_mut().zip(&wv) {
                        *a = _mm256_fmadd_ps(xv, *wv, *a);
                    }
                }
                c += 8;
            }
            for (i, acc) in acc.iter().enumerate() {
                for (j, a) in acc.iter().enumerate() {
                    let mut s = hsum256(*a);
                    for t in c..k {
                        s += *x.add(i * k + t) * *w.add(j * k + t);
                    }
                    let b = if bias.is_null() { 0.0 } else { *bias.add(j) };
                    *out.add(i * ldo + j) = s + b;
                }
            }
        }
    }

    /// Rows of `x` per tile of the packed kernels: 8 rows × 2 vectors = 16 accumulators,
    /// two vectors of `W`, one broadcast of `x`.
    const MR: usize = 8;

    /// Call `$tile::<MR>` for the runtime row count `$mr` (1..=8).
    macro_rules! by_rows {
        ($tile:ident, $mr:expr, ($($arg:expr),*)) => {
            match $mr {
                8 => $tile::<8>($($arg),*), 7 => $tile::<7>($($arg),*), 6 => $tile::<6>($($arg),*),
                5 => $tile::<5>($($arg),*), 4 => $tile::<4>($($arg),*), 3 => $tile::<3>($($arg),*),
                2 => $tile::<2>($($arg),*), 1 => $tile::<1>($($arg),*),
                _ => unreachable!("tiles have 1..=8 rows"),
            }
        };
    }

    /// The mask of the first `n` lanes of 16.
    #[inline(always)]
    fn lanes(n: usize) -> __mmask16 {
        if n >= 16 { 0xffff } else { ((1u32 << n) - 1) as u16 }
    }

    /// Walk a block of the output in tiles of up to `MR` rows × one panel. `cols` starts
    /// on a panel.
    #[inline(always)]
    fn panel_tiles(rows: Range<usize>, cols: Range<usize>, mut f: impl FnMut(usize, usize, usize, usize)) {
        let mut j = cols.start;
        while j < cols.end {
            let valid = (cols.end - j).min(PANEL);
            let mut i = rows.start;
            while i < rows.end {
                let mr = MR.min(rows.end - i);
                f(i, mr, j, valid);
                i += mr;
            }
            j += PANEL;
        }
    }

    /// Inputs per pass over a panel in the float32 kernel: 128 × 32 weights (16 KiB) stay in
    /// the level-1 cache while every row tile of the block passes them.
    const KC: usize = 128;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn packed_f32_block(
        x: &[f32],
        k: usize,
        w: &PackedF32,
        bias: Option<&[f32]>,
        rows: Range<usize>,
        cols: Range<usize>,
        out: *mut f32,
    ) {
        let n = w.rows;
        let (xp, wp) = (x.as_ptr(), w.data.as_ptr());
        let bp = bias.map_or(std::ptr::null(), |b| b.as_ptr());
        let mut j = cols.start;
        while j < cols.end {
            let valid = (cols.end - j).min(PANEL);
            let panel = unsafe { wp.add((j / PANEL) * k * PANEL) };
            let b = if bp.is_null() { bp } else { unsafe { bp.add(j) } };
            // The sums run over the inputs in order whatever the blocking: a partial sum is
            // stored and taken up again exactly, so a row's result does not depend on the
            // rows it shares a batch with.
            let mut c0 = 0;
            loop {
                let kc = KC.min(k - c0);
                let (first, last) = (c0 == 0, c0 + kc == k);
                let mut i = rows.start;
                while i < rows.end {
                    let mr = MR.min(rows.end - i);
                    unsafe {
                        let args = (
                            xp.add(i * k + c0),
                            k,
                            kc,
                            panel.add(c0 * PANEL),
                            b,
                            valid,
                            out.add(i * n + j),
                            n,
                            first,
                            last,
                        );
                        by_rows!(packed_f32_tile, mr, (args))
                    }
                    i += mr;
                }
                c0 += kc;
                if c0 >= k {
                    break;
                }
            }
            j += PANEL;
        }
    }

    type PackedArgs = (
        *const f32,
        usize,
        usize,
        *const f32,
        *const f32,
        usize,
        *mut f32,
        usize,
        bool,
        bool,
    );

    /// `R` rows of `x` (row stride `ldx`) against `kc` inputs of one panel, starting from
    /// zero (`first`) or from the partial sums in `out`, adding the bias at the `last` pass.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn packed_f32_tile<const R: usize>(args: PackedArgs) {
        let (x, ldx, kc, panel, bias, valid, out, ldo, first, last) = args;
        unsafe {
            let (m0, m1) = (lanes(valid), lanes(valid.saturating_sub(16)));
            let mut acc = [[_mm512_setzero_ps(); 2]; R];
            if !first {
                for (i, acc) in acc.iter_mut().enumerate() {
                    acc[0] = _mm512_maskz_loadu_ps(m0, out.add(i * ldo));
                    acc[1] = _mm512_maskz_loadu_ps(m1, out.add(i * ldo + 16));
                }
            }
            for c in 0..kc {
                let w0 = _mm512_loadu_ps(panel.add(c * PANEL));
                let w1 = _mm512_loadu_ps(panel.add(c * PANEL + 16));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xb = _mm512_set1_ps(*x.add(i * ldx + c));
                    acc[0] = _mm512_fmadd_ps(xb, w0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(xb, w1, acc[1]);
                }
            }
            let (b0, b1) = if bias.is_null() || !last {
                (_mm512_setzero_ps(), _mm512_setzero_ps())
            } else {
                (_mm512_maskz_loadu_ps(m0, bias), _mm512_maskz_loadu_ps(m1, bias.add(16)))
            };
            for (i, acc) in acc.iter().enumerate() {
                if bias.is_null() || !last {
                    _mm512_mask_storeu_ps(out.add(i * ldo), m0, acc[0]);
                    _mm512_mask_storeu_ps(out.add(i * ldo + 16), m1, acc[1]);
                } else {
                    _mm512_mask_storeu_ps(out.add(i * ldo), m0, _mm512_add_ps(acc[0], b0));
                    _mm512_mask_storeu_ps(out.add(i * ldo + 16), m1, _mm512_add_ps(acc[1], b1));
                }
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn i8_block_vnni(
        xq: &QuantRows,
        w: &QuantMatrix,
        bias: Option<&[f32]>,
        rows: Range<usize>,
        cols: Range<usize>,
        out: *mut f32,
    ) {
        let (s, n) = (w.stride, w.rows);
        let bp = bias.map_or(std::ptr::null(), |b| b.as_ptr());
        panel_tiles(rows, cols, |i, mr, j, valid| unsafe {
            let args = (
                xq.q.as_ptr().add(i * s) as *const u8,
                xq.scale.as_ptr().add(i),
                s,
                w.q.as_ptr().add((j / PANEL) * PANEL * s),
                w.scale.as_ptr().add(j),
                w.shift.as_ptr().add(j),
                if bp.is_null() { bp } else { bp.add(j) },
                valid,
                out.add(i * n + j),
                n,
            );
            by_rows!(vnni_tile, mr, (args))
        });
    }

    type VnniArgs = (
        *const u8,
        *const f32,
        usize,
        *const i8,
        *const f32,
        *const i32,
        *const f32,
        usize,
        *mut f32,
        usize,
    );

    /// `R` rows of `x` (unsigned, shifted by 128) against one panel: `vpdpbusd` multiplies
    /// four bytes of `x`, broadcast, by four inputs of each of 16 outputs and adds the four
    /// products to each output's 32-bit sum.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni_tile<const R: usize>(args: VnniArgs) {
        let (x, sx, s, panel, sw, shift, bias, valid, out, ldo) = args;
        unsafe {
            let mut acc = [[_mm512_setzero_si512(); 2]; R];
            for g in 0..s / 4 {
                let w0 = _mm512_loadu_si512(panel.add(g * PANEL * 4) as *const __m512i);
                let w1 = _mm512_loadu_si512(panel.add(g * PANEL * 4 + 64) as *const __m512i);
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xb = _mm512_set1_epi32((x.add(i * s + 4 * g) as *const i32).read_unaligned());
                    acc[0] = _mm512_dpbusd_epi32(acc[0], xb, w0);
                    acc[1] = _mm512_dpbusd_epi32(acc[1], xb, w1);
                }
            }
            let (m0, m1) = (lanes(valid), lanes(valid.saturating_sub(16)));
            // Scales and shifts are padded to whole panels; the bias is not.
            let (sw0, sw1) = (_mm512_loadu_ps(sw), _mm512_loadu_ps(sw.add(16)));
            let (sh0, sh1) = (
                _mm512_loadu_si512(shift as *const __m512i),
                _mm512_loadu_si512(shift.add(16) as *const __m512i),
            );
            let (b0, b1) = if bias.is_null() {
                (_mm512_setzero_ps(), _mm512_setzero_ps())
            } else {
                (_mm512_maskz_loadu_ps(m0, bias), _mm512_maskz_loadu_ps(m1, bias.add(16)))
            };
            for (i, acc) in acc.iter().enumerate() {
                let sxi = _mm512_set1_ps(*sx.add(i));
                // As `dequant`: (sum as f32) · (sx · sw) + b, in that order, so that every
                // instruction set rounds alike.
                let y0 = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[0], sh0)),
                    _mm512_mul_ps(sxi, sw0),
                );
                let y1 = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[1], sh1)),
                    _mm512_mul_ps(sxi, sw1),
                );
                _mm512_mask_storeu_ps(out.add(i * ldo), m0, _mm512_add_ps(y0, b0));
                _mm512_mask_storeu_ps(out.add(i * ldo + 16), m1, _mm512_add_ps(y1, b1));
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn i8_block_256(
        xq: &QuantRows,
        w: &QuantMatrix,
        bias: Option<&[f32]>,
        rows: Range<usize>,
        cols: Range<usize>,
        out: *mut f32,
    ) {
        // 4 × 2 accumulators, two of W, x, |x|, a product and the ones: sixteen registers.
        tiles(rows, cols, 2, |i, mr, j, nr| unsafe {
            by_size!(i8_tile_256, mr, nr, (xq, w, bias, i, j, out))
        });
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn i8_tile_256<const MR: usize, const NR: usize>(
        xq: &QuantRows,
        w: &QuantMatrix,
        bias: Option<&[f32]>,
        i0: usize,
        j0: usize,
        out: *mut f32,
    ) {
        let s = w.stride;
        let (xp, wp) = (xq.q.as_ptr().wrapping_add(i0 * s), w.q.as_ptr().wrapping_add(j0 * s));
        unsafe {
            let ones = _mm256_set1_epi16(1);
            let mut acc = [[_mm256_setzero_si256(); NR]; MR];
            let mut c = 0;
            while c < s {
                let mut wv = [_mm256_setzero_si256(); NR];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_loadu_si256(wp.add(r * s + c) as *const __m256i);
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm256_loadu_si256(xp.add(i * s + c) as *const __m256i);
                    let ax = _mm256_sign_epi8(xv, xv);
                    for (a, wv) in acc.iter_mut().zip(&wv) {
                        // |x| · (w with x's sign) = x · w; both within ±127, so the pairs'
                        // 16-bit sums cannot saturate.
                        let p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(*wv, xv));
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(p, ones));
                    }
                }
                c += 32;
            }
            for (i, acc) in acc.iter().enumerate() {
                for (j, a) in acc.iter().enumerate() {
                    let v = *a;
                    let s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
                    let s2 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
                    let s1 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 1));
                    let sum = _mm_cvtsi128_si32(s1);
                    *out.add((i0 + i) * w.rows + j0 + j) = dequant(sum, xq, w, bias, i0 + i, j0 + j);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64, len: usize, scale: f32) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
            })
            .collect()
    }

    fn naive(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k).map(|c| f64::from(x[i * k + c]) * f64::from(w[j * k + c])).sum();
                out[i * n + j] = s as f32 + bias.map_or(0.0, |b| b[j]);
            }
        }
        out
    }

    fn available() -> Vec<Isa> {
        let best = detect();
        let mut all = vec![Isa::Scalar];
        if best != Isa::Scalar {
            all.push(Isa::Avx2);
        }
        if matches!(best, Isa::Avx512 | Isa::Avx512Vnni) {
            all.push(Isa::Avx512);
        }
        if best == Isa::Avx512Vnni {
            all.push(Isa::Avx512Vnni);
        }
        all
    }

    /// Shapes with every remainder: rows and columns not multiples of the tiles, widths not
    /// multiples of the vectors, and products large enough to be split across threads.
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 16, 5),
        (3, 7, 9),
        (5, 33, 13),
        (7, 100, 70),
        (1, 512, 701),
        (37, 257, 300),
        (130, 64, 67),
    ];

    #[test]
    fn f32_products_equal_the_plain_sum() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            for isa in available() {
                for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
                    let (x, w, b) = (
                        lcg(seed as u64, m * k, 2.0),
                        lcg(99 + seed as u64, n * k, 0.2),
                        lcg(7, n, 1.0),
                    );
                    for bias in [None, Some(b.as_slice())] {
                        let expect = naive(&x, m, k, &w, n, bias);
                        let Some(got) = xwt_f32_with(isa, &x, m, k, &w, n, bias) else {
                            assert_eq!(isa, Isa::Scalar);
                            continue;
                        };
                        for (g, e) in got.iter().zip(&expect) {
                            assert!(
                                (g - e).abs() <= 1e-5 * (1.0 + e.abs()) * (k as f32).sqrt(),
                                "{isa:?} {m}×{k}×{n}: {g} vs {e}"
                            );
                        }
                    }
                }
            }
        });
    }

    #[test]
    fn int8_products_are_the_same_on_every_instruction_set_and_close_to_float() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
                let (x, w, b) = (
                    lcg(seed as u64, m * k, 2.0),
                    lcg(99 + seed as u64, n * k, 0.2),
                    lcg(7, n, 1.0),
                );
                let q = QuantMatrix::quantize_for(Isa::Scalar, &w, n, k);
                let expect = naive(&x, m, k, &w, n, Some(&b));
                let scalar = xwt_i8_with(Isa::Scalar, &x, m, k, &q, Some(&b));
                // Each factor is off by at most half a step of its scale: the error of a sum
                // of k products is bounded by k · (|x|max·|w|max) / 127.
                let bound = k as f32 * (1.0 * 0.1) / 127.0 * 1.01 + 1e-4;
                for (g, e) in scalar.iter().zip(&expect) {
                    assert!((g - e).abs() <= bound, "{m}×{k}×{n}: {g} vs {e}");
                }
                for isa in available() {
                    let q = QuantMatrix::quantize_for(isa, &w, n, k);
                    let got = xwt_i8_with(isa, &x, m, k, &q, Some(&b));
                    assert_eq!(got, scalar, "{isa:?} {m}×{k}×{n}");
                    let mut row = vec![0f32; k];
                    let mut expect_row = vec![0f32; k];
                    for r in [0, n / 2, n - 1] {
                        q.row_f32(r, &mut row);
                        QuantMatrix::quantize_for(Isa::Scalar, &w, n, k).row_f32(r, &mut expect_row);
                        assert_eq!(row, expect_row, "{isa:?} row {r}");
                    }
                }
            }
        });
    }

    #[test]
    fn packed_f32_products_equal_the_plain_sum() {
        if !matches!(detect(), Isa::Avx512 | Isa::Avx512Vnni) || !matches!(isa(), Isa::Avx512 | Isa::Avx512Vnni) {
            return; // packed weights are made on AVX-512 only
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
                let (x, w, b) = (
                    lcg(seed as u64, m * k, 2.0),
                    lcg(99 + seed as u64, n * k, 0.2),
                    lcg(7, n, 1.0),
                );
                let p = PackedF32::pack(&w, n, k);
                let mut row = vec![0f32; k];
                for r in [0, n / 2, n - 1] {
                    p.row(r, &mut row);
                    assert_eq!(row, w[r * k..(r + 1) * k], "row {r}");
                }
                for bias in [None, Some(b.as_slice())] {
                    let expect = naive(&x, m, k, &w, n, bias);
                    let got = xwt_packed_f32(&x, m, k, &p, bias);
                    for (g, e) in got.iter().zip(&expect) {
                        assert!(
                            (g - e).abs() <= 1e-5 * (1.0 + e.abs()) * (k as f32).sqrt(),
                            "{m}×{k}×{n}: {g} vs {e}"
                        );
                    }
                }
            }
        });
    }

    #[test]
    fn quantised_rows_come_back_within_half_a_step() {
        let w = lcg(3, 5 * 70, 1.0);
        let q = QuantMatrix::quantize(&w, 5, 70);
        let mut row = vec![0f32; 70];
        for r in 0..5 {
            q.row_f32(r, &mut row);
            let amax = w[r * 70..(r + 1) * 70].iter().fold(0f32, |a, v| a.max(v.abs()));
            for (a, b) in row.iter().zip(&w[r * 70..]) {
                assert!((a - b).abs() <= amax / 254.0 + 1e-7);
            }
        }
        // A zero row stays zero (scale 0, no division by it).
        let z = QuantMatrix::quantize_for(Isa::Scalar, &[0.0; 8], 1, 8);
        assert_eq!(xwt_i8_with(Isa::Scalar, &[1.0; 8], 1, 8, &z, None), vec![0.0]);
    }
}
