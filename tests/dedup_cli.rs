//! Near-duplicate articles, end to end: a corpus made from the committed fixture articles with
//! planted copies (headline changed, first sentence rewritten, a sentence added, a sentence
//! removed, boilerplate appended) is run through the real binary with the tiny BART fixture as
//! the summariser. The copies must be found (recall >= 0.95), point at their originals, reuse
//! their summaries and cost no model time; distinct articles must never match.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn svodka(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--set", "translate.models={}"])
        .current_dir(dir)
        .output()
        .expect("svodka starts")
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The body paragraph with most sentences (not a heading, picture, caption or table).
fn longest_paragraph(md: &str) -> &str {
    md.split("\n\n")
        .filter(|p| !p.starts_with(['#', '!', '*', '|', '>']))
        .max_by_key(|p| p.matches(". ").count())
        .expect("a paragraph")
}

/// The planted copies of one Markdown article: (kind, text).
fn copies(md: &str, lang: &str) -> Vec<(&'static str, String)> {
    let para = longest_paragraph(md);
    let sentences: Vec<&str> = para.split_inclusive(". ").collect();
    assert!(sentences.len() >= 3, "a paragraph of 3+ sentences: {para}");
    let (added, first, boilerplate, headline) = if lang == "ru" {
        (
            "Представители ведомства отказались от дальнейших комментариев во вторник. ",
            "Как стало известно нашему изданию, ",
            "\n\nЧитайте также: подписывайтесь на наш канал, чтобы первыми узнавать главные новости дня. \
             © 2025 Новостное агентство. Все права защищены.\n",
            "# Срочно: подробности",
        )
    } else {
        (
            "Officials declined to comment further on Tuesday. ",
            "As our correspondent reports, ",
            "\n\nRead more: subscribe to our newsletter to get the day's top stories first. \
             © 2025 Example News. All rights reserved.\n",
            "# Breaking: the details",
        )
    };
    let with_para = |p: String| md.replacen(para, &p, 1);
    let mut out = Vec::new();
    // Headline changed: the first line.
    let (_, rest) = md.split_once('\n').unwrap();
    out.push(("headline", format!("{headline}\n{rest}")));
    // The paragraph's first sentence rewritten (the lead that editors change).
    let mut s = sentences.clone();
    let rewritten = format!("{first}{}", s[0]);
    s[0] = &rewritten;
    out.push(("first-sentence", with_para(s.concat())));
    // A sentence added after the first.
    let mut s = sentences.clone();
    s.insert(1, added);
    out.push(("sentence-added", with_para(s.concat())));
    // A sentence removed.
    let mut s = sentences.clone();
    s.remove(1);
    out.push(("sentence-removed", with_para(s.concat())));
    // Boilerplate appended.
    out.push(("boilerplate", format!("{}{boilerplate}", md.trim_end())));
    out
}

