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
//!
//! Real exports add two quirks the classifier undoes:
//!
//! * a photo caption and its credit on one line, anywhere in the article and with or without
//!   the image line (`Putin in Tianjin. **Jane Roe / POOL / TASS**`, `Мост у Самары. Фото:
//!   пресс-служба`): a short caption followed by a name-like credit is not body text
//!   (`caption_with_credit`);
//! * a paragraph broken mid-sentence where a link was removed (`… the meeting with` / blank
//!   line / `Trump and …`): the halves are joined again (`continues`), while sub-headings
//!   (short lines without final punctuation) stay paragraphs of their own.
//!
//! A title that only says there is none (`# (untitled)`, `(без заголовка)`) gives no title.

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
pub(crate) fn plain_inline(s: &str) -> String {
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

/// What kind of paragraph a block is: only running text is ever joined to its neighbour.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Heading,
    Item,
}

/// One paragraph of the body in the making, with what the classifier knows about it.
struct Block {
    text: String,
    emphasised: bool,
    after_image: bool,
    /// A photo caption with its credit (or a credit alone): never body text.
    caption: bool,
    kind: Kind,
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
    // A title that only says there is none still is the title line: the next line is body.
    let mut title_seen = out.title.is_some();
    // The title was the first plain line (no `#`): in a text of one line, that line is the
    // article, not its title.
    let mut title_from_text = false;
    out.title = out.title.filter(|t| !NO_TITLE.is_match(t));
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
        let caption = caption_with_credit(&joined, &plain);
        cur.clear();
        if !plain.is_empty() {
            blocks.push(Block {
                text: plain,
                emphasised,
                after_image,
                caption,
                kind: Kind::Text,
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
            if !title_seen && blocks.is_empty() {
                title_seen = true;
                out.title = Some(t).filter(|t| !NO_TITLE.is_match(t));
            } else if !t.is_empty() {
                // A subheading is text a reader sees; it stays, as its own paragraph.
                blocks.push(Block {
                    text: t,
                    emphasised: false,
                    after_image: false,
                    caption: false,
                    kind: Kind::Heading,
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
        if !title_seen && blocks.is_empty() && cur.is_empty() {
            title_seen = true;
            out.title = Some(plain).filter(|t| !NO_TITLE.is_match(t));
            title_from_text = true;
            continue;
        }
        if CREDIT.is_match(&plain) && plain.chars().count() < 300 {
            continue;
        }
        if cur.is_empty() && last_was_image && caption_with_credit(line, &plain) {
            // The photo's caption and credit, with the body following without a blank line.
            last_was_image = false;
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
            let n = blocks.len();
            flush(&mut cur, &mut blocks, false);
            if let Some(b) = blocks.get_mut(n) {
                b.kind = Kind::Item;
            }
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
    if out.paragraphs.is_empty()
        && title_from_text
        && let Some(t) = out.title.take()
    {
        out.paragraphs.push(t);
    }
    out
}

fn strip_markers(line: &str) -> String {
    line.replace(['*', '_'], "")
}

/// Decide which blocks are body text: emphasised blocks before the body or right after a
/// photo are captions; emphasised or footer-worded blocks after the last body paragraph are
/// footers; captions with a credit are dropped anywhere. Then paragraphs broken
/// mid-sentence are joined again.
fn body(blocks: Vec<Block>) -> Vec<String> {
    let is_body = |b: &Block| !(b.caption || b.emphasised || b.after_image && TRAILING_CREDIT.is_match(&b.text));
    let first = blocks.iter().position(is_body);
    let last = blocks
        .iter()
        .rposition(|b| is_body(b) && !(FOOTER.is_match(&b.text) && b.text.chars().count() < 250));
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let kept = blocks.into_iter().enumerate().filter(|(i, b)| {
        if *i < first || *i > last || b.caption {
            return false;
        }
        if b.after_image && (b.emphasised || TRAILING_CREDIT.is_match(&b.text)) {
            return false;
        }
        !(b.emphasised && FOOTER.is_match(&b.text))
    });
    let mut out: Vec<Block> = Vec::new();
    for (_, b) in kept {
        if let Some(prev) = out.last_mut()
            && joinable(prev, &b)
        {
            prev.text.push(' ');
            prev.text.push_str(&b.text);
            continue;
        }
        out.push(b);
    }
    out.into_iter().map(|b| b.text).collect()
}

/// Two neighbouring body blocks that are halves of one paragraph: both running text in the
/// same style, and the first one stops mid-sentence.
fn joinable(prev: &Block, next: &Block) -> bool {
    if prev.kind != Kind::Text || next.kind != Kind::Text || prev.emphasised || next.emphasised {
        return false;
    }
    // A photo between the halves: only the sure signs of a broken sentence count.
    let sure_only = prev.after_image || next.after_image;
    match continues(&prev.text, &next.text) {
        Continuation::Sure => true,
        Continuation::Likely => !sure_only,
        Continuation::No => false,
    }
}

/// How sure it is that `next` continues the sentence `prev` leaves open.
#[derive(Debug, PartialEq)]
enum Continuation {
    No,
    /// `prev` ends on a comma, a dash or a function word, or `next` opens in lowercase.
    Sure,
    /// `prev` is a long unpunctuated run of words (no heading is that long) and `next` is an
    /// ordinary paragraph.
    Likely,
}

/// Words no sentence ends on, in any layout, space-separated: articles, conjunctions,
/// possessives; Russian prepositions too (Russian never strands them).
const OPEN_WORDS: &[&str] = &[
    // English
    "a an the and or but nor than because although though whether its their our my your whose such including",
    // Russian
    "в во на с со к ко о об обо по для из от до за под над при про без у через между перед около вокруг \
      против среди и а но или либо чтобы если хотя чем который которая которое которые которого которой \
      которому которым которых которую",
];

/// Words a short heading may end on (`What to look out for`, `What if`, `И что`, `Вот как`)
/// but a long fragment does not, space-separated: English prepositions, wh-words, `не`.
const OPEN_WORDS_IN_LONG: &[&str] = &[
    // English
    "of to in on at by for with from into onto about over under between among through during after before \
      against without within towards toward upon via as per that this these those which who whom where \
      when while if",
    // Russian
    "что как когда где куда не ни",
];

/// From how many words a fragment ending on one of [`OPEN_WORDS_IN_LONG`] is no heading.
const OPEN_FRAGMENT: usize = 6;

/// Closing punctuation: a paragraph that ends on it is complete.
fn ends_closed(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['»', '”', '"', '’', '\'', ')', ']'])
        .ends_with(['.', '!', '?', '…', ':', ';'])
}

fn continues(prev: &str, next: &str) -> Continuation {
    let prev = prev.trim_end();
    if prev.is_empty() || ends_closed(prev) {
        return Continuation::No;
    }
    if prev.ends_with([',', '—', '–', '-', '(', '«', '“', '„']) {
        return Continuation::Sure;
    }
    let words = |t: &str| t.split_whitespace().count();
    let mut tail = prev.rsplit(char::is_whitespace);
    let last = tail.next().unwrap_or("").to_lowercase();
    // `…, что` / `…, which`: after a comma the word opens a clause, even in a short fragment.
    let after_comma = tail.next().is_some_and(|w| w.ends_with(','));
    let listed = |lists: &[&str]| lists.iter().flat_map(|l| l.split(' ')).any(|w| w == last);
    if listed(OPEN_WORDS) || listed(OPEN_WORDS_IN_LONG) && (after_comma || words(prev) >= OPEN_FRAGMENT) {
        return Continuation::Sure;
    }
    // All lowercase, so a brand such as `iPhone` opening a paragraph is no continuation.
    let first = next.split_whitespace().next().unwrap_or("");
    if first.starts_with(char::is_lowercase) && !first.chars().any(char::is_uppercase) {
        return Continuation::Sure;
    }
    // A fact box or list run together (`9% jobless; 31% renters; …`, `1. Oslo 2. Riga`)
    // is no broken sentence.
    let list_like =
        prev.contains("; ") || prev.contains(['•', '|', '·']) || NUMBERED_ITEM.find_iter(prev).nth(1).is_some();
    let ordinary = |t: &str| {
        t.trim_start_matches(['«', '“', '„', '"', '\'', '('])
            .starts_with(|c: char| c.is_uppercase() || c.is_numeric())
            && (ends_closed(t) || words(t) >= LONG_FRAGMENT)
    };
    if words(prev) >= LONG_FRAGMENT && !list_like && ordinary(next) {
        return Continuation::Likely;
    }
    Continuation::No
}

/// An item of a numbered list run into the text: `2. Norway`, `3) Canada`.
static NUMBERED_ITEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|\s)\d{1,3}[.)]\s+\p{Lu}").unwrap());

/// Words from which an unpunctuated paragraph is too long to be a sub-heading.
const LONG_FRAGMENT: usize = 12;

/// A title that says there is none.
static NO_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[(\[]?\s*(?:untitled|no\s+title|without\s+title|без\s+заголовка|без\s+названия|нет\s+заголовка)\s*[)\]]?$").unwrap()
});

/// News agencies and photo banks that sign photos, closing a credit (`… via Getty Images`).
static AGENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\p{L}\p{N}])(?:TASS|ТАСС|AP|AFP|Reuters|REUTERS|EPA|EFE|Getty Images|GETTY IMAGES|РИА Новости|RIA Novosti|Sputnik|Спутник|Xinhua|Bloomberg|Shutterstock|Alamy|Kremlin\.ru|kremlin\.ru|Интерфакс|Interfax|Global Look Press|East News|Associated Press|Agence France-Presse|Anadolu|dpa|DPA|ANP|SIPA|Sipa|Scanpix|ZUMA|Zuma|Wikimedia Commons|PA Wire|PA Media|Фотобанк Лори|Legion-Media|Legion Media|ИТАР-ТАСС|AP Photo)[^\p{L}\p{N}]*$").unwrap()
});

