//! Corpus BLEU as sacrebleu 2.x computes it by default: `13a` tokenisation (mteval-v13a), n-grams
//! up to 4, clipped counts summed over the corpus, the brevity penalty against the reference
//! length, and the `exp` smoothing of mteval (each order with no match gets a precision halved
//! again from 100 / total).

use std::collections::HashMap;

use regex::Regex;

/// A BLEU score with what it was made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Bleu {
    /// 0–100.
    pub score: f64,
    /// Per order, 0–100.
    pub precisions: [f64; 4],
    pub brevity_penalty: f64,
    pub sys_len: usize,
    pub ref_len: usize,
}

/// sacrebleu's `13a` tokeniser.
pub(crate) fn tokenize_13a(line: &str) -> Vec<String> {
    static RULES: std::sync::OnceLock<[(Regex, &str); 4]> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (Regex::new(r"([\{-\~\[-\` -\&\(-\+\:-@/])").unwrap(), " $1 "),
            (Regex::new(r"([^0-9])([\.,])").unwrap(), "$1 $2 "),
            (Regex::new(r"([\.,])([^0-9])").unwrap(), " $1 $2"),
            (Regex::new(r"([0-9])(-)").unwrap(), "$1 $2 "),
        ]
    });
    let mut line = line.replace("<skipped>", "").replace("-\n", "").replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut line = format!(" {line} ");
    for (re, repl) in rules.iter() {
        line = re.replace_all(&line, *repl).into_owned();
    }
    line.split_whitespace().map(str::to_string).collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

/// Corpus BLEU of `hyps` against one reference each.
pub fn bleu(hyps: &[&str], refs: &[&str]) -> Bleu {
    let (mut correct, mut total) = ([0usize; 4], [0usize; 4]);
    let (mut sys_len, mut ref_len) = (0, 0);
    for (h, r) in hyps.iter().zip(refs) {
        let (h, r) = (tokenize_13a(h), tokenize_13a(r));
        sys_len += h.len();
        ref_len += r.len();
        for n in 1..=4 {
            let rc = ngrams(&r, n);
            for (g, c) in ngrams(&h, n) {
                correct[n - 1] += c.min(rc.get(g).copied().unwrap_or(0));
                total[n - 1] += c;
            }
        }
    }
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = [0.0; 4];
    if correct.iter().all(|&c| c == 0) {
        return Bleu {
            score: 0.0,
            precisions,
            brevity_penalty: bp,
            sys_len,
            ref_len,
        };
    }
    let mut smooth = 1.0;
    for n in 0..4 {
        if total[n] == 0 {
            break;
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    // sacrebleu's `my_log`: log 0 counts as -9999999999, which zeroes the score.
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    let score = bp * (precisions.iter().map(|&p| log(p)).sum::<f64>() / 4.0).exp();
    Bleu {
        score,
        precisions,
        brevity_penalty: bp,
        sys_len,
        ref_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenises_like_13a() {
        assert_eq!(
            tokenize_13a("Hello, world! It costs $4.50, i.e. 1,000-2,000 (or more)."),
            [
                "Hello", ",", "world", "!", "It", "costs", "$", "4.50", ",", "i", ".", "e", ".", "1,000", "-", "2,000",
                "(", "or", "more", ")", "."
            ]
        );
        assert_eq!(
            tokenize_13a("Цена — 5,5 млн руб."),
            ["Цена", "—", "5,5", "млн", "руб", "."]
        );
    }

    #[test]
    fn identical_is_100_and_disjoint_is_0() {
        let s = ["The cat sat on the mat today."];
        assert!((bleu(&s, &s).score - 100.0).abs() < 1e-9);
        assert_eq!(bleu(&["a b c d e"], &["f g h i j"]).score, 0.0);
    }
}
