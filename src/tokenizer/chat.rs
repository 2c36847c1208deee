//! Chat templates: turning a conversation into the prompt an instruct model was trained on.
//!
//! A GGUF carries its chat template as Jinja source (`tokenizer.chat_template`), written for Python's
//! jinja2 as transformers' `apply_chat_template` runs it. So this module renders with minijinja set up
//! the way transformers sets up jinja2, because that is the rendering the template authors tested:
//!
//! * `trim_blocks` and `lstrip_blocks` on, a single trailing newline of the source dropped;
//! * `raise_exception(msg)` fails the render with `msg` (templates use it to reject a conversation,
//!   e.g. a system message where none is allowed), surfacing as [`TokenizerError::ChatTemplate`];
//! * `tojson` is transformers' override, Python's `json.dumps` with `ensure_ascii=False` and the
//!   `indent`/`separators`/`sort_keys` options, not Jinja's HTML-escaping one;
//! * `strftime_now(fmt)` formats the current (UTC) time, as Llama 3.x templates date their system prompt;
//! * Python string and dict methods (`.strip()`, `.split()`, `.startswith()`, `.items()`…) through
//!   minijinja-contrib's `pycompat`, and `{% break %}`/`{% continue %}` (jinja2's `loopcontrols`);
//! * transformers' `{% generation %}…{% endgeneration %}` marks (for assistant masks) render their body;
//! * `is iterable` false for none, as in Python (Qwen3-Coder's template asks `tools is iterable`);
//! * the variables `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, and `tools` and
//!   `documents` as none.
//!
//! A file without a template gets its family's: ChatML for Qwen, Llama 3's header format for Llama,
//! Gemma's turns for Gemma, chosen by `general.architecture` and checked against the vocabulary.

use std::fmt::Write as _;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value as GgufValue};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::TokenizerError;
use super::gguf::GgufTokenizer;

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// ChatML, as Qwen2/2.5/3 use it (without Qwen's default system prompt, which is the template's
/// business when the file has one).
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + \
message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}\
{% endif %}";

/// Llama 3's header format.
pub const LLAMA3: &str = "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + \
'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}\
{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

/// Gemma's turns: no system role (its text opens the first user turn), `model` for the assistant.
pub const GEMMA: &str = "{{ bos_token }}{% if messages and messages[0]['role'] == 'system' %}\
{% set first_user_prefix = messages[0]['content'] + '\\n\\n' %}{% set loop_messages = messages[1:] %}\
{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}\
{% for message in loop_messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}\
{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + \
(first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}\
{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

const NAME: &str = "chat_template";

/// A compiled chat template with the special tokens it may refer to.
pub struct ChatTemplate {
    source: String,
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    /// What the template came from, for errors: a file, or "chat template" for an inline one.
    origin: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("origin", &self.origin)
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compile `source`; a syntax error is an error naming the line.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate, TokenizerError> {
        ChatTemplate::compile(source, bos_token, eos_token, "inline chat template".into())
    }