/// A credit with its label: `Photo: …`, `Фото — …`, `Photo by …`, `Image: …`, `© …`.
static LABELLED_CREDIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:©|\(c\)\s|(?:photo|photograph|фото|фотография)(?:\s+by\b|\s*[:/©]|\s+[—–-]\s)|(?:image|picture|illustration|credit|изображение|иллюстрация|кадр)\s*[:©])",
    )
    .unwrap()
});

/// A parenthesised photo credit closing a caption: `(Photo: AP)`, `(фото ТАСС)`.
static PAREN_CREDIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\((?:photo|фото)\b[^()]{0,80}\)\s*$").unwrap());

/// Where a sentence may end: terminators, closing quotes, whitespace.
static SENTENCE_GAP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"[.!?…]+["'»”’)\]]*\s+"#).unwrap());

/// Lowercase words a name-like credit may contain (`Anadolu Agency via Getty Images`,
/// `Jane Roe for The Times`, `Ludwig van Beethoven`).
const NAME_PARTICLES: &[&str] = &[
    "via", "for", "and", "&", "de", "da", "del", "della", "di", "du", "van", "von", "der", "den", "la", "le", "al",
    "el", "bin", "ibn", "y", "of", "the", "и", "для", "из", "фон", "де", "ван",
];

/// A name-like string: capitalised words (or numbers, or particles), optionally separated by
/// `/`, `|`, commas; nothing that reads as running text. Returns how many words it has.
fn name_like(s: &str) -> Option<usize> {
    let mut words = 0;
    for token in s.split_whitespace() {
        let w = token.trim_matches(|c: char| !c.is_alphanumeric());
        if w.is_empty() {
            continue; // `/`, `|`, `—`, `©`
        }
        words += 1;
        let capitalised = w.starts_with(|c: char| c.is_uppercase() || c.is_numeric());
        if !capitalised && !NAME_PARTICLES.contains(&w.to_lowercase().as_str()) {
            return None;
        }
    }
    (words > 0).then_some(words)
}

