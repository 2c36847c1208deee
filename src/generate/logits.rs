//! Logits processors, applied in the order transformers' `_get_logits_processor` applies them,
//! with the same arithmetic (f32, `-inf` for banned tokens), so scores agree bit for bit as far
//! as the underlying logits do.

use std::collections::HashMap;

use super::config::Resolved;

/// Process one row's scores in place. `seq` is the row's decoder sequence so far, start token
/// included (transformers' `input_ids`).
pub fn process(cfg: &Resolved, seq: &[u32], scores: &mut [f32]) {
    let cur_len = seq.len();
    if cfg.repetition_penalty != 1.0 {
        let p = cfg.repetition_penalty;
        // gather then scatter: each distinct id is penalised once.
        let mut done = std::collections::HashSet::new();
        for &t in seq {
            if let Some(s) = scores.get_mut(t as usize)
                && done.insert(t)
            {
                *s = if *s < 0.0 { *s * p } else { *s / p };
            }
        }
    }
    if cfg.no_repeat_ngram_size > 0 {
        for t in banned_ngram_tokens(seq, cfg.no_repeat_ngram_size) {
            if let Some(s) = scores.get_mut(t as usize) {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    for bad in &cfg.bad_words_ids {
        let (last, prefix) = bad.split_last().expect("empty sequences are filtered out");
        if seq.ends_with(prefix)
            && let Some(s) = scores.get_mut(*last as usize)
        {
            *s = f32::NEG_INFINITY;
        }
    }
    if cur_len < cfg.min_length {
        for &e in &cfg.eos_token_id {
            if let Some(s) = scores.get_mut(e as usize) {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    if let Some(bos) = cfg.forced_bos_token_id
        && cur_len == 1
    {
        force(scores, &[bos]);
    }
    if !cfg.forced_eos_token_id.is_empty() && cur_len + 1 == cfg.max_length {
        force(scores, &cfg.forced_eos_token_id);
    }
    if cfg.remove_invalid_values {
        for s in scores.iter_mut() {
            if s.is_nan() {
                *s = 0.0;
            } else if *s == f32::INFINITY {
                *s = f32::MAX;
            } else if *s == f32::NEG_INFINITY {
                *s = f32::MIN;
            }
        }
    }
    if cfg.renormalize_logits {
        log_softmax(scores);
    }
}

/// Everything `-inf` but the given tokens, which get 0.
fn force(scores: &mut [f32], tokens: &[u32]) {
    scores.fill(f32::NEG_INFINITY);
    for &t in tokens {
        if let Some(s) = scores.get_mut(t as usize) {
            *s = 0.0;
        }
    }
}

/// Tokens that would repeat an n-gram already in `seq` (fairseq's rule, as transformers has it).
pub(crate) fn banned_ngram_tokens(seq: &[u32], n: usize) -> Vec<u32> {
    let cur_len = seq.len();
    if n == 0 || cur_len + 1 < n {
        return Vec::new();
    }
    let mut grams: HashMap<&[u32], Vec<u32>> = HashMap::new();
    for w in seq.windows(n) {
        grams.entry(&w[..n - 1]).or_default().push(w[n - 1]);
    }
    grams.get(&seq[cur_len + 1 - n..]).cloned().unwrap_or_default()
}

/// `s ← exp(s − max)` for every score, and their sum.
pub(crate) fn exp_sum(scores: &mut [f32], max: f32) -> f32 {
    let mut sum = 0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    sum
}

/// [`exp_sum`] sixteen scores at a time, with Cephes' single-precision exp (a degree-5
/// polynomial after reducing by ln 2, scaled back by `vscalefps`; within 2 ulp of libm's
/// `expf` over the softmax's range, x ≤ 0). libm's scalar `expf` was 6% of an int8 t5
/// beam-search profile in the attention, and as much again here in the log-softmax over the
/// vocabulary for every beam. `scores` is left as it was when `store` is false.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn exp_sum512(scores: &mut [f32], max: f32) -> f32 {
    unsafe { exp_sum512_with(scores, max, true) }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn exp_sum512_with(scores: &mut [f32], max: f32, store: bool) -> f32 {
    use std::arch::x86_64::*;
    let n = scores.len();
    unsafe {
        let c = |v: f32| _mm512_set1_ps(v);
        let mut sum = _mm512_setzero_ps();
        let mut i = 0;
        while i < n {
            let mask: __mmask16 = if n - i >= 16 {
                0xffff
            } else {
                ((1u32 << (n - i)) - 1) as u16
            };
            let p = scores.as_mut_ptr().add(i);
            // Masked-out lanes read -inf − max: exp gives 0 and adds nothing.
            let x = _mm512_sub_ps(_mm512_mask_loadu_ps(c(f32::NEG_INFINITY), mask, p), c(max));
            let x = _mm512_max_ps(x, c(-87.336_55));
            let k = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
                x,
                c(std::f32::consts::LOG2_E),
            ));
            let r = _mm512_fnmadd_ps(k, c(0.693_359_4), x);
            let r = _mm512_fnmadd_ps(k, c(-2.121_944_4e-4), r);
            let mut y = c(1.987_569_1e-4);
            for coef in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
                y = _mm512_fmadd_ps(y, r, c(coef));
            }
            let y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, c(1.0)));
            let e = _mm512_maskz_scalef_ps(mask, y, k);
            if store {
                _mm512_mask_storeu_ps(p, mask, e);
            }
            sum = _mm512_add_ps(sum, e);
            i += 16;
        }
        _mm512_reduce_add_ps(sum)
    }
}

/// In-place log-softmax in f32, as torch computes it: `x - max - ln(sum(exp(x - max)))`.
pub(crate) fn log_softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512 was detected on this CPU.
    let sum: f32 = if std::arch::is_x86_feature_detected!("avx512f") {
        unsafe { exp_sum512_with(xs, max, false) }
    } else {
        xs.iter().map(|&x| (x - max).exp()).sum()
    };
    #[cfg(not(target_arch = "x86_64"))]
    let sum: f32 = xs.iter().map(|&x| (x - max).exp()).sum();
    let log_sum = sum.ln();
    for x in xs.iter_mut() {
        *x = *x - max - log_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_exp_is_within_two_ulp_of_libm() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let xs: Vec<f32> = (0..20_000)
                .map(|i| -(i as f32) * 0.0045)
                .chain([0.0, -87.0, -90.0, -1e30])
                .collect();
            let mut got = xs.clone();
            let sum = unsafe { exp_sum512(&mut got, 0.0) };
            let mut want = xs.clone();
            let want_sum = exp_sum(&mut want, 0.0);
            for ((g, w), x) in got.iter().zip(&want).zip(&xs) {
                let ulp = (w.abs() * f32::EPSILON).max(f32::MIN_POSITIVE);
                assert!((g - w).abs() <= 2.0 * ulp, "exp({x}): {g} vs {w}");
            }
            assert!((sum - want_sum).abs() <= 1e-5 * want_sum);
        }
    }

    use crate::generate::config::GenerationConfig;

    fn cfg(g: GenerationConfig) -> Resolved {
        GenerationConfig {
            decoder_start_token_id: Some(0),
            eos_token_id: Some(super::super::config::TokenIds::One(1)),
            ..g
        }
        .resolve(None)
        .unwrap()
    }

    #[test]
    fn ngram_bans_follow_fairseq() {
        assert_eq!(banned_ngram_tokens(&[5, 6, 7, 5, 6], 3), vec![7]);
        assert_eq!(banned_ngram_tokens(&[5, 6], 3), Vec::<u32>::new());
        assert_eq!(banned_ngram_tokens(&[5, 5, 5], 2), vec![5, 5]);
    }

    #[test]
    fn repetition_min_length_and_forcing() {
        let c = cfg(GenerationConfig {
            repetition_penalty: Some(2.0),
            min_new_tokens: Some(2),
            ..Default::default()
        });
        let mut s = vec![1.0, 4.0, -2.0, 3.0];
        process(&c, &[0, 2], &mut s);
        assert_eq!(s, vec![0.5, f32::NEG_INFINITY, -4.0, 3.0]);
        let c = cfg(GenerationConfig {
            forced_bos_token_id: Some(3),
            ..Default::default()
        });
        let mut s = vec![1.0, 4.0, -2.0, 3.0];
        process(&c, &[0], &mut s);
        assert_eq!(s, vec![f32::NEG_INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0]);
        let c = cfg(GenerationConfig {
            bad_words_ids: Some(vec![vec![2], vec![3, 0]]),
            ..Default::default()
        });
        let mut s = vec![1.0; 4];
        process(&c, &[0, 3], &mut s);
        assert_eq!(s, vec![f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY, 1.0]);
    }

    #[test]
    fn log_softmax_normalises() {
        let mut s = vec![1.0f32, 2.0, 3.0];
        log_softmax(&mut s);
        let total: f32 = s.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}
