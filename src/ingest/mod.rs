//! Inputs → units of work, in a fixed order.
//!
//! An input is a file, a directory (walked recursively in sorted path order), `-` for
//! standard input, or an archive (`.tar`, `.tar.gz`/`.tgz`, `.zip`, `.gz`). Archives are
//! streamed member by member and never unpacked to disk. What comes out is a sequence of
//! [`Unit`]s, each of which becomes exactly one output record: a whole article file, one line
//! of a JSONL file, or a failure to read something. That one-to-one rule is what lets the
//! writer keep input order and lets `--resume` skip the units already written.
//!
//! The walk is a callback rather than an iterator because archive readers borrow their
//! stream; the sink returns `ControlFlow::Break` to stop early (`--limit`).

mod archive;
pub mod encoding;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use crate::config::InputConfig;
use crate::error::{ArticleError, ErrorKind, Stage};

/// How a document's bytes are to be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown or plain text in the news-export layout.
    Text,
    Html,
}

/// What a unit carries.
#[derive(Debug)]
pub enum Payload {
    /// One whole article file (or archive member).
    Document { bytes: Vec<u8>, format: Format },
    /// One line of a JSONL file.
    JsonlLine { bytes: Vec<u8> },
    /// Something that could not be read; becomes an error record.
    Failed(ArticleError),
}

/// One unit of work: becomes exactly one output record.
#[derive(Debug)]
pub struct Unit {
    /// Where it came from: `dir/a.md`, `news.tar.gz!09/a.md`, `feed.jsonl:3`, `<stdin>`.
    pub source: String,
    pub payload: Payload,
}

/// The name standard input goes by in `source`.
pub const STDIN: &str = "<stdin>";

type Sink<'a> = dyn FnMut(Unit) -> ControlFlow<()> + 'a;

/// Walk `inputs` in order, handing every unit to `sink`.
pub fn walk(inputs: &[String], cfg: &InputConfig, sink: &mut Sink<'_>) -> ControlFlow<()> {
    let walker = Walker { cfg };
    for input in inputs {
        if input == "-" {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            walker.stream(STDIN, "", &mut lock, sink)?;
        } else {
            walker.path_input(Path::new(input), sink)?;
        }
    }
    ControlFlow::Continue(())
}

/// Number of article files the inputs hold, when it can be known cheaply (no archives, JSONL
/// or stdin): the progress bar's total.
pub fn count_documents(inputs: &[String], cfg: &InputConfig) -> Option<u64> {
    let mut n = 0u64;
    for input in inputs {
        if input == "-" {
            return None;
        }
        for entry in walk_dir(Path::new(input), cfg) {
            let entry = entry.ok()?;
            if entry.file_type().is_file() {
                let name = entry.file_name().to_string_lossy().to_lowercase();
                if is_container_name(&name) {
                    return None;
                }
                n += 1;
            }
        }
    }
    Some(n)
}

fn walk_dir(root: &Path, cfg: &InputConfig) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    let hidden = cfg.hidden;
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| hidden || e.depth() == 0 || !is_hidden(&e.file_name().to_string_lossy()))
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX"
}

