//! Output records and the crash-safe JSONL writer.
//!
//! Each record is serialised in full, then written with a single `write_all` of the line and
//! its newline, and flushed. A crash (even SIGKILL) can therefore only leave a final line
//! without its newline, and such a line is never valid JSON (its closing brace is missing):
//! no reader takes it for data, and `--resume` cuts it off before continuing. The field order
//! of [`Record`] is the schema documented in the README.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::Check;
use crate::error::Error;
use crate::record_error::ArticleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Ok,
    Error,
    Skipped,
}

/// One output line: one input article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub id: Option<String>,
    pub source: String,
    pub status: Status,
    pub title: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub lang: Option<String>,
    pub lang_confidence: Option<f64>,
    pub encoding: Option<String>,
    pub summary: BTreeMap<String, String>,
    /// How each summary was made (`summarize`, `summarize-translate`, `translate-summarize`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary_path: BTreeMap<String, String>,
    /// Flaws found in the model outputs behind each summary (`{"en": ["numbers"]}`), only
    /// where something was flagged ([`crate::checks`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Vec<Check>>,
    /// Languages whose flagged outputs were run again with safer decoding (`checks.retry`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<String>,
    /// The id of the earlier article of the run this one repeats (`dedup.mode`); its summaries
    /// are that article's, made once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    pub missing: Vec<String>,
    pub chunks: Option<usize>,
    pub models: BTreeMap<String, String>,
    pub timings_ms: BTreeMap<String, f64>,
    /// Whole-article translations, only with `translate.full`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translation: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ArticleError>,
    /// Shards only (`--shard`, with `dedup.mode` on): the article's [`crate::dedup::Print`],
    /// from which `svodka merge` finds the copies across shards; merged outputs do not have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_print: Option<String>,
}

impl Record {
    /// A record for an input that failed before it became an article.
    pub fn failed(source: String, err: ArticleError) -> Record {
        Record {
            id: None,
            source,
            status: Status::Error,
            title: None,
            date: None,
            url: None,
            lang: None,
            lang_confidence: None,
            encoding: None,
            summary: BTreeMap::new(),
            summary_path: BTreeMap::new(),
            checks: BTreeMap::new(),
            retried: Vec::new(),
            duplicate_of: None,
            missing: Vec::new(),
            chunks: None,
            models: BTreeMap::new(),
            timings_ms: BTreeMap::new(),
            translation: BTreeMap::new(),
            skip_reason: None,
            error: Some(err),
            dedup_print: None,
        }
    }

    pub(crate) fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("records always serialise");
        line.push(b'\n');
        line
    }
}

/// Counts of record statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: usize,
    pub error: usize,
    pub skipped: usize,
    /// Records with a flagged output (`checks`).
    pub flagged: usize,
    /// Records of duplicates (`duplicate_of`), summarised by reuse.
    pub duplicates: usize,
}

impl Counts {
    /// Count a written record.
    pub(crate) fn record(&mut self, r: &Record) {
        self.add(r.status);
        self.flagged += usize::from(!r.checks.is_empty());
        self.duplicates += usize::from(r.duplicate_of.is_some());
    }

