//! Checks on every model output: the ways small models fail that a reader of 20,000 summaries
//! cannot see for themselves — an answer that loops, a translation that copies its source or
//! leaves words in the source's script, an answer in the wrong language, one cut off at the
//! token limit, an empty one, numbers and dates changed on the way (`3,8 %` → `38%`, `68 млрд`
//! → `68 million`), and a length far outside the usual for the language pair.
//!
//! Each check is cheap and deterministic (no model): it reads the output beside its source and
//! says yes or no, so the same run flags the same outputs. They are pure functions here; the
//! pipeline decides what to do with a flag (record it, retry once).

pub mod numbers;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// One kind of flaw. The names are those of the records' `checks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Nothing but spaces and punctuation.
    Empty,
    /// Generation stopped at its token limit, not at an end token.
    Truncated,
    /// A loop: a sentence said twice, a phrase repeated back to back, or mostly repeated n-grams.
    Repetition,
    /// The source given back: mostly equal to it, or (translations) words left in the source's script.
    Copy,
    /// Not in the language asked for.
    Language,
    /// A number, amount, percentage or date of the source missing (translations) or changed.
    Numbers,
    /// Far outside the usual length for the language pair.
    Length,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::Empty,
        Check::Truncated,
        Check::Repetition,
        Check::Copy,
        Check::Language,
        Check::Numbers,
        Check::Length,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Empty => "empty",
            Check::Truncated => "truncated",
            Check::Repetition => "repetition",
            Check::Copy => "copy",
            Check::Language => "language",
            Check::Numbers => "numbers",
            Check::Length => "length",
        }
    }
}

/// What the output is of its source: a translation must keep every number, a summary may leave
/// some out but not change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Summary,
    Translation,
}

/// One model output beside what it was made from.
#[derive(Clone, Copy, Debug)]
pub struct Output<'a> {
    pub kind: Kind,
    pub source: &'a str,
    /// The source's language (ISO 639-1).
    pub source_lang: &'a str,
    pub text: &'a str,
    /// The language asked for.
    pub lang: &'a str,
    /// Generation stopped at `max_new_tokens`.
    pub hit_limit: bool,
}

/// Below this many letters the language detector is not asked: a name or a number alone says
/// nothing about the language.
const LANGUAGE_MIN_LETTERS: usize = 20;
/// The detector must be this sure of the other language before an output is flagged.
const LANGUAGE_MIN_CONFIDENCE: f64 = 0.5;
/// Usual length of a translation over its source, in characters (news, measured on WMT
/// newstest2019's human references: Russian takes about 1.1 times the English).
const LENGTH_RATIO: &[(&str, &str, f64)] = &[("ru", "en", 0.9), ("en", "ru", 1.1)];
/// A translation flagged for length is outside [usual / this, usual × this].
const LENGTH_SPREAD: f64 = 2.0;
/// Sources shorter than this (characters) are not judged for length: one word's translation may
/// well be three.
const LENGTH_MIN_SOURCE: usize = 40;

/// The flaws found in `o` (none when it looks sound), in [`Check::ALL`]'s order. `served`:
/// the languages the detector favours (`language.served`).
pub fn check(o: &Output, served: &[String]) -> Vec<Check> {
    let mut found = Vec::new();
    if !o.text.chars().any(char::is_alphanumeric) {
        found.push(Check::Empty);
        if o.hit_limit {
            found.push(Check::Truncated);
        }
        return found;
    }
    if o.hit_limit {
        found.push(Check::Truncated);
    }
    if repeats(o.text) {
        found.push(Check::Repetition);
    }
    if copies(o) {
        found.push(Check::Copy);
    }
    if wrong_language(o, served) {
        found.push(Check::Language);
    }
    if changes_numbers(o) {
        found.push(Check::Numbers);
    }
    if bad_length(o) {
        found.push(Check::Length);
    }
    found
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn sentences(text: &str) -> Vec<Vec<String>> {
    text.split(['.', '!', '?', '\n', '。'])
        .map(words)
        .filter(|w| !w.is_empty())
        .collect()
}

/// A sentence of 3+ words said twice; a phrase of 1–20 words said 3 times back to back; or,
/// over 12+ four-word windows, fewer than 60% of them distinct.
fn repeats(text: &str) -> bool {
    let mut seen = HashSet::new();
    for s in sentences(text).into_iter().filter(|s| s.len() >= 3) {
        if !seen.insert(s) {
            return true;
        }
    }
    let w = words(text);
    for len in 1..=20.min(w.len() / 3) {
        for start in 0..=w.len() - 3 * len {
            let a = &w[start..start + len];
            // Single words repeat legitimately ("very very"): a one-word loop needs 4.
            let times = if len == 1 { 4 } else { 3 };
            if start + times * len <= w.len() && (1..times).all(|k| &w[start + k * len..start + (k + 1) * len] == a) {
                return true;
            }
        }
    }
    if w.len() >= 15 {
        let grams: Vec<_> = w.windows(4).collect();
        let distinct: HashSet<_> = grams.iter().collect();
        if (distinct.len() as f64) < 0.6 * grams.len() as f64 {
            return true;
        }
    }
    false
}

#[derive(PartialEq, Clone, Copy)]
enum Script {
    Latin,
    Cyrillic,
}

fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    match c as u32 {
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Some(Script::Cyrillic),
        0x0041..=0x024F | 0x1E00..=0x1EFF => Some(Script::Latin),
        _ => None,
    }
}

