//! Streaming archive readers: tar (plain or gzipped), zip, single gzip files.
//!
//! Members are handed on as streams, never extracted to disk; member names become
//! `archive!member` in `source`. A broken archive yields one error record at the point where it
//! broke (the member being read, or the archive itself when a header is damaged) and the walk
//! moves on to the next input: what was read before the damage still counts.

use std::io::{BufRead, BufReader, Read, Seek};
use std::ops::ControlFlow;

use super::{Payload, Sink, Stop, Unit, Walker, is_hidden};
use crate::record_error::{ArticleError, ErrorKind, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gzip,
    Zip,
    Tar,
}

/// Recognise an archive by its first bytes (the first 512 suffice for tar's `ustar` magic).
pub(crate) fn sniff(head: &[u8]) -> Option<Kind> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// The name of what a gzip file holds: `a.tar.gz` → `a.tar`, `a.tgz` → `a.tar`, `a.md.gz` → `a.md`.
pub(crate) fn gunzipped_name(name: &str) -> String {
    let lower = name.to_lowercase();
    if lower.ends_with(".tgz") {
        format!("{}.tar", &name[..name.len() - 4])
    } else if lower.ends_with(".gz") {
        name[..name.len() - 3].to_string()
    } else {
        name.to_string()
    }
}

fn member_hidden(path: &str) -> bool {
    path.split('/').any(|c| is_hidden(c) && c != "." && c != "..")
}

fn archive_error(what: &str, e: impl std::fmt::Display) -> ArticleError {
    ArticleError::new(Stage::Read, ErrorKind::Truncated, format!("{what}: {e}"))
}

/// A zip error in plain words: the zip crate's messages can name its internal types
/// (`Unexpected end of zip::format::blocks::ZipCentralEntryBlock`).
fn zip_error(what: &str, e: zip::result::ZipError) -> ArticleError {
    use zip::result::ZipError;
    match e {
        ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED => ArticleError::new(
            Stage::Read,
            ErrorKind::Unsupported,
            format!("{what}: encrypted (password-protected), which is not supported"),
        ),
        ZipError::UnsupportedArchive(m) => ArticleError::new(
            Stage::Read,
            ErrorKind::Unsupported,
            format!("{what}: not supported: {m}"),
        ),
        ZipError::CompressionMethodNotSupported(id) => ArticleError::new(
            Stage::Read,
            ErrorKind::Unsupported,
            format!("{what}: compression method {id} is not supported (only stored and deflate are)"),
        ),
        ZipError::InvalidPassword => ArticleError::new(
            Stage::Read,
            ErrorKind::Unsupported,
            format!("{what}: encrypted (password-protected), which is not supported"),
        ),
        ZipError::Io(io) => {
            let mut err = ArticleError::io(&io);
            err.message = format!("{what}: {}", err.message);
            err
        }
        ZipError::InvalidArchive(m) => archive_error(what, format!("damaged zip data: {}", plain_zip_message(&m))),
        other => archive_error(what, other),
    }
}