    pub(crate) fn add(&mut self, s: Status) {
        match s {
            Status::Ok => self.ok += 1,
            Status::Error => self.error += 1,
            Status::Skipped => self.skipped += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.ok + self.error + self.skipped
    }
}

/// Where `path` would be on disk, links resolved, whether or not it exists yet.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

/// Refuse an output that is one of the inputs (the same file, by path or by hard link) or lies
/// inside an input directory, before anything is opened for writing: the first would truncate
/// the input, the second would read the run's own records back as articles.
pub(crate) fn check_not_input(output: &str, inputs: &[String]) -> Result<(), Error> {
    if output == "-" {
        // `svodka run DIR > DIR/out.jsonl`: the shell has already created the file, but
        // reading it back as an input would still feed the run its own records.
        return match stdout_file() {
            Some(path) => {
                let named = PathBuf::from(format!("<stdout> = {}", path.display()));
                check_path(&named, &path, inputs)
            }
            None => Ok(()),
        };
    }
    let out_path = Path::new(output);
    let Some(out) = resolved(out_path) else {
        return Ok(()); // its directory does not exist: opening it will say so
    };
    check_path(out_path, &out, inputs)
}

/// The regular file standard output is redirected to, where the system says (Linux's
/// `/proc/self/fd/1`); pipes, terminals and `/dev/null` are not files an input can be.
fn stdout_file() -> Option<PathBuf> {
    let path = std::fs::read_link("/proc/self/fd/1").ok()?;
    std::fs::metadata(&path).ok()?.is_file().then_some(path)
}

/// `out` (resolved, named `out_path` in the message) against each input.
fn check_path(out_path: &Path, out: &Path, inputs: &[String]) -> Result<(), Error> {
    let out_meta = std::fs::metadata(out).ok();
    for input in inputs.iter().filter(|i| *i != "-") {
        let Ok(inp) = Path::new(input).canonicalize() else {
            continue; // a missing input becomes an error record of its own
        };
        let same_file = out == inp
            || match (&out_meta, std::fs::metadata(&inp)) {
                (Some(a), Ok(b)) => same_inode(a, &b),
                _ => false,
            };
        let inside = inp.is_dir() && out.starts_with(&inp);
        if same_file || inside {
            return Err(Error::OutputIsInput {
                output: out_path.to_path_buf(),
                input: input.into(),
                inside,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.is_file() && (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Writes whole lines, one per record.
pub(crate) struct Writer {
    out: Box<dyn Write + Send>,
    file: Option<File>,
    path: PathBuf,
    fsync: bool,
}

impl Writer {
    /// `-` is standard output; a path is created (truncated) or, when resuming, appended to.
    pub fn open(path: &str, append: bool, fsync: bool) -> Result<Writer, Error> {
        if path == "-" {
            return Ok(Writer {
                out: Box::new(std::io::stdout()),
                file: None,
                path: PathBuf::from("<stdout>"),
                fsync: false,
            });
        }
        let p = PathBuf::from(path);
        let err = |source| Error::Output {
            path: p.clone(),
            source,
        };
        let mut opts = OpenOptions::new();
        opts.create(true);
        if append {
            opts.append(true);
        } else {
            opts.write(true).truncate(true);
        }
        let file = opts.open(&p).map_err(err)?;
        let out = Box::new(file.try_clone().map_err(err)?);
        Ok(Writer {
            out,
            file: Some(file),
            path: p,
            fsync,
        })
    }

    pub fn write(&mut self, record: &Record) -> Result<(), Error> {
        let line = record.to_line();
        let res = self.out.write_all(&line).and_then(|()| self.out.flush());
        let res = match (&self.file, self.fsync) {
            (Some(f), true) => res.and_then(|()| f.sync_data()),
            _ => res,
        };
        res.map_err(|source| Error::Output {
            path: self.path.clone(),
            source,
        })
    }

    pub fn finish(&mut self) -> Result<(), Error> {
        let res = self.out.flush();
        let res = match &self.file {
            Some(f) => res.and_then(|()| f.sync_all()),
            None => res,
        };
        res.map_err(|source| Error::Output {
            path: self.path.clone(),
            source,
        })
    }
}

/// What an interrupted run left behind.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResumePoint {
    /// Complete records already written: the first `done` units are finished.
    pub done: usize,
    /// `source` of the last complete record, to check the inputs are the same.
    pub last_source: Option<String>,
    pub counts: Counts,
}

/// Read an existing output: count its complete records, cut off a trailing partial line,
/// and refuse a file that is not svodka output.
pub(crate) fn resume_point(path: &Path) -> Result<ResumePoint, Error> {
    let resume_err = |reason: String| Error::Resume {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ResumePoint::default()),
        Err(e) => return Err(resume_err(e.to_string())),
    };
    let mut point = ResumePoint::default();
    let mut good_len = 0u64;
    let mut reader = BufReader::new(&mut file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| resume_err(e.to_string()))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            // The half-written line a crash leaves; it is cut off below.
            break;
        }
        let rec: Record = serde_json::from_slice(&line)
            .map_err(|e| resume_err(format!("line {} is not a svodka record ({e})", point.done + 1)))?;
        point.done += 1;
        point.counts.record(&rec);
        point.last_source = Some(rec.source);
        good_len += n as u64;
    }
    drop(reader);
    let len = file.metadata().map_err(|e| resume_err(e.to_string()))?.len();
    if len != good_len {
        tracing::warn!(
            "{}: cutting off {} bytes of a partial record",
            path.display(),
            len - good_len
        );
        file.set_len(good_len).map_err(|e| resume_err(e.to_string()))?;
        file.seek(SeekFrom::End(0)).map_err(|e| resume_err(e.to_string()))?;
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_error::{ErrorKind, Stage};

    fn rec(source: &str) -> Record {
        Record::failed(source.into(), ArticleError::new(Stage::Read, ErrorKind::Io, "x"))
    }

    #[test]
    fn error_record_shape() {
        let v: serde_json::Value = serde_json::from_slice(&rec("a.md").to_line()).unwrap();
        assert_eq!(v["status"], "error");
        assert_eq!(v["error"]["stage"], "read");
        assert_eq!(v["error"]["kind"], "io");
        assert!(v.get("skip_reason").is_none());
    }

    #[test]
    fn resume_cuts_partial_line_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        let mut bytes = rec("a").to_line();
        bytes.extend(rec("b").to_line());
        let partial = rec("c").to_line();
        bytes.extend(&partial[..partial.len() / 2]);
        std::fs::write(&p, &bytes).unwrap();
        let point = resume_point(&p).unwrap();
        assert_eq!(point.done, 2);
        assert_eq!(point.last_source.as_deref(), Some("b"));
        assert_eq!(point.counts.error, 2);
        let left = std::fs::read(&p).unwrap();
        assert_eq!(left.last(), Some(&b'\n'));
        assert_eq!(left.len(), bytes.len() - partial.len() / 2);
    }

    #[test]
    fn resume_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        std::fs::write(&p, "hello\n").unwrap();
        assert!(
            resume_point(&p)
                .unwrap_err()
                .to_string()
                .contains("not a svodka record")
        );
        assert_eq!(resume_point(&dir.path().join("none")).unwrap(), ResumePoint::default());
    }
}
