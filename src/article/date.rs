//! Recognising publication dates in article text and metadata, normalised to ISO `YYYY-MM-DD`.
//!
//! Two entry points with different strictness:
//! - [`parse_date_line`] decides whether a whole *line of text* is a date line (the "Published: …"
//!   line under a headline). It must reject body sentences that merely mention a date, so the
//!   grammar is anchored at both ends and every token on the line has to be accounted for.
//! - [`parse_date_value`] reads a *machine value* (`<time datetime>`, `article:published_time`,
//!   a JSON `"date"` field), where the date is known to be the point of the string, so it is
//!   additionally lenient about whatever follows an ISO `YYYY-MM-DDT`.
//!
//! The grammar is one anchored regex over a normalised line (lowercased, emphasis markers removed,
//! whitespace collapsed) rather than a hand-written tokenizer: the accepted forms are a fixed,
//! documented list and a regex keeps that list readable in one place. Calendar validity (month
//! lengths, leap years) is checked by hand afterwards, since regexes cannot express it and the
//! crate deliberately avoids a date-library dependency for this one check.
//!
//! Time zones are never applied: "2025-09-01T23:30:00-05:00" is reported as 2025-09-01, the
//! publisher's own calendar date, which is what a reader of that page saw as the publication day.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// English month names and abbreviations. Longer alternatives come first only for readability;
/// the pattern is anchored at both ends, so the regex engine picks whichever one completes a match.
const EN_MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|\
                         november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

/// Russian month names in the genitive case ("1 сентября"), which is the only grammatical form
/// after a day number, plus the abbreviations news sites print ("1 сент. 2025").
const RU_MONTHS: &str = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|\
                         ноября|декабря|янв|февр|фев|мар|апр|июн|июл|авг|сент|сен|окт|нояб|ноя|дек";

/// Month keys by the first three letters of any accepted spelling: every full name and
/// abbreviation above is unambiguous at three letters ("мая" is May, "мар" is March).
const EN_KEYS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const RU_KEYS: [&str; 12] = [
    "янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

const WEEKDAYS: &str = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|\
                        mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|\
                        понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|\
                        пн|вт|ср|чт|пт|сб|вс";

/// Time-zone designators accepted after a time. A closed list rather than "any short word", so
/// that "September 1, 2025 10:35 and" is still rejected as not being a pure date line.
const ZONES: &str = "utc|gmt|z|msk|мск|et|est|edt|ct|cst|cdt|mt|mst|mdt|pt|pst|pdt|\
                     bst|cet|cest|eet|eest|ist|jst|aest|aedt";

static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    // Label before the date ("Published:", "Опубликовано:"), colon optional because sites
    // print both "Published: Sep 1" and "Published Sep 1".
    let prefix = r"(?:(?:published|updated|posted)(?:\s+on)?|опубликовано|обновлено|дата(?:\s+публикации)?)\s*:?\s*";
    let weekday = format!(r"(?:(?:{WEEKDAYS})\.?,?\s+)");
    // Each alternative has its own capture names because the regex crate forbids duplicates.
    let core = format!(
        r"(?x:
            # September 1, 2025 / Sept. 1st, 2025
            (?P<m1>{EN_MONTHS})\.?\s+(?P<d1>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>[0-9]{{4}})
          | # 1 September 2025 / 1 сентября 2025 г. / 1 сентября 2025 года
            (?P<d2>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{EN_MONTHS}|{RU_MONTHS})\.?,?\s+(?P<y2>[0-9]{{4}})
            (?:\s*(?:года|год|г)\.?)?
          | # 2025-09-01, 2025/09/01, 2025-09-01T10:00:00.000+03:00
            (?P<y3>[0-9]{{4}})[-/](?P<m3>[0-9]{{1,2}})[-/](?P<d3>[0-9]{{1,2}})
            (?:t[0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:\.[0-9]+)?)?(?:z|[+-][0-9]{{2}}(?::?[0-9]{{2}})?)?)?
          | # 01.09.2025 (Russian order: day first)
            (?P<d4>[0-9]{{1,2}})\.(?P<m4>[0-9]{{1,2}})\.(?P<y4>[0-9]{{4}})(?:\s*г\.?)?
        )"
    );
    // Optional time after the date: "10:35", "10:35 AM", "10:35 MSK", ", 14:35", "в 14:35",
    // "| 10:35", and RFC 2822's "10:00:00 +0000" (so RSS pubDate values work too).
    let time = format!(
        r"(?:\s*(?:,|в|at|@|-|–|—|\||·)?\s*[0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}})?
            (?:\s*(?:am|pm|a\.m\.|p\.m\.))?
            (?:\s*\(?(?:{ZONES})\)?)?
            (?:\s*[+-][0-9]{{1,2}}(?::?[0-9]{{2}})?)?)?"
    );
    let pattern = format!(r"^(?:{prefix})?{weekday}?{core}(?x:{time})[.,]?$");
    Regex::new(&pattern).expect("date grammar is a valid regex")
});

