//! `svodka check` through the real binary on hand-written outputs (tests/fixtures/checks):
//! every check but `truncated` (which needs the generator's word) fires where it should, in
//! Russian and in English, and none fires on a correct output (`3,8 %` -> `3.8%`). And
//! `checks.retry` in `svodka run` through the seq2seq and GGUF fixture backends.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

struct Example {
    kind: String,
    from: String,
    to: String,
    source: String,
    output: String,
    flags: String,
}

fn examples() -> Vec<Example> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checks/examples.tsv");
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 6, "six fields: {l}");
            Example {
                kind: f[0].into(),
                from: f[1].into(),
                to: f[2].into(),
                source: f[3].into(),
                output: f[4].into(),
                flags: f[5].into(),
            }
        })
        .collect()
}

#[test]
fn every_check_fires_on_its_examples_and_none_on_correct_outputs() {
    let all = examples();
    let dir = tempfile::tempdir().unwrap();
    let mut fired = std::collections::BTreeSet::new();
    let mut quiet = 0;
    // One call per (kind, direction), as a user checks one file of outputs.
    let mut groups: Vec<(String, String, String)> = all
        .iter()
        .map(|e| (e.kind.clone(), e.from.clone(), e.to.clone()))
        .collect();
    groups.dedup();
    for (kind, from, to) in groups {
        let items: Vec<&Example> = all
            .iter()
            .filter(|e| e.kind == kind && e.from == from && e.to == to)
            .collect();
        let (src, hyp) = (dir.path().join("src.txt"), dir.path().join("hyp.txt"));
        let join = |f: &dyn Fn(&Example) -> &str| items.iter().map(|e| f(e)).collect::<Vec<_>>().join("\n") + "\n";
        std::fs::write(&src, join(&|e| &e.source)).unwrap();
        std::fs::write(&hyp, join(&|e| &e.output)).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["check", "--from", &from, "--to", &to, "--src"])
            .arg(&src)
            .arg("--hyp")
            .arg(&hyp);
        if kind == "summary" {
            cmd.arg("--summaries");
        }
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        let got: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(got.len(), items.len());
        for (e, g) in items.iter().zip(&got) {
            assert_eq!(g, &e.flags, "{kind} {from}->{to}: `{}` for `{}`", e.output, e.source);
            fired.extend(g.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            quiet += usize::from(g.is_empty());
        }
        let flagged = items.iter().filter(|e| !e.flags.is_empty()).count();
        assert!(
            stderr.contains(&format!("{flagged} of {} outputs flagged", items.len())),
            "{stderr}"
        );
    }
    let want = ["copy", "empty", "language", "length", "numbers", "repetition"];
    assert_eq!(fired.iter().map(String::as_str).collect::<Vec<_>>(), want);
    assert!(quiet >= 8, "correct outputs that must not be flagged: {quiet}");
}

#[test]
fn files_of_different_lengths_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (src, hyp) = (dir.path().join("s.txt"), dir.path().join("h.txt"));
    std::fs::write(&src, "a\nb\n").unwrap();
    std::fs::write(&hyp, "a\n").unwrap();
    let o = Command::new(BIN)
        .args(["check", "--from", "ru", "--to", "en", "--src"])
        .arg(&src)
        .arg("--hyp")
        .arg(&hyp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("h.txt") && e.contains("s.txt"), "{e}");
}

/// `svodka run` with `checks.retry` on the fixture models: a seq2seq summariser (BART) with a
/// Marian translator, and a GGUF model for everything. Random weights flag nearly every
/// output, so every flagged language must have been retried, and the run must say so.
#[test]
fn retries_run_through_seq2seq_and_gguf_backends() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fx = root.join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for a in ["en-summit.md", "ru-wildfire.md"] {
        std::fs::copy(fx.join("articles").join(a), input.join(a)).unwrap();
    }
    let path = |p: &str| fx.join(p).display().to_string();
    let setups: Vec<Vec<String>> = vec![
        vec![
            format!("summarize.model={}", path("seq2seq/bart")),
            "summarize.generate.max_new_tokens=8".into(),
            format!("translate.models.ru-en={}", path("marian/base")),
            format!("translate.models.en-ru={}", path("marian/tcbig")),
            "translate.prefixes.en-ru=\">>rus<< \"".into(),
            "translate.generate.max_new_tokens=8".into(),
        ],
        vec![
            format!("llm.model={}", path("gguf/tiny_qwen2.gguf")),
            "generate.max_new_tokens=6".into(),
            "llm.context=1024".into(),
        ],
    ];
    for sets in setups {
        let run = |retry: bool| {
            let out = dir.path().join(format!("out-{retry}.jsonl"));
            let mut cmd = Command::new(BIN);
            cmd.arg("run").arg(&input).arg("-o").arg(&out);
            for s in &sets {
                cmd.args(["--set", s]);
            }
            cmd.args(["--set", &format!("checks.retry={retry}")]);
            let o = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            assert!(o.status.success(), "{sets:?}: {stderr}");
            let recs: Vec<serde_json::Value> = std::fs::read_to_string(&out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (recs, stderr)
        };
        let (plain, stderr) = run(false);
        let flagged = plain.iter().filter(|r| r.get("checks").is_some()).count();
        assert!(flagged > 0, "random weights give flagged outputs: {sets:?}");
        assert!(stderr.contains(&format!("{flagged} flagged by checks")), "{stderr}");
        assert!(plain.iter().all(|r| r.get("retried").is_none()));
        let (retried, _) = run(true);
        for r in &retried {
            let Some(checks) = r.get("checks").and_then(|c| c.as_object()) else {
                continue;
            };
            let again: Vec<&str> = r["retried"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            for lang in checks.keys() {
                assert!(again.contains(&lang.as_str()), "{lang} flagged but not retried: {r}");
            }
        }
        assert!(retried.iter().any(|r| r.get("retried").is_some()), "{sets:?}");
    }
}
