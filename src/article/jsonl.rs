//! One JSONL line → article fields. `text` is required; `id`, `title`, `url`, `date`, `lang`
//! are optional; other fields are ignored, since exports carry all sorts of extras. JSON is
//! UTF-8 by definition, so no encoding detection happens here.

use serde_json::Value;

use crate::error::{ArticleError, ErrorKind, Stage};

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
    let value: Value = serde_json::from_slice(bytes).map_err(|e| err(format!("broken JSON line: {e}")))?;
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
                .starts_with("broken JSON line")
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
