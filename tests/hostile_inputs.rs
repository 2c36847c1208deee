//! Hostile inputs through the real `svodka` binary: archives nested past any sense, pipes,
//! FIFOs and devices, dangling links, endless lines, encrypted and damaged archives. Whatever
//! comes in, the run ends (never hangs, never crashes), every input unit gets exactly one
//! record, and a bad one's error record names it and says what is wrong.

mod common;

use common::archives::nested_gzip;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

/// Translation off: these tests are about reading inputs, not about models.
const NO_TRANSLATION: &str = "translate.models={}";

/// Exit status of a run that finished but wrote error records.
const ERROR_RECORDS: i32 = 3;

fn article(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/articles");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    v.sort();
    v[n].clone()
}

fn article_bytes() -> Vec<u8> {
    std::fs::read(article(0)).unwrap()
}

struct Run {
    code: Option<i32>,
    stderr: String,
    recs: Vec<Value>,
}

impl Run {
    fn code(&self) -> i32 {
        self.code
            .unwrap_or_else(|| panic!("svodka was killed by a signal: {}", self.stderr))
    }
}

/// `svodka run -q -o OUT ARGS…` in `dir`, stdin fed with `stdin`, killed (and the test
/// failed) after `limit`: a hang is a failure, not a stuck test.
fn run(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>, limit: Duration) -> Run {
    let out = dir.join(format!("out-{}.jsonl", rand_suffix()));
    let err_path = dir.join(format!("err-{}.txt", rand_suffix()));
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["run", "-q", "-o", out.to_str().unwrap()])
        .args(["--set", NO_TRANSLATION])
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("svodka starts");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "svodka {args:?} still running after {limit:?}: it hangs; stderr: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let recs = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Run {
        code: status.code(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        recs,
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

const LIMIT: Duration = Duration::from_secs(60);

/// Each record's (source, status, error kind).
fn outcomes(r: &Run) -> Vec<(&str, &str, &str)> {
    r.recs
        .iter()
        .map(|r| (source(r), r["status"].as_str().unwrap(), kind(r)))
        .collect()
}

fn source(r: &Value) -> &str {
    r["source"].as_str().unwrap()
}

fn kind(r: &Value) -> &str {
    r["error"]["kind"].as_str().unwrap_or("")
}

fn message(r: &Value) -> &str {
    r["error"]["message"].as_str().unwrap_or("")
}

/// A tar holding `bytes` as `name`.
fn tar_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, name, bytes).unwrap();
    tar.into_inner().unwrap()
}