/// How strongly a string reads as a photo credit.
#[derive(Debug, PartialEq, PartialOrd)]
enum Credit {
    /// Not a credit.
    No,
    /// A bare name (`Jane Roe`): a credit only when set off by emphasis.
    Name,
    /// Labelled (`Photo: …`, `Фото: …`), an agency (`… / TASS`, `Getty Images`) or a
    /// `/`-separated list of names: a credit wherever it stands.
    Sure,
}

fn credit(s: &str) -> Credit {
    let s = s.trim();
    let s = s.strip_suffix('.').unwrap_or(s).trim_end();
    if s.is_empty() || s.chars().count() > 120 || s.split_whitespace().count() > 14 {
        return Credit::No;
    }
    if LABELLED_CREDIT.is_match(s) {
        return Credit::Sure;
    }
    let Some(words) = name_like(s) else {
        return Credit::No;
    };
    if s.contains(['/', '|']) || AGENCY.is_match(s) {
        Credit::Sure
    } else if (2..=6).contains(&words) {
        Credit::Name
    } else {
        Credit::No
    }
}

/// A caption: a sentence or two, short, ending on its full stop.
fn short_caption(s: &str) -> bool {
    let s = s.trim();
    let words = s.split_whitespace().count();
    let sentences = 1 + SENTENCE_GAP.find_iter(s).filter(|m| m.end() < s.len()).count();
    (1..=45).contains(&words)
        && s.chars().count() <= 320
        && sentences <= 2
        && s.trim_end_matches(['»', '”', '"', '’', '\'', ')', ']'])
            .ends_with(['.', '!', '?', '…'])
}