/// Machine values that start with an ISO date and a `T` may carry any time/zone tail
/// (nanoseconds, "[Europe/Moscow]", "+0300"...), none of which affects the calendar date.
static ISO_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})t").expect("ISO prefix is a valid regex"));

/// If `line` is (only) a publication date line, return it as ISO `YYYY-MM-DD`.
///
/// Accepts, case-insensitively, optionally surrounded by emphasis markers (`*`, `_`) and
/// whitespace, optionally prefixed by "Published:", "Updated:", "Опубликовано:", "Дата:", an
/// optional weekday before the date and an optional time after it:
///  - English: "September 01, 2025", "September 1, 2025", "Sept. 1, 2025", "Sep 1, 2025",
///    "1 September 2025"
///  - ISO: "2025-09-01", "2025-09-01T10:00:00Z", "2025-09-01 10:00", "2025/09/01"
///  - Russian: "1 сентября 2025", "1 сентября 2025 г.", "1 сентября 2025 года", "01.09.2025",
///    "01.09.2025 14:35"
///
/// Returns `None` for anything else, for impossible dates ("2025-02-30", "31 апреля 2025"), and
/// for lines with other words ("On September 1, 2025 the summit opened.").
pub fn parse_date_line(line: &str) -> Option<String> {
    let normalised = normalise(line);
    if normalised.is_empty() {
        return None;
    }
    let caps = DATE_LINE.captures(&normalised)?;
    let (year, month, day) = ymd_from(&caps)?;
    format_valid(year, month, day)
}

/// Parse a date value from metadata (HTML `<time datetime>`, `meta article:published_time`,
/// JSON `"date"` fields): ISO datetimes with offsets ("2025-09-01T10:00:00+03:00") plus
/// everything [`parse_date_line`] accepts. Returns ISO `YYYY-MM-DD` or `None`.
pub fn parse_date_value(s: &str) -> Option<String> {
    if let Some(date) = parse_date_line(s) {
        return Some(date);
    }
    let lower = s.trim().to_lowercase();
    let caps = ISO_PREFIX.captures(&lower)?;
    let num = |i: usize| caps.get(i)?.as_str().parse::<u32>().ok();
    format_valid(num(1)?, num(2)?, num(3)?)
}