    fn compile(source: &str, bos_token: &str, eos_token: &str, origin: String) -> Result<ChatTemplate, TokenizerError> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| template_error(&origin, &e))?,
        );
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_test("iterable", is_iterable);
        env.add_template_owned(NAME, strip_generation_tags(source))
            .map_err(|e| template_error(&origin, &e))?;
        Ok(ChatTemplate {
            source: source.to_string(),
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
            origin,
        })
    }

    /// The file's `tokenizer.chat_template`, else its family's default (ChatML for `qwen2`/`qwen3`,
    /// Llama 3 for `llama`, Gemma for `gemma*`, by `general.architecture`; failing that, whichever the
    /// vocabulary's turn tokens fit). `bos_token`/`eos_token` are the tokenizer's.
    pub fn from_gguf(content: &Content, tok: &GgufTokenizer, path: &Path) -> Result<ChatTemplate, TokenizerError> {
        let bos = tok.bos().and_then(|id| tok.token_str(id)).unwrap_or_default();
        let eos = tok.eos().and_then(|id| tok.token_str(id)).unwrap_or_default();
        let origin = format!("{}: `tokenizer.chat_template`", path.display());
        match content.metadata.get("tokenizer.chat_template") {
            Some(GgufValue::String(source)) => return ChatTemplate::compile(source, &bos, &eos, origin),
            Some(v) => {
                return Err(TokenizerError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("`tokenizer.chat_template` is a {:?}, not a string", v.value_type()),
                });
            }
            None => {}
        }
        let arch = match content.metadata.get("general.architecture") {
            Some(GgufValue::String(a)) => a.as_str(),
            _ => "",
        };
        let has = |t: &str| tok.inner().token_to_id(t).is_some();
        let chatml = (CHATML, "<|im_start|>");
        let llama3 = (LLAMA3, "<|start_header_id|>");
        let gemma = (GEMMA, "<start_of_turn>");
        let by_arch = if arch.starts_with("qwen") {
            Some(chatml)
        } else if arch == "llama" {
            Some(llama3)
        } else if arch.starts_with("gemma") {
            Some(gemma)
        } else {
            None
        };
        let (source, _) = by_arch
            .filter(|(_, marker)| has(marker))
            .or_else(|| [chatml, llama3, gemma].into_iter().find(|(_, marker)| has(marker)))
            .ok_or_else(|| {
                TokenizerError::Unsupported(format!(
                    "{}: no `tokenizer.chat_template`, and architecture `{arch}` has no default svodka knows \
                     (its vocabulary has none of `<|im_start|>`, `<|start_header_id|>`, `<start_of_turn>`)",
                    path.display()
                ))
            })?;
        let origin = format!("{}: default chat template for `{arch}`", path.display());
        ChatTemplate::compile(source, &bos, &eos, origin)
    }

    /// The prompt for `messages`, opening an assistant turn when `add_generation_prompt`.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, TokenizerError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| template_error(&self.origin, &e))?;
        let ctx = minijinja::context! {
            messages => Value::from(minijinja::value::Serde(messages)),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
            tools => Value::from(()),
            documents => Value::from(()),
        };
        template.render(ctx).map_err(|e| template_error(&self.origin, &e))
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A minijinja error with its causes, under the template's origin. For `raise_exception` the message is
/// the template's own.
fn template_error(origin: &str, e: &Error) -> TokenizerError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(message, ": {s}");
        source = s.source();
    }
    TokenizerError::ChatTemplate {
        origin: origin.to_string(),
        message,
    }
}

/// transformers' `{% generation %}` block tags become a no-op `if`, so their bodies render and
/// whitespace control (`{%-`, `-%}`, trim_blocks) works as around any block tag.
fn strip_generation_tags(source: &str) -> String {
    static TAG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let tag = TAG.get_or_init(|| regex::Regex::new(r"\{%(-?)\s*(end)?generation\s*(-?)%\}").expect("valid regex"));
    tag.replace_all(source, |c: &regex::Captures| {
        let (open, close) = (&c[1], &c[3]);
        if c.get(2).is_some() {
            format!("{{%{open} endif {close}%}}")
        } else {
            format!("{{%{open} if true {close}%}}")
        }
    })
    .into_owned()
}

