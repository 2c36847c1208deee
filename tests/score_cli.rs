//! `svodka score` through the real binary on the parity texts of tests/fixtures/metrics: the
//! printed scores are sacrebleu's and rouge-score's to two decimals, with sacrebleu's own
//! signatures; mismatched files are an error naming both.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn expected() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write_lines(dir: &std::path::Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    let lines: Vec<&str> = v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn score(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_svodka"))
        .arg("score")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The number after `NAME|SIGNATURE = ` on the line that starts with `name|`.
fn printed(out: &str, name: &str) -> (String, String) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{name}|")))
        .unwrap_or_else(|| panic!("no {name} line in {out}"));
    let (head, rest) = line.split_once(" = ").unwrap();
    let sig = head.split_once('|').unwrap().1.to_string();
    (sig, rest.split_whitespace().next().unwrap().to_string())
}

#[test]
fn scores_and_signatures_equal_sacrebleu_and_rouge_score() {
    let e = expected();
    let dir = tempfile::tempdir().unwrap();
    for (lang, set) in e["sets"].as_object().unwrap() {
        let hyp = write_lines(dir.path(), &format!("hyp.{lang}"), &set["hyps"]);
        let r = write_lines(dir.path(), &format!("ref.{lang}"), &set["refs"]);
        let (h, r) = (hyp.to_str().unwrap(), r.to_str().unwrap());
        for (metric, name, key) in [
            ("bleu", "BLEU", "bleu"),
            ("chrf", "chrF2", "chrf"),
            ("chrf++", "chrF2++", "chrf_pp"),
        ] {
            let (ok, out, err) = score(&["--metric", metric, "--hyp", h, "--ref", r]);
            assert!(ok, "{err}");
            let (sig, value) = printed(&out, name);
            assert_eq!(
                value,
                format!("{:.2}", set[key].as_f64().unwrap()),
                "{lang} {metric}: {out}"
            );
            assert_eq!(
                sig,
                set[format!("{key}_signature")].as_str().unwrap(),
                "{lang} {metric} signature"
            );
        }
        // English: rouge-score's own tokeniser; Russian: the Unicode-aware one.
        let (tok, lang_arg) = if lang == "en" {
            ("default", "en")
        } else {
            ("unicode", "ru")
        };
        let (ok, out, err) = score(&["--metric", "rouge", "--hyp", h, "--ref", r, "--lang", lang_arg]);
        assert!(ok, "{err}");
        let want = &set["rouge"][tok]["corpus"];
        for (name, key) in [("ROUGE-1", "rouge1"), ("ROUGE-2", "rouge2"), ("ROUGE-L", "rougeL")] {
            let (sig, value) = printed(&out, name);
            assert!(sig.contains(&format!("tok:{tok}")), "{sig}");
            assert_eq!(
                value,
                format!("{:.2}", want[key]["fmeasure"].as_f64().unwrap() * 100.0),
                "{lang} {name}: {out}"
            );
        }
    }
}

#[test]
fn files_of_different_lengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (h, r) = (dir.path().join("out.txt"), dir.path().join("gold.txt"));
    std::fs::write(&h, "one\ntwo\n").unwrap();
    std::fs::write(&r, "one\n").unwrap();
    let (ok, _, err) = score(&[
        "--metric",
        "rouge",
        "--hyp",
        h.to_str().unwrap(),
        "--ref",
        r.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("out.txt") && err.contains("gold.txt") && err.contains("2 lines"),
        "{err}"
    );
    let (ok, _, err) = score(&[
        "--metric",
        "bleu",
        "--hyp",
        "no-such-file",
        "--ref",
        r.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no-such-file"), "{err}");
}