#[test]
fn planted_copies_are_found_reuse_their_originals_and_cost_no_model_time() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    // Originals sort before their copies ("a-" < "b-"), so that each copy comes later in the
    // run than its original.
    let mut planted = Vec::new();
    for entry in std::fs::read_dir(fixtures().join("articles")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        std::fs::copy(&path, corpus.join(format!("a-{name}"))).unwrap();
        if !name.ends_with(".md") {
            continue; // the HTML page is a distinct article only
        }
        let md = std::fs::read_to_string(&path).unwrap();
        let lang = &name[..2];
        for (kind, text) in copies(&md, lang) {
            let copy = format!("b-{kind}-{name}");
            std::fs::write(corpus.join(&copy), text).unwrap();
            planted.push((copy, format!("a-{name}")));
        }
    }
    // The JSONL feed: short distinct briefs, never copies.
    std::fs::copy(fixtures().join("feed.jsonl"), corpus.join("c-feed.jsonl")).unwrap();

    let out = dir.path().join("out.jsonl");
    let bart = fixtures().join("seq2seq/bart");
    let o = svodka(
        dir.path(),
        &[
            "run",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--set",
            &format!("summarize.model={}", bart.display()),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let recs = records(&out);
    let by_source = |file: &str| -> &Value {
        recs.iter()
            .find(|r| r["source"].as_str().unwrap().ends_with(&format!("/{file}")))
            .unwrap_or_else(|| panic!("no record for {file}"))
    };

    let mut found = 0;
    for (copy, original) in &planted {
        let (c, orig) = (by_source(copy), by_source(original));
        assert!(orig.get("duplicate_of").is_none(), "{original} is an original");
        if c.get("duplicate_of").is_none() {
            eprintln!("missed: {copy}");
            continue;
        }
        found += 1;
        assert_eq!(c["duplicate_of"], orig["id"], "{copy} points at its original");
        assert_eq!(c["summary"], orig["summary"], "{copy} reuses its original's summaries");
        assert_eq!(c["models"], orig["models"]);
        // No model time: parsing and chunking only.
        let t = c["timings_ms"].as_object().unwrap();
        assert!(!t.contains_key("summarize"), "{copy}: {t:?}");
        assert!(orig["timings_ms"]["summarize"].as_f64().unwrap() > 0.0);
    }
    let recall = found as f64 / planted.len() as f64;
    eprintln!("dedup recall {found}/{} = {recall:.3}", planted.len());
    assert!(recall >= 0.95, "recall {found}/{}", planted.len());
    // No false match: every record that is not a planted copy is an original.
    let copies: Vec<&str> = planted.iter().map(|(c, _)| c.as_str()).collect();
    for r in &recs {
        let source = r["source"].as_str().unwrap();
        if !copies.iter().any(|c| source.ends_with(&format!("/{c}"))) {
            assert!(r.get("duplicate_of").is_none(), "false match: {r}");
        }
    }
    assert!(
        stderr.contains(&format!("{found} duplicates (summaries reused)")),
        "the closing line counts the copies: {stderr}"
    );

    // Resumed after a cut: the index is rebuilt from the units already written, so copies
    // past the cut still point at originals before it.
    let all = std::fs::read_to_string(&out).unwrap();
    let keep = all.lines().count() / 3;
    let cut: String = all.lines().take(keep).map(|l| format!("{l}\n")).collect();
    std::fs::write(&out, cut).unwrap();
    let o = svodka(
        dir.path(),
        &[
            "run",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--resume",
            "--set",
            &format!("summarize.model={}", bart.display()),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let strip = |r: &Value| {
        let mut r = r.clone();
        r.as_object_mut().unwrap().remove("timings_ms");
        r
    };
    let resumed: Vec<Value> = records(&out).iter().map(strip).collect();
    let whole: Vec<Value> = recs.iter().map(strip).collect();
    assert_eq!(resumed, whole, "a resumed run writes what one run writes");

    // dedup = "off": every article is summarised.
    let o = svodka(
        dir.path(),
        &[
            "run",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--set",
            "dedup.mode=\"off\"",
        ],
    );
    assert!(o.status.success());
    assert!(records(&out).iter().all(|r| r.get("duplicate_of").is_none()));
}

#[test]
fn exact_mode_takes_the_same_text_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let md = std::fs::read_to_string(fixtures().join("articles/en-summit.md")).unwrap();
    std::fs::write(input.join("a.md"), &md).unwrap();
    // The same words, other spacing and case: a copy.
    std::fs::write(input.join("b.md"), md.replace(". ", ".  ").to_uppercase()).unwrap();
    // Boilerplate appended: near, not exact.
    std::fs::write(input.join("c.md"), format!("{md}\n\nRead more on our website.\n")).unwrap();
    let out = dir.path().join("out.jsonl");
    let o = svodka(
        dir.path(),
        &[
            "run",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--set",
            "dedup.mode=\"exact\"",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recs = records(&out);
    let dup: Vec<bool> = recs.iter().map(|r| r.get("duplicate_of").is_some()).collect();
    assert_eq!(dup, [false, true, false]);
    assert_eq!(recs[1]["duplicate_of"], recs[0]["id"]);
    assert_eq!(recs[1]["summary"], recs[0]["summary"]);
}

#[test]
fn a_bad_threshold_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = svodka(dir.path(), &["run", "--set", "dedup.threshold=1.5", "x.md"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("dedup.threshold"), "{stderr}");
}
