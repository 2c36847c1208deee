//! Real news articles through the real parsing path: the corpus beside the checkout
//! (`../shared/real-corpus`, or `SVODKA_REAL_CORPUS`; see `build.rs`). Its text belongs to the
//! publishers, so it never enters the repository: these tests read it where it lies and show as
//! ignored where it is absent.
//!
//! For each `*.md` article the corpus' `articles.jsonl` holds the expected title, date, url and
//! body paragraphs. The tests check that the Markdown parser finds exactly those, that no page
//! furniture (captions, credits, teasers, bylines, footers, url lines) reaches the body, that
//! the JSONL line of the same article gives the same body, and that the Lead-3 summary of the
//! body is its first three sentences, split where a reader would split them.

mod common;

use common::corpus::read;

use serde_json::Value;
use svodka::article::{jsonl, markdown, paragraphs_of};
use svodka::backends::{Lead, Summarizer, SummaryInput};
use svodka::chunk::split_sentences;

/// Whitespace runs (NBSP included) folded to one space.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line of `articles.jsonl`, as the corpus states it.
struct Expected {
    id: String,
    lang: String,
    title: Option<String>,
    /// ISO day.
    date: Option<String>,
    url: Option<String>,
    paragraphs: Vec<String>,
    /// The raw JSONL line, for svodka's own JSONL reader.
    line: String,
}

fn expected() -> Vec<Expected> {
    let text = read("articles.jsonl");
    let out: Vec<Expected> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("articles.jsonl: {e}: {l}"));
            let s = |k: &str| v[k].as_str().map(str::to_string);
            Expected {
                id: s("id").expect("id"),
                lang: s("lang").expect("lang"),
                title: s("title").map(|t| collapse(&t)).filter(|t| !t.is_empty()),
                date: s("date").map(|d| d.chars().take(10).collect()),
                url: s("url"),
                paragraphs: paragraphs_of(&s("text").expect("text"))
                    .iter()
                    .map(|p| collapse(p))
                    .collect(),
                line: l.to_string(),
            }
        })
        .collect();
    assert_eq!(out.len(), 15, "articles.jsonl: 8 Russian and 7 English articles");
    out
}