/// Lowercase, drop Markdown emphasis markers and collapse whitespace (including NBSP, which
/// Russian typography puts between day and month), so the grammar only sees one spelling.
/// Markers are removed everywhere, not only at the ends, because "**Published:** Sep 1, 2025"
/// puts them in the middle; a genuine date line never contains a literal `*` or `_`.
fn normalise(line: &str) -> String {
    let stripped: String = line
        .chars()
        .filter(|&c| c != '*' && c != '_')
        .collect::<String>()
        .to_lowercase();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Pull (year, month, day) out of whichever grammar alternative matched.
fn ymd_from(caps: &Captures<'_>) -> Option<(u32, u32, u32)> {
    let num = |name: &str| caps.name(name)?.as_str().parse::<u32>().ok();
    if let Some(m) = caps.name("m1") {
        Some((num("y1")?, month_number(m.as_str())?, num("d1")?))
    } else if let Some(m) = caps.name("m2") {
        Some((num("y2")?, month_number(m.as_str())?, num("d2")?))
    } else if caps.name("y3").is_some() {
        Some((num("y3")?, num("m3")?, num("d3")?))
    } else {
        Some((num("y4")?, num("m4")?, num("d4")?))
    }
}

/// Month number (1-12) for an English or Russian month word as matched by the grammar.
fn month_number(word: &str) -> Option<u32> {
    let key: String = word.chars().take(3).collect();
    EN_KEYS
        .iter()
        .position(|k| *k == key)
        .or_else(|| RU_KEYS.iter().position(|k| *k == key))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Format as `YYYY-MM-DD` if the date exists in the Gregorian calendar. The year window keeps
/// placeholder values ("0001-01-01", "9999-12-31") that CMSs emit for "unknown" out of results;
/// it is generous enough for any real publication date.
fn format_valid(year: u32, month: u32, day: u32) -> Option<String> {
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Option<String> {
        parse_date_line(s)
    }

    fn iso(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn english_month_first() {
        for s in [
            "September 01, 2025",
            "September 1, 2025",
            "Sept. 1, 2025",
            "Sep 1, 2025",
            "Sep. 1 2025",
            "SEPTEMBER 1, 2025",
            "september 1st, 2025",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn english_day_first() {
        assert_eq!(line("1 September 2025"), iso("2025-09-01"));
        assert_eq!(line("01 Sep 2025"), iso("2025-09-01"));
        assert_eq!(line("31 Dec 2024"), iso("2024-12-31"));
    }

    #[test]
    fn all_english_months() {
        let names = [
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
        for (i, name) in names.iter().enumerate() {
            let want = format!("2025-{:02}-15", i + 1);
            assert_eq!(line(&format!("{name} 15, 2025")), Some(want.clone()), "{name}");
            let abbr: String = name.chars().take(3).collect();
            assert_eq!(line(&format!("{abbr} 15, 2025")), Some(want), "{abbr}");
        }
    }

    #[test]
    fn iso_forms() {
        for s in [
            "2025-09-01",
            "2025-09-01T10:00:00Z",
            "2025-09-01 10:00",
            "2025/09/01",
            "2025-09-01T10:00",
            "2025-09-01T10:00:00.123Z",
            "2025-09-01T10:00:00+03:00",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn russian_forms() {
        for s in [
            "1 сентября 2025",
            "1 сентября 2025 г.",
            "1 сентября 2025 г",
            "1 сентября 2025 года",
            "01.09.2025",
            "01.09.2025 14:35",
            "1.9.2025",
            "1 СЕНТЯБРЯ 2025",
            "1 сент. 2025",
            "1\u{a0}сентября 2025\u{a0}г.",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn all_russian_genitive_months() {
        let names = [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ];
        for (i, name) in names.iter().enumerate() {
            let want = format!("2025-{:02}-15", i + 1);
            assert_eq!(line(&format!("15 {name} 2025")), Some(want), "{name}");
        }
    }

    #[test]
    fn prefixes_and_emphasis() {
        for s in [
            "Published: September 1, 2025",
            "Updated: 2025-09-01",
            "Опубликовано: 1 сентября 2025",
            "Дата: 01.09.2025",
            "published september 1, 2025",
            "*September 1, 2025*",
            "_1 сентября 2025 г._",
            "  **Published:** Sep 1, 2025  ",
            "__2025-09-01__",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn times_after_date() {
        for s in [
            "September 1, 2025 10:35",
            "September 1, 2025 10:35 AM",
            "September 1, 2025, 10:35 pm",
            "1 сентября 2025 10:35 MSK",
            "1 сентября 2025, 14:35",
            "1 сентября 2025 в 14:35",
            "1 сентября 2025 г. в 14:35",
            "01.09.2025 14:35 мск",
            "Sep 1, 2025 at 10:35 a.m. EDT",
            "Sep 1, 2025 | 10:35",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn weekday_before_date() {
        for s in [
            "Monday, September 1, 2025",
            "Mon, 1 Sep 2025",
            "понедельник, 1 сентября 2025",
            "Published: Monday, September 1, 2025 10:35 AM",
        ] {
            assert_eq!(line(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn invalid_calendar_dates() {
        for s in [
            "2025-02-30",
            "2025-02-29",
            "31 апреля 2025",
            "September 31, 2025",
            "2025-13-01",
            "2025-00-10",
            "00.09.2025",
            "32.01.2025",
            "0001-01-01",
        ] {
            assert_eq!(line(s), None, "{s}");
        }
    }

    #[test]
    fn leap_years() {
        assert_eq!(line("2024-02-29"), iso("2024-02-29"));
        assert_eq!(line("29 февраля 2000"), iso("2000-02-29"));
        assert_eq!(line("Feb 29, 1900"), None); // divisible by 100, not by 400
        assert_eq!(line("29.02.2023"), None);
    }

    #[test]
    fn rejects_sentences_and_other_text() {
        for s in [
            "On September 1, 2025 the summit opened.",
            "1 сентября 2025 года стартовал саммит.",
            "The summit opened on 2025-09-01",
            "September 2025",
            "сентябрь 2025",
            "1 сентябрь 2025",
            "September 1",
            "1 сентября",
            "10:35",
            "",
            "   ",
            "**",
            "Published:",
            "September 1, 2025 10:35 and more",
            "By John Smith, September 1, 2025",
            "12345",
            "2025-09-01-02",
        ] {
            assert_eq!(line(s), None, "{s:?}");
        }
    }

    #[test]
    fn value_iso_with_offsets() {
        for s in [
            "2025-09-01T10:00:00+03:00",
            "2025-09-01T23:30:00-05:00",
            "2025-09-01T10:00:00.000000+0300",
            "2025-09-01T10:00:00+03:00[Europe/Moscow]",
            " 2025-09-01T10:00:00Z ",
        ] {
            assert_eq!(parse_date_value(s), iso("2025-09-01"), "{s}");
        }
    }

    #[test]
    fn value_accepts_line_forms_and_rfc2822() {
        assert_eq!(parse_date_value("September 1, 2025"), iso("2025-09-01"));
        assert_eq!(parse_date_value("01.09.2025"), iso("2025-09-01"));
        assert_eq!(parse_date_value("Mon, 01 Sep 2025 10:00:00 +0000"), iso("2025-09-01"));
        assert_eq!(parse_date_value("Mon, 01 Sep 2025 10:00:00 GMT"), iso("2025-09-01"));
    }

    #[test]
    fn value_rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2025-02-30T10:00:00Z",
            "2025-09",
            "not a date 2025-09-01",
            "\u{0}\u{fffd}",
        ] {
            assert_eq!(parse_date_value(s), None, "{s:?}");
        }
    }
}