/// jinja2's `iterable` test: none is not iterable (minijinja iterates it as empty), so `tools is iterable
/// and tools | length > 0` is false rather than an error when there are no tools.
fn is_iterable(value: &Value) -> bool {
    !value.is_none() && value.try_iter().is_ok()
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)`.
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "tojson: indent must be an int or str"))?;
                " ".repeat(n.max(0) as usize)
            }
        }),
    };
    let (item_sep, key_sep) = match separators {
        Some(s) if s.len() == 2 => (s[0].clone(), s[1].clone()),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be a pair",
            ));
        }
        // json.dumps: (', ', ': ') without indent, (',', ': ') with one.
        None if indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let dumper = JsonDumper {
        ensure_ascii: ensure_ascii.unwrap_or(false),
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
    };
    let mut out = String::new();
    dumper.dump(&value, 0, &mut out)?;
    // The result is JSON, not text to escape again.
    Ok(Value::from_safe_string(out))
}

/// Python's `json.dumps` over template values.
struct JsonDumper {
    ensure_ascii: bool,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}

impl JsonDumper {
    fn newline(&self, depth: usize, out: &mut String) {
        if let Some(indent) = &self.indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(indent);
            }
        }
    }

    fn dump(&self, value: &Value, depth: usize, out: &mut String) -> Result<(), Error> {
        match value.kind() {
            ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number => {
                if let Some(i) = value.as_i64() {
                    let _ = write!(out, "{i}");
                } else if value.is_integer() {
                    // Beyond i64: its own rendering is the digits.
                    let _ = write!(out, "{value}");
                } else {
                    let f = f64::try_from(value.clone())?;
                    out.push_str(&py_float_repr(f));
                }
            }
            ValueKind::String => self.string(value.as_str().unwrap_or_default(), out),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                if items.is_empty() {
                    out.push_str("[]");
                    return Ok(());
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(depth + 1, out);
                    self.dump(item, depth + 1, out)?;
                }
                self.newline(depth, out);
                out.push(']');
            }
            ValueKind::Map => {
                let mut items: Vec<(String, Value)> = Vec::new();
                for key in value.try_iter()? {
                    let item = value.get_item(&key)?;
                    let key = match key.kind() {
                        ValueKind::String => key.as_str().unwrap_or_default().to_string(),
                        ValueKind::None => "null".into(),
                        ValueKind::Bool | ValueKind::Number => {
                            let mut s = String::new();
                            self.dump(&key, 0, &mut s)?;
                            s
                        }
                        kind => {
                            return Err(Error::new(
                                ErrorKind::InvalidOperation,
                                format!("tojson: keys must be str, int, float, bool or None, not {kind}"),
                            ));
                        }
                    };
                    items.push((key, item));
                }
                if self.sort_keys {
                    items.sort_by(|a, b| a.0.cmp(&b.0));
                }
                if items.is_empty() {
                    out.push_str("{}");
                    return Ok(());
                }
                out.push('{');
                for (i, (key, item)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(depth + 1, out);
                    self.string(key, out);
                    out.push_str(&self.key_sep);
                    self.dump(item, depth + 1, out)?;
                }
                self.newline(depth, out);
                out.push('}');
            }
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: a value of type {kind} is not JSON serializable"),
                ));
            }
        }
        Ok(())
    }

    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && (c as u32) > 0x7e) => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        let _ = write!(out, "\\u{unit:04x}");
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for exponents -5 < e < 16, else
/// `1e+16` style; `NaN`/`Infinity` as `json.dumps` writes them.
fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.25e-7`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python's `datetime.now().strftime(fmt)` for the directives chat templates use, in UTC.
fn strftime_now(format: String) -> Result<String, Error> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    strftime(&format, secs)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `format` applied to the UTC time `secs` seconds after the Unix epoch (also stamps
/// benchmark results, so svodka needs no date crate).
pub(crate) fn strftime(format: &str, secs: i64) -> Result<String, Error> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_march = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_march + 2) / 153;
    let day = doy_march - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cumulative[(month - 1) as usize] + day + i64::from(leap && month > 2);
    let weekday = (days + 3).rem_euclid(7); // 1970-01-01 was a Thursday; 0 = Monday
    let month_name = MONTHS[(month - 1) as usize];
    let weekday_name = WEEKDAYS[weekday as usize];

    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let _ = match d {
            'd' => write!(out, "{day:02}"),
            'e' => write!(out, "{day:>2}"),
            'm' => write!(out, "{month:02}"),
            'Y' => write!(out, "{year}"),
            'y' => write!(out, "{:02}", year % 100),
            'b' | 'h' => write!(out, "{}", &month_name[..3]),
            'B' => write!(out, "{month_name}"),
            'a' => write!(out, "{}", &weekday_name[..3]),
            'A' => write!(out, "{weekday_name}"),
            'w' => write!(out, "{}", (weekday + 1) % 7),
            'j' => write!(out, "{yday:03}"),
            'H' => write!(out, "{hour:02}"),
            'I' => write!(out, "{:02}", if hour % 12 == 0 { 12 } else { hour % 12 }),
            'p' => write!(out, "{}", if hour < 12 { "AM" } else { "PM" }),
            'M' => write!(out, "{minute:02}"),
            'S' => write!(out, "{second:02}"),
            'F' => write!(out, "{year}-{month:02}-{day:02}"),
            'T' => write!(out, "{hour:02}:{minute:02}:{second:02}"),
            'Z' => write!(out, "UTC"),
            'z' => write!(out, "+0000"),
            '%' => write!(out, "%"),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("strftime_now: unsupported directive %{other}"),
                ));
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Vec<Message> {
        vec![
            Message::new("system", "Be brief."),
            Message::new("user", "  Привет!  "),
            Message::new("assistant", "Hi."),
            Message::new("user", "Summarise."),
        ]
    }

    #[test]
    fn chatml_default() {
        let t = ChatTemplate::new(CHATML, "", "<|im_end|>").unwrap();
        assert_eq!(
            t.render(&chat()[..2], true).unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n  Привет!  <|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(&chat()[1..2], false).unwrap(),
            "<|im_start|>user\n  Привет!  <|im_end|>\n"
        );
    }

    #[test]
    fn llama3_and_gemma_defaults() {
        let t = ChatTemplate::new(LLAMA3, "<|begin_of_text|>", "<|eot_id|>").unwrap();
        assert_eq!(
            t.render(&chat()[1..3], true).unwrap(),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nПривет!<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nHi.<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        let t = ChatTemplate::new(GEMMA, "<bos>", "<eos>").unwrap();
        assert_eq!(
            t.render(&chat(), true).unwrap(),
            "<bos><start_of_turn>user\nBe brief.\n\nПривет!<end_of_turn>\n<start_of_turn>model\nHi.<end_of_turn>\n\
             <start_of_turn>user\nSummarise.<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn raise_exception_is_an_error_with_its_message() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok",
            "",
            "",
        )
        .unwrap();
        let err = t.render(&chat(), false).unwrap_err();
        assert!(matches!(err, TokenizerError::ChatTemplate { .. }));
        assert!(err.to_string().contains("System role not supported"), "{err}");
        assert_eq!(t.render(&chat()[1..], false).unwrap(), "ok");
    }

    #[test]
    fn syntax_errors_are_clear() {
        let err = ChatTemplate::new("{% for m in messages %}{{ m.content }}", "", "").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("inline chat template") && text.contains("syntax error"),
            "{text}"
        );
    }

    #[test]
    fn trim_and_lstrip_blocks_like_transformers() {
        // jinja2 with trim_blocks + lstrip_blocks: block lines leave no whitespace behind.
        let source = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}\n";
        let t = ChatTemplate::new(source, "", "").unwrap();
        assert_eq!(t.render(&chat(), false).unwrap(), "[  Привет!  ]\n[Summarise.]\n");
    }

    #[test]
    fn python_methods_and_loop_controls() {
        let source = "{% for m in messages %}{% if m.role == 'assistant' %}{% break %}{% endif %}\
                      {{ m.content.strip().upper() }}|{{ m.role.startswith('sys') }}|\
                      {{ m.content.split(' ')[0] }};{% endfor %}{{ bos_token }}{{ eos_token }}\
                      {{ tools is none }}{{ messages[::-1][0].role }}";
        let t = ChatTemplate::new(source, "<s>", "</s>").unwrap();
        assert_eq!(
            t.render(&chat(), false).unwrap(),
            "BE BRIEF.|True|Be;ПРИВЕТ!|False|;<s></s>Trueuser"
        );
    }

    #[test]
    fn generation_tags_render_their_body() {
        let source = "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}\
                      {% endgeneration %}{% endif %}{% endfor %}";
        let t = ChatTemplate::new(source, "", "").unwrap();
        assert_eq!(t.render(&chat(), false).unwrap(), "Hi.");
    }

    #[test]
    fn tojson_is_python_json_dumps() {
        let t = ChatTemplate::new(
            "{{ messages[1] | tojson }} {{ messages[0].content | tojson }} {{ [1, 2.5, none, true, 1e20, 0.0001] | tojson }}",
            "",
            "",
        )
        .unwrap();
        let msgs = vec![
            Message::new("user", "a\"<b>\n"),
            Message::new("assistant", "Привет & 'ok'"),
        ];
        assert_eq!(
            t.render(&msgs, false).unwrap(),
            r#"{"role": "assistant", "content": "Привет & 'ok'"} "a\"<b>\n" [1, 2.5, null, true, 1e+20, 0.0001]"#
        );
        let t = ChatTemplate::new(
            "{{ messages[0] | tojson(indent=2, sort_keys=true) }}|{{ messages[0] | tojson(ensure_ascii=true) }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[Message::new("user", "é😀")], false).unwrap(),
            "{\n  \"content\": \"é😀\",\n  \"role\": \"user\"\n}|{\"role\": \"user\", \"content\": \"\\u00e9\\ud83d\\ude00\"}"
        );
    }

    #[test]
    fn python_float_reprs() {
        for (f, repr) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
        ] {
            assert_eq!(py_float_repr(f), repr, "{f}");
        }
    }

    #[test]
    fn strftime_like_python() {
        // 2024-07-26 13:05:09 UTC, a Friday.
        let t = 1_722_000_000 - 1_722_000_000 % 86_400 + 13 * 3600 + 5 * 60 + 9;
        assert_eq!(
            strftime("%d %b %Y|%B %A %a|%H:%M:%S %I%p|%j %y %m %%", t).unwrap(),
            "26 Jul 2024|July Friday Fri|13:05:09 01PM|208 24 07 %"
        );
        assert_eq!(strftime("%Y-%m-%d", 951_782_400).unwrap(), "2000-02-29");
        assert!(strftime("%Q", 0).is_err());
        let t = ChatTemplate::new("{{ strftime_now('%Y') }}", "", "").unwrap();
        assert_eq!(t.render(&[], false).unwrap().len(), 4);
    }
}