fn script_of_lang(lang: &str) -> Option<Script> {
    match lang {
        "ru" | "uk" | "be" | "bg" | "sr" | "mk" | "kk" => Some(Script::Cyrillic),
        "en" | "de" | "fr" | "es" | "it" | "pt" | "pl" | "nl" | "cs" => Some(Script::Latin),
        _ => None,
    }
}

/// Word 3-grams of `text` found in `source`, as a share of `text`'s.
fn contained(text: &[String], source: &[String]) -> f64 {
    if text.len() < 3 {
        return if !text.is_empty() && text.iter().all(|w| source.contains(w)) {
            1.0
        } else {
            0.0
        };
    }
    let have: HashSet<_> = source.windows(3).collect();
    let grams: Vec<_> = text.windows(3).collect();
    grams.iter().filter(|g| have.contains(*g)).count() as f64 / grams.len() as f64
}

/// A summary that is its source (nearly all of it, nearly word for word); a translation that
/// repeats its source, mixes scripts inside a word (`Zakharченко`), keeps a word of a Cyrillic
/// source in a Latin-script target (`Киев will plan`), or 4+ Latin words in a row of its Latin
/// source in a Cyrillic target (a name or a brand may stay Latin in Russian, a phrase may not).
fn copies(o: &Output) -> bool {
    let out = words(o.text);
    let src = words(o.source);
    match o.kind {
        Kind::Summary => src.len() >= 30 && out.len() * 10 >= src.len() * 9 && contained(&out, &src) >= 0.9,
        Kind::Translation => {
            if o.source_lang != o.lang && out.len() >= 3 && contained(&out, &src) >= 0.8 {
                return true;
            }
            let target = script_of_lang(o.lang);
            let source = script_of_lang(o.source_lang);
            let mut latin_run = 0;
            for w in o.text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()) {
                let scripts: Vec<_> = w.chars().filter_map(script_of).collect();
                let has = |s| scripts.contains(&s);
                if has(Script::Latin) && has(Script::Cyrillic) {
                    return true;
                }
                if target == Some(Script::Latin)
                    && source == Some(Script::Cyrillic)
                    && has(Script::Cyrillic)
                    && w.chars().count() >= 2
                {
                    return true;
                }
                if target == Some(Script::Cyrillic) && source == Some(Script::Latin) {
                    let in_source = src.contains(&w.to_lowercase());
                    latin_run = if has(Script::Latin) && !has(Script::Cyrillic) && in_source {
                        latin_run + 1
                    } else {
                        0
                    };
                    if latin_run >= 4 {
                        return true;
                    }
                }
            }
            false
        }
    }
}

fn wrong_language(o: &Output, served: &[String]) -> bool {
    if o.text.chars().filter(|c| c.is_alphabetic()).count() < LANGUAGE_MIN_LETTERS {
        return false;
    }
    match crate::article::lang::detect(o.text, served) {
        Some((lang, confidence)) => lang != o.lang && confidence >= LANGUAGE_MIN_CONFIDENCE,
        None => false,
    }
}

/// A translation must keep every number of its source and add none; a summary may leave
/// numbers out but every number it gives must be one of the source's.
fn changes_numbers(o: &Output) -> bool {
    let src = numbers::facts(o.source, o.source_lang);
    let out = numbers::facts(o.text, o.lang);
    if !numbers::unmatched(&out, &src).is_empty() {
        return true;
    }
    o.kind == Kind::Translation && !numbers::unmatched(&src, &out).is_empty()
}

