//! Language detection over the real news corpus beside the checkout (`../shared/real-corpus`,
//! or `SVODKA_REAL_CORPUS`; see `build.rs`). Its text belongs to the publishers, so it never
//! enters the repository: these tests read it where it lies and show as ignored where it is
//! absent.
//!
//! The parallel files are sentence-aligned news in Russian and English (`ru-en.tsv`: Russian
//! source, English reference; `en-ru.tsv`: English source, Russian reference), many of them
//! short: exactly the lines on which plain whatlang says Ukrainian, Bulgarian, Danish or
//! Javanese and the pipeline would skip the article as unserved. With the default served
//! languages every one of them must come out as its own language.
//!
//! The pipeline detects through `svodka::article::parse`; these tests call the detector it uses,
//! `svodka::article::lang::detect`, with the pipeline's default served languages.

mod common;

use common::corpus::read;

use serde_json::Value;
use svodka::article::lang::{default_served, detect};

/// One piece of text and the language it is in.
struct Sample {
    /// `file:line` (and column), for the failure message.
    at: String,
    lang: &'static str,
    text: String,
}

/// Both sides of both parallel files.
fn parallel_sentences() -> Vec<Sample> {
    let mut out = Vec::new();
    for (file, langs, lines) in [("ru-en.tsv", ["ru", "en"], 296), ("en-ru.tsv", ["en", "ru"], 297)] {
        let text = read(file);
        let rows: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(rows.len(), lines, "{file}: line count");
        for (n, row) in rows.iter().enumerate() {
            let cols: Vec<&str> = row.split('\t').collect();
            assert_eq!(cols.len(), 2, "{file}:{}: two tab-separated columns", n + 1);
            for (col, (&lang, text)) in langs.iter().zip(cols).enumerate() {
                out.push(Sample {
                    at: format!("{file}:{}:{}", n + 1, col + 1),
                    lang,
                    text: text.trim().to_string(),
                });
            }
        }
    }
    out
}

/// Misdetections of `samples` with `served`, one line each: where, wanted, got, text.
fn misdetected(samples: &[Sample], served: &[String]) -> Vec<String> {
    samples
        .iter()
        .filter_map(|s| {
            let got = detect(&s.text, served);
            (got.as_ref().map(|(l, _)| l.as_str()) != Some(s.lang))
                .then(|| format!("{} [{}] got {got:?}: {}", s.at, s.lang, s.text))
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn every_parallel_sentence_is_detected_as_its_language() {
    let samples = parallel_sentences();
    assert_eq!(samples.len(), 2 * (296 + 297));
    let wrong = misdetected(&samples, &default_served());
    // No served languages: plain whatlang, the detector before the served-language policy.
    let plain = misdetected(&samples, &[]);
    println!(
        "{} corpus sentences (ru and en): plain whatlang misdetects {}, svodka's detector {}",
        samples.len(),
        plain.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {} sentences misdetected (served = {:?}):\n{}",
        wrong.len(),
        samples.len(),
        default_served(),
        wrong.join("\n")
    );
}

/// The corpus' whole articles (the pipeline's case) must all come out right. Their titles and
/// paragraphs, and the second Russian reference of `en-ru` (`en-ru.ntrex-ref2.ru.txt`), were
/// not looked at while the policy was written: on them it must do no worse than plain whatlang
/// (the figures are printed).
#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn articles_and_held_out_lines() {
    let mut articles = Vec::new();
    let mut lines = Vec::new();
    for (n, row) in read("articles.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        let v: Value = serde_json::from_str(row).unwrap_or_else(|e| panic!("articles.jsonl:{}: {e}", n + 1));
        let field = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("articles.jsonl:{}: no {k}", n + 1))
        };
        let lang = match field("lang") {
            "ru" => "ru",
            "en" => "en",
            other => panic!("articles.jsonl:{}: language {other}", n + 1),
        };
        let id = field("id");
        articles.push(Sample {
            at: id.to_string(),
            lang,
            text: field("text").to_string(),
        });
        let title = std::iter::once(field("title"));
        for (p, text) in title.chain(field("text").lines()).enumerate() {
            if text.chars().any(char::is_alphabetic) {
                lines.push(Sample {
                    at: format!("{id}:{p}"),
                    lang,
                    text: text.trim().to_string(),
                });
            }
        }
    }
    assert_eq!(articles.len(), 15, "articles.jsonl: 8 Russian and 7 English articles");
    for (n, text) in read("en-ru.ntrex-ref2.ru.txt").lines().enumerate() {
        if text.chars().any(char::is_alphabetic) {
            lines.push(Sample {
                at: format!("en-ru.ntrex-ref2.ru.txt:{}", n + 1),
                lang: "ru",
                text: text.trim().to_string(),
            });
        }
    }

    let served = default_served();
    let wrong_articles = misdetected(&articles, &served);
    let wrong = misdetected(&lines, &served);
    let plain = misdetected(&lines, &[]);
    println!(
        "{} held-out lines (titles, paragraphs, second Russian reference): plain whatlang misdetects {}, \
         svodka's detector {}:\n{}",
        lines.len(),
        plain.len(),
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        wrong_articles.is_empty(),
        "articles misdetected:\n{}",
        wrong_articles.join("\n")
    );
    assert!(
        wrong.len() <= plain.len(),
        "the served-language policy does worse than plain whatlang ({} > {}):\n{}",
        wrong.len(),
        plain.len(),
        wrong.join("\n")
    );
}

/// The measure, as a user meets it: every sentence of both parallel files as a one-line
/// JSONL article (written to a temporary file, never to the repository) through the real
/// `svodka run` with the default configuration. Every record is `ok` (none skipped as another
/// language) and has its sentence's language.
#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn every_parallel_sentence_as_a_jsonl_article_is_summarised_not_skipped() {
    let samples = parallel_sentences();
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("sentences.jsonl");
    let lines: Vec<String> = samples
        .iter()
        .map(|s| serde_json::json!({ "id": s.at, "text": s.text }).to_string())
        .collect();
    std::fs::write(&feed, lines.join("\n") + "\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_svodka"))
        .args(["run", "-q", "--set", "translate.models={}", feed.to_str().unwrap()])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), samples.len());
    let wrong: Vec<String> = samples
        .iter()
        .zip(&records)
        .filter(|(s, r)| r["status"] != "ok" || r["lang"] != s.lang)
        .map(|(s, r)| {
            format!(
                "{} [{}]: status {} lang {}: {}",
                s.at, s.lang, r["status"], r["lang"], s.text
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        samples.len(),
        wrong.join("\n")
    );
}
