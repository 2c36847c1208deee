//! Inputs → units of work, in a fixed order.
//!
//! An input is a file, a directory (walked recursively in sorted path order), `-` for
//! standard input, or an archive (`.tar`, `.tar.gz`/`.tgz`, `.zip`, `.gz`). Archives are
//! streamed member by member and never unpacked to disk. What comes out is a sequence of
//! [`Unit`]s, each of which becomes exactly one output record: a whole article file, one line
//! of a JSONL file, or a failure to read something. That one-to-one rule is what lets the
//! writer keep input order and lets `--resume` skip the units already written.
//!
//! Hostile inputs end in error records, never in a hang or a crash: archives nest at most
//! [`MAX_NESTING`] deep; a path named on the command line is read whatever it is (a pipe such
//! as `<(…)` or `/dev/stdin`, a FIFO, a device), `input.max_bytes` bounding what is kept of
//! it; inside a directory, FIFOs, sockets, devices, dangling symbolic links and links to
//! directories are not opened but reported; an over-long JSONL line is skipped while
//! streaming, not buffered.
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
use crate::record_error::{ArticleError, ErrorKind, Stage};

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
pub(crate) const STDIN: &str = "<stdin>";

/// A file or member name as `source` shows it: UTF-8 as it is, and each byte that is not
/// UTF-8 as `\xHH` (Python's backslashreplace), so two names that differ only in such bytes
/// stay two names instead of collapsing into the same U+FFFD.
pub(crate) fn name_of_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// A path as `source` shows it (see [`name_of_bytes`]).
pub(crate) fn path_name(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name_of_bytes(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

type Sink<'a> = dyn FnMut(Unit) -> ControlFlow<()> + 'a;

/// Walk `inputs` in order, handing every unit to `sink`.
pub fn walk(inputs: &[String], cfg: &InputConfig, sink: &mut Sink<'_>) -> ControlFlow<()> {
    walk_skipping(inputs, cfg, None, sink)
}

/// [`walk`], for a shard: `skip()` says whether the next unit is another shard's. Such a unit
/// is still handed to `sink` (it counts), but when it is a whole file on disk its bytes are
/// not read: a `Document` with no bytes stands for it. Archive members and JSONL lines are
/// read all the same, because where the next unit starts, and whether a broken archive ends
/// the units, is known only by reading; every shard must count the same units.
pub fn walk_skipping(
    inputs: &[String],
    cfg: &InputConfig,
    skip: Option<&dyn Fn() -> bool>,
    sink: &mut Sink<'_>,
) -> ControlFlow<()> {
    let walker = Walker { cfg, skip };
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
pub(crate) fn count_documents(inputs: &[String], cfg: &InputConfig) -> Option<u64> {
    let mut n = 0u64;
    for input in inputs {
        if input == "-" {
            return None;
        }
        if std::fs::metadata(input).is_ok_and(|m| !m.is_dir() && !m.is_file()) {
            return None; // a pipe or device: what it holds is known only once read
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

/// How many archives may nest in one another (a `.tar.gz` counts two: the gzip stream and the
/// tar in it). An archive deeper than this becomes an error record and is not opened: nested
/// archives recurse, and a gzip of a gzip of … a thousand levels deep (23 KB) would otherwise
/// overflow the stack.
pub const MAX_NESTING: usize = 16;

/// Why a container stopped: the sink asked (`--limit`), or its stream broke.
pub(crate) enum Stop {
    Sink,
    Broken,
}

pub(crate) struct Walker<'c> {
    pub(crate) cfg: &'c InputConfig,
    /// Whether the next unit is another shard's ([`walk_skipping`]).
    pub(crate) skip: Option<&'c dyn Fn() -> bool>,
}

impl Walker<'_> {
    fn failed(&self, source: &str, err: ArticleError, sink: &mut Sink<'_>) -> ControlFlow<()> {
        sink(Unit {
            source: source.to_string(),
            payload: Payload::Failed(err),
        })
    }

    fn path_input(&self, root: &Path, sink: &mut Sink<'_>) -> ControlFlow<()> {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                let err = ArticleError::new(Stage::Read, ErrorKind::Io, format!("cannot open input: {e}"));
                return self.failed(&path_name(root), err, sink);
            }
        };
        if !meta.is_dir() {
            // Whatever is named on the command line is read, whatever kind of file it is: a
            // pipe (`<(cat a.md)`, `/dev/stdin`), a FIFO or a device is streamed like stdin,
            // `input.max_bytes` bounding what is kept of it.
            return self.file(root, meta.is_file(), sink);
        }
        for entry in walk_dir(root, self.cfg) {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) if e.file_type().is_file() => self.file(e.path(), true, sink)?,
                Ok(e) if e.file_type().is_symlink() => self.symlink(e.path(), sink)?,
                // A FIFO, socket or device inside a directory is not opened: opening a FIFO
                // blocks until someone writes to it, and a device may never end.
                Ok(e) => {
                    let what = not_regular(&e.file_type());
                    let err = ArticleError::new(
                        Stage::Read,
                        ErrorKind::Io,
                        format!("{what}, not a regular file: not read; name it on the command line to read it"),
                    );
                    self.failed(&path_name(e.path()), err, sink)?;
                }
                Err(e) => {
                    let source = e.path().map(path_name).unwrap_or_default();
                    let err = ArticleError::new(Stage::Read, ErrorKind::Io, format!("cannot read: {e}"));
                    self.failed(&source, err, sink)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// A symbolic link met in a directory walk: a link to a file is read as that file; a
    /// dangling link, or one to something else, is an error record naming it.
    fn symlink(&self, path: &Path, sink: &mut Sink<'_>) -> ControlFlow<()> {
        let source = path_name(path);
        let target = std::fs::read_link(path)
            .map(|t| path_name(&t))
            .unwrap_or_else(|_| "?".into());
        let message = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => return self.file(path, true, sink),
            Ok(m) if m.is_dir() => format!(
                "symbolic link to the directory `{target}`: not followed; name the directory on the command line to read it"
            ),
            Ok(m) => format!(
                "symbolic link to `{target}`, {}, not a regular file: not read",
                not_regular(&m.file_type())
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("dangling symbolic link: its target `{target}` does not exist")
            }
            Err(e) => format!("symbolic link to `{target}`, which cannot be read: {e}"),
        };
        self.failed(&source, ArticleError::new(Stage::Read, ErrorKind::Io, message), sink)
    }

    /// Read one file; `regular` is false for a pipe, FIFO or device named on the command line.
    fn file(&self, path: &Path, regular: bool, sink: &mut Sink<'_>) -> ControlFlow<()> {
        let source = path_name(path);
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => return self.failed(&source, ArticleError::io(&e), sink),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if regular && lower_ext(&name) == "zip" {
            // A zip file on disk is read through its central directory, no buffering.
            return match self.zip(&source, file, 1, sink) {
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
        match self.stream_inner(source, name, reader, 0, sink) {
            Err(Stop::Sink) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    /// `depth` is the number of archives the stream lies in (0 for a file or stdin): an archive
    /// that would make it more than [`MAX_NESTING`] is an error record, not opened.
    pub(crate) fn stream_inner(
        &self,
        source: &str,
        name: &str,
        reader: &mut dyn BufRead,
        depth: usize,
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
        let kind = archive::sniff(&head);
        if kind.is_some() && depth >= MAX_NESTING {
            let err = ArticleError::new(
                Stage::Read,
                ErrorKind::TooDeep,
                format!(
                    "archives nested too deeply: this one would be level {} of nesting, more than the limit of {MAX_NESTING}; not opened",
                    depth + 1
                ),
            );
            return send(
                sink,
                Unit {
                    source: source.into(),
                    payload: Payload::Failed(err),
                },
            );
        }
        match kind {
            Some(archive::Kind::Gzip) => {
                let inner = archive::gunzipped_name(name);
                let mut gz = BufReader::new(flate2::bufread::MultiGzDecoder::new(chained));
                return self.stream_inner(source, &inner, &mut gz, depth + 1, sink);
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
                return self.zip(source, std::io::Cursor::new(buf), depth + 1, sink);
            }
            Some(archive::Kind::Tar) => return self.tar(source, &mut chained, depth + 1, sink),
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
        if depth == 0 && self.skip.is_some_and(|skip| skip()) {
            let payload = Payload::Document {
                bytes: Vec::new(),
                format,
            };
            return send(
                sink,
                Unit {
                    source: source.into(),
                    payload,
                },
            );
        }
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
                // The rest is not read: a tar archive skips to its next header by itself, and
                // a stream named on the command line (`/dev/zero`) may never end.
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
                    // Skip the rest of the line without keeping it: one error record for it,
                    // and the next line is read as usual.
                    drop(buf);
                    let skipped = skip_line(reader);
                    let err = match &skipped {
                        Ok(()) => ArticleError::new(
                            Stage::Read,
                            ErrorKind::TooLarge,
                            format!("line longer than input.max_bytes ({max} bytes)"),
                        ),
                        Err(e) => ArticleError::io(e),
                    };
                    if let ControlFlow::Break(()) = sink(Unit {
                        source: unit_source,
                        payload: Payload::Failed(err),
                    }) {
                        return Err(Stop::Sink);
                    }
                    if skipped.is_err() {
                        return Err(Stop::Broken);
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

/// Consume up to and including the next newline (or to the end), keeping nothing.
fn skip_line(reader: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
            }
        }
    }
}

/// What a file that is neither a regular file, a directory nor a symbolic link is.
fn not_regular(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    let _ = t;
    "a special file"
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

    #[test]
    fn names_that_are_not_utf8_stay_apart() {
        assert_eq!(name_of_bytes(b"ru-flood.md"), "ru-flood.md");
        assert_eq!(name_of_bytes("снег.md".as_bytes()), "снег.md");
        // «снег» in KOI8-R and in windows-1251: different bytes, different names.
        let koi = name_of_bytes(b"\xd3\xce\xc5\xc7.md");
        let cp = name_of_bytes(b"\xf1\xed\xe5\xe3.md");
        assert_eq!(koi, "\\xD3\\xCE\\xC5\\xC7.md");
        assert_ne!(koi, cp);
    }

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
    fn skip_line_consumes_through_the_newline_only() {
        let data = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nnext\n";
        let mut r = BufReader::with_capacity(8, &data[..]);
        skip_line(&mut r).unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "next\n");
        let mut r = BufReader::new(&b"no newline"[..]);
        skip_line(&mut r).unwrap();
        assert!(r.fill_buf().unwrap().is_empty());
    }

    #[test]
    fn over_long_jsonl_line_is_one_unit_and_the_walk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("feed.jsonl");
        let long = format!("{{\"text\": \"{}\"}}\n", "x".repeat(500));
        std::fs::write(&f, format!("{{\"text\": \"a\"}}\n{long}{{\"text\": \"b\"}}\n")).unwrap();
        let cfg = InputConfig {
            max_bytes: 100,
            ..InputConfig::default()
        };
        let mut got = Vec::new();
        let _ = walk(&[f.display().to_string()], &cfg, &mut |u: Unit| {
            let what = match u.payload {
                Payload::JsonlLine { bytes } => String::from_utf8_lossy(&bytes).trim().to_string(),
                Payload::Failed(e) => format!("{:?}", e.kind),
                Payload::Document { .. } => "doc".into(),
            };
            got.push((u.source.rsplit(':').next().unwrap().to_string(), what));
            ControlFlow::Continue(())
        });
        let want = [
            ("1", "{\"text\": \"a\"}"),
            ("2", "TooLarge"),
            ("3", "{\"text\": \"b\"}"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn archives_nested_past_the_limit_are_one_failed_unit() {
        use std::io::Write;
        let nest = |depth: usize| {
            let mut out = b"# Title\n\nBody.\n".to_vec();
            for _ in 0..depth {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
                gz.write_all(&out).unwrap();
                out = gz.finish().unwrap();
            }
            out
        };
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.md.gz");
        let deep = dir.path().join("deep.md.gz");
        std::fs::write(&ok, nest(MAX_NESTING)).unwrap();
        std::fs::write(&deep, nest(MAX_NESTING + 1)).unwrap();
        let got = collect(&[ok.display().to_string(), deep.display().to_string()]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, "Text:# Title\n\nBody.\n");
        assert_eq!(got[1].1, "failed:TooDeep");
    }

    #[test]
    fn content_sniffing_for_unknown_extensions() {
        assert!(sniff_jsonl(b"\xEF\xBB\xBF  {\"text\": 1}"));
        assert!(sniff_html(b"<!DOCTYPE html><html>"));
        assert!(!sniff_html(b"# Title"));
    }
}
