//! One JSONL line → article fields. `text` is required; `id`, `title`, `url`, `date`, `lang`
//! are optional; other fields are ignored, since exports carry all sorts of extras. JSON is
//! UTF-8 by definition, so no encoding detection happens here.

use serde_json::Value;

use crate::record_error::{ArticleError, ErrorKind, Stage};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    pub text: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub date: Option<String>,
    pub lang: Option<String>,
}

fn err(message: String) -> ArticleError {
    ArticleError::new(Stage::Parse, ErrorKind::Json, message)
}

pub fn parse(bytes: &[u8]) -> Result<Line, ArticleError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The line's own end is not part of the JSON: left on, a line cut inside a string reads as
    // "control character … at line 2 column 0".
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ArticleError::new(
            Stage::Decode,
            ErrorKind::Encoding,
            format!(
                "the line is not UTF-8 (invalid byte at column {}): JSONL must be UTF-8; \
                 re-encode the file (e.g. `iconv -f windows-1251 -t utf-8`)",
                e.valid_up_to() + 1
            ),
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => err(format!(
            "the line ends before its JSON does (cut inside a string, object or array?) at column {}",
            e.column()
        )),
        _ => err(format!("broken JSON line: {e}")),
    })?;
    let Value::Object(mut obj) = value else {
        return Err(err("a JSONL line must be a JSON object".into()));
    };
    let text = match obj.remove("text") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(err("field `text` must be a string".into())),
        None => return Err(err("missing required field `text`".into())),
    };
    let mut string = |key: &str| -> Result<Option<String>, ArticleError> {
        match obj.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            // Numeric ids are common in exports; they are ids all the same.
            Some(Value::Number(n)) if key == "id" => Ok(Some(n.to_string())),
            Some(_) => Err(err(format!("field `{key}` must be a string"))),
        }
    };
    Ok(Line {
        id: string("id")?,
        title: string("title")?,
        url: string("url")?,
        date: string("date")?,
        lang: string("lang")?.map(|l| l.to_lowercase()),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_lines_and_legacy_bytes_say_what_is_wrong() {
        let e = parse(b"{\"text\":\"The council met\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Json);
        assert!(
            e.message.contains("ends before") && !e.message.contains("control character"),
            "{}",
            e.message
        );
        // «Снег» in windows-1251.
        let e = parse(b"{\"text\":\"\xd1\xed\xe5\xe3\"}\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Encoding);
        assert!(
            e.message.contains("not UTF-8") && e.message.contains("column 10"),
            "{}",
            e.message
        );
        assert_eq!(parse(b"{\"text\":\"ok\"}\r\n").unwrap().text, "ok");
    }

    #[test]
    fn fields() {
        let l = parse(br#"{"text":"Hello.","id":42,"title":"T","lang":"EN","extra":[1]}"#).unwrap();
        assert_eq!(l.text, "Hello.");
        assert_eq!(l.id.as_deref(), Some("42"));
        assert_eq!(l.title.as_deref(), Some("T"));
        assert_eq!(l.lang.as_deref(), Some("en"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            parse(br#"{"text": "unterminated"#)
                .unwrap_err()
                .message
                .starts_with("the line ends before its JSON does")
        );
        assert!(
            parse(br#"{"title":"x"}"#)
                .unwrap_err()
                .message
                .contains("missing required field `text`")
        );
        assert!(parse(br#"[1,2]"#).unwrap_err().message.contains("JSON object"));
        assert!(
            parse(br#"{"text":5}"#)
                .unwrap_err()
                .message
                .contains("`text` must be a string")
        );
        assert!(parse(b"{\"text\":\"\xff\"}").is_err());
    }
}
