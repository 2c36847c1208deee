//! Golden outputs: `svodka run` over the fixture articles and feed with every kind of route the
//! planner knows (lead-3 alone, fixture translators, BART/T5/mBART summarisers in both
//! strategies, int8 weights, NLLB both ways, one GGUF model with and without cross-lingual summaries, long
//! articles through map-reduce), compared byte for byte with the records committed in
//! `tests/fixtures/golden/`. `timings_ms` is dropped (it is the only field allowed to vary) and
//! the checkout's path is written `<root>` so the files do not depend on where the clone lives.
//!
//! Why: a redesign of how work reaches the models (backends, planner, batching) must not change
//! a single output. Regenerate only on purpose, after reading the diff:
//! `SVODKA_BLESS=1 cargo test --test golden`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The scenarios: a name (the golden file's) and the `--set` overrides.
fn scenarios() -> Vec<(&'static str, Vec<String>)> {
    let r = root();
    let path = |p: &str| r.join(p).display().to_string();
    let (base, tcbig) = (path("tests/fixtures/marian/base"), path("tests/fixtures/marian/tcbig"));
    let seq2seq = |v: &str| path(&format!("tests/fixtures/seq2seq/{v}"));
    let translators = |n: u32| {
        vec![
            format!("translate.models.ru-en={base}"),
            format!("translate.models.en-ru={tcbig}"),
            "translate.prefixes.en-ru=\">>rus<< \"".to_string(),
            format!("translate.generate.max_new_tokens={n}"),
        ]
    };
    let summariser = |v: &str, n: u32, strategy: &str| {
        let mut s = vec![
            format!("summarize.model={}", seq2seq(v)),
            format!("summarize.generate.max_new_tokens={n}"),
            format!("summarize.strategy=\"{strategy}\""),
        ];
        s.extend(translators(8));
        s
    };
    let gguf = |extra: &[&str]| {
        let mut s = vec![
            format!("llm.model={}", path("tests/fixtures/gguf/tiny_qwen2.gguf")),
            "llm.max_new_tokens=6".to_string(),
            "llm.context=1024".to_string(),
        ];
        s.extend(extra.iter().map(|x| x.to_string()));
        s
    };
    let mut full = translators(12);
    full.push("translate.full=true".into());
    vec![
        ("lead3", vec!["translate.models={}".to_string()]),
        (
            "lead3-one-sentence",
            vec![
                "translate.models={}".to_string(),
                "summarize.lead_sentences=1".to_string(),
            ],
        ),
        ("marian-full", full),
        (
            "bart-summarize-translate",
            summariser("bart", 10, "summarize-translate"),
        ),
        (
            "bart-translate-summarize",
            summariser("bart", 10, "translate-summarize"),
        ),
        ("t5-summarize-translate", summariser("t5", 9, "summarize-translate")),
        ("bart-int8", {
            // int8 weights for the summariser and both translators.
            let mut s = summariser("bart", 10, "summarize-translate");
            s.push("summarize.dtype=\"int8\"".into());
            s.push("translate.dtype=\"int8\"".into());
            s
        }),
        ("t5v1-beam", {
            let mut s = summariser("t5v1", 7, "summarize-translate");
            s.push("summarize.generate.num_beams=3".into());
            s.push("translate.generate.num_beams=2".into());
            s
        }),
        (
            "mbart-nllb",
            vec![
                format!("summarize.model={}", seq2seq("mbart")),
                "summarize.generate.max_new_tokens=6".into(),
                "summarize.strategy=\"translate-summarize\"".into(),
                format!("translate.models.ru-en={}", seq2seq("m2m100")),
                format!("translate.models.en-ru={}", seq2seq("m2m100")),
                "translate.generate.max_new_tokens=6".into(),
            ],
        ),
        ("gguf", gguf(&[])),
        ("gguf-cross-lingual", gguf(&["llm.cross_lingual=true"])),
        ("gguf-summariser-marian", {
            // A GGUF summariser with seq2seq translators: two kinds of backend in one plan.
            let mut s = translators(5);
            s.push(format!(
                "summarize.model={}",
                path("tests/fixtures/gguf/tiny_llama.gguf")
            ));
            s.push("llm.max_new_tokens=12".into());
            s
        }),
    ]
}

/// One record as committed: `timings_ms` removed, the checkout's path replaced by `<root>`.
fn normalise(line: &str, root: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("timings_ms");
    }
    serde_json::to_string(&v).unwrap().replace(root, "<root>")
}

/// The first 400 characters of a line, for messages.
fn short(line: &str) -> String {
    line.chars().take(400).collect()
}

#[test]
fn fixture_runs_give_the_committed_records() {
    let bless = std::env::var_os("SVODKA_BLESS").is_some();
    let golden = root().join("tests/fixtures/golden");
    let root_str = root().display().to_string();
    let articles = root().join("tests/fixtures/articles");
    let feed = root().join("tests/fixtures/feed.jsonl");
    let mut failures = Vec::new();
    for (name, sets) in scenarios() {
        let tmp = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["run".into(), "-q".into(), "-o".into(), "out.jsonl".into()];
        for s in &sets {
            args.extend(["--set".into(), s.clone()]);
        }
        args.push(articles.display().to_string());
        args.push(feed.display().to_string());
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(tmp.path())
            .env("HF_HOME", tmp.path().join("hf-home"))
            .env("HF_HUB_OFFLINE", "1")
            // candle puts a backtrace into its error messages when this is set.
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        let text = std::fs::read_to_string(tmp.path().join("out.jsonl"))
            .unwrap_or_else(|e| panic!("{name}: no output ({e}); exit {code:?}: {stderr}"));
        let mut got: Vec<String> = text.lines().map(|l| normalise(l, &root_str)).collect();
        got.push(format!("exit {}", code.unwrap_or(-1)));
        let got = got.join("\n") + "\n";
        let file = golden.join(format!("{name}.jsonl"));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (SVODKA_BLESS=1 writes it)", file.display()));
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{name}: line {} differs\n  got:  {}\n  want: {}\n  stderr: {stderr}",
                first + 1,
                short(got.lines().nth(first).unwrap_or("<none>")),
                short(want.lines().nth(first).unwrap_or("<none>"))
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!bless, "golden files written; unset SVODKA_BLESS and run again");
}

#[test]
fn golden_files_are_not_trivial() {
    // Guard against a blessed run that failed everywhere: every scenario's file holds records of
    // all 9 articles plus the feed's, and the model scenarios hold model-written summaries.
    let golden = root().join("tests/fixtures/golden");
    for (name, _) in scenarios() {
        let file = golden.join(format!("{name}.jsonl"));
        let text = std::fs::read_to_string(&file).unwrap();
        let records: Vec<Value> = text
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(records.len() >= 10, "{name}: {} records", records.len());
        let ok = records.iter().filter(|r| r["status"] == "ok").count();
        assert!(ok >= 9, "{name}: {ok} ok records");
        if name != "lead3" && name != "lead3-one-sentence" {
            let by_model = records
                .iter()
                .filter(|r| {
                    r["models"]
                        .as_object()
                        .is_some_and(|m| m.values().any(|v| v.as_str().is_some_and(|s| s != "lead-3")))
                })
                .count();
            assert!(by_model >= 9, "{name}: only {by_model} records touched by a model");
        }
    }
}
