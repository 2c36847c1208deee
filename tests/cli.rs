//! CLI tests: the real `svodka` binary on the committed sample articles and on archives,
//! encodings and broken inputs built from them in temporary directories.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::archives::tar_gz_of;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn articles() -> PathBuf {
    fixtures().join("articles")
}

/// Translation off: the default opus-mt cards cannot be fetched here, and these tests are
/// about everything around the models. The model tests (`models_cli.rs`) set their own.
const NO_TRANSLATION: &str = "translate.models={}";

/// Run svodka in `dir` (so no stray pipeline.toml is picked up) with optional stdin.
fn svodka_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .args(["--set", NO_TRANSLATION])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("svodka starts");
    let input = stdin.map(|s| s.to_vec());
    let mut pipe = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        if let Some(bytes) = input {
            let _ = pipe.write_all(&bytes);
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn svodka(args: &[&str]) -> Output {
    svodka_in(&std::env::temp_dir(), args, None)
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn read_records(path: &Path) -> Vec<Value> {
    lines(&std::fs::read(path).unwrap())
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A record without what legitimately differs between runs or containers.
fn essence(v: &Value) -> Value {
    let mut v = v.clone();
    let o = v.as_object_mut().unwrap();
    o.remove("timings_ms");
    o.remove("source");
    v
}

fn without_timings(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("timings_ms");
    v
}

fn run_to_file(dir: &Path, inputs: &[&str], extra: &[&str]) -> (Output, Vec<Value>) {
    let out_path = dir.join(format!("out-{}.jsonl", rand_suffix()));
    let mut args = vec!["run", "-q", "-o", out_path.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    let out = svodka_in(dir, &args, None);
    let recs = if out_path.exists() {
        read_records(&out_path)
    } else {
        Vec::new()
    };
    (out, recs)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

fn md_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(articles())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "html"))
        .collect();
    v.sort();
    v
}

#[test]
fn inspect_extracts_the_export_layout() {
    let out = svodka(&["inspect", articles().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap();
    let got = lines(&out.stdout);
    assert_eq!(got.len(), expected.len());
    for e in &expected {
        let file = e["file"].as_str().unwrap();
        let r = got
            .iter()
            .find(|r| r["source"].as_str().unwrap().ends_with(file))
            .expect(file);
        for key in ["title", "date", "url", "lang"] {
            assert_eq!(r[key], e[key], "{file}: {key}");
        }
        let body = r["body"].as_str().unwrap();
        let paras: Vec<&str> = body.split("\n\n").collect();
        assert_eq!(paras[0], e["body_first"], "{file}: first paragraph");
        assert_eq!(*paras.last().unwrap(), e["body_last"], "{file}: last paragraph");
        for s in e["not_in_body"].as_array().unwrap() {
            assert!(!body.contains(s.as_str().unwrap()), "{file}: body holds {s}");
        }
        // Chunks tile the body.
        let joined: String = r["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        assert_eq!(joined, body, "{file}: chunks concatenate to the body");
    }
    let metro = got
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("ru-metro.md"))
        .unwrap();
    assert!(
        metro["chunks"].as_array().unwrap().len() >= 5,
        "the long article makes many chunks"
    );
}

#[test]
fn run_on_a_directory_writes_one_record_per_article_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, recs) = run_to_file(tmp.path(), &[articles().to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let files = md_files();
    assert_eq!(recs.len(), files.len());
    for (r, f) in recs.iter().zip(&files) {
        assert_eq!(r["source"].as_str().unwrap(), f.to_str().unwrap(), "input order");
        assert_eq!(r["status"], "ok");
        let lang = r["lang"].as_str().unwrap();
        let other = if lang == "en" { "ru" } else { "en" };
        let summary = r["summary"][lang].as_str().unwrap();
        assert!(summary.len() > 40, "{summary}");
        assert_eq!(r["models"][format!("summary.{lang}")], "lead-3");
        assert_eq!(r["missing"], serde_json::json!([other]), "no translator yet");
        assert!(r["summary"].get(other).is_none());
        assert_eq!(r["encoding"], "UTF-8");
        assert_eq!(r["id"].as_str().unwrap().len(), 16);
        assert!(r["chunks"].as_u64().unwrap() >= 1);
        for key in ["parse", "chunk", "summarize"] {
            assert!(r["timings_ms"][key].is_number(), "timings_ms.{key}");
        }
    }
    let summit = recs
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("en-summit.md"))
        .unwrap();
    assert!(
        summit["summary"]["en"]
            .as_str()
            .unwrap()
            .starts_with("LISBON — Representatives of 14 coastal nations agreed")
    );
}

#[test]
fn archives_stdin_and_directory_give_the_same_records() {
    let tmp = tempfile::tempdir().unwrap();
    let files = md_files();
    let (_, plain) = run_to_file(tmp.path(), &[articles().to_str().unwrap()], &[]);

    std::fs::write(tmp.path().join("news-2025.tar.gz"), tar_gz_of(&files, "09/")).unwrap();
    let (out, recs) = run_to_file(tmp.path(), &["news-2025.tar.gz"], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        recs.iter().map(essence).collect::<Vec<_>>(),
        plain.iter().map(essence).collect::<Vec<_>>()
    );
    assert_eq!(recs[0]["source"], "news-2025.tar.gz!09/en-earnings.md");

    // zip
    {
        let f = std::fs::File::create(tmp.path().join("news.zip")).unwrap();
        let mut zip = zip::ZipWriter::new(f);
        for p in &files {
            let opts = zip::write::SimpleFileOptions::default();
            zip.start_file(format!("a/{}", p.file_name().unwrap().to_string_lossy()), opts)
                .unwrap();
            zip.write_all(&std::fs::read(p).unwrap()).unwrap();
        }
        zip.finish().unwrap();
    }
    let (out, recs) = run_to_file(tmp.path(), &["news.zip"], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        recs.iter().map(essence).collect::<Vec<_>>(),
        plain.iter().map(essence).collect::<Vec<_>>()
    );
    assert_eq!(recs[1]["source"], "news.zip!a/en-page.html");

    // a single gzipped article, and stdin
    let summit = std::fs::read(articles().join("en-summit.md")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&summit).unwrap();
    std::fs::write(tmp.path().join("summit.md.gz"), gz.finish().unwrap()).unwrap();
    let want = plain
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("en-summit.md"))
        .unwrap();
    let (out, recs) = run_to_file(tmp.path(), &["summit.md.gz"], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(recs.len(), 1);
    assert_eq!(essence(&recs[0]), essence(want));
    assert_eq!(recs[0]["source"], "summit.md.gz");

    let out = svodka_in(tmp.path(), &["run", "-q", "-"], Some(&summit));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let recs = lines(&out.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(essence(&recs[0]), essence(want));
    assert_eq!(recs[0]["source"], "<stdin>");

    // a gzipped tar on stdin is recognised by its magic bytes
    let out = svodka_in(tmp.path(), &["run", "-q", "-"], Some(&tar_gz_of(&files, "")));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        lines(&out.stdout).iter().map(essence).collect::<Vec<_>>(),
        plain.iter().map(essence).collect::<Vec<_>>()
    );
}

#[test]
fn jsonl_feed_with_given_fields_and_an_unsupported_language() {
    let tmp = tempfile::tempdir().unwrap();
    let feed = fixtures().join("feed.jsonl");
    let (out, recs) = run_to_file(tmp.path(), &[feed.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(recs.len(), 5);
    let src: Vec<String> = recs
        .iter()
        .map(|r| r["source"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        src,
        [
            "feed.jsonl:1",
            "feed.jsonl:2",
            "feed.jsonl:3",
            "feed.jsonl:4",
            "feed.jsonl:5"
        ]
    );
    assert_eq!(recs[0]["id"], "feed-001");
    assert_eq!(recs[0]["lang"], "ru");
    assert_eq!(recs[0]["lang_confidence"], Value::Null, "given, not detected");
    assert_eq!(recs[2]["id"].as_str().unwrap().len(), 16, "hash id when none is given");
    assert_eq!(recs[3]["status"], "skipped");
    assert_eq!(recs[3]["lang"], "de");
    assert!(recs[3]["skip_reason"].as_str().unwrap().contains("`de` is not served"));
    assert_eq!(recs[4]["lang"], "ru", "detected");
    assert!(recs[4]["summary"]["ru"].is_string());

    let (out, recs) = run_to_file(
        tmp.path(),
        &[feed.to_str().unwrap()],
        &["--set", "language.unsupported=process"],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(recs[3]["status"], "ok");
    assert_eq!(recs[3]["missing"], serde_json::json!(["en", "ru"]));
}

#[test]
fn windows_1251_and_koi8_r_read_as_their_utf8_original() {
    let tmp = tempfile::tempdir().unwrap();
    // KOI8-R has no «», — or …: a real KOI8-R archive spells them in ASCII, so the original does too.
    let text = std::fs::read_to_string(articles().join("ru-flood.md"))
        .unwrap()
        .replace(['«', '»'], "\"")
        .replace('—', "-")
        .replace('…', "...")
        .replace('№', "N");
    for (name, enc) in [
        ("cp1251.md", encoding_rs::WINDOWS_1251),
        ("koi8.md", encoding_rs::KOI8_R),
    ] {
        let (bytes, _, unmappable) = enc.encode(&text);
        assert!(!unmappable, "{name}: the sample is encodable");
        std::fs::write(tmp.path().join(name), &bytes).unwrap();
    }
    std::fs::write(tmp.path().join("utf8.md"), &text).unwrap();
    let out = svodka(&["inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = lines(&out.stdout);
    let by = |n: &str| {
        got.iter()
            .find(|r| r["source"].as_str().unwrap().ends_with(n))
            .unwrap()
            .clone()
    };
    let (utf8, cp, koi) = (by("utf8.md"), by("cp1251.md"), by("koi8.md"));
    assert_eq!(cp["encoding"], "windows-1251");
    assert_eq!(koi["encoding"], "KOI8-R");
    for key in ["title", "date", "url", "body", "id", "lang"] {
        assert_eq!(cp[key], utf8[key], "windows-1251 {key}");
        assert_eq!(koi[key], utf8[key], "KOI8-R {key}");
    }
}

#[test]
fn bad_inputs_become_error_records_and_good_ones_still_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    std::fs::copy(articles().join("en-summit.md"), d.join("a-good.md")).unwrap();
    std::fs::write(
        d.join("b-binary.md"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02",
    )
    .unwrap();
    std::fs::write(d.join("c-empty.txt"), b"").unwrap();
    let mut bad = "Это статья в UTF-8. ".repeat(20).into_bytes();
    bad.splice(30..30, [0xff, 0xfe, 0xc3]);
    std::fs::write(d.join("d-invalid-utf8.md"), &bad).unwrap();
    let good = std::fs::read_to_string(fixtures().join("feed.jsonl")).unwrap();
    let mut feed = good.lines().take(2).collect::<Vec<_>>().join("\n");
    feed.push_str("\n{\"title\": \"broken\", \"text\": \"unterminated\n");
    feed.push_str(good.lines().nth(2).unwrap());
    feed.push('\n');
    std::fs::write(d.join("e-feed.jsonl"), feed).unwrap();
    std::fs::write(d.join("f-nobody.html"), "<html><head><title>Menu only</title></head><body><nav><a href=/>Home</a></nav><script>x()</script></body></html>").unwrap();
    let archive = tar_gz_of(&md_files(), "");
    std::fs::write(d.join("g-truncated.tar.gz"), &archive[..archive.len() * 6 / 10]).unwrap();
    std::fs::copy(articles().join("ru-flood.md"), d.join("h-good.md")).unwrap();

    let (out, recs) = run_to_file(tmp.path(), &["corpus"], &[]);
    assert_eq!(code(&out), 3, "finished with error records: {}", stderr(&out));
    let status = |suffix: &str| -> Vec<(String, String)> {
        recs.iter()
            .filter(|r| r["source"].as_str().unwrap().contains(suffix))
            .map(|r| {
                (
                    r["status"].as_str().unwrap().to_string(),
                    r["error"]["kind"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let one = |s: &str, k: &str| vec![(s.to_string(), k.to_string())];
    assert_eq!(status("a-good.md"), one("ok", ""));
    assert_eq!(status("b-binary.md"), one("error", "binary"));
    assert_eq!(status("c-empty.txt"), one("error", "empty"));
    assert_eq!(status("d-invalid-utf8.md"), one("error", "encoding"));
    assert_eq!(
        status("e-feed.jsonl"),
        vec![
            one("ok", "")[0].clone(),
            one("ok", "")[0].clone(),
            one("error", "json")[0].clone(),
            one("ok", "")[0].clone()
        ]
    );
    assert_eq!(status("f-nobody.html"), one("error", "no_body"));
    let tar = status("g-truncated.tar.gz");
    assert!(
        tar.iter().filter(|(s, _)| s == "error").count() == 1,
        "one error record for the truncated archive: {tar:?}"
    );
    assert_eq!(tar.last().unwrap(), &("error".to_string(), "truncated".to_string()));
    assert!(tar.len() >= 2, "members before the damage are still processed: {tar:?}");
    assert_eq!(status("h-good.md"), one("ok", ""));
    let invalid = recs
        .iter()
        .find(|r| r["source"].as_str().unwrap().contains("d-invalid"))
        .unwrap();
    assert_eq!(invalid["error"]["stage"], "decode");
    assert!(
        invalid["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid UTF-8 at byte 30")
    );

    // Without -q the run ends with a summary line on stderr.
    let out = svodka_in(tmp.path(), &["run", "-o", "again.jsonl", "corpus"], None);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(
        err.contains("ok,") && err.contains("errors,") && err.contains("articles/s"),
        "{err}"
    );
}

#[test]
fn missing_input_is_an_error_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, recs) = run_to_file(
        tmp.path(),
        &["no-such-dir", articles().join("en-summit.md").to_str().unwrap()],
        &[],
    );
    assert_eq!(code(&out), 3);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["source"], "no-such-dir");
    assert_eq!(recs[0]["error"]["kind"], "io");
    assert_eq!(recs[1]["status"], "ok");
}

#[test]
fn limit_threads_and_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let a = articles();
    let (out, recs) = run_to_file(tmp.path(), &[a.to_str().unwrap()], &["--limit", "3", "--threads", "1"]);
    assert_eq!(code(&out), 0);
    assert_eq!(recs.len(), 3);
    let (_, recs) = run_to_file(
        tmp.path(),
        &[a.to_str().unwrap()],
        &["--set", "summarize.languages=[\"ru\"]"],
    );
    for r in &recs {
        let ru = r["lang"] == "ru";
        assert_eq!(r["summary"].as_object().unwrap().len(), usize::from(ru));
        assert_eq!(
            r["missing"],
            if ru {
                serde_json::json!([])
            } else {
                serde_json::json!(["ru"])
            }
        );
    }
}

#[test]
fn configuration_errors_are_fatal_and_name_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let a = articles();
    let out = svodka_in(tmp.path(), &["run", "--set", "chunk.size=3", a.to_str().unwrap()], None);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("chunk.size"), "{}", stderr(&out));

    std::fs::write(tmp.path().join("bad.toml"), "[summarize]\nlanguages = \"en\"\n").unwrap();
    let out = svodka_in(tmp.path(), &["run", "-c", "bad.toml", a.to_str().unwrap()], None);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("summarize.languages"), "{}", stderr(&out));

    let out = svodka_in(tmp.path(), &["run", "-c", "missing.toml", a.to_str().unwrap()], None);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));

    let out = svodka_in(
        tmp.path(),
        &["run", "-o", "/nonexistent-dir/out.jsonl", a.to_str().unwrap()],
        None,
    );
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("/nonexistent-dir/out.jsonl"), "{}", stderr(&out));

    let out = svodka_in(tmp.path(), &["run"], None);
    assert_eq!(code(&out), 2, "usage error");

    // The pipeline.toml in the working directory is picked up.
    std::fs::write(tmp.path().join("pipeline.toml"), "[chunk]\nmax_tokens = 123\n").unwrap();
    let out = svodka_in(tmp.path(), &["config", "--set", "batch.max_items=7"], None);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("max_tokens = 123") && text.contains("max_items = 7"),
        "{text}"
    );
}

/// Kill a run part-way with SIGKILL, leave a half-written record as a crash mid-write would,
/// resume, and compare with an uninterrupted run.
#[test]
fn killed_run_resumes_to_the_same_output() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    for i in 0..4 {
        let sub = d.join(format!("batch-{i}"));
        std::fs::create_dir(&sub).unwrap();
        for f in md_files() {
            std::fs::copy(&f, sub.join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        d.join("z-broken.jsonl"),
        "{\"text\": 1}\n{\"text\": \"A short note. It has two sentences.\"}\n",
    )
    .unwrap();
    let total = 4 * md_files().len() + 2;

    let full_path = tmp.path().join("full.jsonl");
    let full = svodka_in(
        tmp.path(),
        &["run", "-q", "-o", full_path.to_str().unwrap(), "corpus"],
        None,
    );
    assert_eq!(code(&full), 3);
    let full_recs = read_records(&full_path);
    assert_eq!(full_recs.len(), total);

    let part = tmp.path().join("part.jsonl");
    let mut child = Command::new(BIN)
        .args([
            "run",
            "-q",
            "--threads",
            "2",
            "-o",
            part.to_str().unwrap(),
            "corpus",
            "--set",
            NO_TRANSLATION,
        ])
        .current_dir(tmp.path())
        .env("SVODKA_TEST_WRITE_DELAY_MS", "40")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = std::fs::read(&part)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if n >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let written = read_records(&part).len();
    assert!(
        written >= 10 && written < total,
        "killed part-way: {written} of {total}"
    );

    // A crash in the middle of a write leaves half a line; resume must cut it off.
    let mut f = std::fs::OpenOptions::new().append(true).open(&part).unwrap();
    f.write_all(br#"{"id":"0123","source":"corpus/batch-9/x.md","status":"o"#)
        .unwrap();
    drop(f);

    let resumed = svodka_in(
        tmp.path(),
        &["run", "-q", "--resume", "-o", part.to_str().unwrap(), "corpus"],
        None,
    );
    assert_eq!(
        code(&resumed),
        3,
        "same exit status as the uninterrupted run: {}",
        stderr(&resumed)
    );
    let resumed_recs = read_records(&part);
    assert_eq!(
        resumed_recs.iter().map(without_timings).collect::<Vec<_>>(),
        full_recs.iter().map(without_timings).collect::<Vec<_>>()
    );

    // Resuming a finished run adds nothing; resuming with other inputs is refused.
    let again = svodka_in(
        tmp.path(),
        &["run", "-q", "--resume", "-o", part.to_str().unwrap(), "corpus"],
        None,
    );
    assert_eq!(code(&again), 3);
    assert_eq!(read_records(&part).len(), total);
    let other = svodka_in(
        tmp.path(),
        &[
            "run",
            "-q",
            "--resume",
            "-o",
            part.to_str().unwrap(),
            articles().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&other), 1);
    assert!(stderr(&other).contains("not the inputs"), "{}", stderr(&other));
}

/// svodka as a new user runs it: the default configuration (no `--set`), an empty Hugging
/// Face cache, and no hub: offline (`HF_HUB_OFFLINE=1`), or a hub that refuses connections.
fn svodka_fresh(dir: &Path, hf_home: &Path, offline: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("HF_HOME", hf_home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        // A port nothing listens on: the download is tried and fails at once.
        cmd.env_remove("HF_HUB_OFFLINE")
            .env("HF_ENDPOINT", "http://127.0.0.1:9");
    }
    cmd.output().expect("svodka starts")
}

#[test]
fn default_run_without_the_hub_summarises_and_says_translation_is_off() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf-home");
    let expected: Vec<Value> = {
        let (out, recs) = run_to_file(tmp.path(), &[articles().to_str().unwrap()], &[]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        recs
    };
    for offline in [true, false] {
        let out_path = tmp.path().join(format!("fresh-{offline}.jsonl"));
        let out = svodka_fresh(
            tmp.path(),
            &hf_home,
            offline,
            &["run", articles().to_str().unwrap(), "-o", out_path.to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 0, "offline={offline}: {err}");
        // Said once before the work, with the one command that fetches the models…
        assert_eq!(err.matches("svodka models fetch").count(), 1, "{err}");
        assert!(err.contains("svodka models fetch opus-mt-en-ru opus-mt-ru-en"), "{err}");
        // … and again in the closing line.
        let last = err.lines().last().unwrap_or_default();
        assert!(last.contains("9 ok") && last.contains("translation was off"), "{err}");
        // A record per article, each listing the untranslated language; the same records as
        // a run with translation turned off on purpose.
        let recs = read_records(&out_path);
        assert_eq!(recs.len(), 9);
        for r in &recs {
            let lang = r["lang"].as_str().unwrap();
            let other = if lang == "ru" { "en" } else { "ru" };
            assert_eq!(r["status"], "ok", "{r}");
            assert_eq!(r["missing"], serde_json::json!([other]), "{r}");
            assert!(r["summary"][lang].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        }
        assert_eq!(
            recs.iter().map(essence).collect::<Vec<_>>(),
            expected.iter().map(essence).collect::<Vec<_>>()
        );
        // Nothing was cached, nothing half-downloaded left behind as if it were a model.
        let cached = walk_files(&hf_home);
        assert!(
            cached.iter().all(|p| !p.to_string_lossy().contains("snapshots")),
            "{cached:?}"
        );
    }
    // -q: no notice, no summary line; the records are the same.
    let quiet = svodka_fresh(tmp.path(), &hf_home, true, &["run", "-q", articles().to_str().unwrap()]);
    assert_eq!(code(&quiet), 0);
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
    assert_eq!(lines(&quiet.stdout).len(), 9);
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_translator_named_outright_that_cannot_be_had_stops_the_run_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf-home");
    let out_path = tmp.path().join("out.jsonl");
    for set in [
        "translate.models.ru-en=opus-mt-ru-en",
        "translate.models={ en-ru = \"opus-mt-en-ru\" }",
    ] {
        let out = svodka_fresh(
            tmp.path(),
            &hf_home,
            true,
            &[
                "run",
                "--set",
                set,
                articles().to_str().unwrap(),
                "-o",
                out_path.to_str().unwrap(),
            ],
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{set}: {err}");
        assert!(
            err.contains("translate.models.") && err.contains("svodka models fetch"),
            "{err}"
        );
        assert!(!out_path.exists(), "nothing is written before the models load");
    }
}

#[test]
fn inspect_loads_and_downloads_no_model() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf-home");
    let file = articles().join("en-summit.md");
    for offline in [true, false] {
        // Even models that exist nowhere: inspect must not look for them.
        let out = svodka_fresh(
            tmp.path(),
            &hf_home,
            offline,
            &[
                "inspect",
                "--set",
                "summarize.model=distilbart-cnn-12-6",
                "--set",
                "translate.models.ru-en=/no/such/model",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let recs = lines(&out.stdout);
        assert_eq!(recs.len(), 1);
        assert_eq!(
            recs[0]["title"],
            "Coastal states agree to share flood-warning data at Lisbon summit"
        );
        assert!(!recs[0]["chunks"].as_array().unwrap().is_empty());
        assert!(!hf_home.exists() || walk_files(&hf_home).is_empty());
    }
}

/// `svodka run … | head -1`: the reader closes the pipe after one line.
#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough articles that the pipe is closed long before the run could finish.
    let feed: String = (0..3000)
        .map(|i| {
            format!("{{\"text\":\"Article number {i} says the council met on Monday. It voted. It adjourned.\"}}\n")
        })
        .collect();
    let feed_path = tmp.path().join("feed.jsonl");
    std::fs::write(&feed_path, feed).unwrap();
    for args in [
        vec!["run", feed_path.to_str().unwrap()],
        vec!["inspect", feed_path.to_str().unwrap()],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .args(["--set", NO_TRANSLATION])
            .current_dir(tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = Vec::new();
        let mut byte = [0u8; 1];
        while std::io::Read::read(&mut stdout, &mut byte).unwrap() == 1 {
            first.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        drop(stdout); // as `head -1` exits
        let out = child.wait_with_output().unwrap();
        let v: Value = serde_json::from_slice(&first).expect("the line read is a whole record");
        assert!(v["source"].as_str().unwrap().ends_with("feed.jsonl:1"), "{v}");
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("error") && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    let feed = std::fs::read(fixtures().join("feed.jsonl")).unwrap();
    std::fs::write(&input, &feed).unwrap();
    let dir = tmp.path().join("articles");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(articles().join("ru-flood.md"), dir.join("ru-flood.md")).unwrap();
    std::os::unix::fs::symlink(&input, tmp.path().join("link.jsonl")).unwrap();
    std::fs::hard_link(&input, tmp.path().join("hard.jsonl")).unwrap();
    let cases: [(&str, &str, &[&str]); 6] = [
        ("in.jsonl", "in.jsonl", &[]),
        ("in.jsonl", "in.jsonl", &["--resume"]),
        ("in.jsonl", "link.jsonl", &[]),
        ("in.jsonl", "hard.jsonl", &[]),
        ("articles", "articles/out.jsonl", &[]),
        ("articles", "articles/out.jsonl", &["--resume"]),
    ];
    for (inp, out, extra) in cases {
        let mut args = vec!["run", "-o", out];
        args.extend_from_slice(extra);
        args.push(inp);
        let o = svodka_in(tmp.path(), &args, None);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args:?}: {err}");
        assert!(err.contains(out) && err.contains(inp), "{args:?}: {err}");
        assert_eq!(std::fs::read(&input).unwrap(), feed, "{args:?}: the input is untouched");
        assert!(
            !dir.join("out.jsonl").exists(),
            "{args:?}: nothing is opened for writing"
        );
    }
    // Beside the inputs is fine.
    let o = svodka_in(
        tmp.path(),
        &["run", "-q", "-o", "out.jsonl", "in.jsonl", "articles"],
        None,
    );
    assert!(matches!(code(&o), 0 | 3), "{}", stderr(&o));
}

/// `svodka run DIR > DIR/out.jsonl`: standard output is a file inside the input, which the
/// run would read back as an article (Linux names the file behind fd 1).
#[cfg(target_os = "linux")]
#[test]
fn standard_output_redirected_into_an_input_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("articles");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(articles().join("ru-flood.md"), dir.join("ru-flood.md")).unwrap();
    let redirect = std::fs::File::create(dir.join("out.jsonl")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_svodka"))
        .args(["run", "articles"])
        .current_dir(tmp.path())
        .stdout(redirect)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("<stdout>") && err.contains("out.jsonl"), "{err}");
    assert_eq!(std::fs::metadata(dir.join("out.jsonl")).unwrap().len(), 0);
    // Redirected beside the input it runs.
    let beside = std::fs::File::create(tmp.path().join("out.jsonl")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_svodka"))
        .args(["run", "-q", "--set", "translate.models={}", "articles"])
        .current_dir(tmp.path())
        .stdout(beside)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(lines(&std::fs::read(tmp.path().join("out.jsonl")).unwrap()).len(), 1);
}

#[test]
fn too_many_threads_are_capped_with_a_message() {
    let o = svodka(&[
        "run",
        "--threads",
        "100000",
        articles().join("ru-flood.md").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("run.threads = 100000"), "{}", stderr(&o));
    assert_eq!(lines(&o.stdout).len(), 1);
}

#[test]
fn configuration_that_cannot_produce_what_it_asks_for_is_an_error() {
    let file = articles().join("ru-flood.md");
    for (set, key) in [
        ("summarize.languages=[\"de\"]", "summarize.languages"),
        ("summarize.languages=[]", "summarize.languages"),
        ("language.served=[]", "language.served"),
        ("summarize.dtype=f8", "summarize.dtype"),
        ("chunk.max_tokens=99999999999999999999", "chunk.max_tokens"),
    ] {
        let o = svodka(&["run", "--set", set, file.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{set}: {err}");
        assert!(err.contains(key), "{set}: {err}");
        assert!(o.stdout.is_empty(), "{set}: no records");
    }
}

#[test]
fn jsonl_dates_that_are_no_calendar_day_are_null() {
    let feed = "{\"text\":\"Body one.\",\"date\":\"garbage\"}\n{\"text\":\"Body two.\",\"date\":\"2025-13-45\"}\n\
                {\"text\":\"Body three.\",\"date\":\"2025-09-01\"}\n";
    let o = svodka_in(&std::env::temp_dir(), &["run", "-q", "-"], Some(feed.as_bytes()));
    let recs = lines(&o.stdout);
    assert_eq!(recs.len(), 3, "{}", stderr(&o));
    assert_eq!(recs[0]["date"], Value::Null);
    assert_eq!(recs[1]["date"], Value::Null);
    assert_eq!(recs[2]["date"], "2025-09-01");
}

/// `--resume` continues only the run that wrote the output: a changed setting or a changed
/// input is refused by name, and nothing is appended.
#[test]
fn resume_refuses_changed_settings_and_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    std::fs::create_dir(&dir).unwrap();
    for f in ["ru-flood.md", "en-summit.md"] {
        std::fs::copy(articles().join(f), dir.join(f)).unwrap();
    }
    let feed = tmp.path().join("feed.jsonl");
    std::fs::copy(fixtures().join("feed.jsonl"), &feed).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-q", "-o", "out.jsonl"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["corpus", "feed.jsonl"]);
        svodka_in(tmp.path(), &args, None)
    };
    let first = run(&["--limit", "2"]);
    assert!(matches!(code(&first), 0 | 3), "{}", stderr(&first));
    assert!(
        tmp.path().join("out.jsonl.run.json").is_file(),
        "the manifest is beside the output"
    );
    let written = std::fs::read(tmp.path().join("out.jsonl")).unwrap();

    // A setting that shapes records.
    let o = run(&["--resume", "--set", "summarize.lead_sentences=1"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("summarize.lead_sentences"), "{}", stderr(&o));
    // Settings that do not (threads) are fine, but first: inputs that changed.
    std::fs::write(dir.join("en-summit.md"), "# Changed\n\nA different body now.\n").unwrap();
    let o = run(&["--resume", "--threads", "1"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("corpus") && stderr(&o).contains("changed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(tmp.path().join("out.jsonl")).unwrap(),
        written,
        "nothing appended"
    );

    // Back as it was (content and time), the resume goes on to the end.
    std::fs::copy(articles().join("en-summit.md"), dir.join("en-summit.md")).unwrap();
    let again = run(&["--limit", "2"]);
    assert!(matches!(code(&again), 0 | 3));
    let o = run(&["--resume", "--threads", "1"]);
    assert!(matches!(code(&o), 0 | 3), "{}", stderr(&o));
    let resumed = read_records(&tmp.path().join("out.jsonl"));
    let full = run(&[]);
    assert!(matches!(code(&full), 0 | 3));
    let whole = read_records(&tmp.path().join("out.jsonl"));
    assert!(whole.len() > 2);
    assert_eq!(
        resumed.iter().map(without_timings).collect::<Vec<_>>(),
        whole.iter().map(without_timings).collect::<Vec<_>>()
    );
}

#[test]
fn cut_and_legacy_encoded_jsonl_lines_and_one_line_texts_say_what_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let mut feed = b"{\"text\":\"The council met on Monday.\"}\n{\"text\":\"The council met".to_vec();
    feed.extend_from_slice(b"\n{\"text\":\"\xd1\xed\xe5\xe3 \xe8\xe4\xb8\xf2.\"}\n{\"text\":\"Last one.\"}\n");
    std::fs::write(tmp.path().join("feed.jsonl"), feed).unwrap();
    std::fs::write(tmp.path().join("one.txt"), "Snow is expected in Moscow on Friday.\n").unwrap();
    let o = svodka_in(tmp.path(), &["run", "-q", "feed.jsonl", "one.txt"], None);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let recs = lines(&o.stdout);
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[0]["status"], "ok");
    assert_eq!(recs[1]["error"]["kind"], "json");
    assert!(
        recs[1]["error"]["message"].as_str().unwrap().contains("ends before"),
        "{}",
        recs[1]
    );
    assert_eq!(recs[2]["error"]["kind"], "encoding");
    assert!(recs[2]["error"]["message"].as_str().unwrap().contains("not UTF-8"));
    assert_eq!(recs[3]["status"], "ok");
    assert_eq!(recs[4]["status"], "ok", "{}", recs[4]);
    assert_eq!(recs[4]["summary"]["en"], "Snow is expected in Moscow on Friday.");
}