/// The emphasis span a line ends with (`… **Jane Roe / TASS**`): the text before it and the
/// span's content.
fn trailing_emphasis(raw: &str) -> Option<(&str, &str)> {
    let t = raw.trim_end();
    for marker in ["**", "__", "*", "_"] {
        let Some(rest) = t.strip_suffix(marker) else { continue };
        if marker.len() == 1 && rest.ends_with(marker) {
            continue;
        }
        let start = rest.rfind(marker)?;
        let inner = &rest[start + marker.len()..];
        if inner.is_empty() || inner.starts_with(char::is_whitespace) || inner.ends_with(char::is_whitespace) {
            return None;
        }
        return Some((&t[..start], inner));
    }
    None
}

/// A photo caption with its credit on one line (`Putin in Tianjin. **Jane Roe / TASS**`,
/// `Мост у Самары. Фото: пресс-служба`, `Caption (Photo: AP)`), or a sure credit alone
/// (`**Jane Roe / POOL / TASS**`). `raw` is the Markdown, `plain` its text.
fn caption_with_credit(raw: &str, plain: &str) -> bool {
    if plain.is_empty() || plain.chars().count() > 400 {
        return false;
    }
    // A credit alone.
    if credit(plain) == Credit::Sure {
        return true;
    }
    // A caption, then a credit set off by emphasis: a bare name will do.
    if let Some((head, span)) = trailing_emphasis(raw) {
        let caption = plain_inline(head);
        let c = credit(&plain_inline(span));
        if !caption.is_empty() {
            let labelled = LABELLED_CREDIT.is_match(&plain_inline(span));
            if c >= Credit::Name && (short_caption(&caption) || labelled && caption.split_whitespace().count() <= 30) {
                return true;
            }
        }
    }
    // A caption sentence, then a sure credit in plain text.
    if let Some(m) = PAREN_CREDIT.find(plain)
        && short_caption(&format!("{}.", plain[..m.start()].trim_end().trim_end_matches('.')))
    {
        return true;
    }
    SENTENCE_GAP
        .find_iter(plain)
        .any(|m| short_caption(&plain[..m.end()]) && credit(&plain[m.end()..]) == Credit::Sure)
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
    fn a_text_of_one_line_is_its_body() {
        let p = parse("Snow is expected in Moscow on Friday.\n");
        assert_eq!(p.title, None);
        assert_eq!(p.paragraphs, ["Snow is expected in Moscow on Friday."]);
        let p = parse("Снег ожидается в Москве.\n\n01.09.2025\n");
        assert_eq!(p.paragraphs, ["Снег ожидается в Москве."]);
    }

    #[test]
    fn title_only_has_no_body() {
        assert!(parse("# Only a title\n").paragraphs.is_empty());
        assert!(parse("").paragraphs.is_empty());
    }

    #[test]
    fn untitled_placeholder_is_no_title() {
        let p = parse("# (untitled)\n\nThe first paragraph.\n\nThe second one.\n");
        assert_eq!(p.title, None);
        assert_eq!(p.paragraphs, ["The first paragraph.", "The second one."]);
        let p = parse("(без заголовка)\n\n3 сентября 2025\n\nПервый абзац.\n");
        assert_eq!(p.title, None);
        assert_eq!(p.date.as_deref(), Some("2025-09-03"));
        assert_eq!(p.paragraphs, ["Первый абзац."]);
        let p = parse("---\ntitle: (no title)\n---\n\nBody.\n");
        assert_eq!((p.title, p.paragraphs), (None, vec!["Body.".to_string()]));
        // A real title that merely mentions the word stays.
        let p = parse("# Untitled works sell for millions\n\nBody.\n");
        assert_eq!(p.title.as_deref(), Some("Untitled works sell for millions"));
    }

    #[test]
    fn caption_and_credit_lines_are_not_body() {
        let text = "# Leaders talk trade\n\nSeptember 01, 2025\n\n\
The premier at the summit in Tianjin. **Jane Roe / POOL / TASS**\n\n\
The leaders met on Monday to discuss tariffs.\n\n\
Delegates arrive at the hall. **Mark Stone**\n\n\
They spoke for two hours.\n\n\
![Boats](b.jpg)\nA fishing boat near the port. Photo: Sam Lee / Reuters\n\n\
A crowd outside the venue. Getty Images\n\n\
Police watch the square. Anna Bell/AFP via Getty Images\n\n\
The protest ended peacefully. (Photo: AP)\n\n\
**Anna Bell / AFP**\n\n\
Officials called the meeting **historic**\n\n\
The talks were run by the **Reuters / Ipsos** team and went well.\n\n\
The vote passed. **It was close.**\n\n\
The statement was short, the AP said.\n";
        let p = parse(text);
        assert_eq!(p.title.as_deref(), Some("Leaders talk trade"));
        let glued = parse("# T\n\n![x](a.jpg)\nA boat. *Sam Lee / AP*\nThe body starts here.\n");
        assert_eq!(glued.paragraphs, ["The body starts here."]);
        assert_eq!(
            p.paragraphs,
            [
                "The leaders met on Monday to discuss tariffs.",
                "They spoke for two hours.",
                "Officials called the meeting historic",
                "The talks were run by the Reuters / Ipsos team and went well.",
                "The vote passed. It was close.",
                "The statement was short, the AP said.",
            ]
        );
    }

    #[test]
    fn russian_caption_and_credit_lines_are_not_body() {
        let text = "# Мост открыли досрочно\n\n3 сентября 2025\n\n\
Мост у Самары. **Фото: пресс-служба губернатора**\n\n\
МОСКВА, 3 сен - РИА Новости. Новый мост через Волгу открыли на месяц раньше срока.\n\n\
Жители у здания администрации. Фото: Иван Петров / ТАСС\n\n\
Движение по мосту запустили в среду, сообщает ТАСС.\n\n\
Вид на набережную. *Пётр Сидоров / РИА Новости*\n\n\
Работы обошлись в 12 млрд руб. Об этом сообщил **Олег Смирнов**\n\n\
Итоги подвели в пятницу. Об этом сообщает ТАСС\n\n\
Решение принято. **Это важно.**\n";
        let p = parse(text);
        assert_eq!(
            p.paragraphs,
            [
                "МОСКВА, 3 сен - РИА Новости. Новый мост через Волгу открыли на месяц раньше срока.",
                "Движение по мосту запустили в среду, сообщает ТАСС.",
                "Работы обошлись в 12 млрд руб. Об этом сообщил Олег Смирнов",
                "Итоги подвели в пятницу. Об этом сообщает ТАСС",
                "Решение принято. Это важно.",
            ]
        );
    }

    #[test]
    fn credit_strength() {
        assert_eq!(credit("Jane Roe / POOL / TASS"), Credit::Sure);
        assert_eq!(credit("Фото: пресс-служба губернатора"), Credit::Sure);
        assert_eq!(credit("Anadolu Agency via Getty Images"), Credit::Sure);
        assert_eq!(credit("Пётр Сидоров / РИА Новости"), Credit::Sure);
        assert_eq!(credit("Mark Stone"), Credit::Name);
        assert_eq!(credit("The AP Interview"), Credit::Name);
        assert_eq!(credit("historic"), Credit::No);
        assert_eq!(credit("сообщает ТАСС"), Credit::No);
        assert_eq!(credit("МОСКВА, 10 авг - РИА Новости"), Credit::No);
        assert_eq!(credit("Фото — Иван Петров"), Credit::Sure);
        assert_eq!(credit("Кадр — это единица фильма"), Credit::No);
        assert_eq!(credit("Photographs are rare"), Credit::No);
    }

    #[test]
    fn paragraphs_broken_mid_sentence_are_joined() {
        let text = "# T\n\n\
Officials recalled last month's meeting with\n\nTrump and planned to meet again in May.\n\n\
The minister, speaking on Tuesday,\n\nsaid the deal was done.\n\n\
The agency expects growth to slow sharply next year\n\nas exports fall.\n\n\
European officials have repeatedly criticised the plan, most recently at a summit hosted by French President\n\n\
Emmanuel Macron in Paris.\n\n\
Глава ведомства провёл встречу с\n\nМихаилом Ивановым и обсудил планы.\n\n\
В Самаре открыли мост, который\n\nсоединил два района.\n\n\
Работы завершат к осени —\n\nесли позволит погода.\n";
        assert_eq!(
            parse(text).paragraphs,
            [
                "Officials recalled last month's meeting with Trump and planned to meet again in May.",
                "The minister, speaking on Tuesday, said the deal was done.",
                "The agency expects growth to slow sharply next year as exports fall.",
                "European officials have repeatedly criticised the plan, most recently at a summit hosted by French President Emmanuel Macron in Paris.",
                "Глава ведомства провёл встречу с Михаилом Ивановым и обсудил планы.",
                "В Самаре открыли мост, который соединил два района.",
                "Работы завершат к осени — если позволит погода.",
            ]
        );
    }

    #[test]
    fn headings_lists_and_fact_boxes_stay_apart() {
        let text = "# T\n\n\
The first paragraph ends here.\n\n\
Free money\n\n\
It suggests users could be paid.\n\n\
'Ad-free zone'\n\n\
What to look out for\n\n\
The market opens at nine.\n\n\
9% jobless; 31% rent their homes; 72,000 moved abroad from 2016 to 2019; 88% debt to output\n\n\
The government promised a budget.\n\n\
The text ends with\n\n## Next steps\n\nmore text.\n\n\
Key points:\n\n- prices rose,\n- wages fell.\n\n\
Что дальше\n\nЭксперты ожидают снижения ставки.\n\n\
И что\n\nЭто никого не удивило.\n\n\
*An editor's note,*\n\nthen the text.\n";
        assert_eq!(
            parse(text).paragraphs,
            [
                "The first paragraph ends here.",
                "Free money",
                "It suggests users could be paid.",
                "'Ad-free zone'",
                "What to look out for",
                "The market opens at nine.",
                "9% jobless; 31% rent their homes; 72,000 moved abroad from 2016 to 2019; 88% debt to output",
                "The government promised a budget.",
                "The text ends with",
                "Next steps",
                "more text.",
                "Key points:",
                "prices rose,",
                "wages fell.",
                "Что дальше",
                "Эксперты ожидают снижения ставки.",
                "И что",
                "Это никого не удивило.",
                "An editor's note,",
                "then the text.",
            ]
        );
    }

    #[test]
    fn continuation_rules() {
        use Continuation::*;
        assert_eq!(
            continues("Officials recalled last month's meeting with", "Trump."),
            Sure
        );
        assert_eq!(continues("The deal was signed by the", "Premier."), Sure);
        // An English preposition may close a short heading.
        assert_eq!(continues("What to look out for", "The market opens."), No);
        assert_eq!(continues("Он сказал, что", "Москва готова."), Sure);
        assert_eq!(continues("It ended.", "and then."), No);
        assert_eq!(continues("He said: «Yes»", "Then left."), No);
        assert_eq!(continues("«Мы готовы.»", "и ушёл."), No);
        assert_eq!(continues("Free books", "It suggests…"), No);
        assert_eq!(continues("Free books", "iPhone sales rose."), No);
        assert_eq!(continues("Why not", "The answer is simple."), No);
        let list = "The cities ranked like this: 1. Oslo 2. Riga 3. Porto 4. Gdansk 5. Turku 6. Ghent";
        assert_eq!(continues(list, "The low ranking was due to inequality."), No);
        let long = "The committee, which met behind closed doors for most of the afternoon, backed Jane Roe";
        assert_eq!(continues(long, "The vote is next week."), Likely);
        assert_eq!(continues(long, "Next steps"), No);
    }
}
