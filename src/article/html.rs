//! Extracting a news article (title, date, canonical URL, language, body paragraphs) from an
//! HTML page.
//!
//! Why it is shaped this way:
//! - Parsing is left to `scraper` (html5ever), which implements the HTML5 error-recovery rules,
//!   so malformed markup yields the same tree a browser would build and nothing here can fail.
//! - Metadata is read from the explicit, machine-oriented sources first (`og:*`, `article:*`,
//!   `<link rel=canonical>`) because CMSs fill them reliably, and only then from visible markup.
//! - Body text is produced by one walk over the article root that mimics what a reader sees:
//!   page chrome (nav, header, footer, aside…) and non-text elements are skipped whole, block
//!   elements start new paragraphs and inline elements flow into the surrounding one. Whitespace
//!   is collapsed while walking, so inline boundaries neither glue words together nor double
//!   spaces. The walk is iterative, not recursive, so absurdly deep markup cannot overflow the
//!   stack (the one way an HTML walker could still abort on hostile input).
//! - Nesting is capped at [`MAX_DEPTH`] levels by a linear pre-pass ([`cap_depth`]) before
//!   html5ever sees the page. html5ever's tree builder walks its stack of open elements for
//!   almost every start tag (e.g. "is there a `<p>` in button scope?" for each `<div>`), so a
//!   page nested N levels deep costs O(N²): 100k nested `<div>`s took 19 s, a 64 MiB page about
//!   a day. Beyond the cap, start/end tags are dropped (a block one leaves a `<br>`, so paragraph
//!   boundaries survive) and hidden elements are removed whole; text is kept. Real pages are
//!   nowhere near 512 levels (Blink caps its DOM tree depth at the same number), and a page
//!   that never gets that deep is parsed exactly as written.
//! - No readability-style scoring: `<article>`/`<main>` are used by practically every news CMS,
//!   and a predictable rule is easier to reason about and test than heuristics.

use super::date::{parse_date_line, parse_date_value};
use scraper::node::Element;
use scraper::{ElementRef, Html, Node, Selector};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HtmlArticle {
    pub title: Option<String>,
    /// ISO `YYYY-MM-DD`, via [`parse_date_value`] / [`parse_date_line`].
    pub date: Option<String>,
    pub url: Option<String>,
    /// Primary language subtag, lowercase: `<html lang="ru-RU">` gives `"ru"`.
    pub lang: Option<String>,
    /// Visible article text, one entry per block, whitespace collapsed, never empty strings.
    /// Empty when the page has no body text at all (the caller reports that as an error).
    pub paragraphs: Vec<String>,
}

/// Elements whose whole subtree is never article text: code, page chrome, widgets and media
/// with captions (captions describe the picture, not the story).
const DROPPED: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "svg",
    "iframe",
    "figure",
    "figcaption",
    "select",
    "textarea",
    "object",
    "embed",
    "canvas",
    "video",
    "audio",
    "head",
    "title",
    "dialog",
];

/// Elements that a browser lays out as blocks (plus `br`), i.e. boundaries between paragraphs.
/// Anything not listed is treated as inline, which is also the CSS default for unknown and
/// custom elements.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Separators sites put between a headline and their name in `<title>`.
const TITLE_SEPARATORS: &[&str] = &[" | ", " — ", " – ", " - ", " :: ", " · ", " • "];

/// All selectors, parsed once. They are literals, so parsing cannot fail at run time.
struct Selectors {
    og_title: Selector,
    og_url: Selector,
    og_site_name: Selector,
    og_locale: Selector,
    title: Selector,
    h1: Selector,
    published_time: Selector,
    meta_date: Selector,
    date_published: Selector,
    time: Selector,
    canonical: Selector,
    roots: [Selector; 4],
}