/// A zip holding `members` (name, bytes), stored or deflated.
fn zip_of(members: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn single_error(run: &Run, src: &str) -> Value {
    let errs: Vec<&Value> = run.recs.iter().filter(|r| r["status"] == "error").collect();
    assert_eq!(errs.len(), 1, "one error record: {:?}", run.recs);
    assert_eq!(source(errs[0]), src, "{:?}", errs[0]);
    assert_eq!(errs[0]["error"]["stage"], "read", "{:?}", errs[0]);
    errs[0].clone()
}

// 1. Archives nested past the limit.

#[test]
fn gzip_nested_a_thousand_deep_is_one_error_record_and_resume_works() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("a-deep.md.gz"), nested_gzip(&article_bytes(), 1000)).unwrap();
    // Nesting within the limit is still read through.
    std::fs::write(d.join("b-shallow.md.gz"), nested_gzip(&article_bytes(), 5)).unwrap();

    let r = run(tmp.path(), &["corpus"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    assert_eq!(r.recs.len(), 2, "{:?}", r.recs);
    let err = single_error(&r, "corpus/a-deep.md.gz");
    assert_eq!(kind(&err), "too_deep");
    assert!(
        message(&err).contains("nested") && message(&err).contains("17") && message(&err).contains("16"),
        "names the depth and the limit: {}",
        message(&err)
    );
    assert_eq!(r.recs[1]["status"], "ok", "{:?}", r.recs[1]);

    // --resume walks the same inputs again: it must not crash either.
    let out = tmp.path().join("resumed.jsonl");
    let out_s = out.to_str().unwrap();
    let first = Command::new(BIN)
        .args([
            "run",
            "-q",
            "-o",
            out_s,
            "--limit",
            "1",
            "--set",
            NO_TRANSLATION,
            "corpus",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(ERROR_RECORDS),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let resumed = Command::new(BIN)
        .args(["run", "-q", "-o", out_s, "--resume", "--set", NO_TRANSLATION, "corpus"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        resumed.status.code(),
        Some(ERROR_RECORDS),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
}

#[test]
fn tar_and_zip_nested_past_the_limit_are_error_records() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    let mut tar = article_bytes();
    let mut name = "a.md".to_string();
    for i in 0..40 {
        tar = tar_of(&name, &tar);
        name = format!("t{i}.tar");
    }
    std::fs::write(d.join("a-deep.tar"), &tar).unwrap();
    let mut zip = article_bytes();
    let mut name = "a.md".to_string();
    for i in 0..200 {
        zip = zip_of(&[(&name, &zip)], false);
        name = format!("z{i}.zip");
    }
    std::fs::write(d.join("b-deep.zip"), &zip).unwrap();
    std::fs::write(d.join("c-good.md"), article_bytes()).unwrap();

    let r = run(tmp.path(), &["corpus"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    assert_eq!(r.recs.len(), 3, "{:?}", r.recs);
    for (rec, top) in r.recs.iter().zip(["corpus/a-deep.tar!", "corpus/b-deep.zip!"]) {
        assert!(source(rec).starts_with(top), "{rec:?}");
        assert_eq!(
            source(rec).matches('!').count(),
            16,
            "the 16th member names where it stopped: {rec:?}"
        );
        assert_eq!(kind(rec), "too_deep", "{rec:?}");
        assert!(message(rec).contains("nested"), "{rec:?}");
    }
    assert_eq!(r.recs[2]["status"], "ok");
}

// 2. Inputs that are not regular files.

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(st.success());
}

#[test]
fn a_fifo_named_on_the_command_line_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("feed");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let _ = f.write_all(&article_bytes());
        })
    };
    let r = run(tmp.path(), &["feed"], None, LIMIT);
    // Unfixed, svodka never opens the FIFO and the writer stays blocked in open(): open it
    // for reading here to let it go.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !writer.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !writer.is_finished() {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::fs::File::open(&fifo).unwrap(), &mut sink);
    }
    writer.join().unwrap();
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.recs.len(), 1, "{:?}", r.recs);
    assert_eq!(source(&r.recs[0]), "feed");
    assert_eq!(r.recs[0]["status"], "ok", "{:?}", r.recs[0]);
}

#[test]
fn dev_stdin_as_a_path_reads_the_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(tmp.path(), &["/dev/stdin"], Some(article_bytes()), LIMIT);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.recs.len(), 1, "{:?}", r.recs);
    assert_eq!(source(&r.recs[0]), "/dev/stdin");
    assert_eq!(r.recs[0]["status"], "ok", "{:?}", r.recs[0]);
}

