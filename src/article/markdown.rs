//! Markdown and plain-text news articles in the layout common to news exports:
//!
//! ```text
//! # Title                      (or the first non-empty line)
//! September 01, 2025           (optional date line: English, ISO or Russian)
//! ![alt](photo.jpg)            (optional photo, caption and credit lines)
//! *Caption. Photo: Agency*
//! Body paragraphs with [links](https://…) and **emphasis**.
//! **Related article:** …       (teasers, anywhere)
//! *AFP contributed reporting.* (footer)
//! Original url: <https://…>    (or the bare URL on the next line)
//! ```
//!
//! The parser is a line classifier, not a Markdown renderer: what matters is which lines are
//! article text. Captions, credits, teasers, footers and the url line are metadata or page
//! furniture and must not reach the summariser; links keep their text and emphasis markers
//! are dropped, because models see plain text.

use std::sync::LazyLock;

use regex::Regex;

use super::date::parse_date_line;

/// What the layout yields; `paragraphs` are plain text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub title: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub paragraphs: Vec<String>,
}

static URL_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:original\s+url|original\s+link|source\s+url|canonical\s+url|url|link|оригинальный\s+url|ссылка\s+на\s+оригинал|оригинал|источник)\s*:\s*(.*)$").unwrap()
});
static BARE_URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^<?(https?://[^\s<>]+)>?$").unwrap());
static IMAGE_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:!\[[^\]]*\]\([^)]*\)\s*)+$").unwrap());
static CREDIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\(?(?:photo|photograph|image|picture|illustration|video|credit|caption|фото|фотография|изображение|иллюстрация|видео|кадр)(?:\s+by|\s*:|\s*/|\s+—|\s+-)").unwrap()
});
static TRAILING_CREDIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\((?:photo|фото)[^)]*\)|(?:photo|фото)\s*:\s*[^.]{1,80}|getty images|via reuters|/\s*(?:afp|ap|reuters|epa|тасс|риа новости))\s*$").unwrap()
});
static TEASER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:related(?:\s+articles?|\s+stor(?:y|ies))?|read\s+(?:more|also)|see\s+also|also\s+read|more\s+on\s+this|читайте\s+также|смотрите\s+также|читать\s+также|по\s+теме|ранее\s+по\s+теме)\s*[:.—-]").unwrap()
});
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:contributed\s+(?:to\s+)?(?:this\s+)?report|reporting\s+by|editing\s+by|writing\s+by|при\s+подготовке\s+(?:материала|статьи|текста)|использованы\s+(?:данные|материалы)|по\s+материалам)").unwrap()
});
static HEADING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(#{1,6})\s+(.*?)\s*#*\s*$").unwrap());
static RULE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:\*\s*){3,}$|^(?:-\s*){3,}$|^(?:_\s*){3,}$").unwrap());
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[-*+]|\d{1,3}[.)])\s+").unwrap());
static IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!\[[^\]]*\]\([^)]*\)").unwrap());
static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)").unwrap());
static AUTOLINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<(https?://[^>\s]+)>").unwrap());
static STRONG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*\*(\S(?:.*?\S)?)\*\*|__(\S(?:.*?\S)?)__").unwrap());
static EM_STAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*(\S(?:[^*]*?\S)?)\*").unwrap());
static EM_UNDERSCORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[^\p{L}\p{N}_])_(\S(?:[^_]*?\S)?)_([^\p{L}\p{N}_]|$)").unwrap());
static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]*)`").unwrap());
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").unwrap());

/// Markdown inline markup → plain text: links keep their text, images go, emphasis and code
/// markers are stripped, backslash escapes are resolved, whitespace is collapsed.
pub fn plain_inline(s: &str) -> String {
    // Escaped punctuation is parked in the private-use area so no markup rule sees it.
    let s = escape_escaped(s);
    let s = IMAGE.replace_all(&s, "");
    let s = LINK.replace_all(&s, "$1");
    let s = AUTOLINK.replace_all(&s, "$1");
    let s = CODE.replace_all(&s, "$1");
    let s = STRONG.replace_all(&s, "$1$2");
    let s = EM_STAR.replace_all(&s, "$1");
    let s = EM_UNDERSCORE.replace_all(&s, "$1$2$3");
    let s: String = s
        .chars()
        .map(|c| match c as u32 {
            0xE000..=0xE07F => char::from_u32(c as u32 - 0xE000).unwrap_or(c),
            _ => c,
        })
        .collect();
    SPACES.replace_all(s.trim(), " ").into_owned()
}

fn escape_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek().filter(|n| n.is_ascii_punctuation())
        {
            out.push(char::from_u32(0xE000 + n as u32).unwrap_or(n));
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// The whole line is one emphasis span (`*…*`, `_…_`, `**…**`): captions and footers are
/// written that way.
fn fully_emphasised(line: &str) -> bool {
    let t = line.trim();
    let inner = |m: &str| t.len() > 2 * m.len() && t.starts_with(m) && t.ends_with(m);
    (inner("**") && !t[2..t.len() - 2].contains("**"))
        || (inner("__") && !t[2..t.len() - 2].contains("__"))
        || (inner("*") && !t[1..t.len() - 1].contains('*'))
        || (inner("_") && !t[1..t.len() - 1].contains('_'))
}

/// One paragraph of the body in the making, with what the classifier knows about it.
struct Block {
    text: String,
    emphasised: bool,
    after_image: bool,
}

pub fn parse(text: &str) -> Parsed {
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut out = Parsed::default();
    let mut lines: Vec<&str> = text.lines().collect();
    let body_start = front_matter(&lines, &mut out);
    lines.drain(..body_start);

    let mut blocks: Vec<Block> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut cur_after_image = false;
    let mut last_was_image = false;
    let mut want_url = false;
    // True until the first body paragraph: the header zone where the title, the date and the
    // photo caption live.
    let flush = |cur: &mut Vec<&str>, blocks: &mut Vec<Block>, after_image: bool| {
        if cur.is_empty() {
            return;
        }
        let joined = cur.join(" ");
        let emphasised = cur.len() == 1 && fully_emphasised(cur[0]) || fully_emphasised(&joined);
        let plain = plain_inline(&joined);
        cur.clear();
        if !plain.is_empty() {
            blocks.push(Block {
                text: plain,
                emphasised,
                after_image,
            });
        }
    };

    for raw in lines {
        let line = raw.trim();
        if line.is_empty() {
            flush(&mut cur, &mut blocks, cur_after_image);
            continue;
        }
        if want_url {
            want_url = false;
            if let Some(c) = BARE_URL.captures(line) {
                out.url.get_or_insert_with(|| c[1].to_string());
                continue;
            }
        }
        let in_header = blocks.iter().all(|b| b.emphasised || b.after_image) && cur.is_empty();
        let plain = plain_inline(line);
        if let Some(c) = URL_LABEL.captures(&strip_markers(line)) {
            let rest = c[1].trim();
            if let Some(u) = BARE_URL.captures(rest).or_else(|| AUTOLINK.captures(rest)) {
                flush(&mut cur, &mut blocks, cur_after_image);
                out.url.get_or_insert_with(|| u[1].to_string());
                continue;
            }
            if rest.is_empty() {
                flush(&mut cur, &mut blocks, cur_after_image);
                want_url = true;
                continue;
            }
        }
        if let Some(h) = HEADING.captures(line) {
            flush(&mut cur, &mut blocks, cur_after_image);
            let t = plain_inline(&h[2]);
            if out.title.is_none() && blocks.is_empty() {
                out.title = Some(t);
            } else if !t.is_empty() {
                // A subheading is text a reader sees; it stays, as its own paragraph.
                blocks.push(Block {
                    text: t,
                    emphasised: false,
                    after_image: false,
                });
            }
            last_was_image = false;
            continue;
        }
        if IMAGE_LINE.is_match(line) {
            flush(&mut cur, &mut blocks, cur_after_image);
            last_was_image = true;
            continue;
        }
        if RULE.is_match(line) {
            flush(&mut cur, &mut blocks, cur_after_image);
            continue;
        }
        if in_header
            && out.date.is_none()
            && cur.is_empty()
            && let Some(d) = parse_date_line(line)
        {
            out.date = Some(d);
            continue;
        }
        if out.title.is_none() && blocks.is_empty() && cur.is_empty() {
            out.title = Some(plain);
            continue;
        }
        if CREDIT.is_match(&plain) && plain.chars().count() < 300 {
            continue;
        }
        if TEASER.is_match(&plain) {
            flush(&mut cur, &mut blocks, cur_after_image);
            continue;
        }
        if LIST_ITEM.is_match(line) {
            flush(&mut cur, &mut blocks, cur_after_image);
            cur_after_image = false;
            cur.push(LIST_ITEM.splitn(line, 2).nth(1).unwrap_or(line));
            flush(&mut cur, &mut blocks, false);
            last_was_image = false;
            continue;
        }
        if cur.is_empty() {
            cur_after_image = last_was_image;
        }
        last_was_image = false;
        cur.push(line.strip_prefix('>').map(str::trim_start).unwrap_or(line));
    }
    flush(&mut cur, &mut blocks, cur_after_image);
    out.paragraphs = body(blocks);
    out
}

fn strip_markers(line: &str) -> String {
    line.replace(['*', '_'], "")
}

/// Decide which blocks are body text: emphasised blocks before the body or right after a
/// photo are captions; emphasised or footer-worded blocks after the last body paragraph are
/// footers; credit-ending captions are dropped anywhere.
fn body(blocks: Vec<Block>) -> Vec<String> {
    let is_body = |b: &Block| !(b.emphasised || b.after_image && TRAILING_CREDIT.is_match(&b.text));
    let first = blocks.iter().position(is_body);
    let last = blocks
        .iter()
        .rposition(|b| is_body(b) && !(FOOTER.is_match(&b.text) && b.text.chars().count() < 250));
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    blocks
        .into_iter()
        .enumerate()
        .filter(|(i, b)| {
            if *i < first || *i > last {
                return false;
            }
            if b.after_image && (b.emphasised || TRAILING_CREDIT.is_match(&b.text)) {
                return false;
            }
            !(b.emphasised && FOOTER.is_match(&b.text))
        })
        .map(|(_, b)| b.text)
        .collect()
}

/// YAML-style front matter (`---` … `---`) with `title`, `date`, `url`; returns the index of
/// the first line after it.
fn front_matter(lines: &[&str], out: &mut Parsed) -> usize {
    if lines.first().map(|l| l.trim()) != Some("---") {
        return 0;
    }
    let Some(end) = lines.iter().skip(1).position(|l| l.trim() == "---") else {
        return 0;
    };
    for l in &lines[1..=end] {
        let Some((k, v)) = l.split_once(':') else { continue };
        let v = v.trim().trim_matches(['"', '\'']).trim();
        if v.is_empty() {
            continue;
        }
        match k.trim().to_lowercase().as_str() {
            "title" => out.title = Some(v.to_string()),
            "date" | "published" => out.date = super::date::parse_date_value(v),
            "url" | "link" | "source_url" | "canonical" => out.url = Some(v.to_string()),
            _ => {}
        }
    }
    end + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = "# Leaders meet in **Tianjin** for summit\n\nSeptember 01, 2025\n\n\
![Leaders pose](https://example.com/a.jpg)\n*Leaders pose for a photo. Photo: Reuters / Jane Roe*\n\n\
The summit opened on Monday with a call for [closer trade](https://example.com/t) ties.\n\
Officials said talks would run late.\n\n\
**Related article:** Markets rally ahead of summit\n\n\
Dr. Smith, a U.S. analyst, called it *historic*.\n\n\
*AFP contributed reporting.*\n\n\
Original url: <https://example.com/news/2025/09/01/summit>\n";

    #[test]
    fn english_export_layout() {
        let p = parse(EN);
        assert_eq!(p.title.as_deref(), Some("Leaders meet in Tianjin for summit"));
        assert_eq!(p.date.as_deref(), Some("2025-09-01"));
        assert_eq!(p.url.as_deref(), Some("https://example.com/news/2025/09/01/summit"));
        assert_eq!(
            p.paragraphs,
            [
                "The summit opened on Monday with a call for closer trade ties. Officials said talks would run late.",
                "Dr. Smith, a U.S. analyst, called it historic.",
            ]
        );
    }

    #[test]
    fn russian_layout_with_bare_url_and_credit_line() {
        let text = "Банк России сохранил ставку\n\n1 сентября 2025\n\nФото: ТАСС / Иван Петров\n\n\
Совет директоров сохранил ключевую ставку на уровне 18%.\n\n\
**Читайте также:** Рубль укрепился\n\n\
«Инфляция замедляется», — сказала Э. С. Набиуллина.\n\n\
*При подготовке материала использованы данные ТАСС.*\n\nOriginal url:\nhttps://example.ru/news/1\n";
        let p = parse(text);
        assert_eq!(p.title.as_deref(), Some("Банк России сохранил ставку"));
        assert_eq!(p.date.as_deref(), Some("2025-09-01"));
        assert_eq!(p.url.as_deref(), Some("https://example.ru/news/1"));
        assert_eq!(
            p.paragraphs,
            [
                "Совет директоров сохранил ключевую ставку на уровне 18%.",
                "«Инфляция замедляется», — сказала Э. С. Набиуллина."
            ]
        );
    }

    #[test]
    fn inline_markup_is_reduced_to_text() {
        assert_eq!(
            plain_inline("a [b c](http://x/(y)) **d** *e* _f_ snake_case `g` \\*h\\*"),
            "a b c d e f snake_case g *h*"
        );
        assert_eq!(plain_inline("x ![img](a.png) y"), "x y");
        assert_eq!(plain_inline("2 * 3 * 4"), "2 * 3 * 4");
    }

    #[test]
    fn emphasised_paragraph_mid_body_is_kept() {
        let p = parse("# T\n\nFirst.\n\n*An editor's note in the middle.*\n\nLast.\n");
        assert_eq!(p.paragraphs, ["First.", "An editor's note in the middle.", "Last."]);
    }

    #[test]
    fn front_matter_and_subheadings() {
        let p = parse(
            "---\ntitle: \"Front\"\ndate: 2025-09-01T10:00:00Z\nurl: https://e.com/x\n---\n\nBody one.\n\n## Sub\n\nBody two.\n",
        );
        assert_eq!(p.title.as_deref(), Some("Front"));
        assert_eq!(p.date.as_deref(), Some("2025-09-01"));
        assert_eq!(p.url.as_deref(), Some("https://e.com/x"));
        assert_eq!(p.paragraphs, ["Body one.", "Sub", "Body two."]);
    }

    #[test]
    fn title_only_has_no_body() {
        assert!(parse("# Only a title\n").paragraphs.is_empty());
        assert!(parse("").paragraphs.is_empty());
    }
}
