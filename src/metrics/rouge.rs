//! ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge-score` package (0.1.2) computes them for one
//! segment: `RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False).score(target=reference,
//! prediction=hypothesis)`.
//!
//! - ROUGE-N: n-gram counts of both sides, overlap clipped per n-gram (`min` of the two counts);
//!   precision = overlap / max(hypothesis n-grams, 1), recall = overlap / max(reference n-grams, 1).
//!   A side with fewer than n tokens therefore scores 0, not NaN — including ROUGE-2 of two
//!   identical one-word segments.
//! - ROUGE-L: length of the longest common subsequence of the token sequences (the whole text is
//!   one sequence: this is `rougeL`, not the newline-splitting `rougeLsum`); precision = LCS /
//!   hypothesis tokens, recall = LCS / reference tokens, and 0 if either side has no tokens.
//! - F1 = 2PR / (P + R), 0 when P + R = 0.
//!
//! Tokenisers ([`RougeTokenizer`]):
//! - `Default` is rouge-score's default tokeniser exactly: Unicode lowercasing (Python's
//!   `str.lower`), every run of characters outside `[a-z0-9]` becomes a space, split. It keeps
//!   ASCII letters and digits only, so every non-ASCII letter is dropped: Cyrillic words vanish
//!   (a Russian segment keeps only its digits, and mostly scores 0) and "café" becomes "caf".
//! - `Unicode` is svodka's choice, so that Cyrillic (and any other script) is not dropped: the same
//!   rules made Unicode-aware — Unicode lowercasing, every character that is not alphanumeric
//!   (Rust's [`char::is_alphanumeric`]: the Alphabetic property or a number category Nd/Nl/No)
//!   becomes a space, split. On ASCII text it gives exactly the tokens of `Default`, so English
//!   scores agree with rouge-score's default; on other scripts it agrees with rouge-score run with
//!   a tokenizer object applying these rules (`tests/fixtures/metrics/generate.py`).
//!
//! Stemming (`use_stemmer=True`, the Porter stemmer for English) is not offered.
//!
//! Corpus score ([`rouge`]): the arithmetic mean over segments of each segment's precision, recall
//! and F1 (printed ×100), as Hugging Face `evaluate`'s rouge with `use_aggregator=False` followed by a
//! mean. rouge-score's own command line aggregates with bootstrap resampling instead, whose "mid"
//! value depends on the random sample; the plain mean is reproducible.

use std::collections::HashMap;

/// How text is split into ROUGE tokens; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RougeTokenizer {
    /// rouge-score's default tokeniser: lowercase ASCII letters and digits only (drops Cyrillic).
    Default,
    /// The same rules over Unicode letters and digits; equal to `Default` on ASCII text.
    Unicode,
}

/// Precision, recall and F1 of one ROUGE variant, each 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RougeScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of a segment, or their means over a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rouge {
    pub rouge1: RougeScore,
    pub rouge2: RougeScore,
    pub rouge_l: RougeScore,
}

fn keeps(c: char, tok: RougeTokenizer) -> bool {
    match tok {
        RougeTokenizer::Default => c.is_ascii_lowercase() || c.is_ascii_digit(),
        RougeTokenizer::Unicode => c.is_alphanumeric(),
    }
}

/// Tokens of `lowered` (already lowercased), borrowed from it.
fn split(lowered: &str, tok: RougeTokenizer) -> Vec<&str> {
    lowered.split(|c| !keeps(c, tok)).filter(|t| !t.is_empty()).collect()
}

