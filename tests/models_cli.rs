//! CLI tests of the model side: `svodka translate` against transformers' references, model
//! cards and the offline errors, and `svodka run` with the fixture models as translators.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(variant: &str) -> PathBuf {
    root().join("tests/fixtures/marian").join(variant)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text.replace("-Infinity", "\"-Infinity\"")).unwrap()
}

/// Run in a temp dir with an empty Hugging Face cache and downloads forbidden.
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

/// `svodka translate` prints, line for line, what `generate()` + `batch_decode` gave with the
/// model's own generation config (beam search, forced EOS, bad words, renormalised logits).
#[test]
fn translate_prints_what_transformers_generates() {
    let tmp = tempfile::tempdir().unwrap();
    // Marian, and NLLB (M2M100) whose fixture tokenizer and generation config carry the
    // ru → en direction (source language token, forced target language BOS).
    let nllb = root().join("tests/fixtures/seq2seq/m2m100");
    for (dir, from, to) in [
        (fixture("base"), "ru", "en"),
        (fixture("tcbig"), "en", "ru"),
        (nllb, "ru", "en"),
    ] {
        let variant = dir.file_name().unwrap().to_string_lossy().into_owned();
        let inputs = json(&dir.join("reference/inputs.json"));
        let sentences: Vec<&str> = inputs["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let file = tmp.path().join(format!("{variant}.txt"));
        std::fs::write(&file, sentences.join("\n") + "\n").unwrap();
        let out = svodka(
            tmp.path(),
            &[
                "translate",
                "--model",
                dir.to_str().unwrap(),
                "--from",
                from,
                "--to",
                to,
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let want = json(&dir.join("reference/outputs.json"))["settings"]["default"]["decoded"].clone();
        let want: Vec<String> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(got, want, "{variant}");
    }
}

#[test]
fn generation_settings_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let base = fixture("base");
    let outputs = json(&base.join("reference/outputs.json"));
    let sentence = json(&base.join("reference/inputs.json"))["sentences"][1]
        .as_str()
        .unwrap()
        .to_string();
    let file = tmp.path().join("one.txt");
    std::fs::write(&file, format!("{sentence}\n")).unwrap();
    let greedy = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            base.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            "--set",
            "generate.num_beams=1",
            "--set",
            "generate.max_new_tokens=20",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(greedy.status.code(), Some(0), "{}", stderr(&greedy));
    let want = outputs["settings"]["greedy"]["decoded"][1].as_str().unwrap();
    assert_eq!(String::from_utf8(greedy.stdout).unwrap().trim_end(), want);
    let bad = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            base.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            "--set",
            "generate.num_beam=2",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("num_beam"), "{}", stderr(&bad));
}

#[test]
fn model_cards_and_offline_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = svodka(tmp.path(), &["models", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("opus-mt-ru-en") && text.contains("opus-mt-en-ru"),
        "{text}"
    );
    assert!(text.contains("Helsinki-NLP/opus-mt-ru-en@"), "{text}");

    let out = svodka(tmp.path(), &["models", "info", "opus-mt-en-ru"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("source_lang = \"en\""));

    let out = svodka(tmp.path(), &["models", "fetch", "opus-mt-ru-en"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("opus-mt-ru-en") && err.contains("HF_HUB_OFFLINE") && err.contains("svodka models fetch"),
        "{err}"
    );

    // The default configuration uses the cards: offline and uncached, the run stops before any work.
    let articles = root().join("tests/fixtures/articles");
    let out = svodka(tmp.path(), &["run", "-o", "out.jsonl", articles.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("opus-mt-en-ru"), "{}", stderr(&out));
    assert!(!tmp.path().join("out.jsonl").exists(), "no output is started");

    let out = svodka(
        tmp.path(),
        &["translate", "--model", "no-such-model", "--from", "ru", "--to", "en"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-such-model"), "{}", stderr(&out));
}

/// With the fixture models as translators every article gets both summaries, and `models`
/// says which model made each.
#[test]
fn run_with_fixture_translators_writes_both_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    let articles = root().join("tests/fixtures/articles");
    let ru_en = format!("translate.models.ru-en={}", fixture("base").display());
    let en_ru = format!("translate.models.en-ru={}", fixture("tcbig").display());
    let out = svodka(
        tmp.path(),
        &[
            "run",
            "-q",
            "-o",
            "out.jsonl",
            "--set",
            &ru_en,
            "--set",
            &en_ru,
            "--set",
            "translate.prefixes.en-ru=\">>rus<< \"",
            "--set",
            "translate.generate.max_new_tokens=12",
            "--set",
            "translate.full=true",
            articles.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(tmp.path().join("out.jsonl")).unwrap();
    let recs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 9);
    for r in &recs {
        let lang = r["lang"].as_str().unwrap();
        let other = if lang == "en" { "ru" } else { "en" };
        assert!(!r["summary"]["en"].as_str().unwrap().is_empty());
        assert!(!r["summary"]["ru"].as_str().unwrap().is_empty());
        assert_eq!(r["missing"], serde_json::json!([]));
        assert_eq!(r["models"][format!("summary.{lang}")], "lead-3");
        let translator = if other == "en" {
            fixture("base")
        } else {
            fixture("tcbig")
        };
        assert_eq!(
            r["models"][format!("summary.{other}")],
            format!("lead-3 → {}", translator.display())
        );
        assert!(r["timings_ms"]["translate"].as_f64().unwrap() >= 0.0);
        // translate.full: the whole article in the other language, paragraph by paragraph.
        let full = r["translation"][other].as_str().unwrap();
        let paragraphs = r["chunks"].as_u64().unwrap();
        assert!(!full.is_empty() && paragraphs >= 1);
        assert_eq!(
            r["models"][format!("translation.{other}")],
            translator.display().to_string()
        );
        assert!(r["translation"].get(lang).is_none());
    }
}

/// `svodka summarize --model DIR` prints what `generate()` + `batch_decode` gave with the
/// model's generation config, for each summarisation family with fixtures.
#[test]
fn summarize_prints_what_transformers_generates() {
    let tmp = tempfile::tempdir().unwrap();
    for variant in ["bart", "t5"] {
        let dir = root().join("tests/fixtures/seq2seq").join(variant);
        let inputs = json(&dir.join("reference/inputs.json"));
        // The raw texts: svodka adds T5's task prefix itself, as transformers' pipeline does.
        let key = if inputs.get("texts").is_some() {
            "texts"
        } else {
            "sentences"
        };
        let texts: Vec<&str> = inputs[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let file = tmp.path().join(format!("{variant}.txt"));
        std::fs::write(&file, texts.join("\n") + "\n").unwrap();
        let out = svodka(
            tmp.path(),
            &["summarize", "--model", dir.to_str().unwrap(), file.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let want = json(&dir.join("reference/outputs.json"))["settings"]["default"]["decoded"].clone();
        let want: Vec<String> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(got, want, "{variant}");
    }
}

/// A model summariser in the pipeline: abstractive summaries in the article's language,
/// translated into the other; long articles go through map-reduce and finish.
#[test]
fn run_with_a_fixture_summariser() {
    let tmp = tempfile::tempdir().unwrap();
    let articles = root().join("tests/fixtures/articles");
    let bart = root().join("tests/fixtures/seq2seq/bart");
    let summarizer = format!("summarize.model={}", bart.display());
    let ru_en = format!("translate.models.ru-en={}", fixture("base").display());
    let en_ru = format!("translate.models.en-ru={}", fixture("tcbig").display());
    let out = svodka(
        tmp.path(),
        &[
            "run",
            "-q",
            "-o",
            "out.jsonl",
            "--set",
            &summarizer,
            "--set",
            "summarize.generate.max_new_tokens=10",
            "--set",
            &ru_en,
            "--set",
            &en_ru,
            "--set",
            "translate.prefixes.en-ru=\">>rus<< \"",
            "--set",
            "translate.generate.max_new_tokens=8",
            articles.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(tmp.path().join("out.jsonl")).unwrap();
    let recs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 9);
    for r in &recs {
        let lang = r["lang"].as_str().unwrap();
        assert_eq!(r["models"][format!("summary.{lang}")], bart.display().to_string());
        // Random weights may well translate to nothing; what matters is who wrote what.
        assert!(r["summary"]["en"].is_string() && r["summary"]["ru"].is_string());
        assert_eq!(r["missing"], serde_json::json!([]));
        let other = if lang == "en" { "ru" } else { "en" };
        assert!(
            r["models"][format!("summary.{other}")]
                .as_str()
                .unwrap()
                .starts_with(&format!("{} → ", bart.display()))
        );
    }
    let metro = recs
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("ru-metro.md"))
        .unwrap();
    assert!(
        metro["chunks"].as_u64().unwrap() >= 20,
        "the long article is chunked by the model's tokenizer: {}",
        metro["chunks"]
    );
}

/// A multilingual model serves every direction its language tokens name, not only the one its
/// tokenizer files were saved with: NLLB en → ru (source token `eng_Latn`, forced `rus_Cyrl`)
/// and the mBART summariser set up for English (`… </s> en_XX`, forced `en_XX`), as
/// transformers gives with `src_lang` and `forced_bos_token_id` set (`directions.py`).
#[test]
fn multilingual_models_follow_the_requested_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let seq2seq = root().join("tests/fixtures/seq2seq");
    let cases: [(&str, &str, &[&str]); 3] = [
        ("m2m100", "en-ru", &["translate", "--from", "en", "--to", "ru"]),
        ("m2m100", "ru-en", &["translate", "--from", "ru", "--to", "en"]),
        ("mbart", "en-en", &["summarize", "--lang", "en"]),
    ];
    for (variant, direction, args) in cases {
        let dir = seq2seq.join(variant);
        let reference = json(&dir.join("reference/directions.json"))[direction].clone();
        let texts: Vec<&str> = reference["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let file = tmp.path().join(format!("{variant}-{direction}.txt"));
        std::fs::write(&file, texts.join("\n") + "\n").unwrap();
        let mut argv = args.to_vec();
        argv.extend(["--model", dir.to_str().unwrap(), file.to_str().unwrap()]);
        let out = svodka(tmp.path(), &argv);
        assert_eq!(out.status.code(), Some(0), "{variant} {direction}: {}", stderr(&out));
        let got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let want: Vec<String> = reference["decoded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{variant} {direction}");
    }
    // A language the model has no token for is a load error naming it.
    let file = tmp.path().join("one.txt");
    std::fs::write(&file, "Hello.\n").unwrap();
    let nllb = seq2seq.join("m2m100");
    let out = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            nllb.to_str().unwrap(),
            "--from",
            "en",
            "--to",
            "tlh",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no language token for `tlh`"), "{}", stderr(&out));
    // The mBART fixture (set up for ru_RU, no card) refuses a line detected as English: an
    // error for that line and exit 3, not a summary in the wrong language.
    let en = tmp.path().join("en.txt");
    std::fs::write(
        &en,
        "The city council approved the new budget on Tuesday, officials said.\n",
    )
    .unwrap();
    let mbart = seq2seq.join("mbart");
    let out = svodka(
        tmp.path(),
        &["summarize", "--model", mbart.to_str().unwrap(), en.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not write en summaries"), "{}", stderr(&out));
}
