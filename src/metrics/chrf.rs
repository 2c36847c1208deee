//! chrF as sacrebleu 2.x computes it by default: character n-grams of orders 1–6 with
//! whitespace removed, counts summed over the corpus, precision and recall averaged over the
//! orders that occur in both hypothesis and reference, then F with β = 2.

use std::collections::HashMap;

const ORDER: usize = 6;
const BETA: f64 = 2.0;

fn char_ngrams(line: &str, n: usize) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    let idx: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
    for w in idx.windows(n + 1) {
        *counts.entry(&line[w[0]..w[n]]).or_insert(0) += 1;
    }
    counts
}

/// Corpus chrF (0–100) of `hyps` against one reference each.
pub fn chrf(hyps: &[&str], refs: &[&str]) -> f64 {
    // Per order: hypothesis n-grams, reference n-grams, matches.
    let mut stats = [[0usize; 3]; ORDER];
    for (h, r) in hyps.iter().zip(refs) {
        let h: String = h.split_whitespace().collect();
        let r: String = r.split_whitespace().collect();
        for n in 1..=ORDER {
            let (hc, rc) = (char_ngrams(&h, n), char_ngrams(&r, n));
            let hyp_count: usize = hc.values().sum();
            let matches: usize = hc.iter().map(|(g, c)| (*c).min(rc.get(g).copied().unwrap_or(0))).sum();
            // sacrebleu counts no hypothesis n-grams for an order the reference lacks.
            stats[n - 1][0] += if rc.is_empty() { 0 } else { hyp_count };
            stats[n - 1][1] += rc.values().sum::<usize>();
            stats[n - 1][2] += matches;
        }
    }
    let factor = BETA * BETA;
    let (mut prec, mut rec, mut orders) = (0.0, 0.0, 0);
    for [n_hyp, n_ref, n_match] in stats {
        if n_hyp > 0 && n_ref > 0 {
            prec += n_match as f64 / n_hyp as f64;
            rec += n_match as f64 / n_ref as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (p, r) = (prec / orders as f64, rec / orders as f64);
    if p + r == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * p * r / (factor * p + r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_100_and_disjoint_is_0() {
        assert!((chrf(&["Привет, мир"], &["Привет, мир"]) - 100.0).abs() < 1e-9);
        assert_eq!(chrf(&["abc"], &["xyz"]), 0.0);
    }
}
