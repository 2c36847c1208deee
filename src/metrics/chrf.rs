//! chrF and chrF++ as sacrebleu 2.x computes them by default: character n-grams of orders 1–6
//! with whitespace removed (chrF++ adds word n-grams of orders 1–2), counts summed over the
//! corpus, precision and recall averaged over the orders that occur in both hypothesis and
//! reference (character and word orders alike, in one average), then F with β = 2.
//!
//! chrF++'s words are sacrebleu's `_remove_punctuation` (from Popović's chrF++.py): the text split
//! on whitespace, and a word longer than one character that ends in an ASCII punctuation mark has
//! that one mark split off; failing that, one leading mark is split off ("(hi)" → "(hi", ")").

use std::collections::HashMap;
use std::hash::Hash;

const CHAR_ORDER: usize = 6;
const BETA: f64 = 2.0;
/// Python's `string.punctuation`, which sacrebleu splits off words for chrF++.
const PUNCTS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Python's `str.isspace`, which `str.split()` uses: Unicode White_Space plus the ASCII
/// separators U+001C–U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_split(line: &str) -> impl Iterator<Item = &str> {
    line.split(is_py_space).filter(|w| !w.is_empty())
}

fn char_ngrams(line: &str, n: usize) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    let idx: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
    for w in idx.windows(n + 1) {
        *counts.entry(&line[w[0]..w[n]]).or_insert(0) += 1;
    }
    counts
}

/// sacrebleu's `CHRF._remove_punctuation`.
fn words(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in py_split(line) {
        let mut chars = w.chars();
        let (first, last) = (chars.next().unwrap(), chars.next_back());
        match last {
            None => out.push(w),
            Some(l) if PUNCTS.contains(l) => out.extend([&w[..w.len() - l.len_utf8()], &w[w.len() - l.len_utf8()..]]),
            Some(_) if PUNCTS.contains(first) => out.extend([&w[..first.len_utf8()], &w[first.len_utf8()..]]),
            Some(_) => out.push(w),
        }
    }
    out
}

fn word_ngrams<'a>(words: &'a [&'a str], n: usize) -> HashMap<&'a [&'a str], usize> {
    let mut counts = HashMap::new();
    if words.len() >= n {
        for w in words.windows(n) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

/// sacrebleu's `_get_match_statistics`: hypothesis n-grams (none counted when the reference has
/// no n-gram of this order), reference n-grams, clipped matches.
fn match_stats<K: Eq + Hash>(hyp: &HashMap<K, usize>, reference: &HashMap<K, usize>) -> [usize; 3] {
    let hyp_count: usize = hyp.values().sum();
    let matches: usize = hyp
        .iter()
        .map(|(g, c)| (*c).min(reference.get(g).copied().unwrap_or(0)))
        .sum();
    [
        if reference.is_empty() { 0 } else { hyp_count },
        reference.values().sum(),
        matches,
    ]
}

/// sacrebleu's `_compute_f_score` without epsilon smoothing, with its operation order.
fn f_score(stats: &[[usize; 3]]) -> f64 {
    let factor = BETA * BETA;
    let (mut avg_prec, mut avg_rec, mut orders) = (0.0, 0.0, 0);
    for &[n_hyp, n_ref, n_match] in stats {
        if n_hyp > 0 && n_ref > 0 {
            avg_prec += n_match as f64 / n_hyp as f64;
            avg_rec += n_match as f64 / n_ref as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (p, r) = (avg_prec / orders as f64, avg_rec / orders as f64);
    if p + r == 0.0 {
        return 0.0;
    }
    let score = (1.0 + factor) * p * r / (factor * p + r);
    100.0 * score
}

fn chrf_with_words(hyps: &[&str], refs: &[&str], word_order: usize) -> f64 {
    // Per order (characters 1–6, then words): hypothesis n-grams, reference n-grams, matches.
    let mut stats = vec![[0usize; 3]; CHAR_ORDER + word_order];
    let add = |total: &mut [usize; 3], s: [usize; 3]| total.iter_mut().zip(s).for_each(|(t, s)| *t += s);
    for (h, r) in hyps.iter().zip(refs) {
        let (hc, rc): (String, String) = (py_split(h).collect(), py_split(r).collect());
        for n in 1..=CHAR_ORDER {
            add(
                &mut stats[n - 1],
                match_stats(&char_ngrams(&hc, n), &char_ngrams(&rc, n)),
            );
        }
        if word_order > 0 {
            let (hw, rw) = (words(h), words(r));
            for n in 1..=word_order {
                add(
                    &mut stats[CHAR_ORDER + n - 1],
                    match_stats(&word_ngrams(&hw, n), &word_ngrams(&rw, n)),
                );
            }
        }
    }
    f_score(&stats)
}

/// Corpus chrF (0–100) of `hyps` against one reference each: sacrebleu's `CHRF()`.
pub fn chrf(hyps: &[&str], refs: &[&str]) -> f64 {
    chrf_with_words(hyps, refs, 0)
}

/// Corpus chrF++ (0–100) of `hyps` against one reference each: sacrebleu's `CHRF(word_order=2)`.
pub fn chrf_pp(hyps: &[&str], refs: &[&str]) -> f64 {
    chrf_with_words(hyps, refs, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_100_and_disjoint_is_0() {
        assert!((chrf(&["Привет, мир"], &["Привет, мир"]) - 100.0).abs() < 1e-9);
        assert_eq!(chrf(&["abc"], &["xyz"]), 0.0);
        assert!((chrf_pp(&["Привет, мир"], &["Привет, мир"]) - 100.0).abs() < 1e-9);
        assert_eq!(chrf_pp(&["abc"], &["xyz"]), 0.0);
    }

    #[test]
    fn words_split_one_punctuation_mark() {
        assert_eq!(
            words("(hi) «Да», he said... -- x ¡ok! 4,25% \"q"),
            [
                "(hi", ")", "«Да»", ",", "he", "said..", ".", "-", "-", "x", "¡ok", "!", "4,25", "%", "\"", "q"
            ]
        );
        // Python's str.split() also separates at U+001C–U+001F.
        assert_eq!(words("a\u{1f}b\u{a0}c"), ["a", "b", "c"]);
    }

    #[test]
    fn word_orders_join_the_character_average() {
        // "ab." against "ab!": characters 2/3 and 1/2 at orders 1, 2, 0/1 at order 3 (orders 4–6
        // are absent and left out); words "ab" "." against "ab" "!": 1/2 unigrams, 0/1 bigrams.
        // Equal lengths make precision equal recall, so F is their average.
        let (h, r) = (["ab."], ["ab!"]);
        let (p1, p2) = (2.0 / 3.0, 1.0 / 2.0);
        let char_avg = (p1 + p2 + 0.0) / 3.0;
        assert!((chrf(&h, &r) - 100.0 * char_avg).abs() < 1e-9);
        let pp_avg = (p1 + p2 + 0.0 + 0.5 + 0.0) / 5.0;
        assert!((chrf_pp(&h, &r) - 100.0 * pp_avg).abs() < 1e-9);
    }
}