#[test]
fn dev_zero_is_too_large_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(
        tmp.path(),
        &["--set", "input.max_bytes=1000", "/dev/zero"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let err = single_error(&r, "/dev/zero");
    assert_eq!(kind(&err), "too_large", "{err:?}");
    assert_eq!(r.recs.len(), 1);
}

#[test]
fn fifos_and_dangling_links_inside_a_directory_get_error_records() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::symlink("no-such-target.md", d.join("a-dangling.md")).unwrap();
    std::fs::write(d.join("b-good.md"), article_bytes()).unwrap();
    // Never opened: opening a FIFO with no writer would block the run for ever.
    mkfifo(&d.join("c-pipe.md"));
    std::os::unix::fs::symlink("b-good.md", d.join("d-link.md")).unwrap();

    let r = run(tmp.path(), &["corpus"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let got = outcomes(&r);
    assert_eq!(
        got,
        [
            ("corpus/a-dangling.md", "error", "io"),
            ("corpus/b-good.md", "ok", ""),
            ("corpus/c-pipe.md", "error", "io"),
            ("corpus/d-link.md", "ok", ""),
        ]
    );
    assert!(
        message(&r.recs[0]).contains("dangling") && message(&r.recs[0]).contains("no-such-target.md"),
        "{:?}",
        r.recs[0]
    );
    assert!(message(&r.recs[2]).contains("not a regular file"), "{:?}", r.recs[2]);
}

// 3. Over-long JSONL lines.

fn jsonl_line(text_len: usize) -> String {
    let body = "Слово за словом идёт статья. ".repeat(text_len / 50 + 1);
    format!(
        "{{\"title\": \"Заголовок\", \"text\": {}}}\n",
        serde_json::to_string(&body).unwrap()
    )
}

#[test]
fn an_over_long_jsonl_line_is_one_error_and_the_next_line_still_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let long = jsonl_line(3000);
    let short = jsonl_line(300);
    assert!(long.len() > 2000 && short.len() < 1000);
    std::fs::write(tmp.path().join("feed.jsonl"), format!("{short}{long}{short}")).unwrap();
    let r = run(
        tmp.path(),
        &["--set", "input.max_bytes=1000", "feed.jsonl"],
        None,
        LIMIT,
    );
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let got = outcomes(&r);
    assert_eq!(
        got,
        [
            ("feed.jsonl:1", "ok", ""),
            ("feed.jsonl:2", "error", "too_large"),
            ("feed.jsonl:3", "ok", "")
        ]
    );
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A 256 MiB line inside a small gzip: one too_large record, and the next line still runs.
#[test]
#[cfg(target_os = "linux")]
fn an_over_long_gzipped_jsonl_line_is_not_buffered() {
    const LINE: usize = 256 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(b"{\"text\": \"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..LINE >> 20 {
        gz.write_all(&chunk).unwrap();
    }
    gz.write_all(b"\"}\n").unwrap();
    gz.write_all(jsonl_line(300).as_bytes()).unwrap();
    std::fs::write(tmp.path().join("feed.jsonl.gz"), gz.finish().unwrap()).unwrap();

    let out = tmp.path().join("out.jsonl");
    let mut child = Command::new(BIN)
        .args(["run", "-q", "-o", out.to_str().unwrap(), "--set", NO_TRANSLATION])
        .args(["--set", "input.max_bytes=100000", "feed.jsonl.gz"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let started = Instant::now();
    let status = loop {
        if let Some(p) = peak_rss_kib(child.id()) {
            peak = peak.max(p);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(ERROR_RECORDS));
    // A figure, not a target (memory targets live in benchmarks): that the line is skipped
    // without being kept is checked by the ingest unit tests on the line reader.
    eprintln!("peak RSS over a {} MiB line: {} MiB", LINE >> 20, peak / 1024);
    let recs: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(source(&recs[0]), "feed.jsonl.gz:1");
    assert_eq!(kind(&recs[0]), "too_large");
    assert_eq!(recs[1]["status"], "ok");
}

// 4. Encrypted and damaged archives.

/// Mark every member of a stored zip as encrypted (general-purpose flag bit 0, in the local
/// and the central headers), as a password-protected zip has it.
fn mark_encrypted(zip: &mut [u8]) {
    for i in 0..zip.len().saturating_sub(4) {
        match &zip[i..i + 4] {
            b"PK\x03\x04" => zip[i + 6] |= 1,
            b"PK\x01\x02" => zip[i + 8] |= 1,
            _ => {}
        }
    }
}

#[test]
fn an_encrypted_zip_member_is_named_and_called_encrypted() {
    let tmp = tempfile::tempdir().unwrap();
    let body = article_bytes();
    let mut zip = zip_of(&[("secret.md", &body)], false);
    mark_encrypted(&mut zip);
    std::fs::write(tmp.path().join("enc.zip"), zip).unwrap();
    let r = run(tmp.path(), &["enc.zip"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let err = single_error(&r, "enc.zip!secret.md");
    assert!(message(&err).contains("encrypted"), "{err:?}");
    assert_eq!(kind(&err), "unsupported", "{err:?}");
}

#[test]
fn a_damaged_zip_directory_is_said_in_plain_words() {
    let tmp = tempfile::tempdir().unwrap();
    let body = article_bytes();
    let zip = zip_of(&[("a.md", &body), ("b.md", &body)], true);
    // Cut into the central directory: its entries end early.
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let eocd = zip.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let mut cut = zip[..cd + 20].to_vec();
    let mut end = zip[eocd..].to_vec();
    // The end record still says where the directory starts and how long it is.
    end[12..16].copy_from_slice(&((eocd - cd) as u32).to_le_bytes());
    cut.extend_from_slice(&end);
    std::fs::write(tmp.path().join("bad.zip"), &cut).unwrap();
    let r = run(tmp.path(), &["bad.zip"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    assert_eq!(r.recs.len(), 1, "{:?}", r.recs);
    let err = &r.recs[0];
    assert!(source(err).starts_with("bad.zip"), "{err:?}");
    assert!(!message(err).contains("::"), "no internal type names: {err:?}");
}

#[test]
fn a_tar_member_declaring_more_than_the_archive_holds_is_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let body = article_bytes();
    let mut tar = tar_of("a.md", &body);
    // Size field (12 bytes of octal at 124): 8 GiB; then the header checksum again.
    tar[124..136].copy_from_slice(b"77777777777\0");
    tar[148..156].copy_from_slice(b"        ");
    let sum: u32 = tar[..512].iter().map(|&b| u32::from(b)).sum();
    tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    std::fs::write(tmp.path().join("big.tar"), &tar).unwrap();
    let r = run(tmp.path(), &["big.tar"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let err = single_error(&r, "big.tar!a.md");
    assert_eq!(kind(&err), "truncated", "{err:?}");
    assert!(message(&err).contains("8589934591"), "{err:?}");
}

/// Two file names that are not UTF-8 (the same word in KOI8-R and in windows-1251) stay two
/// names in `source`, each byte shown as `\xHH`, instead of both collapsing to U+FFFD.
#[test]
fn file_names_that_are_not_utf8_stay_apart() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    for name in [&b"\xd3\xce\xc5\xc7.md"[..], &b"\xf1\xed\xe5\xe3.md"[..]] {
        let path = dir.join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, article_bytes()).unwrap();
    }
    let r = run(tmp.path(), &["in"], None, LIMIT);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let sources: Vec<&str> = r.recs.iter().map(source).collect();
    assert_eq!(sources, ["in/\\xD3\\xCE\\xC5\\xC7.md", "in/\\xF1\\xED\\xE5\\xE3.md"]);
}

/// Link members of a tar hold no text; each is named in a record, not passed over.
#[test]
fn link_members_of_a_tar_are_named_in_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let body = article_bytes();
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "a.md", &body[..]).unwrap();
    for (kind, name) in [(tar::EntryType::Symlink, "sym.md"), (tar::EntryType::Link, "hard.md")] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o644);
        tar.append_link(&mut h, name, "a.md").unwrap();
    }
    std::fs::write(tmp.path().join("links.tar"), tar.into_inner().unwrap()).unwrap();
    let r = run(tmp.path(), &["links.tar"], None, LIMIT);
    assert_eq!(r.code(), ERROR_RECORDS, "{}", r.stderr);
    let sources: Vec<&str> = r.recs.iter().map(source).collect();
    assert_eq!(sources, ["links.tar!a.md", "links.tar!sym.md", "links.tar!hard.md"]);
    assert_eq!(r.recs[0]["status"], "ok");
    assert!(message(&r.recs[1]).contains("symbolic link") && message(&r.recs[1]).contains("a.md"));
    assert!(message(&r.recs[2]).contains("hard link"));
}
