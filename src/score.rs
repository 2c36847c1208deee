//! `svodka score`: score existing outputs against references, one segment per line, as
//! sacrebleu's command line does for BLEU and chrF (same numbers, same signature) and with
//! rouge-score's ROUGE-1/2/L F1 (mean over segments).

use std::path::{Path, PathBuf};

use crate::metrics::{self, rouge::RougeTokenizer};

/// sacrebleu's version our BLEU and chrF match (see `tests/fixtures/metrics`).
const SACREBLEU: &str = "2.5.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    Bleu,
    Chrf,
    #[value(name = "chrf++")]
    ChrfPlusPlus,
    Rouge,
}

/// Why the files cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` has {hyps} lines but `{}` has {refs}: one hypothesis per reference line is needed", hyp.display(), r#ref.display())]
    Lengths {
        hyp: PathBuf,
        r#ref: PathBuf,
        hyps: usize,
        refs: usize,
    },
    #[error("`{}` has no lines to score", path.display())]
    Empty { path: PathBuf },
}

fn read_lines(path: &Path) -> Result<Vec<String>, ScoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.lines().map(str::to_string).collect())
}

/// `svodka check`: each output's flags (comma-separated check names, empty when it looks
/// sound), one per line, and a closing count per check. Outputs cannot say whether they hit
/// a token limit, so `truncated` is never flagged here.
pub fn check(
    src: &Path,
    hyp: &Path,
    from: &str,
    to: &str,
    summaries: bool,
    served: &[String],
) -> Result<(Vec<String>, String), ScoreError> {
    let (s, h) = (read_lines(src)?, read_lines(hyp)?);
    if s.len() != h.len() {
        return Err(ScoreError::Lengths {
            hyp: hyp.to_path_buf(),
            r#ref: src.to_path_buf(),
            hyps: h.len(),
            refs: s.len(),
        });
    }
    let kind = if summaries {
        crate::checks::Kind::Summary
    } else {
        crate::checks::Kind::Translation
    };
    let mut counts = std::collections::BTreeMap::new();
    let mut flagged = 0;
    let lines: Vec<String> = s
        .iter()
        .zip(&h)
        .map(|(source, text)| {
            let flags = crate::checks::check(
                &crate::checks::Output {
                    kind,
                    source,
                    source_lang: from,
                    text,
                    lang: to,
                    hit_limit: false,
                },
                served,
            );
            flagged += usize::from(!flags.is_empty());
            for f in &flags {
                *counts.entry(f.name()).or_insert(0usize) += 1;
            }
            flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(",")
        })
        .collect();
    let by: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let summary = format!(
        "{flagged} of {} outputs flagged ({:.1}%){}{}",
        s.len(),
        flagged as f64 / s.len().max(1) as f64 * 100.0,
        if by.is_empty() { "" } else { ": " },
        by.join(", ")
    );
    Ok((lines, summary))
}

/// The score lines to print, in sacrebleu's `-f text` layout for BLEU and chrF:
/// `NAME|SIGNATURE = SCORE DETAILS`.
pub fn score(metric: Metric, hyp: &Path, reference: &Path, lang: Option<&str>) -> Result<Vec<String>, ScoreError> {
    let (h, r) = (read_lines(hyp)?, read_lines(reference)?);
    if h.len() != r.len() {
        return Err(ScoreError::Lengths {
            hyp: hyp.to_path_buf(),
            r#ref: reference.to_path_buf(),
            hyps: h.len(),
            refs: r.len(),
        });
    }
    if h.is_empty() {
        return Err(ScoreError::Empty {
            path: hyp.to_path_buf(),
        });
    }
    let hs: Vec<&str> = h.iter().map(String::as_str).collect();
    let rs: Vec<&str> = r.iter().map(String::as_str).collect();
    Ok(match metric {
        Metric::Bleu => {
            let b = metrics::bleu(&hs, &rs);
            let p: Vec<String> = b.precisions.iter().map(|p| format!("{p:.1}")).collect();
            let ratio = if b.ref_len > 0 {
                b.sys_len as f64 / b.ref_len as f64
            } else {
                0.0
            };
            vec![format!(
                "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{SACREBLEU} = {:.2} {} (BP = {:.3} ratio = {ratio:.3} hyp_len = {} ref_len = {})",
                b.score,
                p.join("/"),
                b.brevity_penalty,
                b.sys_len,
                b.ref_len
            )]
        }
        Metric::Chrf => vec![format!(
            "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:{SACREBLEU} = {:.2}",
            metrics::chrf(&hs, &rs)
        )],
        Metric::ChrfPlusPlus => vec![format!(
            "chrF2++|nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:{SACREBLEU} = {:.2}",
            metrics::chrf::chrf_pp(&hs, &rs)
        )],
        Metric::Rouge => {
            // rouge-score's own tokeniser for English, so scores match it exactly; elsewhere
            // (and when the language is not given) the Unicode-aware one, which equals it on
            // ASCII text and keeps Cyrillic.
            let (tok, name) = match lang {
                Some("en") => (RougeTokenizer::Default, "default"),
                _ => (RougeTokenizer::Unicode, "unicode"),
            };
            let s = metrics::rouge::rouge(&hs, &rs, tok);
            let sig = format!("nrefs:1|tok:{name}|stem:no|agg:mean");
            [("ROUGE-1", &s.rouge1), ("ROUGE-2", &s.rouge2), ("ROUGE-L", &s.rouge_l)]
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{n}|{sig} = {:.2} (P = {:.2} R = {:.2})",
                        v.f1 * 100.0,
                        v.precision * 100.0,
                        v.recall * 100.0
                    )
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_files_are_named() {
        let d = tempfile::tempdir().unwrap();
        let (h, r) = (d.path().join("h.txt"), d.path().join("r.txt"));
        std::fs::write(&h, "a\nb\n").unwrap();
        std::fs::write(&r, "a\n").unwrap();
        let e = score(Metric::Bleu, &h, &r, None).unwrap_err().to_string();
        assert!(
            e.contains("h.txt") && e.contains("2 lines") && e.contains("r.txt"),
            "{e}"
        );
        std::fs::write(&r, "a\nb\n").unwrap();
        let out = score(Metric::Bleu, &h, &r, None).unwrap();
        assert!(
            out[0].starts_with("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1 = "),
            "{out:?}"
        );
    }
}