/// The `.md` of `id` through svodka's Markdown parser; paragraphs whitespace-collapsed.
fn parsed(id: &str) -> markdown::Parsed {
    let mut p = markdown::parse(&read(&format!("{id}.md")));
    p.title = p.title.map(|t| collapse(&t));
    p.paragraphs = p.paragraphs.iter().map(|t| collapse(t)).collect();
    p
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn every_markdown_article_is_listed() {
    let ids: Vec<String> = expected().into_iter().map(|e| e.id).collect();
    let mut files: Vec<String> = std::fs::read_dir(common::corpus::dir())
        .expect("corpus dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".md") && n != "SOURCES.md")
        .map(|n| n.trim_end_matches(".md").to_string())
        .collect();
    files.sort();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        files, sorted,
        "the corpus' .md files and the ids in articles.jsonl differ"
    );
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn markdown_metadata_matches() {
    let mut failures = Vec::new();
    for e in expected() {
        let p = parsed(&e.id);
        if p.title != e.title {
            failures.push(format!("{}: title {:?}, expected {:?}", e.id, p.title, e.title));
        }
        if p.date != e.date {
            failures.push(format!("{}: date {:?}, expected {:?}", e.id, p.date, e.date));
        }
        if p.url != e.url {
            failures.push(format!("{}: url {:?}, expected {:?}", e.id, p.url, e.url));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn markdown_body_matches() {
    let mut failures = Vec::new();
    for e in expected() {
        let p = parsed(&e.id);
        if p.paragraphs != e.paragraphs {
            let at = p
                .paragraphs
                .iter()
                .zip(&e.paragraphs)
                .position(|(a, b)| a != b)
                .unwrap_or(p.paragraphs.len().min(e.paragraphs.len()));
            failures.push(format!(
                "{}: {} paragraphs, expected {}; first difference at paragraph {at}:\n  got      {:?}\n  expected {:?}",
                e.id,
                p.paragraphs.len(),
                e.paragraphs.len(),
                p.paragraphs.get(at),
                e.paragraphs.get(at)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What page furniture looks like, judged independently of the parser's own rules.
fn furniture(p: &str, title: Option<&str>) -> Option<&'static str> {
    let lower = p.to_lowercase();
    let words: Vec<&str> = p.split_whitespace().collect();
    let ends_sentence = p
        .trim_end_matches(['"', '\'', '»', '”', '’', ')', ']'])
        .ends_with(['.', '!', '?', '…', ':', ';']);
    let starts = |prefixes: &[&str]| prefixes.iter().any(|x| lower.starts_with(x));
    if p.contains("**") || p.contains("](") || p.starts_with(['#', '!', '>', '*']) {
        return Some("markdown markup");
    }
    if starts(&[
        "original url",
        "url:",
        "source:",
        "источник:",
        "http://",
        "https://",
        "<http",
    ]) {
        return Some("url line");
    }
    if starts(&[
        "photo:",
        "photo by",
        "фото:",
        "фото ",
        "image:",
        "caption:",
        "credit:",
        "иллюстрация:",
    ]) {
        return Some("photo credit");
    }
    if starts(&[
        "related",
        "read more",
        "read also",
        "see also",
        "читайте также",
        "смотрите также",
        "по теме:",
    ]) {
        return Some("teaser");
    }
    if lower.contains("contributed reporting")
        || lower.contains("contributed to this report")
        || starts(&["reporting by", "editing by", "при подготовке материала"])
        || lower.starts_with("continue reading")
    {
        return Some("footer");
    }
    if lower.starts_with("by ") && words.len() <= 6 && !ends_sentence {
        return Some("byline");
    }
    // A bare name line: two or three capitalised words, nothing else.
    if (2..=3).contains(&words.len()) && !ends_sentence && words.iter().all(|w| w.starts_with(char::is_uppercase)) {
        return Some("byline (bare name)");
    }
    let agency = [
        "/ tass",
        "/ ap",
        "/ afp",
        "/ reuters",
        "/ epa",
        "/ тасс",
        "/ риа новости",
        "getty images",
        "/ pool",
    ];
    if words.len() <= 40 && !ends_sentence && agency.iter().any(|a| lower.ends_with(a)) {
        return Some("caption with agency credit");
    }
    if title.is_some_and(|t| collapse(t) == p) {
        return Some("the title again");
    }
    None
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn no_furniture_in_body() {
    let mut failures = Vec::new();
    for e in expected() {
        let p = parsed(&e.id);
        assert!(!p.paragraphs.is_empty(), "{}: no body", e.id);
        for para in &p.paragraphs {
            if let Some(kind) = furniture(para, p.title.as_deref()) {
                failures.push(format!("{}: {kind}: {para:?}", e.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn jsonl_line_gives_the_markdown_body() {
    for e in expected() {
        let line = jsonl::parse(e.line.as_bytes()).unwrap_or_else(|err| panic!("{}: {err:?}", e.id));
        assert_eq!(line.id.as_deref(), Some(e.id.as_str()));
        assert_eq!(line.lang.as_deref(), Some(e.lang.as_str()), "{}", e.id);
        let from_jsonl: Vec<String> = paragraphs_of(&line.text).iter().map(|p| collapse(p)).collect();
        let p = parsed(&e.id);
        assert_eq!(
            from_jsonl, p.paragraphs,
            "{}: JSONL body differs from the .md body",
            e.id
        );
        assert_eq!(line.title.map(|t| collapse(&t)), p.title, "{}: title", e.id);
        assert_eq!(line.url, p.url, "{}: url", e.id);
        let day = line.date.as_deref().and_then(svodka::article::date::parse_date_value);
        assert_eq!(day, p.date, "{}: date", e.id);
    }
}

fn lead3(body: &str, lang: &str) -> String {
    let input = SummaryInput {
        text: body,
        source_lang: lang,
        target_lang: lang,
    };
    Lead::new(3).summarize(&[input]).remove(0).expect("lead-3 never fails")
}

/// Words a sentence can not end on although a full stop follows them: initials and the
/// abbreviations news text uses before a name or a number.
fn ends_on_abbreviation(sentence: &str) -> bool {
    let last = sentence
        .trim_end()
        .trim_end_matches(['"', '\'', '»', '”', '’', ')', ']'])
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("");
    let Some(word) = last.strip_suffix('.') else {
        return false;
    };
    let word = word.trim_start_matches(['(', '"', '«', '“']);
    let initial = word.chars().count() == 1 && word.starts_with(char::is_uppercase);
    let abbreviation = [
        "Dr", "Mr", "Mrs", "Ms", "St", "Prof", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "No", "U.S", "U.K", "U.N",
        "им", "ул", "проф", "акад", "ген", "св", "т", "т.е", "т.н",
    ];
    initial || abbreviation.contains(&word)
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn lead3_is_the_first_three_body_sentences() {
    for e in expected() {
        let p = parsed(&e.id);
        // The body as svodka builds an article's body from the paragraphs.
        let body = p.paragraphs.join("\n\n");
        let summary = lead3(&body, &e.lang);

        // The same three sentences through the public splitter.
        let ranges = split_sentences(&body, &e.lang);
        assert!(ranges.len() >= 3, "{}: only {} sentences", e.id, ranges.len());
        let first3: Vec<String> = ranges[..3].iter().map(|r| collapse(&body[r.clone()])).collect();
        assert_eq!(
            summary,
            first3.join(" "),
            "{}: lead-3 is not the first three sentences",
            e.id
        );

        // Independently of the splitter: the summary is the beginning of the body…
        let flat = collapse(&body);
        assert!(
            flat.starts_with(&summary),
            "{}: lead-3 is not a prefix of the body:\n{summary}",
            e.id
        );
        let opening: Vec<&str> = p.paragraphs[0].split_whitespace().take(6).collect();
        assert!(
            summary.starts_with(&opening.join(" ")),
            "{}: lead-3 does not open with the first paragraph",
            e.id
        );
        assert!(summary.len() < flat.len(), "{}: lead-3 is the whole body", e.id);
        // …and each of its three sentences is a whole sentence: it ends on a terminator that is
        // not an initial or an abbreviation, and the text after it starts a new sentence.
        let mut offset = 0;
        for (i, s) in first3.iter().enumerate() {
            let bare = s.trim_end_matches(['"', '\'', '»', '”', '’', ')', ']']);
            assert!(
                bare.ends_with(['.', '!', '?', '…']),
                "{}: sentence {i} of lead-3 does not end a sentence: {s:?}",
                e.id
            );
            assert!(
                !ends_on_abbreviation(s),
                "{}: sentence {i} of lead-3 ends on an initial or abbreviation: {s:?}",
                e.id
            );
            // A sentence says something: a few lowercase words, not just a place, a date and an
            // agency (`МОСКВА, 10 авг - РИА Новости.`).
            let lowercase = s
                .split_whitespace()
                .filter(|w| {
                    w.trim_start_matches(|c: char| !c.is_alphanumeric())
                        .starts_with(char::is_lowercase)
                })
                .count();
            assert!(lowercase >= 3, "{}: sentence {i} of lead-3 is a fragment: {s:?}", e.id);
            offset += s.len() + 1;
            let next = flat.get(offset..).unwrap_or("");
            let first = next
                .trim_start_matches(['"', '\'', '«', '“', '„', '(', '['])
                .chars()
                .next();
            assert!(
                first.is_none_or(|c| c.is_uppercase() || c.is_numeric()),
                "{}: sentence {} of the body starts mid-sentence: {:?}",
                e.id,
                i + 1,
                next.chars().take(60).collect::<String>()
            );
        }
        assert_eq!(offset.min(flat.len() + 1), summary.len() + 1);
    }
}

#[test]
#[cfg_attr(
    not(real_corpus),
    ignore = "real corpus absent: set SVODKA_REAL_CORPUS to ../shared/real-corpus"
)]
fn real_articles_are_never_taken_for_each_other_and_their_copies_are_found() {
    use svodka::dedup::{Index, Mode};
    let bodies: Vec<(String, String)> = expected()
        .into_iter()
        .map(|e| (e.id.clone(), e.paragraphs.join("\n\n")))
        .collect();
    let mut ix = Index::new(Mode::Near, 0.8);
    for (id, body) in &bodies {
        assert_eq!(
            ix.check_or_insert(id, body),
            None,
            "{id} taken for a copy of an earlier article"
        );
    }
    // Copies of each: the first paragraph dropped, a line of boilerplate appended.
    let mut found = 0;
    for (id, body) in &bodies {
        let paragraphs: Vec<&str> = body.split("\n\n").collect();
        let copy = format!(
            "{}\n\nRead more: subscribe to our channel for the news of the day.",
            paragraphs[1.min(paragraphs.len() - 1)..].join("\n\n")
        );
        if ix.check_or_insert(&format!("{id}-copy"), &copy) == Some(id.as_str()) {
            found += 1;
        } else {
            eprintln!("{id}: its copy without the first paragraph was not found");
        }
    }
    assert!(
        found * 100 >= bodies.len() * 80,
        "{found} of {} copies found",
        bodies.len()
    );
}
