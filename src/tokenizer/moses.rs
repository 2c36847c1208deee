//! sacremoses' `MosesPunctNormalizer(lang).normalize(text)` with its default options
//! (`penn=True, norm_quote_commas=True, norm_numbers=True, pre_replace_unicode_punct=False,
//! post_remove_control_chars=False, perl_parity=False`), ported from sacremoses 0.2.0 `normalize.py`.
//!
//! Why it exists although nothing applies it: transformers' `MarianTokenizer.__init__` builds
//! `MosesPunctNormalizer(source_lang).normalize` and defines `MarianTokenizer.normalize(x)`, but no code path
//! calls it when encoding — not `__call__`, `encode`, `tokenize` nor `_tokenize` (checked in
//! `models/marian/tokenization_marian.py` of transformers 4.57.6, the version svodka's fixtures pin, and of
//! 5.24.0; the fixture generator records `sacremoses_punct_normalization_applied: false` too). Only the
//! transformers 3.x / early 4.x
//! `prepare_seq2seq_batch(src_texts, ...)` ran `src_texts = [self.normalize(t) for t in src_texts]` (source
//! side only; the comment there reads "this does not appear to do much"); that method has since been removed.
//! So [`crate::tokenizer::MarianTokenizer`] does not call this; it is here, cheap, for callers that want the
//! OPUS-MT training-time preprocessing. Hand-written because no Rust crate ports sacremoses.

use std::sync::LazyLock;

use regex::Regex;

use super::py_strip;

/// `(pattern, replacement)`: Python `re` patterns translated to the `regex` crate (`\g<1>` → `${1}`);
/// Python's `\s` also matches U+001C..U+001F, written out where `\s` occurs.
type Rules = Vec<(Regex, &'static str)>;

fn rules(list: &[(&str, &'static str)]) -> Rules {
    list.iter()
        .map(|(p, r)| (Regex::new(p).expect("static Moses pattern"), *r))
        .collect()
}

static EXTRA_WHITESPACE: LazyLock<Rules> = LazyLock::new(|| {
    rules(&[
        (r"\r", ""),
        (r"\(", " ("),
        (r"\)", ") "),
        (r" +", " "),
        (r"\) ([.!:?;,])", ")${1}"),
        (r"\( ", "("),
        (r" \)", ")"),
        (r"(\d) %", "${1}%"),
        (r" :", ":"),
        (r" ;", ";"),
    ])
});

static NORMALIZE_UNICODE_IF_NOT_PENN: LazyLock<Rules> = LazyLock::new(|| rules(&[(r"`", "'"), (r"''", " \" ")]));

static NORMALIZE_UNICODE: LazyLock<Rules> = LazyLock::new(|| {
    rules(&[
        ("„", "\""),
        ("“", "\""),
        ("”", "\""),
        ("–", "-"),
        ("—", " - "),
        (r" +", " "),
        ("´", "'"),
        ("([a-zA-Z])‘([a-zA-Z])", "${1}'${2}"),
        ("([a-zA-Z])’([a-zA-Z])", "${1}'${2}"),
        ("‘", "'"),
        ("‚", "'"),
        ("’", "'"),
        (r"''", "\""),
        ("´´", "\""),
        ("…", "..."),
    ])
});

static FRENCH_QUOTES: LazyLock<Rules> = LazyLock::new(|| {
    rules(&[
        ("\u{a0}«\u{a0}", "\""),
        ("«\u{a0}", "\""),
        ("«", "\""),
        ("\u{a0}»\u{a0}", "\""),
        ("\u{a0}»", "\""),
        ("»", "\""),
    ])
});

static HANDLE_PSEUDO_SPACES: LazyLock<Rules> = LazyLock::new(|| {
    rules(&[
        ("\u{a0}%", "%"),
        ("nº\u{a0}", "nº "),
        ("\u{a0}:", ":"),
        ("\u{a0}ºC", " ºC"),
        ("\u{a0}cm", " cm"),
        ("\u{a0}\\?", "?"),
        ("\u{a0}\\!", "!"),
        ("\u{a0};", ";"),
        (",\u{a0}", ", "),
        (r" +", " "),
    ])
});

static EN_QUOTATION_FOLLOWED_BY_COMMA: LazyLock<Rules> = LazyLock::new(|| rules(&[(r#""([,.]+)"#, "${1}\"")]));

static DE_ES_FR_QUOTATION_FOLLOWED_BY_COMMA: LazyLock<Rules> = LazyLock::new(|| {
    rules(&[
        (r#",""#, "\","),
        // don't fix period at end of sentence
        (r#"(\.+)"([\s\x1c-\x1f]*[^<])"#, "\"${1}${2}"),
    ])
});

static DE_ES_CZ_CS_FR: LazyLock<Rules> = LazyLock::new(|| rules(&[("(\\d)\u{a0}(\\d)", "${1},${2}")]));

static OTHER: LazyLock<Rules> = LazyLock::new(|| rules(&[("(\\d)\u{a0}(\\d)", "${1}.${2}")]));

/// sacremoses' `MosesPunctNormalizer(lang).normalize(text)` with its default options. `MarianTokenizer`
/// does not apply it on encode in any transformers version (only the long-removed `prepare_seq2seq_batch`
/// did); see the module docs.
pub fn normalize_punct(text: &str, lang: &str) -> String {
    let quote_commas: Option<&Rules> = match lang {
        "en" => Some(&EN_QUOTATION_FOLLOWED_BY_COMMA),
        "de" | "es" | "fr" => Some(&DE_ES_FR_QUOTATION_FOLLOWED_BY_COMMA),
        _ => None,
    };
    let numbers: &Rules = match lang {
        "de" | "es" | "cz" | "cs" | "fr" => &DE_ES_CZ_CS_FR,
        _ => &OTHER,
    };
    let groups: [Option<&Rules>; 7] = [
        Some(&EXTRA_WHITESPACE),
        Some(&NORMALIZE_UNICODE_IF_NOT_PENN),
        Some(&NORMALIZE_UNICODE),
        Some(&FRENCH_QUOTES),
        Some(&HANDLE_PSEUDO_SPACES),
        quote_commas,
        Some(numbers),
    ];
    let mut text = text.to_string();
    for (re, replacement) in groups.into_iter().flatten().flat_map(|g| g.iter()) {
        if let std::borrow::Cow::Owned(s) = re.replace_all(&text, *replacement) {
            text = s;
        }
    }
    py_strip(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(normalize_punct("Hello , world ( x ) !", "en"), "Hello , world (x)!");
        assert_eq!(normalize_punct("«Привет»", "ru"), "\"Привет\"");
        assert_eq!(normalize_punct("He said \"hi\".", "en"), "He said \"hi.\"");
        assert_eq!(normalize_punct("1\u{a0}000", "fr"), "1,000");
        assert_eq!(normalize_punct("", "en"), "");
    }
}
