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

/// The fixture's recorded inputs under `key` (`sentences`, `texts`), one a line, in `file`.
fn write_inputs(dir: &Path, key: &str, file: &Path) {
    let inputs = json(&dir.join("reference/inputs.json"));
    let texts: Vec<&str> = inputs[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    std::fs::write(file, texts.join("\n") + "\n").unwrap();
}

/// What transformers' `generate` + `batch_decode` gave with the model's own settings.
fn reference_decoded(dir: &Path) -> Vec<String> {
    json(&dir.join("reference/outputs.json"))["settings"]["default"]["decoded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The lines a command printed.
fn stdout_lines(o: Output) -> Vec<String> {
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
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
        let file = tmp.path().join(format!("{variant}.txt"));
        write_inputs(&dir, "sentences", &file);
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
        assert_eq!(stdout_lines(out), reference_decoded(&dir), "{variant}");
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
    assert!(
        text.contains("nllb-200-distilled-600m\tm2m_100\ttranslate\tru↔en\t"),
        "{text}"
    );

    let out = svodka(tmp.path(), &["models", "info", "opus-mt-en-ru"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("source_lang = \"en\""), "{text}");
    assert!(
        text.contains("# dtypes: auto, f32, f16, bf16, int8 (`translate.dtype`"),
        "{text}"
    );

    let out = svodka(tmp.path(), &["models", "fetch", "opus-mt-ru-en"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("opus-mt-ru-en") && err.contains("HF_HUB_OFFLINE") && err.contains("svodka models fetch"),
        "{err}"
    );

    // The cards named outright: offline and uncached, the run stops before any work.
    let articles = root().join("tests/fixtures/articles");
    let out = svodka(
        tmp.path(),
        &[
            "run",
            "--set",
            "translate.models.en-ru=opus-mt-en-ru",
            "-o",
            "out.jsonl",
            articles.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("opus-mt-en-ru"), "{}", stderr(&out));
    assert!(!tmp.path().join("out.jsonl").exists(), "no output is started");
    // The default ("auto") runs without them and says how to get them.
    let out = svodka(tmp.path(), &["run", "-o", "out.jsonl", articles.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("svodka models fetch opus-mt-en-ru opus-mt-ru-en"),
        "{}",
        stderr(&out)
    );
    assert!(tmp.path().join("out.jsonl").exists());

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
        let file = tmp.path().join(format!("{variant}.txt"));
        write_inputs(&dir, key, &file);
        let out = svodka(
            tmp.path(),
            &["summarize", "--model", dir.to_str().unwrap(), file.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout_lines(out), reference_decoded(&dir), "{variant}");
    }
}

/// `svodka run` on the sample articles with `sets`; the records, in input order.
fn run_records(tmp: &Path, sets: &[String]) -> Vec<Value> {
    let articles = root().join("tests/fixtures/articles");
    let mut args: Vec<&str> = vec!["run", "-q", "-o", "out.jsonl"];
    for s in sets {
        args.extend(["--set", s.as_str()]);
    }
    args.push(articles.to_str().unwrap());
    let out = svodka(tmp, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(tmp.join("out.jsonl")).unwrap();
    let recs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 9);
    recs
}

/// A model summariser in the pipeline, both strategies: abstractive summaries in the
/// article's language, and in the other language either the translated summary
/// (`summarize-translate`) or the summary of the translated article (`translate-summarize`);
/// each record says which. Long articles go through map-reduce and finish.
#[test]
fn run_with_a_fixture_summariser_both_strategies() {
    let bart = root().join("tests/fixtures/seq2seq/bart");
    let base = |strategy: &str| {
        vec![
            format!("summarize.model={}", bart.display()),
            "summarize.generate.max_new_tokens=10".into(),
            format!("summarize.strategy=\"{strategy}\""),
            format!("translate.models.ru-en={}", fixture("base").display()),
            format!("translate.models.en-ru={}", fixture("tcbig").display()),
            "translate.prefixes.en-ru=\">>rus<< \"".into(),
            "translate.generate.max_new_tokens=8".into(),
        ]
    };
    let (tmp1, tmp2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = run_records(tmp1.path(), &base("summarize-translate"));
    let second = run_records(tmp2.path(), &base("translate-summarize"));
    let bart = bart.display().to_string();
    let mut differs = 0;
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a["source"], b["source"]);
        let lang = a["lang"].as_str().unwrap();
        let other = if lang == "en" { "ru" } else { "en" };
        let translator = if other == "en" {
            fixture("base")
        } else {
            fixture("tcbig")
        };
        let translator = translator.display().to_string();
        for r in [a, b] {
            assert_eq!(r["status"], "ok");
            assert_eq!(r["models"][format!("summary.{lang}")], bart);
            assert_eq!(r["summary_path"][lang], "summarize");
            // Random weights may well write nothing; what matters is who wrote what.
            assert!(r["summary"]["en"].is_string() && r["summary"]["ru"].is_string());
            assert_eq!(r["missing"], serde_json::json!([]));
        }
        // The article-language summary does not depend on the strategy.
        assert_eq!(a["summary"][lang], b["summary"][lang]);
        assert_eq!(a["summary_path"][other], "summarize-translate");
        assert_eq!(
            a["models"][format!("summary.{other}")],
            format!("{bart} → {translator}")
        );
        assert_eq!(b["summary_path"][other], "translate-summarize");
        assert_eq!(
            b["models"][format!("summary.{other}")],
            format!("{translator} → {bart}")
        );
        differs += usize::from(a["summary"][other] != b["summary"][other]);
        assert!(b["timings_ms"]["translate"].as_f64().unwrap() > 0.0);
    }
    assert!(
        differs >= 5,
        "the two routes give different summaries ({differs} of 9 differ)"
    );
    for recs in [&first, &second] {
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
}

/// A Russian-only summariser (the mBART fixture) with NLLB translating both ways: Russian
/// articles are summarised in Russian and the summary translated; English articles are
/// translated into Russian, summarised, and the Russian summary translated back, since nothing
/// writes English summaries of English text. Both directions share one copy of NLLB.
#[test]
fn run_with_a_russian_summariser_and_nllb() {
    let seq2seq = root().join("tests/fixtures/seq2seq");
    let (mbart, nllb) = (seq2seq.join("mbart"), seq2seq.join("m2m100"));
    let tmp = tempfile::tempdir().unwrap();
    let recs = run_records(
        tmp.path(),
        &[
            format!("summarize.model={}", mbart.display()),
            "summarize.generate.max_new_tokens=6".into(),
            "summarize.strategy=\"translate-summarize\"".into(),
            format!("translate.models.ru-en={}", nllb.display()),
            format!("translate.models.en-ru={}", nllb.display()),
            "translate.generate.max_new_tokens=6".into(),
        ],
    );
    let (mbart, nllb) = (mbart.display().to_string(), nllb.display().to_string());
    for r in &recs {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["missing"], serde_json::json!([]));
        assert!(r["summary"]["en"].is_string() && r["summary"]["ru"].is_string());
        if r["lang"] == "ru" {
            assert_eq!(
                r["summary_path"],
                serde_json::json!({"ru": "summarize", "en": "summarize-translate"})
            );
            assert_eq!(r["models"]["summary.en"], format!("{mbart} → {nllb}"));
        } else {
            assert_eq!(
                r["summary_path"],
                serde_json::json!({"ru": "translate-summarize", "en": "translate-summarize-translate"})
            );
            assert_eq!(r["models"]["summary.ru"], format!("{nllb} → {mbart}"));
            assert_eq!(r["models"]["summary.en"], format!("{nllb} → {mbart} → {nllb}"));
        }
    }
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

/// A Marian directory missing `source.spm` says so, instead of asking for a `tokenizer.json`
/// that Marian repos never have.
#[test]
fn a_marian_directory_without_its_source_spm_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("opus");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(fixture("base")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() && e.file_name() != "source.spm" {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "Привет.\n").unwrap();
    let out = svodka(
        tmp.path(),
        &[
            "translate",
            "--model",
            dir.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("source.spm") && !err.contains("tokenizer.json"), "{err}");
    // The chain does not say the OS error twice: "cannot read …/source.spm: No such file…"
    // is not followed by a bare "caused by: No such file…".
    let lines: Vec<&str> = err.lines().collect();
    for w in lines.windows(2) {
        let cause = w[1].trim_start().trim_start_matches("caused by: ");
        assert!(!w[0].ends_with(cause), "a cause repeated: {err}");
    }
}

/// `svodka config --routes` prints the plan as comments after the configuration: who makes
/// each summary of each served language's articles, and what "auto" could not have.
#[test]
fn config_prints_the_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let bart = root().join("tests/fixtures/seq2seq/bart");
    let set = |k: &str, v: &Path| format!("{k}={}", v.display());
    let out = svodka(
        tmp.path(),
        &[
            "config",
            "--routes",
            "--set",
            &set("summarize.model", &bart),
            "--set",
            &set("translate.models.ru-en", &fixture("base")),
            "--set",
            &set("translate.models.en-ru", &fixture("tcbig")),
            "--set",
            "summarize.strategy=\"translate-summarize\"",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let (b, base) = (bart.display(), fixture("base").display().to_string());
    assert!(
        text.contains(&format!("# summary.en of en articles: {b} (summarize)")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "# summary.en of ru articles: {base} → {b} (translate-summarize)"
        )),
        "{text}"
    );
    // The configuration itself is still valid TOML.
    assert!(text.parse::<toml::Table>().is_ok());
    // Offline, "auto" has no translators: the other language is missing, and the plan says why.
    let out = svodka(tmp.path(), &["config", "--routes"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# summary.en of ru articles: none (listed in `missing`)"),
        "{text}"
    );
    assert!(text.contains("# not available: ru-en (opus-mt-ru-en)"), "{text}");
}

/// `--device` and `run.device`: the CPU named outright, `auto` and the default give the same
/// translations (transformers'); a GPU this build cannot have stops the command before any
/// work with the reason and what to do, whichever way it was asked for.
#[test]
fn devices_cpu_and_auto_translate_alike_and_cuda_says_why_it_cannot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("base");
    let file = tmp.path().join("ru.txt");
    write_inputs(&dir, "sentences", &file);
    let translate = |extra: &[&str]| {
        let mut args = vec![
            "translate",
            "--model",
            dir.to_str().unwrap(),
            "--from",
            "ru",
            "--to",
            "en",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        svodka(tmp.path(), &args)
    };
    let want = reference_decoded(&dir);
    for extra in [
        &[][..],
        &["--device", "cpu"],
        &["--device", "auto"],
        &["--set", "run.device=cpu"],
    ] {
        let out = translate(extra);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        assert_eq!(stdout_lines(out), want, "{extra:?}");
    }

    let bad = translate(&["--device", "tpu"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("run.device") && stderr(&bad).contains("\"tpu\""),
        "{}",
        stderr(&bad)
    );

    if cfg!(feature = "cuda") {
        return; // whether a GPU answers is this machine's business; benches/gpu/check.sh
    }
    let out_file = tmp.path().join("out.jsonl");
    let articles = root().join("tests/fixtures/articles");
    let runs: Vec<(&str, Output)> = vec![
        ("translate --device cuda", translate(&["--device", "cuda"])),
        (
            "run --device cuda:1 (lead-3, no model)",
            svodka(
                tmp.path(),
                &[
                    "run",
                    articles.to_str().unwrap(),
                    "--device",
                    "cuda:1",
                    "--set",
                    "translate.models={}",
                    "-o",
                    out_file.to_str().unwrap(),
                ],
            ),
        ),
        ("SVODKA_DEVICE=gpu summarize", {
            Command::new(BIN)
                .args(["summarize", "--lang", "ru", file.to_str().unwrap()])
                .current_dir(tmp.path())
                .env("SVODKA_DEVICE", "gpu")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }),
    ];
    for (what, out) in runs {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains("built without CUDA") && err.contains("--features cuda") && err.contains("--device cpu"),
            "{what}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{what}: wrote {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(!out_file.exists(), "a run that cannot start writes nothing");
}