/// Names whose content is a sequence of articles rather than one.
fn is_container_name(name: &str) -> bool {
    [".tar", ".tgz", ".gz", ".zip", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn lower_ext(name: &str) -> String {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Why a container stopped: the sink asked (`--limit`), or its stream broke.
pub(crate) enum Stop {
    Sink,
    Broken,
}

pub(crate) struct Walker<'c> {
    pub(crate) cfg: &'c InputConfig,
}

impl Walker<'_> {
    fn failed(&self, source: &str, err: ArticleError, sink: &mut Sink<'_>) -> ControlFlow<()> {
        sink(Unit {
            source: source.to_string(),
            payload: Payload::Failed(err),
        })
    }

    fn path_input(&self, root: &Path, sink: &mut Sink<'_>) -> ControlFlow<()> {
        if let Err(e) = std::fs::metadata(root) {
            let err = ArticleError::new(Stage::Read, ErrorKind::Io, format!("cannot open input: {e}"));
            return self.failed(&root.display().to_string(), err, sink);
        }
        for entry in walk_dir(root, self.cfg) {
            match entry {
                Ok(e) if e.file_type().is_file() => self.file(e.path(), sink)?,
                // Symlinks to files are read as the files they point to.
                Ok(e) if e.file_type().is_symlink() && e.path().is_file() => self.file(e.path(), sink)?,
                Ok(_) => {}
                Err(e) => {
                    let source = e.path().map(|p| p.display().to_string()).unwrap_or_default();
                    let err = ArticleError::new(Stage::Read, ErrorKind::Io, format!("cannot read: {e}"));
                    self.failed(&source, err, sink)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn file(&self, path: &Path, sink: &mut Sink<'_>) -> ControlFlow<()> {
        let source = path.display().to_string();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => return self.failed(&source, ArticleError::io(&e), sink),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if lower_ext(&name) == "zip" {
            // A zip file on disk is read through its central directory, no buffering.
            return match self.zip(&source, file, sink) {
                Err(Stop::Sink) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            };
        }
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        self.stream(&source, &name, &mut reader, sink)
    }

    /// Dispatch a stream on its magic bytes first, then on its name: archives recurse,
    /// JSONL is split into lines, anything else is one document.
    pub(crate) fn stream(
        &self,
        source: &str,
        name: &str,
        reader: &mut dyn BufRead,
        sink: &mut Sink<'_>,
    ) -> ControlFlow<()> {
        match self.stream_inner(source, name, reader, sink) {
            Err(Stop::Sink) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    pub(crate) fn stream_inner(
        &self,
        source: &str,
        name: &str,
        reader: &mut dyn BufRead,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let send = |sink: &mut Sink<'_>, unit: Unit| match sink(unit) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Stop::Sink),
        };
        let mut head = Vec::with_capacity(512);
        if let Err(e) = reader.take(512).read_to_end(&mut head) {
            send(
                sink,
                Unit {
                    source: source.into(),
                    payload: Payload::Failed(ArticleError::io(&e)),
                },
            )?;
            return Err(Stop::Broken);
        }
        let mut chained = BufReader::new(std::io::Cursor::new(head.clone()).chain(reader));
        let ext = lower_ext(name);
        match archive::sniff(&head) {
            Some(archive::Kind::Gzip) => {
                let inner = archive::gunzipped_name(name);
                let mut gz = BufReader::new(flate2::bufread::MultiGzDecoder::new(chained));
                return self.stream_inner(source, &inner, &mut gz, sink);
            }
            Some(archive::Kind::Zip) => {
                let mut buf = Vec::new();
                if let Some(err) = self.read_limited(&mut chained, &mut buf) {
                    send(
                        sink,
                        Unit {
                            source: source.into(),
                            payload: Payload::Failed(err),
                        },
                    )?;
                    return Err(Stop::Broken);
                }
                return self.zip(source, std::io::Cursor::new(buf), sink);
            }
            Some(archive::Kind::Tar) => return self.tar(source, &mut chained, sink),
            None => {}
        }
        if ext == "jsonl" || ext == "ndjson" || (ext != "json" && !known_doc_ext(&ext) && sniff_jsonl(&head)) {
            return self.jsonl(source, &mut chained, sink);
        }
        let format = match ext.as_str() {
            "html" | "htm" | "xhtml" => Format::Html,
            _ if !known_doc_ext(&ext) && sniff_html(&head) => Format::Html,
            _ => Format::Text,
        };
        let mut bytes = Vec::new();
        let payload = match self.read_limited(&mut chained, &mut bytes) {
            None => Payload::Document { bytes, format },
            Some(err) => Payload::Failed(err),
        };
        let broken =
            matches!(&payload, Payload::Failed(e) if e.kind == ErrorKind::Truncated || e.kind == ErrorKind::Io);
        send(
            sink,
            Unit {
                source: source.into(),
                payload,
            },
        )?;
        if broken { Err(Stop::Broken) } else { Ok(()) }
    }

    /// Read at most `input.max_bytes`; an error names what went wrong.
    fn read_limited(&self, reader: &mut dyn Read, buf: &mut Vec<u8>) -> Option<ArticleError> {
        let max = self.cfg.max_bytes;
        match reader.take(max + 1).read_to_end(buf) {
            Err(e) => Some(ArticleError::io(&e)),
            Ok(n) if n as u64 > max => {
                // Drain the rest so a stream (a tar member) stays in step.
                let _ = std::io::copy(reader, &mut std::io::sink());
                buf.clear();
                Some(ArticleError::new(
                    Stage::Read,
                    ErrorKind::TooLarge,
                    format!("larger than input.max_bytes ({max} bytes)"),
                ))
            }
            Ok(_) => None,
        }
    }

    /// One unit per non-blank line, `source:LINE` (1-based).
    fn jsonl(&self, source: &str, reader: &mut dyn BufRead, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let max = self.cfg.max_bytes;
        let mut line_no = 0usize;
        loop {
            line_no += 1;
            let mut buf = Vec::new();
            let res = reader.take(max + 1).read_until(b'\n', &mut buf);
            let unit_source = format!("{source}:{line_no}");
            match res {
                Ok(0) => return Ok(()),
                Ok(_) if buf.len() as u64 > max && buf.last() != Some(&b'\n') => {
                    let mut rest = Vec::new();
                    let _ = reader.read_until(b'\n', &mut rest);
                    let err = ArticleError::new(
                        Stage::Read,
                        ErrorKind::TooLarge,
                        format!("line longer than input.max_bytes ({max} bytes)"),
                    );
                    if let ControlFlow::Break(()) = sink(Unit {
                        source: unit_source,
                        payload: Payload::Failed(err),
                    }) {
                        return Err(Stop::Sink);
                    }
                }
                Ok(_) => {
                    if buf.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    if let ControlFlow::Break(()) = sink(Unit {
                        source: unit_source,
                        payload: Payload::JsonlLine { bytes: buf },
                    }) {
                        return Err(Stop::Sink);
                    }
                }
                Err(e) => {
                    if let ControlFlow::Break(()) = sink(Unit {
                        source: unit_source,
                        payload: Payload::Failed(ArticleError::io(&e)),
                    }) {
                        return Err(Stop::Sink);
                    }
                    return Err(Stop::Broken);
                }
            }
        }
    }
}

fn known_doc_ext(ext: &str) -> bool {
    matches!(ext, "md" | "markdown" | "txt" | "text" | "html" | "htm" | "xhtml")
}

fn first_non_space(head: &[u8]) -> Option<u8> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn sniff_jsonl(head: &[u8]) -> bool {
    first_non_space(head) == Some(b'{')
}

fn sniff_html(head: &[u8]) -> bool {
    if first_non_space(head) != Some(b'<') {
        return false;
    }
    let lower = String::from_utf8_lossy(head).to_lowercase();
    ["<!doctype html", "<html", "<head", "<body", "<article", "<p>", "<div"]
        .iter()
        .any(|t| lower.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(inputs: &[String]) -> Vec<(String, String)> {
        let cfg = InputConfig::default();
        let mut out = Vec::new();
        let _ = walk(inputs, &cfg, &mut |u: Unit| {
            let what = match u.payload {
                Payload::Document { bytes, format } => format!("{format:?}:{}", String::from_utf8_lossy(&bytes)),
                Payload::JsonlLine { bytes } => format!("line:{}", String::from_utf8_lossy(&bytes).trim()),
                Payload::Failed(e) => format!("failed:{:?}", e.kind),
            };
            out.push((u.source, what));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn directory_walk_is_sorted_recursive_and_skips_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("b/sub")).unwrap();
        std::fs::write(p.join("b/sub/z.md"), "z").unwrap();
        std::fs::write(p.join("b/a.txt"), "a").unwrap();
        std::fs::write(p.join("a.html"), "<html><body><p>x</p></body></html>").unwrap();
        std::fs::write(p.join(".hidden.md"), "h").unwrap();
        std::fs::write(p.join("c.jsonl"), "{\"text\":\"1\"}\n\n{\"text\":\"2\"}\n").unwrap();
        let root = p.display().to_string();
        let got = collect(std::slice::from_ref(&root));
        let names: Vec<String> = got
            .iter()
            .map(|(s, _)| s.strip_prefix(&root).unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            ["/a.html", "/b/a.txt", "/b/sub/z.md", "/c.jsonl:1", "/c.jsonl:3"]
        );
        assert!(got[0].1.starts_with("Html:"));
        assert_eq!(got[1].1, "Text:a");
        assert_eq!(got[4].1, "line:{\"text\":\"2\"}");
    }

    #[test]
    fn missing_path_is_a_failed_unit() {
        let got = collect(&["/no/such/svodka/input".to_string()]);
        assert_eq!(got, [("/no/such/svodka/input".to_string(), "failed:Io".to_string())]);
    }

    #[test]
    fn oversized_file_is_a_failed_unit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big.md");
        std::fs::write(&f, "x".repeat(100)).unwrap();
        let cfg = InputConfig {
            max_bytes: 10,
            ..InputConfig::default()
        };
        let mut kinds = Vec::new();
        let _ = walk(&[f.display().to_string()], &cfg, &mut |u: Unit| {
            if let Payload::Failed(e) = u.payload {
                kinds.push(e.kind);
            }
            ControlFlow::Continue(())
        });
        assert_eq!(kinds, [ErrorKind::TooLarge]);
    }

    #[test]
    fn content_sniffing_for_unknown_extensions() {
        assert!(sniff_jsonl(b"\xEF\xBB\xBF  {\"text\": 1}"));
        assert!(sniff_html(b"<!DOCTYPE html><html>"));
        assert!(!sniff_html(b"# Title"));
    }
}