/// Replace the zip crate's type names (`zip::format::blocks::ZipCentralEntryBlock`) with words.
fn plain_zip_message(m: &str) -> String {
    let names = [
        ("ZipCentralEntryBlock", "central directory entry"),
        ("ZipLocalEntryBlock", "local file header"),
        ("Zip32CDEBlock", "end of central directory record"),
        ("Zip32CentralDirectoryEnd", "end of central directory record"),
        ("Zip64CDELocatorBlock", "zip64 end of central directory locator"),
        ("Zip64CDEBlock", "zip64 end of central directory record"),
        ("Zip64CentralDirectoryEnd", "zip64 end of central directory record"),
        ("Zip64DataDescriptorBlock", "data descriptor"),
        ("ZipDataDescriptorBlock", "data descriptor"),
    ];
    m.split_whitespace()
        .map(|word| {
            if !word.contains("::") {
                return word.to_string();
            }
            let last = word.rsplit("::").next().unwrap_or(word);
            let bare = last.trim_end_matches(|c: char| !c.is_alphanumeric());
            let tail = &last[bare.len()..];
            match names.iter().find(|(n, _)| *n == bare) {
                Some((_, words)) => format!("{words}{tail}"),
                None => format!("zip structure{tail}"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A tar member's data, held to the size its header declares: an archive that ends before
/// it is an `UnexpectedEof` (truncated), not a short member padded with the archive's end.
struct Declared<R> {
    inner: R,
    declared: u64,
    left: u64,
}

impl<R: Read> Read for Declared<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "its tar header declares {} bytes, but the archive ends after {}",
                    self.declared,
                    self.declared - self.left
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn send(sink: &mut Sink<'_>, source: String, err: ArticleError) -> Result<(), Stop> {
    match sink(Unit {
        source,
        payload: Payload::Failed(err),
    }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Stop::Sink),
    }
}

impl Walker<'_> {
    /// `depth`: how many archives, this one included, its members lie in.
    pub(crate) fn tar(
        &self,
        source: &str,
        reader: &mut dyn Read,
        depth: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return send(sink, source.into(), archive_error("unreadable tar archive", e)),
        };
        let mut last = String::new();
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let what = if last.is_empty() {
                        "tar archive is damaged at its start".to_string()
                    } else {
                        format!("tar archive is truncated or damaged after member `{last}`")
                    };
                    send(sink, source.into(), archive_error(&what, e))?;
                    return Err(Stop::Broken);
                }
            };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                // A link member holds no text of its own; like a link met in a directory walk,
                // it is named in a record rather than passed over in silence.
                let path = super::name_of_bytes(&entry.path_bytes());
                if self.cfg.hidden || !member_hidden(&path) {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| super::name_of_bytes(&t))
                        .unwrap_or_else(|| "?".into());
                    let what = if kind.is_symlink() { "symbolic" } else { "hard" };
                    let err = ArticleError::new(
                        Stage::Read,
                        ErrorKind::Io,
                        format!("a {what} link inside the archive (to `{target}`): not followed"),
                    );
                    send(sink, format!("{source}!{path}"), err)?;
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let path = super::name_of_bytes(&entry.path_bytes());
            last = path.clone();
            if !self.cfg.hidden && member_hidden(&path) {
                continue;
            }
            let member = format!("{source}!{path}");
            let declared = entry.size();
            let mut r = BufReader::new(Declared {
                inner: &mut entry,
                declared,
                left: declared,
            });
            // A member whose data broke off leaves the archive unreadable past it: its error
            // record has been sent, and reading further headers would only report it twice.
            self.stream_inner(&member, &path, &mut r, depth, sink)?;
        }
        Ok(())
    }

    /// `depth`: how many archives, this one included, its members lie in.
    pub(crate) fn zip<R: Read + Seek>(
        &self,
        source: &str,
        reader: R,
        depth: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => return send(sink, source.into(), zip_error("unreadable zip archive", e)),
        };
        for i in 0..archive.len() {
            // The name comes from the central directory, so a member that cannot be opened
            // (encrypted, damaged) is still named in its error record.
            let path = match archive.name_for_index(i) {
                Some(Ok(n)) => n.into_owned(),
                _ => format!("#{i}"),
            };
            if path.ends_with('/') || (!self.cfg.hidden && member_hidden(&path)) {
                continue;
            }
            let member = format!("{source}!{path}");
            let mut file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    send(sink, member, zip_error("unreadable zip member", e))?;
                    continue;
                }
            };
            if file.is_dir() {
                continue;
            }
            let mut r: Box<dyn BufRead> = Box::new(BufReader::new(&mut file));
            // Zip members are independent: a damaged one does not stop the others.
            if let Err(Stop::Sink) = self.stream_inner(&member, &path, &mut r, depth, sink) {
                return Err(Stop::Sink);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_magic() {
        assert_eq!(gunzipped_name("news.tar.gz"), "news.tar");
        assert_eq!(gunzipped_name("news.TGZ"), "news.tar");
        assert_eq!(gunzipped_name("a.md.gz"), "a.md");
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), Some(Kind::Gzip));
        assert_eq!(sniff(b"PK\x03\x04...."), Some(Kind::Zip));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Some(Kind::Tar));
        assert_eq!(sniff(b"# Title"), None);
        assert!(member_hidden("__MACOSX/._a.md"));
        assert!(!member_hidden("./09/a.md"));
    }

    #[test]
    fn zip_messages_name_no_internal_types() {
        assert_eq!(
            plain_zip_message("Unexpected end of zip::format::blocks::ZipCentralEntryBlock"),
            "Unexpected end of central directory entry"
        );
        assert_eq!(plain_zip_message("bad zip::a::Unknown."), "bad zip structure.");
        assert_eq!(plain_zip_message("Invalid checksum"), "Invalid checksum");
    }

    #[test]
    fn a_tar_member_shorter_than_declared_is_unexpected_eof() {
        let mut r = Declared {
            inner: &b"abc"[..],
            declared: 10,
            left: 10,
        };
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("declares 10 bytes"), "{err}");
        let mut r = Declared {
            inner: &b"abcdef"[..],
            declared: 3,
            left: 3,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
    }
}