/// A translation outside [usual / 2, usual × 2] of its source's length; a summary longer than
/// its source, or of under 4 words for a source of 50 or more.
fn bad_length(o: &Output) -> bool {
    let (n_src, n_out) = (o.source.trim().chars().count(), o.text.trim().chars().count());
    match o.kind {
        Kind::Summary => {
            n_out as f64 > 1.2 * n_src as f64 + 40.0 || (words(o.text).len() < 4 && words(o.source).len() >= 50)
        }
        Kind::Translation => {
            if n_src < LENGTH_MIN_SOURCE {
                return false;
            }
            let usual = LENGTH_RATIO
                .iter()
                .find(|(s, t, _)| *s == o.source_lang && *t == o.lang)
                .map_or(1.0, |r| r.2);
            let ratio = n_out as f64 / n_src as f64;
            ratio < usual / LENGTH_SPREAD || ratio > usual * LENGTH_SPREAD
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<String> {
        vec!["en".into(), "ru".into()]
    }

    fn tr<'a>(source: &'a str, from: &'a str, text: &'a str, to: &'a str) -> Vec<Check> {
        check(
            &Output {
                kind: Kind::Translation,
                source,
                source_lang: from,
                text,
                lang: to,
                hit_limit: false,
            },
            &served(),
        )
    }

    fn sum<'a>(source: &'a str, lang: &'a str, text: &'a str, to: &'a str) -> Vec<Check> {
        check(
            &Output {
                kind: Kind::Summary,
                source,
                source_lang: lang,
                text,
                lang: to,
                hit_limit: false,
            },
            &served(),
        )
    }

    const RU: &str = "Инфляция в стране в августе замедлилась до 3,8 % в годовом выражении, сообщил \
                      Росстат. Бюджет получил дополнительные 68 млрд рублей. Новые правила вступят в \
                      силу 1 сентября.";
    const EN: &str = "Annual inflation in the country slowed to 3.8% in August, Rosstat said. The \
                      budget received an additional 68 billion roubles. The new rules take effect on \
                      September 1.";

    #[test]
    fn a_correct_translation_is_not_flagged_either_way() {
        assert_eq!(tr(RU, "ru", EN, "en"), vec![]);
        assert_eq!(tr(EN, "en", RU, "ru"), vec![]);
    }

    #[test]
    fn numbers_changed_or_missing() {
        let moved = EN.replace("3.8%", "38%");
        assert_eq!(tr(RU, "ru", &moved, "en"), vec![Check::Numbers]);
        let scale = EN.replace("68 billion", "68 million");
        assert_eq!(tr(RU, "ru", &scale, "en"), vec![Check::Numbers]);
        let date = EN.replace("September 1", "September 10");
        assert_eq!(tr(RU, "ru", &date, "en"), vec![Check::Numbers]);
        let missing = EN.replace(" to 3.8% in August", " in August");
        assert_eq!(tr(RU, "ru", &missing, "en"), vec![Check::Numbers]);
        let ru_moved = RU.replace("3,8 %", "38 %");
        assert_eq!(tr(EN, "en", &ru_moved, "ru"), vec![Check::Numbers]);
        // A summary may leave numbers out, not change them.
        assert_eq!(sum(RU, "ru", "Инфляция замедлилась до 3,8 %.", "ru"), vec![]);
        assert_eq!(
            sum(RU, "ru", "Инфляция замедлилась до 3,5 %.", "ru"),
            vec![Check::Numbers]
        );
        assert_eq!(
            sum(
                EN,
                "en",
                "Inflation slowed to 3.8%; the budget got 68 bn roubles more.",
                "en"
            ),
            vec![]
        );
    }

    #[test]
    fn source_script_left_in_a_translation() {
        let src = "По его словам, таким образом Киев планирует усилить группировку.";
        assert_eq!(
            tr(
                src,
                "ru",
                "By his words, such a way, Киев will plan to strengthen the group.",
                "en"
            ),
            vec![Check::Copy]
        );
        assert_eq!(
            tr(
                "Об этом заявил Александр Захарченко.",
                "ru",
                "This was stated by Alexander Zakharченко.",
                "en"
            ),
            vec![Check::Copy]
        );
        assert_eq!(
            tr(
                "Так заявил Александр Захарченко.",
                "ru",
                "So said Alexander Zakharchenko.",
                "en"
            ),
            vec![]
        );
        // A brand stays Latin in Russian; a copied phrase does not.
        let en = "Apple unveiled a new iPhone at its annual event in California on Tuesday.";
        assert_eq!(
            tr(
                en,
                "en",
                "Apple представила новый iPhone на ежегодной презентации в Калифорнии во вторник.",
                "ru"
            ),
            vec![]
        );
        assert_eq!(
            tr(
                en,
                "en",
                "Компания: Apple unveiled a new iPhone на ежегодной презентации в Калифорнии во вторник.",
                "ru"
            ),
            vec![Check::Copy]
        );
        assert_eq!(tr(EN, "en", EN, "ru"), vec![Check::Copy, Check::Language]);
    }

    #[test]
    fn wrong_language() {
        assert_eq!(
            sum(RU, "ru", "Инфляция в стране замедлилась, сообщил Росстат.", "en"),
            vec![Check::Language]
        );
        assert_eq!(
            sum(EN, "en", "Inflation in the country slowed, Rosstat said.", "ru"),
            vec![Check::Language]
        );
        assert_eq!(
            sum(RU, "ru", "Inflation in the country slowed, Rosstat said.", "en"),
            vec![]
        );
        // Too short to judge: a name.
        assert_eq!(sum(EN, "en", "Росстат", "en"), vec![]);
    }

    #[test]
    fn loops_are_repetition_and_plain_prose_is_not() {
        let en_loop = "The budget grew. The budget grew. The budget grew.";
        assert_eq!(sum(EN, "en", en_loop, "en"), vec![Check::Repetition]);
        let ru_loop = "Бюджет получил дополнительные средства и и и и и";
        assert_eq!(sum(RU, "ru", ru_loop, "ru"), vec![Check::Repetition]);
        let phrase = "Росстат сообщил, что инфляция замедлилась, инфляция замедлилась, инфляция замедлилась";
        assert_eq!(sum(RU, "ru", phrase, "ru"), vec![Check::Repetition]);
        assert_eq!(
            sum(
                EN,
                "en",
                "Inflation slowed very, very sharply in August, Rosstat said.",
                "en"
            ),
            vec![]
        );
    }

    #[test]
    fn empty_truncated_and_length() {
        assert_eq!(sum(EN, "en", " ... ", "en"), vec![Check::Empty]);
        let cut = Output {
            kind: Kind::Translation,
            source: RU,
            source_lang: "ru",
            text: EN,
            lang: "en",
            hit_limit: true,
        };
        assert_eq!(check(&cut, &served()), vec![Check::Truncated]);
        assert_eq!(
            tr(RU, "ru", "Inflation slowed.", "en"),
            vec![Check::Numbers, Check::Length]
        );
        let long = format!("{EN} {EN}");
        assert!(tr(RU, "ru", &long, "en").contains(&Check::Length));
        let long_summary = format!("{RU} Кроме того, {RU}");
        assert!(sum(RU, "ru", &long_summary, "ru").contains(&Check::Length));
    }

    #[test]
    fn russian_outputs_are_judged_the_same_way() {
        // Empty and cut off.
        assert_eq!(sum(RU, "ru", " — ", "ru"), vec![Check::Empty]);
        let cut = Output {
            kind: Kind::Translation,
            source: EN,
            source_lang: "en",
            text: RU,
            lang: "ru",
            hit_limit: true,
        };
        assert_eq!(check(&cut, &served()), vec![Check::Truncated]);
        // Far too short, and far too long, for an en -> ru translation.
        assert!(tr(EN, "en", "Инфляция замедлилась.", "ru").contains(&Check::Length));
        assert!(tr(EN, "en", &format!("{RU} {RU} {RU}"), "ru").contains(&Check::Length));
        // A Russian summary that is its source.
        let src = format!("{RU} Министерство сообщило, что меры пересмотрят в следующем году.");
        assert_eq!(sum(&src, "ru", &src, "ru"), vec![Check::Copy]);
        // An English source copied into a "Russian" translation.
        assert!(tr(EN, "en", EN, "ru").contains(&Check::Copy));
        // Numbers: the words of Russian notation read as numbers.
        assert_eq!(
            tr(EN, "en", &RU.replace("68 млрд", "68 млн"), "ru"),
            vec![Check::Numbers]
        );
        assert_eq!(
            tr(EN, "en", &RU.replace("1 сентября", "1 октября"), "ru"),
            vec![Check::Numbers]
        );
        // Must not fire: the same facts written another way.
        assert_eq!(
            tr(
                EN,
                "en",
                &RU.replace("3,8 %", "3,8%").replace("68 млрд", "68 миллиардов"),
                "ru"
            ),
            vec![]
        );
    }

    #[test]
    fn a_summary_that_is_its_source_is_a_copy() {
        let src =
            format!("{EN} The ministry said the measures would be reviewed next year and more rules would follow.");
        assert_eq!(sum(&src, "en", &src, "en"), vec![Check::Copy]);
        assert_eq!(
            sum(
                &src,
                "en",
                "Annual inflation slowed to 3.8% in August, Rosstat said.",
                "en"
            ),
            vec![]
        );
    }
}