/// `text`'s tokens under `tok`, lowercased.
pub fn tokenize(text: &str, tok: RougeTokenizer) -> Vec<String> {
    split(&text.to_lowercase(), tok)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// rouge-score's `scoring.fmeasure`, with its operation order.
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

fn score(precision: f64, recall: f64) -> RougeScore {
    RougeScore {
        precision,
        recall,
        f1: fmeasure(precision, recall),
    }
}

fn ngrams<'a>(tokens: &'a [&'a str], n: usize) -> HashMap<&'a [&'a str], usize> {
    let mut counts = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

fn rouge_n(hyp: &[&str], reference: &[&str], n: usize) -> RougeScore {
    let (hc, rc) = (ngrams(hyp, n), ngrams(reference, n));
    let overlap: usize = rc.iter().map(|(g, c)| (*c).min(hc.get(g).copied().unwrap_or(0))).sum();
    let hyp_count: usize = hc.values().sum();
    let ref_count: usize = rc.values().sum();
    score(
        overlap as f64 / hyp_count.max(1) as f64,
        overlap as f64 / ref_count.max(1) as f64,
    )
}

/// Length of the longest common subsequence of `a` and `b`.
fn lcs_len(a: &[&str], b: &[&str]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            row[j + 1] = if x == y { prev[j] + 1 } else { prev[j + 1].max(row[j]) };
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

fn rouge_lcs(hyp: &[&str], reference: &[&str]) -> RougeScore {
    if hyp.is_empty() || reference.is_empty() {
        return RougeScore::default();
    }
    let lcs = lcs_len(reference, hyp) as f64;
    score(lcs / hyp.len() as f64, lcs / reference.len() as f64)
}

/// ROUGE-1, ROUGE-2 and ROUGE-L (0–1) of `hyp` against `reference`, as rouge-score's
/// `score(target=reference, prediction=hyp)`.
pub fn rouge_segment(hyp: &str, reference: &str, tok: RougeTokenizer) -> Rouge {
    let (hyp, reference) = (hyp.to_lowercase(), reference.to_lowercase());
    let (h, r) = (split(&hyp, tok), split(&reference, tok));
    Rouge {
        rouge1: rouge_n(&h, &r, 1),
        rouge2: rouge_n(&h, &r, 2),
        rouge_l: rouge_lcs(&h, &r),
    }
}

/// Corpus ROUGE (0–1): the mean over segments of [`rouge_segment`]'s precision, recall and F1,
/// `hyps[i]` against `refs[i]`; all zero for an empty corpus.
///
/// # Panics
///
/// If `hyps` and `refs` differ in length.
pub fn rouge(hyps: &[&str], refs: &[&str], tok: RougeTokenizer) -> Rouge {
    assert_eq!(hyps.len(), refs.len(), "ROUGE needs one reference per hypothesis");
    if hyps.is_empty() {
        return Rouge::default();
    }
    let segments: Vec<Rouge> = hyps.iter().zip(refs).map(|(h, r)| rouge_segment(h, r, tok)).collect();
    let n = segments.len() as f64;
    let mean = |get: fn(&Rouge) -> RougeScore| RougeScore {
        precision: segments.iter().map(|s| get(s).precision).sum::<f64>() / n,
        recall: segments.iter().map(|s| get(s).recall).sum::<f64>() / n,
        f1: segments.iter().map(|s| get(s).f1).sum::<f64>() / n,
    };
    Rouge {
        rouge1: mean(|s| s.rouge1),
        rouge2: mean(|s| s.rouge2),
        rouge_l: mean(|s| s.rouge_l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RougeTokenizer as Tok;

    #[test]
    fn tokenisers_agree_on_ascii() {
        let text = "The euro was little changed at $1.06; flood-warning data (14 NATIONS) ~ 4.25%!";
        let want = [
            "the", "euro", "was", "little", "changed", "at", "1", "06", "flood", "warning", "data", "14", "nations",
            "4", "25",
        ];
        assert_eq!(tokenize(text, Tok::Default), want);
        assert_eq!(tokenize(text, Tok::Unicode), want);
        assert!(tokenize(" ... --- !!! ", Tok::Default).is_empty());
        assert!(tokenize("", Tok::Unicode).is_empty());
    }

    #[test]
    fn unicode_keeps_cyrillic_default_drops_it() {
        let text = "Центробанк сохранил ставку на уровне 4,25% (ЦБ РФ), café";
        assert_eq!(tokenize(text, Tok::Default), ["4", "25", "caf"]);
        assert_eq!(
            tokenize(text, Tok::Unicode),
            [
                "центробанк",
                "сохранил",
                "ставку",
                "на",
                "уровне",
                "4",
                "25",
                "цб",
                "рф",
                "café"
            ]
        );
        // Lowercasing comes first: the Kelvin sign lowercases to an ASCII "k".
        assert_eq!(tokenize("\u{212A}M", Tok::Default), ["km"]);
    }

    #[test]
    fn lcs_small_cases() {
        assert_eq!(lcs_len(&["a", "b", "c", "d"], &["a", "c", "d"]), 3);
        assert_eq!(lcs_len(&["a", "b"], &["b", "a"]), 1);
        assert_eq!(lcs_len(&["a", "b", "c"], &[]), 0);
        assert_eq!(lcs_len(&["x", "a", "y", "b"], &["a", "b", "x", "y"]), 2);
        let r = rouge_segment("police killed the gunman", "police kill the gunman", Tok::Default);
        assert_eq!((r.rouge_l.precision, r.rouge_l.recall), (0.75, 0.75));
    }

    #[test]
    fn counts_clip_and_short_segments_score_zero() {
        // "the" twice in the hypothesis, once in the reference: one match.
        let r = rouge_segment("the the cat", "the cat", Tok::Default);
        assert_eq!(r.rouge1.precision, 2.0 / 3.0);
        assert_eq!(r.rouge1.recall, 1.0);
        // One token on each side: no bigrams, so ROUGE-2 is 0 even for identical text.
        let r = rouge_segment("Yes.", "Yes.", Tok::Default);
        assert_eq!(r.rouge1.f1, 1.0);
        assert_eq!(r.rouge2, RougeScore::default());
        assert_eq!(rouge_segment("", "Some text", Tok::Unicode), Rouge::default());
        assert_eq!(rouge(&[], &[], Tok::Unicode), Rouge::default());
    }

    #[test]
    fn corpus_is_the_mean_of_segments() {
        let r = rouge(&["a b", "c d"], &["a b", "x y"], Tok::Default);
        assert_eq!(r.rouge1.f1, 0.5);
        assert_eq!(r.rouge2.recall, 0.5);
        assert_eq!(r.rouge_l.precision, 0.5);
    }
}
