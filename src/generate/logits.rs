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

/// In-place log-softmax in f32, as torch computes it: `x - max - ln(sum(exp(x - max)))`.
pub(crate) fn log_softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return;
    }
    let sum: f32 = xs.iter().map(|&x| (x - max).exp()).sum();
    let log_sum = sum.ln();
    for x in xs.iter_mut() {
        *x = *x - max - log_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
