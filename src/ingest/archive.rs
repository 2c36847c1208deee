//! Streaming archive readers: tar (plain or gzipped), zip, single gzip files.
//!
//! Members are handed on as streams, never extracted to disk; member names become
//! `archive!member` in `source`. A broken archive yields one error record at the point where it
//! broke (the member being read, or the archive itself when a header is damaged) and the walk
//! moves on to the next input: what was read before the damage still counts.

use std::io::{BufRead, BufReader, Read, Seek};
use std::ops::ControlFlow;

use super::{Payload, Sink, Stop, Unit, Walker, is_hidden};
use crate::error::{ArticleError, ErrorKind, Stage};

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
    pub(crate) fn tar(&self, source: &str, reader: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), Stop> {
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
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            last = path.clone();
            if !self.cfg.hidden && member_hidden(&path) {
                continue;
            }
            let member = format!("{source}!{path}");
            let mut r = BufReader::new(&mut entry);
            // A member whose data broke off leaves the archive unreadable past it: its error
            // record has been sent, and reading further headers would only report it twice.
            self.stream_inner(&member, &path, &mut r, sink)?;
        }
        Ok(())
    }

    pub(crate) fn zip<R: Read + Seek>(&self, source: &str, reader: R, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => return send(sink, source.into(), archive_error("unreadable zip archive", e)),
        };
        for i in 0..archive.len() {
            let mut file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    send(
                        sink,
                        format!("{source}!#{i}"),
                        archive_error("unreadable zip member", e),
                    )?;
                    continue;
                }
            };
            if file.is_dir() {
                continue;
            }
            let path = file.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{i}"));
            if !self.cfg.hidden && member_hidden(&path) {
                continue;
            }
            let member = format!("{source}!{path}");
            let mut r: Box<dyn BufRead> = Box::new(BufReader::new(&mut file));
            // Zip members are independent: a damaged one does not stop the others.
            if let Err(Stop::Sink) = self.stream_inner(&member, &path, &mut r, sink) {
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
}