static SEL: LazyLock<Selectors> = LazyLock::new(|| {
    let sel = |css: &str| Selector::parse(css).expect("static CSS selector is valid");
    Selectors {
        og_title: sel(r#"meta[property="og:title"]"#),
        og_url: sel(r#"meta[property="og:url"]"#),
        og_site_name: sel(r#"meta[property="og:site_name"]"#),
        og_locale: sel(r#"meta[property="og:locale"]"#),
        title: sel("title"),
        h1: sel("h1"),
        published_time: sel(r#"meta[property="article:published_time"]"#),
        meta_date: sel(r#"meta[name="date"]"#),
        // Microdata puts datePublished on <meta content> as well as on <time datetime>.
        date_published: sel(r#"[itemprop="datePublished"]"#),
        time: sel("time[datetime]"),
        canonical: sel(r#"link[rel~="canonical"]"#),
        roots: [sel("article"), sel("main"), sel(r#"[role="main"]"#), sel("body")],
    }
});

/// Extract the article from an HTML page. Never panics; missing parts are `None`/empty.
pub fn extract(html: &str) -> HtmlArticle {
    let doc = Html::parse_document(&cap_depth(html));
    let root = article_root(&doc);
    let (title, title_h1) = title(&doc, root);
    HtmlArticle {
        title,
        date: date(&doc, root),
        url: meta_content(&doc, &SEL.canonical, "href").or_else(|| meta_content(&doc, &SEL.og_url, "content")),
        lang: lang(&doc),
        paragraphs: paragraphs(root, title_h1),
    }
}

/// The first `article`, else `main`, else `[role=main]`, else `body` that is itself visible
/// and has visible text. Requiring text means an empty `<article>` placeholder or an
/// `<article>` teaser inside an `<aside>` does not hide the real content behind it.
/// When nothing has text, `body` (or the document element) is returned and yields no
/// paragraphs, which is how "no body text" surfaces.
///
/// Linear in the page size even with many nested candidates: the text check stops at the first
/// visible character, and a candidate inside one already found textless is skipped unwalked
/// (its visible text is part of the outer one's), so textless subtrees are walked once per
/// selector.
fn article_root(doc: &Html) -> ElementRef<'_> {
    let fallback = doc.select(&SEL.roots[3]).next().unwrap_or_else(|| doc.root_element());
    SEL.roots
        .iter()
        .find_map(|sel| {
            let mut textless = HashSet::new();
            doc.select(sel).find(|el| {
                let inside_textless = el.ancestors().any(|a| textless.contains(&a.id()));
                if inside_textless || is_within_dropped(*el, None) {
                    return false;
                }
                let found = has_text(*el);
                if !found {
                    textless.insert(el.id());
                }
                found
            })
        })
        .unwrap_or(fallback)
}

/// Title from `og:title`, else the first `h1` in the root, else `<title>` minus a site suffix.
/// Also returns the `h1` that must not be repeated as a paragraph: the one the title came
/// from, or one that merely restates `og:title`.
fn title<'a>(doc: &Html, root: ElementRef<'a>) -> (Option<String>, Option<ElementRef<'a>>) {
    let h1 = first_h1(root).and_then(|h| {
        let text = paragraphs(h, None).join(" ");
        (!text.is_empty()).then_some((h, text))
    });
    if let Some(og) = meta_content(doc, &SEL.og_title, "content") {
        let skip = h1
            .filter(|(_, text)| text.to_lowercase() == og.to_lowercase())
            .map(|(h, _)| h);
        return (Some(og), skip);
    }
    if let Some((h, text)) = h1 {
        return (Some(text), Some(h));
    }
    let title = doc
        .select(&SEL.title)
        .next()
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty())
        .map(|t| {
            let site = meta_content(doc, &SEL.og_site_name, "content");
            strip_site_suffix(&t, site.as_deref())
        });
    (title, None)
}

/// The first `h1` in the root that is outside page chrome, else the first `h1` at all: an
/// article's own `<header>` (dropped from the text) is exactly where its headline usually is,
/// but when the root is `body` a logo `h1` in the page header should lose to the real one.
fn first_h1(root: ElementRef<'_>) -> Option<ElementRef<'_>> {
    root.select(&SEL.h1)
        .find(|h| !is_within_dropped(*h, Some(root)))
        .or_else(|| root.select(&SEL.h1).next())
}

/// Remove one trailing " | Site" / " — Site" from a `<title>`. Headlines can contain dashes
/// themselves ("Москва — столица"), so the tail is removed only when it is the page's
/// `og:site_name` or looks like a name: at most five words, not starting in lowercase (a
/// lowercase domain such as "lenta.ru" also counts). Only one suffix is removed, because a
/// second one is as likely to be part of the headline as a section name.
fn strip_site_suffix(title: &str, site_name: Option<&str>) -> String {
    let Some((pos, sep)) = TITLE_SEPARATORS
        .iter()
        .filter_map(|sep| title.rfind(sep).map(|pos| (pos, *sep)))
        .max_by_key(|(pos, _)| *pos)
    else {
        return title.to_string();
    };
    let (head, tail) = (title[..pos].trim(), title[pos + sep.len()..].trim());
    if head.is_empty() {
        return title.to_string();
    }
    // `to_lowercase`, not `eq_ignore_ascii_case`: site names are often Cyrillic.
    let is_site_name = site_name.is_some_and(|s| s.trim().to_lowercase() == tail.to_lowercase());
    let is_domain = !tail.contains(' ') && tail.contains('.') && !tail.ends_with('.');
    let looks_like_name = tail.split_whitespace().count() <= 5 && !tail.chars().next().is_some_and(char::is_lowercase);
    if is_site_name || is_domain || looks_like_name {
        head.to_string()
    } else {
        title.to_string()
    }
}

/// Publication date from metadata first (it is the CMS's own record), then from the first
/// `<time datetime>` in the article, falling back to that element's visible text. A candidate
/// that does not parse is skipped rather than ending the search.
fn date(doc: &Html, root: ElementRef<'_>) -> Option<String> {
    let meta = [&SEL.published_time, &SEL.meta_date, &SEL.date_published]
        .into_iter()
        .flat_map(|sel| doc.select(sel))
        .find_map(|el| {
            el.attr("content")
                .or_else(|| el.attr("datetime"))
                .and_then(parse_date_value)
        });
    meta.or_else(|| {
        let time = root.select(&SEL.time).next()?;
        time.attr("datetime")
            .and_then(parse_date_value)
            .or_else(|| parse_date_line(&time.text().collect::<String>()))
    })
}

/// `<html lang>`'s primary subtag, lowercase; `og:locale` ("ru_RU") when `lang` is absent.
/// Values that are not a plausible language subtag (2–8 ASCII letters) are ignored.
fn lang(doc: &Html) -> Option<String> {
    let primary = |tag: &str| {
        let sub = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        let plausible = (2..=8).contains(&sub.len()) && sub.chars().all(|c| c.is_ascii_alphabetic());
        plausible.then_some(sub)
    };
    doc.root_element()
        .attr("lang")
        .and_then(primary)
        .or_else(|| meta_content(doc, &SEL.og_locale, "content").and_then(|l| primary(&l)))
}

/// The trimmed, non-empty `attr` of the first element matching `sel`.
fn meta_content(doc: &Html, sel: &Selector, attr: &str) -> Option<String> {
    doc.select(sel)
        .find_map(|el| el.attr(attr).map(collapse).filter(|v| !v.is_empty()))
}

/// Whether `el` or one of its ancestors (stopping before `stop`, if given) is dropped.
fn is_within_dropped(el: ElementRef<'_>, stop: Option<ElementRef<'_>>) -> bool {
    let mut node = Some(*el);
    while let Some(n) = node {
        if stop.is_some_and(|s| s.id() == n.id()) {
            return false;
        }
        if n.value().as_element().is_some_and(is_dropped) {
            return true;
        }
        node = n.parent();
    }
    false
}

/// Whether an element's subtree is invisible or not article text.
fn is_dropped(el: &Element) -> bool {
    DROPPED.contains(&el.name())
        || el.attr("hidden").is_some()
        || el
            .attr("aria-hidden")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || el.attr("style").is_some_and(|s| {
            let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            s.to_ascii_lowercase().contains("display:none")
        })
}

/// Visible text of `root` as paragraphs, skipping the `skip` element (the title `h1`).
fn paragraphs(root: ElementRef<'_>, skip: Option<ElementRef<'_>>) -> Vec<String> {
    let mut text = TextBuilder::default();
    // The visitor never breaks, so the walk always completes.
    let _ = walk(root, skip, |event| {
        match event {
            Visit::Text(t) => text.push(t),
            Visit::Block => text.flush(),
        }
        ControlFlow::Continue(())
    });
    text.finish()
}

/// Whether `root` has any visible text; stops at the first visible character.
fn has_text(root: ElementRef<'_>) -> bool {
    walk(root, None, |event| match event {
        Visit::Text(t) if t.chars().any(|c| !c.is_whitespace() && !is_invisible(c)) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// What [`walk`] reports: visible text, or a block boundary (a paragraph break).
enum Visit<'a> {
    Text(&'a str),
    Block,
}

/// The reader's-eye walk over `root`, skipping the `skip` element and dropped subtrees.
///
/// Pre-order walk with explicit "enter"/"leave" steps over first-child / next-sibling /
/// parent links instead of recursion, so every node is entered and left once. Block elements
/// report a boundary both when entered and when left; dropped block elements still do, since a
/// browser would show the text before and after them on separate lines.
fn walk<'a>(
    root: ElementRef<'a>,
    skip: Option<ElementRef<'a>>,
    mut visit: impl FnMut(Visit<'a>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut node = *root;
    loop {
        // Enter `node`.
        let mut descend = false;
        match node.value() {
            Node::Text(t) => visit(Visit::Text(t))?,
            Node::Element(el) => {
                if BLOCKS.contains(&el.name()) {
                    visit(Visit::Block)?;
                }
                let skipped = skip.is_some_and(|s| s.id() == node.id());
                descend = node.id() == root.id() || !(skipped || is_dropped(el));
            }
            _ => {}
        }
        if descend && let Some(child) = node.first_child() {
            node = child;
            continue;
        }
        // Leave `node` and every ancestor whose last child it was.
        loop {
            if let Node::Element(el) = node.value()
                && BLOCKS.contains(&el.name())
            {
                visit(Visit::Block)?;
            }
            if node.id() == root.id() {
                return ControlFlow::Continue(());
            }
            if let Some(next) = node.next_sibling() {
                node = next;
                break;
            }
            match node.parent() {
                Some(parent) => node = parent,
                None => return ControlFlow::Continue(()),
            }
        }
    }
}

/// Accumulates text into paragraphs, collapsing whitespace across node boundaries: a space
/// is emitted only between two visible characters that had whitespace somewhere between
/// them, so "Hello <b>big</b> world" and "a<span>b</span>" both come out as written.
#[derive(Default)]
struct TextBuilder {
    paragraphs: Vec<String>,
    current: String,
    pending_space: bool,
}

impl TextBuilder {
    fn push(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
            } else if is_invisible(c) {
                // Soft hyphens, zero-width characters and stray controls render as nothing.
            } else {
                if self.pending_space && !self.current.is_empty() {
                    self.current.push(' ');
                }
                self.pending_space = false;
                self.current.push(c);
            }
        }
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.paragraphs.push(std::mem::take(&mut self.current));
        }
        self.pending_space = false;
    }

    fn finish(mut self) -> Vec<String> {
        self.flush();
        self.paragraphs
    }
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}') || c.is_control()
}

/// Collapse whitespace runs to single spaces and trim (for attribute values and `<title>`).
fn collapse(s: &str) -> String {
    let mut b = TextBuilder::default();
    b.push(s);
    b.finish().join(" ")
}

/// Element nesting depth past which [`cap_depth`] flattens the markup.
pub(crate) const MAX_DEPTH: usize = 512;

/// Elements that never have children (the tokenizer's idea of them: no end tag needed).
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input", "keygen",
    "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose content is raw text up to their end tag, not markup. `plaintext` (the rest of
/// the page is text) is handled separately.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// Start tags that implicitly close an open `<p>`.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
];

/// Elements that bound the HTML "has an element in scope" searches.
const SCOPE: &[&str] = &[
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template",
];
const BUTTON_SCOPE: &[&str] = &[
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "button",
];
/// Where the search for an open `<li>`, `<dd>` or `<dt>` to close stops. Spelled out rather than
/// filtered from [`SPECIAL`] because it is consulted for every list item.
const SPECIAL_BUT_ADDRESS_DIV_P: &[&str] = &[
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "details",
    "dir",
    "dl",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
];
const TABLE_SCOPE: &[&str] = &["html", "table", "template"];
const ROW_SCOPE: &[&str] = &["html", "table", "template", "tr"];
const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// The HTML "special" elements (HTML namespace), which stop the tree builder's searches for an
/// element to close in several places.
const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
];

/// Formatting elements, closed by the "adoption agency" algorithm rather than popped.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Limit element nesting to about [`MAX_DEPTH`] levels with one linear pass over the markup,
/// so that html5ever's per-tag scans of its open-element stack stay bounded (see the module
/// docs). Returns the input unchanged (borrowed) when the page never gets that deep.
///
/// The pass lexes tags the way the HTML tokenizer does (comments, quoted attribute values,
/// raw-text elements such as `<script>`) and keeps an estimate of the stack of open elements,
/// applying the common implied end tags (`<p>`, `<li>`, table parts, headings…) so that
/// sloppy-but-ordinary markup is not mistaken for deep nesting. Once the estimate is
/// `MAX_DEPTH` deep, a further start tag is removed, and so is the end tag that matches it; a
/// block element's tags are replaced by `<br>`, which keeps the paragraph boundary. An element
/// that would hide its content (`<nav>`, `hidden`, …, see [`is_dropped`]) is instead removed
/// together with its content, since flattening it would make that content visible. Text is
/// never removed otherwise. Every search of the estimated stack is bounded by `MAX_DEPTH`,
/// so the pass is linear in the input.
pub(crate) fn cap_depth(html: &str) -> Cow<'_, str> {
    let s = html.as_bytes();
    let mut stack = OpenElements::default();
    // Start tags removed beyond the cap, by name, whose end tags are still to be removed.
    let mut removed: HashMap<String, usize> = HashMap::new();
    let mut edits = Edits::new(html);
    let mut pos = 0;
    while let Some(tag) = next_tag(s, pos) {
        pos = tag.stop;
        let name = tag.name.as_str();
        let replacement = if BLOCKS.contains(&name) { "<br>" } else { "" };
        if tag.end {
            if let Some(n) = removed.get_mut(name).filter(|n| **n > 0) {
                *n -= 1;
                edits.replace(tag.start..tag.stop, replacement);
            } else if FORMATTING.contains(&name) {
                stack.adopt(name);
            } else if SPECIAL.contains(&name) {
                if !matches!(name, "html" | "body" | "br") && !RAW_TEXT.contains(&name) {
                    stack.close(&[name], SCOPE);
                }
            } else {
                // Any other end tag closes its element unless a special element is open inside it.
                stack.close(&[name], SPECIAL);
            }
            continue;
        }
        if name == "plaintext" {
            break;
        }
        if RAW_TEXT.contains(&name) {
            pos = raw_text_end(s, pos, name);
            continue;
        }
        stack.implied_end_tags(name);
        if VOID.contains(&name) || (tag.self_closing && (stack.contains("svg") || stack.contains("math"))) {
            continue;
        }
        if matches!(name, "html" | "head" | "body") && stack.contains(name) {
            continue;
        }
        if stack.len() < MAX_DEPTH {
            stack.push(tag.name);
        } else if tag.hides || DROPPED.contains(&name) {
            let end = element_end(s, pos, name, &stack);
            edits.replace(tag.start..end, replacement);
            pos = end;
        } else {
            edits.replace(tag.start..tag.stop, replacement);
            *removed.entry(tag.name).or_default() += 1;
        }
    }
    edits.finish()
}

/// [`cap_depth`]'s estimate of the parser's stack of open elements, with a count per name so
/// that the usual case of an implied end tag with nothing to close costs no search.
#[derive(Default)]
struct OpenElements {
    names: Vec<String>,
    counts: HashMap<String, usize>,
}

impl OpenElements {
    fn len(&self) -> usize {
        self.names.len()
    }

    fn contains(&self, name: &str) -> bool {
        self.counts.get(name).is_some_and(|&n| n > 0)
    }

    fn push(&mut self, name: String) {
        *self.counts.entry(name.clone()).or_default() += 1;
        self.names.push(name);
    }

    fn top_is(&self, names: &[&str]) -> bool {
        self.names.last().is_some_and(|t| names.contains(&t.as_str()))
    }

    fn truncate(&mut self, len: usize) {
        for name in self.names.drain(len..) {
            if let Some(n) = self.counts.get_mut(&name) {
                *n -= 1;
            }
        }
    }

    fn pop(&mut self) {
        self.truncate(self.names.len().saturating_sub(1));
    }

    /// Pop up to and including the topmost element named in `targets`, unless an element named
    /// in `boundaries` is above it (then the end tag would not reach it: nothing is popped).
    /// The search is bounded by the stack's length, at most [`MAX_DEPTH`].
    fn close(&mut self, targets: &[&str], boundaries: &[&str]) {
        if !targets.iter().any(|t| self.contains(t)) {
            return;
        }
        for i in (0..self.names.len()).rev() {
            let name = self.names[i].as_str();
            if targets.contains(&name) {
                self.truncate(i);
                return;
            }
            if boundaries.contains(&name) {
                return;
            }
        }
    }

    /// What the adoption agency algorithm does to the stack when formatting element `name` is
    /// closed (by its end tag, or by a new `<a>`/`<nobr>`): if a special element (the
    /// "furthest block") is open inside it, only the formatting element leaves the stack and the
    /// block stays open; otherwise everything down to it is popped.
    fn adopt(&mut self, name: &str) {
        if !self.contains(name) {
            return;
        }
        let mut furthest_block = false;
        for i in (0..self.names.len()).rev() {
            let open = self.names[i].as_str();
            if open == name {
                if furthest_block {
                    let removed = self.names.remove(i);
                    if let Some(n) = self.counts.get_mut(&removed) {
                        *n -= 1;
                    }
                } else {
                    self.truncate(i);
                }
                return;
            }
            if SCOPE.contains(&open) {
                return;
            }
            furthest_block |= SPECIAL.contains(&open);
        }
    }

    /// Pop the elements that opening `name` closes implicitly.
    fn implied_end_tags(&mut self, name: &str) {
        if CLOSES_P.contains(&name) {
            self.close(&["p"], BUTTON_SCOPE);
        }
        match name {
            "li" => self.close(&["li"], SPECIAL_BUT_ADDRESS_DIV_P),
            "dd" | "dt" => self.close(&["dd", "dt"], SPECIAL_BUT_ADDRESS_DIV_P),
            "tr" => self.close(&["tr"], TABLE_SCOPE),
            "td" | "th" => self.close(&["td", "th"], ROW_SCOPE),
            "thead" | "tbody" | "tfoot" => self.close(&["thead", "tbody", "tfoot"], TABLE_SCOPE),
            "a" | "nobr" => self.adopt(name),
            "button" => self.close(&[name], SCOPE),
            "body" => self.close(&["head"], &[]),
            "option" | "optgroup" => {
                if self.top_is(&["option"]) {
                    self.pop();
                }
                if name == "optgroup" && self.top_is(&["optgroup"]) {
                    self.pop();
                }
            }
            _ if HEADINGS.contains(&name) && self.top_is(HEADINGS) => self.pop(),
            _ => {}
        }
    }
}

/// The output of [`cap_depth`]: the input with some byte ranges replaced, built only once the
/// first replacement is made.
struct Edits<'a> {
    input: &'a str,
    output: String,
    copied: usize,
}

impl<'a> Edits<'a> {
    fn new(input: &'a str) -> Self {
        Edits {
            input,
            output: String::new(),
            copied: 0,
        }
    }

    /// Replace `range` (after everything replaced so far; at ASCII boundaries) by `with`. A
    /// `<br>` right after another adds nothing (the walk's paragraph breaks do not stack) and
    /// is left out, so flattening a run of block tags leaves one element, not one per tag.
    fn replace(&mut self, range: std::ops::Range<usize>, with: &str) {
        let unchanged = &self.input[self.copied..range.start];
        if !(unchanged.is_empty() && with == "<br>" && self.output.ends_with("<br>")) {
            self.output.push_str(unchanged);
            self.output.push_str(with);
        }
        self.copied = range.end;
    }

    fn finish(mut self) -> Cow<'a, str> {
        if self.copied == 0 {
            return Cow::Borrowed(self.input);
        }
        self.output.push_str(&self.input[self.copied..]);
        Cow::Owned(self.output)
    }
}

/// A start or end tag found by [`next_tag`].
struct Tag {
    end: bool,
    /// ASCII-lowercased.
    name: String,
    /// Byte range of the whole tag, `<` to `>` inclusive.
    start: usize,
    stop: usize,
    self_closing: bool,
    /// `hidden`, `aria-hidden="true"` or an inline `display: none` (start tags only).
    hides: bool,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Position just after the first `needle` in `s` at or after `from`, or the end of `s`.
fn after(s: &[u8], from: usize, needle: &[u8]) -> usize {
    s.get(from..)
        .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
        .map_or(s.len(), |i| from + i + needle.len())
}

/// The next tag at or after `pos`, skipping text, comments, doctypes and other `<!…>` / `<?…>`
/// constructs. `None` at the end of input, including inside an unterminated tag (which the
/// tokenizer drops too).
fn next_tag(s: &[u8], mut pos: usize) -> Option<Tag> {
    loop {
        let lt = pos + s.get(pos..)?.iter().position(|&b| b == b'<')?;
        let (end, name_start) = match s.get(lt + 1) {
            Some(b'!') if s[lt + 2..].starts_with(b"--") => {
                // From `lt + 2`, so that the abrupt `<!-->` and `<!--->` end where they should.
                pos = after(s, lt + 2, b"-->");
                continue;
            }
            Some(b'!' | b'?') => {
                pos = after(s, lt + 2, b">");
                continue;
            }
            Some(b'/') => match s.get(lt + 2) {
                Some(b) if b.is_ascii_alphabetic() => (true, lt + 2),
                Some(b'>') => {
                    pos = lt + 3;
                    continue;
                }
                Some(_) => {
                    pos = after(s, lt + 2, b">");
                    continue;
                }
                None => return None,
            },
            Some(b) if b.is_ascii_alphabetic() => (false, lt + 1),
            _ => {
                pos = lt + 1;
                continue;
            }
        };
        let mut i = name_start;
        while i < s.len() && !is_space(s[i]) && s[i] != b'/' && s[i] != b'>' {
            i += 1;
        }
        // The name ends at an ASCII byte (or the end of input), so this is a valid str slice.
        let name = String::from_utf8_lossy(&s[name_start..i]).to_ascii_lowercase();
        let (mut self_closing, mut hides) = (false, false);
        loop {
            match *s.get(i)? {
                b'>' => {
                    return Some(Tag {
                        end,
                        name,
                        start: lt,
                        stop: i + 1,
                        self_closing,
                        hides,
                    });
                }
                b'/' => {
                    self_closing = s.get(i + 1) == Some(&b'>');
                    i += 1;
                    continue;
                }
                b if is_space(b) => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // An attribute: the name (its first character may be anything, even `=`)…
            let attr_start = i;
            i += 1;
            while i < s.len() && !is_space(s[i]) && !matches!(s[i], b'/' | b'>' | b'=') {
                i += 1;
            }
            let attr = &s[attr_start..i];
            while i < s.len() && is_space(s[i]) {
                i += 1;
            }
            // …then, after `=`, a quoted or unquoted value.
            let mut value: &[u8] = b"";
            if s.get(i) == Some(&b'=') {
                i += 1;
                while i < s.len() && is_space(s[i]) {
                    i += 1;
                }
                match *s.get(i)? {
                    quote @ (b'"' | b'\'') => {
                        let close = i + 1 + s[i + 1..].iter().position(|&b| b == quote)?;
                        value = &s[i + 1..close];
                        i = close + 1;
                    }
                    _ => {
                        let value_start = i;
                        while i < s.len() && !is_space(s[i]) && s[i] != b'>' {
                            i += 1;
                        }
                        value = &s[value_start..i];
                    }
                }
            }
            hides |= attr_hides(attr, value);
        }
    }
}

/// Whether an attribute hides its element, as [`is_dropped`] decides it.
fn attr_hides(attr: &[u8], value: &[u8]) -> bool {
    if attr.eq_ignore_ascii_case(b"hidden") {
        return true;
    }
    let value = String::from_utf8_lossy(value);
    if attr.eq_ignore_ascii_case(b"aria-hidden") {
        return value.trim().eq_ignore_ascii_case("true");
    }
    attr.eq_ignore_ascii_case(b"style") && {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        compact.to_ascii_lowercase().contains("display:none")
    }
}

/// Where the raw text of a `name` element starting at `pos` ends: at its `</name` end tag
/// (matched case-insensitively, followed by a space, `/` or `>`), or the end of input.
fn raw_text_end(s: &[u8], mut pos: usize, name: &str) -> usize {
    while pos < s.len() {
        pos = after(s, pos, b"</");
        let name_end = pos + name.len();
        if s.get(pos..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && s.get(name_end).is_some_and(|&b| is_space(b) || b == b'/' || b == b'>')
        {
            return pos - 2;
        }
    }
    s.len()
}

/// Position just after the end tag that closes a `name` element whose start tag ends at `pos`
/// (counting nested `name` elements), or just before the end tag of an element `outer` has open
/// around it (which closes it implicitly), or the end of input.
fn element_end(s: &[u8], mut pos: usize, name: &str, outer: &OpenElements) -> usize {
    let mut open = 1usize;
    // Elements opened inside, by name: their end tags do not reach outside.
    let mut inner: HashMap<String, usize> = HashMap::new();
    while let Some(tag) = next_tag(s, pos) {
        pos = tag.stop;
        if tag.name == name {
            if !tag.end {
                // `<name/>` opens an element all the same in HTML content.
                open += 1;
                continue;
            }
            open -= 1;
            if open == 0 {
                return pos;
            }
        } else if tag.end {
            match inner.get_mut(&tag.name) {
                Some(n) if *n > 0 => *n -= 1,
                _ if outer.contains(&tag.name)
                    && !FORMATTING.contains(&tag.name.as_str())
                    && !matches!(tag.name.as_str(), "html" | "body") =>
                {
                    return tag.start;
                }
                _ => {}
            }
        } else if tag.name == "plaintext" {
            break;
        } else if RAW_TEXT.contains(&tag.name.as_str()) {
            pos = raw_text_end(s, pos, &tag.name);
        } else if !VOID.contains(&tag.name.as_str()) {
            *inner.entry(tag.name).or_default() += 1;
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_item_stoppers_are_special_but_address_div_p() {
        let derived: Vec<&str> = SPECIAL
            .iter()
            .copied()
            // The list items themselves are the targets of the search, never its stoppers.
            .filter(|t| !["address", "div", "p", "li", "dd", "dt"].contains(t))
            .collect();
        assert_eq!(SPECIAL_BUT_ADDRESS_DIV_P, derived.as_slice());
    }

    const NEWS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en-US">
<head>
  <meta charset="utf-8">
  <title>Summit opens in Geneva | World News Daily</title>
  <meta property="og:title" content="Summit opens in Geneva">
  <meta property="og:url" content="https://news.example.com/og-url">
  <meta property="og:site_name" content="World News Daily">
  <link rel="canonical" href="https://news.example.com/2025/09/01/summit">
  <style>body { font-family: serif; } p::before { content: "x"; }</style>
  <script>window.dataLayer = []; document.write("<p>tracking</p>");</script>
</head>
<body>
  <header class="site-header">
    <a href="/" class="logo">World News Daily</a>
    <nav><ul><li><a href="/world">World</a></li><li><a href="/business">Business</a></li></ul></nav>
  </header>
  <main>
    <article>
      <header>
        <h1>Summit opens in Geneva</h1>
        <p class="byline">By <a href="/authors/jane">Jane Doe</a></p>
        <time datetime="2025-09-01T10:00:00+02:00">September 1, 2025</time>
      </header>
      <figure>
        <img src="summit.jpg" alt="Leaders at the summit">
        <figcaption>Leaders arrive at the Palais des Nations. Photo: Reuters</figcaption>
      </figure>
      <p>World leaders gathered in <strong>Geneva</strong> on Monday for a
         three-day summit on <a href="/climate">climate&nbsp;finance</a>.</p>
      <p>The talks, hosted by the <em>United Nations</em>, are expected to focus on
         debt relief &amp; adaptation funding.</p>
      <aside class="related">
        <h3>Related</h3>
        <ul><li><a href="/a">Earlier talks stalled</a></li></ul>
      </aside>
      <h2>What is at stake</h2>
      <p>Negotiators said a deal was "within reach".<br>Others were less optimistic.</p>
      <script>trackScroll();</script>
      <ul>
        <li>Debt relief</li>
        <li>Adaptation <span>funds</span></li>
      </ul>
      <blockquote>We cannot wait any longer.</blockquote>
      <div class="share"><button>Share</button><button>Tweet</button></div>
      <div hidden>Hidden paywall teaser</div>
      <span aria-hidden="true">•</span>
      <noscript>Enable JavaScript</noscript>
    </article>
  </main>
  <footer>© 2025 World News Daily. <a href="/privacy">Privacy</a></footer>
  <script src="app.js"></script>
</body>
</html>"#;

    #[test]
    fn realistic_english_news_page() {
        let a = extract(NEWS_PAGE);
        assert_eq!(a.title.as_deref(), Some("Summit opens in Geneva"));
        assert_eq!(a.date.as_deref(), Some("2025-09-01"));
        assert_eq!(a.url.as_deref(), Some("https://news.example.com/2025/09/01/summit"));
        assert_eq!(a.lang.as_deref(), Some("en"));
        assert_eq!(
            a.paragraphs,
            vec![
                "World leaders gathered in Geneva on Monday for a three-day summit on climate finance.",
                "The talks, hosted by the United Nations, are expected to focus on debt relief & adaptation funding.",
                "What is at stake",
                "Negotiators said a deal was \"within reach\".",
                "Others were less optimistic.",
                "Debt relief",
                "Adaptation funds",
                "We cannot wait any longer.",
            ]
        );
    }

    #[test]
    fn russian_page_with_only_title_and_paragraphs() {
        let html = "<html lang=\"ru-RU\"><head><title>Саммит открылся в Женеве — РИА Новости</title>\
                    </head><body><p>Лидеры собрались в Женеве.</p>\
                    <p>Переговоры продлятся\n   три дня.</p></body></html>";
        let a = extract(html);
        assert_eq!(a.title.as_deref(), Some("Саммит открылся в Женеве"));
        assert_eq!(a.lang.as_deref(), Some("ru"));
        assert_eq!(a.date, None);
        assert_eq!(a.url, None);
        assert_eq!(
            a.paragraphs,
            vec!["Лидеры собрались в Женеве.", "Переговоры продлятся три дня."]
        );
    }

    #[test]
    fn no_body_text_gives_no_paragraphs() {
        let html = "<html><head><title>Empty</title><script>var x = 1;</script></head>\
                    <body><nav><a href='/'>Home</a></nav><script>alert(1)</script></body></html>";
        let a = extract(html);
        assert!(a.paragraphs.is_empty(), "{:?}", a.paragraphs);
        assert_eq!(a.title.as_deref(), Some("Empty"));
    }

    #[test]
    fn empty_and_garbage_inputs_do_not_panic() {
        assert_eq!(extract(""), HtmlArticle::default());
        let garbage = "\u{0}\u{1}<<>>\u{fffd}</p></div><p <a href=\"\"\"\"><<script>>\u{7f}";
        let _ = extract(garbage);
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = extract(&String::from_utf8_lossy(&bytes));
        // Deep nesting is flattened before parsing (see `deep_nesting_is_capped`), but the walk
        // is iterative anyway, so no depth could overflow the 2 MiB test thread stack.
        let deep = "<div>".repeat(1_000) + "deep text" + &"</div>".repeat(1_000);
        assert_eq!(extract(&deep).paragraphs, vec!["deep text"]);
        let deep_inline = "<span>".repeat(50_000) + "x";
        assert_eq!(extract(&deep_inline).paragraphs, vec!["x"]);
    }

    /// Depth of the deepest node of a parsed document, computed without recursion.
    fn tree_depth(doc: &Html) -> usize {
        let mut max = 0;
        let mut stack = vec![(doc.tree.root(), 0usize)];
        while let Some((node, depth)) = stack.pop() {
            max = max.max(depth);
            stack.extend(node.children().map(|c| (c, depth + 1)));
        }
        max
    }

    #[test]
    fn deep_nesting_is_capped() {
        // 100k nested divs: html5ever scans its whole open-element stack for every `<div>`, so
        // parsing this uncapped took ~19 s (quadratic). Capped, html5ever's stack, and with it
        // the work per tag, is bounded by the tree depth asserted here.
        let n = 100_000;
        let deep = "<div>".repeat(n) + "deep text" + &"</div>".repeat(n) + "<p>after</p>";
        let capped = cap_depth(&deep);
        let depth = tree_depth(&Html::parse_document(&capped));
        assert!(depth <= MAX_DEPTH + 8, "tree depth {depth}");
        assert_eq!(extract(&deep).paragraphs, vec!["deep text", "after"]);

        // Unclosed elements of every kind nest deeply too, and are capped the same way.
        // So are the misnestings that make html5ever keep elements open that a naive count of
        // tags would consider closed (the adoption agency keeps the `<div>`s open, a `<dt>`
        // only closes one in the same `<dl>`…).
        for open in [
            "<span>",
            "<b>",
            "<a href=x>",
            "<li>",
            "<table><tr><td>",
            "<ul>",
            "<font size=2>",
            "<b><div></b>",
            "<a><div>",
            "<dl><dt>",
            "<ul><li>",
            "<span><div></span>",
            "<i><p>",
        ] {
            let html = open.repeat(20_000) + "x";
            let depth = tree_depth(&Html::parse_document(&cap_depth(&html)));
            assert!(depth <= 2 * MAX_DEPTH + 8, "{open}: tree depth {depth}");
            assert_eq!(extract(&html).paragraphs, vec!["x"], "{open}");
        }
    }

    #[test]
    fn flattening_keeps_blocks_apart_and_hidden_content_hidden() {
        let wrap = |inner: &str| "<div>".repeat(MAX_DEPTH + 10) + inner + &"</div>".repeat(MAX_DEPTH + 10);
        let a = extract(&wrap(
            "<div>one</div><div>two <b>bold</b></div>\
             <nav><div><p>menu</p></div><script>if (a </nav> b) {}</script></nav>\
             <p hidden>secret</p><span style='display: none'><i>secret</i></span>\
             <p>three<!-- <nav> --></p><script>var s = '<div>';</script><p>four</p>",
        ));
        assert_eq!(a.paragraphs, vec!["one", "two bold", "three", "four"]);
        // An unclosed hidden element ends where the parser would end it, at its parent's end tag.
        let a = extract(&(wrap("<nav>menu <div>x</div>") + "<p>after</p>"));
        assert_eq!(a.paragraphs, vec!["after"]);
    }

    #[test]
    fn ordinary_markup_is_not_changed() {
        assert!(matches!(cap_depth(NEWS_PAGE), Cow::Borrowed(_)));
        let fixture = include_str!("../../tests/fixtures/articles/en-page.html");
        assert!(matches!(cap_depth(fixture), Cow::Borrowed(_)));
        // Thousands of elements that are left open but closed implicitly by the parser.
        for open in [
            "<p>x",
            "<li>x",
            "<dt>x<dd>y",
            "<tr><td>x<td>y",
            "<option>x",
            "<h2>x<h3>y",
            "<div><p>x</div>",
            "<font><p>x</font></p>",
            "<a href=x><div>x</div></a><b>y<i>z</b></i>",
            "<svg><path d='M0'/><g/></svg>",
            "<p>x<!-- <div> --><script>'<div>'</script><style>a>b{}</style>",
        ] {
            let html = format!("<html><body>{}</body></html>", open.repeat(5_000));
            assert!(matches!(cap_depth(&html), Cow::Borrowed(_)), "{open}");
        }
    }

    #[test]
    fn malformed_html_is_recovered() {
        let html = "<html><body><p>First <b>bold <i>both</b> italic</i> end<p>Second para\
                    <div>Block</span> text</div><li>item one<li>item two";
        let a = extract(html);
        assert_eq!(
            a.paragraphs,
            vec![
                "First bold both italic end",
                "Second para",
                "Block text",
                "item one",
                "item two"
            ]
        );
    }

    #[test]
    fn inline_elements_keep_spacing() {
        let para = |html: &str| extract(html).paragraphs;
        assert_eq!(para("<p>Hello <b>big</b> world</p>"), vec!["Hello big world"]);
        assert_eq!(para("<p>a<span>b</span></p>"), vec!["ab"]);
        assert_eq!(para("<p>a <span> b </span> c</p>"), vec!["a b c"]);
        assert_eq!(
            para("<p><a href='#'>link</a>, <em>emphasis</em>.</p>"),
            vec!["link, emphasis."]
        );
        assert_eq!(para("<p>one<br>two<br/><br>three</p>"), vec!["one", "two", "three"]);
        assert_eq!(para("<div>outer<p>inner</p>tail</div>"), vec!["outer", "inner", "tail"]);
        assert_eq!(
            para("<p>soft\u{ad}hyphen zero\u{200b}width</p>"),
            vec!["softhyphen zerowidth"]
        );
    }

    #[test]
    fn table_cells_and_pre_are_blocks() {
        let a = extract("<table><tr><td>A1</td><td>B1</td></tr></table><pre>line  1\nline 2</pre>");
        assert_eq!(a.paragraphs, vec!["A1", "B1", "line 1 line 2"]);
    }

    #[test]
    fn title_from_h1_is_not_repeated() {
        let html = "<title>Ignored | Site</title><article><h1>Real <em>headline</em></h1>\
                    <p>Body.</p></article>";
        let a = extract(html);
        assert_eq!(a.title.as_deref(), Some("Real headline"));
        assert_eq!(a.paragraphs, vec!["Body."]);
    }

    #[test]
    fn h1_differing_from_og_title_stays_in_text() {
        let html = "<meta property='og:title' content='Short title'>\
                    <main><h1>Long visible headline</h1><p>Body.</p></main>";
        let a = extract(html);
        assert_eq!(a.title.as_deref(), Some("Short title"));
        assert_eq!(a.paragraphs, vec!["Long visible headline", "Body."]);
    }

    #[test]
    fn logo_h1_in_page_header_loses_to_content_h1() {
        let html = "<body><header><h1>Site Logo</h1></header><div><h1>Story</h1><p>Text.</p></div></body>";
        let a = extract(html);
        assert_eq!(a.title.as_deref(), Some("Story"));
        assert_eq!(a.paragraphs, vec!["Text."]);
    }

    #[test]
    fn site_suffix_stripping() {
        assert_eq!(strip_site_suffix("Headline | Site", None), "Headline");
        assert_eq!(strip_site_suffix("Headline — The Site", None), "Headline");
        assert_eq!(strip_site_suffix("Новость - lenta.ru", None), "Новость");
        assert_eq!(
            strip_site_suffix("A | B | Site", None),
            "A | B",
            "only one suffix is removed"
        );
        assert_eq!(
            strip_site_suffix("Москва — столица России", None),
            "Москва — столица России",
            "lowercase tail is part of the headline"
        );
        assert_eq!(
            strip_site_suffix("Путин — о переговорах | коммерсант", Some("Коммерсант")),
            "Путин — о переговорах"
        );
        assert_eq!(strip_site_suffix("| Site", None), "| Site");
        assert_eq!(strip_site_suffix("No separator", None), "No separator");
    }

    #[test]
    fn og_title_is_not_suffix_stripped() {
        let a = extract("<meta property='og:title' content='Deal — Done'><p>x</p>");
        assert_eq!(a.title.as_deref(), Some("Deal — Done"));
    }

    #[test]
    fn date_sources_in_priority_order() {
        let d = |html: &str| extract(html).date;
        assert_eq!(
            d(
                "<meta property='article:published_time' content='2025-09-01T10:00:00+03:00'>\
               <meta name='date' content='2024-01-01'><time datetime='2023-01-01'></time>"
            ),
            Some("2025-09-01".into())
        );
        assert_eq!(
            d("<meta name='date' content='2024-01-02'><time datetime='2023-01-01'></time>"),
            Some("2024-01-02".into())
        );
        assert_eq!(
            d("<meta itemprop='datePublished' content='2024-01-03'><p>x</p>"),
            Some("2024-01-03".into())
        );
        assert_eq!(
            d("<article><p>x</p><time datetime='2023-01-04T08:00Z'>4 Jan</time></article>"),
            Some("2023-01-04".into())
        );
        // Unparseable metadata falls through to the next source.
        assert_eq!(
            d("<meta property='article:published_time' content='soon'>\
               <p>x <time datetime='bogus'>5 января 2023 г.</time></p>"),
            Some("2023-01-05".into())
        );
        assert_eq!(d("<p>No date here.</p>"), None);
    }

    #[test]
    fn url_prefers_canonical_then_og_url() {
        let a = extract(
            "<link rel='canonical' href=' https://a.example/x '><meta property='og:url' content='https://b.example/y'>",
        );
        assert_eq!(a.url.as_deref(), Some("https://a.example/x"));
        let b = extract("<meta property='og:url' content='https://b.example/y'>");
        assert_eq!(b.url.as_deref(), Some("https://b.example/y"));
    }

    #[test]
    fn lang_variants() {
        let l = |html: &str| extract(html).lang;
        assert_eq!(l("<html lang='RU'><p>x</p>"), Some("ru".into()));
        assert_eq!(l("<html lang='en_GB'>"), Some("en".into()));
        assert_eq!(l("<html lang=''>"), None);
        assert_eq!(l("<html lang='12'>"), None);
        assert_eq!(l("<meta property='og:locale' content='ru_RU'>"), Some("ru".into()));
        assert_eq!(l("<p>x</p>"), None);
    }

    #[test]
    fn root_selection() {
        // An empty <article> and one inside an <aside> do not hide the real content.
        let html = "<body><aside><article><p>Teaser</p></article></aside><article></article>\
                    <div role='main'><p>Main text</p></div><p>Outside</p></body>";
        assert_eq!(extract(html).paragraphs, vec!["Main text"]);
        // Without any landmark the whole body is the root.
        let html = "<body><div><p>One</p></div><p>Two</p><footer>Foot</footer></body>";
        assert_eq!(extract(html).paragraphs, vec!["One", "Two"]);
    }

    #[test]
    fn inline_style_display_none_is_dropped() {
        let a = extract("<p>shown<span style='display: none'>secret</span> text</p>");
        assert_eq!(a.paragraphs, vec!["shown text"]);
    }
}
