//! Units → articles: decode the bytes, parse the format (Markdown/text, HTML, JSONL line),
//! detect the language, give the article its stable id.
//!
//! Every format ends in the same [`Article`]: metadata plus a plain-text body whose paragraphs
//! are separated by one blank line. Later stages see only that, never the source format.

pub mod date;
pub mod html;
pub mod jsonl;
pub mod lang;
pub mod markdown;

use sha2::{Digest, Sha256};

use crate::ingest::{Format, Payload, encoding};
use crate::record_error::{ArticleError, ErrorKind, Stage};

/// One parsed article.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// The given id, else the first 16 hex digits of SHA-256 of the normalised body.
    pub id: String,
    pub source: String,
    pub title: Option<String>,
    /// ISO `YYYY-MM-DD` when the source gave a date svodka could read.
    pub date: Option<String>,
    pub url: Option<String>,
    /// ISO 639-1 code (given by a JSONL line, else detected); `None` when undetectable.
    pub lang: Option<String>,
    /// Detector confidence (0–1); `None` when the language was given.
    pub lang_confidence: Option<f64>,
    /// Encoding the bytes were read in (`UTF-8`, `windows-1251`, `KOI8-R`, …).
    pub encoding: String,
    /// `markdown`, `html` or `jsonl`.
    pub format: &'static str,
    /// Plain text, paragraphs separated by "\n\n".
    pub body: String,
}

/// Parse one unit into an article; a failed unit or a bad document is an error. `served` is
/// `language.served`: the detector leans towards those languages on a weak signal (see
/// [`lang`]).
pub fn parse(source: &str, payload: Payload, served: &[String]) -> Result<Article, ArticleError> {
    let (fields, encoding, format) = match payload {
        Payload::Failed(e) => return Err(e),
        Payload::JsonlLine { bytes } => {
            let l = jsonl::parse(&bytes)?;
            let fields = Fields {
                title: l.title,
                // A date svodka cannot read as a real calendar day is dropped (`null`), never
                // passed through: `date` is always valid ISO or null.
                date: l.date.and_then(|d| date::parse_date_value(&d)),
                url: l.url,
                lang: l.lang,
                id: l.id,
                paragraphs: paragraphs_of(&l.text),
            };
            (fields, "UTF-8", "jsonl")
        }
        Payload::Document { bytes, format } => {
            let decoded = encoding::decode(&bytes)?;
            let fields = match format {
                Format::Text => {
                    let p = markdown::parse(&decoded.text);
                    Fields {
                        title: p.title,
                        date: p.date,
                        url: p.url,
                        lang: None,
                        id: None,
                        paragraphs: p.paragraphs,
                    }
                }
                Format::Html => {
                    let h = html::extract(&decoded.text);
                    if h.paragraphs.is_empty() {
                        return Err(ArticleError::new(
                            Stage::Parse,
                            ErrorKind::NoBody,
                            "HTML has no body text",
                        ));
                    }
                    Fields {
                        title: h.title,
                        date: h.date,
                        url: h.url,
                        lang: None,
                        id: None,
                        paragraphs: h.paragraphs,
                    }
                }
            };
            let name = if format == Format::Html { "html" } else { "markdown" };
            (fields, decoded.encoding, name)
        }
    };
    let body = fields.paragraphs.join("\n\n");
    if body.trim().is_empty() {
        return Err(ArticleError::new(Stage::Parse, ErrorKind::Empty, "no body text"));
    }
    let (lang, lang_confidence) = match fields.lang {
        Some(l) => (Some(l), None),
        None => match lang::detect(&body, served) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        },
    };
    Ok(Article {
        id: fields.id.unwrap_or_else(|| body_id(&body)),
        source: source.to_string(),
        title: fields.title.filter(|t| !t.is_empty()),
        date: fields.date,
        url: fields.url,
        lang,
        lang_confidence,
        encoding: encoding.to_string(),
        format,
        body,
    })
}

struct Fields {
    title: Option<String>,
    date: Option<String>,
    url: Option<String>,
    lang: Option<String>,
    id: Option<String>,
    paragraphs: Vec<String>,
}

/// Plain text → paragraphs: blank lines separate them, line breaks inside one are soft.
pub fn paragraphs_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(collapse(&cur.join(" ")));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push(collapse(&cur.join(" ")));
    }
    out
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// First 16 hex digits of SHA-256 of the body with all whitespace runs folded to one space,
/// so re-wrapping an article does not change its id.
pub(crate) fn body_id(body: &str) -> String {
    let digest = Sha256::digest(collapse(body).as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_stable_under_rewrapping() {
        assert_eq!(body_id("a b\n\nc"), body_id("a  b c"));
        assert_eq!(body_id("x").len(), 16);
        assert_ne!(body_id("a"), body_id("b"));
    }

    #[test]
    fn jsonl_article() {
        let a = parse(
            "f.jsonl:1",
            Payload::JsonlLine {
                bytes: br#"{"text":"One line.\nSame para.\n\nSecond.","date":"01.09.2025"}"#.to_vec(),
            },
            &lang::default_served(),
        )
        .unwrap();
        assert_eq!(a.body, "One line. Same para.\n\nSecond.");
        assert_eq!(a.date.as_deref(), Some("2025-09-01"));
        assert_eq!(a.format, "jsonl");
        assert_eq!(a.id, body_id(&a.body));
    }

    #[test]
    fn jsonl_dates_are_valid_iso_or_null() {
        let date_of = |d: &str| {
            let line = serde_json::json!({ "text": "Body.", "date": d }).to_string();
            parse(
                "f.jsonl:1",
                Payload::JsonlLine {
                    bytes: line.into_bytes(),
                },
                &lang::default_served(),
            )
            .unwrap()
            .date
        };
        assert_eq!(date_of("2025-09-01T10:00:00Z").as_deref(), Some("2025-09-01"));
        assert_eq!(date_of("1 сентября 2025").as_deref(), Some("2025-09-01"));
        for bad in ["garbage", "2025-13-45", "2025-02-30", ""] {
            assert_eq!(date_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn html_without_body_is_an_error() {
        let e = parse(
            "p.html",
            Payload::Document {
                bytes: b"<html><head><title>x</title></head><body><nav>menu</nav></body></html>".to_vec(),
                format: Format::Html,
            },
            &lang::default_served(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoBody);
    }

    #[test]
    fn whitespace_file_is_empty() {
        let e = parse(
            "e.md",
            Payload::Document {
                bytes: b"  \n\n ".to_vec(),
                format: Format::Text,
            },
            &lang::default_served(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Empty);
    }
}
