//! The numbers of a text — amounts, percentages, years, dates — as values that compare across
//! Russian and English notation: `3,8 %` = `3.8%`, `1 500 000` = `1,500,000` = `1.5 million`,
//! `68 млрд` = `68 billion` (and not `68 million`), `1 сентября` = `September 1` = `1st of
//! September`, `01.09.2025` = `1 сентября 2025`.
//!
//! Written here rather than taken from a crate: the number-parsing crates read one locale's
//! digits, not the scale words (`млрд`, `bn`), the Russian month genitives or the rule that a
//! summary may round (`1 734 000` → `1.7 million`) but not move a decimal point. Each text is
//! read with its own language's separators, because `3,000` is three thousand in English and
//! three in Russian.
//!
//! Numbers written as words (`три`, `three`) are read too, but only to accept a match: a
//! translation may spell out what its source wrote in digits and the other way round, and the
//! words are too ambiguous (`one`) to be flagged themselves.

use std::sync::LazyLock;

use regex::Regex;

/// One number of a text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fact {
    /// A quantity with its scale applied (`68 млрд` → 6.8e10). `step` is the unit of its last
    /// written digit (`1,7 млрд` → 1e8), so a rounding can be told from a change.
    Value { value: f64, step: f64, word: bool },
    /// A day of a month (1–12, 1–31).
    Date { month: u8, day: u8 },
}

impl Fact {
    /// Whether a number in digits: only those are required to match.
    pub fn flaggable(&self) -> bool {
        !matches!(self, Fact::Value { word: true, .. })
    }

    /// Whether `self` (as written in one text) stands for `other` (in the other): the same
    /// date, or the same value up to the rounding that the coarser of the two shows.
    pub fn matches(&self, other: &Fact) -> bool {
        match (self, other) {
            (Fact::Date { month: m1, day: d1 }, Fact::Date { month: m2, day: d2 }) => m1 == m2 && d1 == d2,
            (Fact::Value { value: a, step: sa, .. }, Fact::Value { value: b, step: sb, .. }) => {
                let step = sa.max(*sb);
                (a - b).abs() <= step / 2.0 + 1e-9 * a.abs().max(b.abs())
            }
            _ => false,
        }
    }
}

const RU_MONTHS: [&str; 12] = [
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
];
const EN_MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

static RU_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{1,2})(?:-?(?:го|е|ое))?\s+(январ[яеь]|феврал[яеь]|марта?|апрел[яеь]|ма[яй]|июн[яеь]|июл[яеь]|августа?|сентябр[яеь]|октябр[яеь]|ноябр[яеь]|декабр[яеь])",
    )
    .unwrap()
});
static EN_DATE_MD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
        .unwrap()
});
static EN_DATE_DM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
        .unwrap()
});
/// `01.09.2025`, `1.9.2025`: day, month, year (both languages write it so).
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b").unwrap());
/// A list marker at the start of a line (`1.`, `2)`): numbering, not a number of the text.
static LIST_MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*\d{1,2}[.)]\s").unwrap());
/// Russian digits: thousands grouped by (narrow) spaces, decimal comma (a point is read too).
static RU_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,3}(?:[ \u{00A0}\u{202F}]\d{3})+(?:,\d+)?|\d+(?:[,.]\d+)?").unwrap());
/// English digits: thousands grouped by commas, decimal point.
static EN_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?").unwrap());
/// A scale word right after a number (`млн`, `million`, `bn`; `m`/`k` only glued on: `$5m`).
static SCALE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\s+|\u{00A0})?(тыс(?:яч[а-я]*|\.)?|млн\.?|миллион[а-я]*|млрд\.?|миллиард[а-я]*|трлн\.?|триллион[а-я]*|thousands?\b|millions?\b|mln\b|billions?\b|bn\b|trillions?\b|tn\b)|^(k|m)\b")
        .unwrap()
});
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\p{L}+").unwrap());

/// Number words, read only to accept a match (see the module header).
const NUMBER_WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("hundred", 100.0),
    ("один", 1.0),
    ("одна", 1.0),
    ("одно", 1.0),
    ("одного", 1.0),
    ("одной", 1.0),
    ("два", 2.0),
    ("две", 2.0),
    ("двух", 2.0),
    ("двое", 2.0),
    ("три", 3.0),
    ("трёх", 3.0),
    ("трех", 3.0),
    ("трое", 3.0),
    ("четыре", 4.0),
    ("четырёх", 4.0),
    ("четырех", 4.0),
    ("пять", 5.0),
    ("пяти", 5.0),
    ("шесть", 6.0),
    ("шести", 6.0),
    ("семь", 7.0),
    ("семи", 7.0),
    ("восемь", 8.0),
    ("восьми", 8.0),
    ("девять", 9.0),
    ("девяти", 9.0),
    ("десять", 10.0),
    ("десяти", 10.0),
    ("двадцать", 20.0),
    ("тридцать", 30.0),
    ("сто", 100.0),
];

fn month_of(name: &str, stems: &[&str; 12]) -> Option<u8> {
    let name = name.to_lowercase();
    // The longest stem that starts the name: "ма" (мая) must not take "март".
    stems
        .iter()
        .enumerate()
        .filter(|(_, s)| name.starts_with(*s))
        .max_by_key(|(_, s)| s.len())
        .map(|(i, _)| i as u8 + 1)
}

fn day(s: &str) -> Option<u8> {
    s.parse::<u8>().ok().filter(|d| (1..=31).contains(d))
}

/// The numbers of `text`, written in `lang` (`ru`: decimal comma, spaces between thousands;
/// anything else: English notation).
pub fn facts(text: &str, lang: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut taken: Vec<(usize, usize)> = LIST_MARKER.find_iter(text).map(|m| (m.start(), m.end())).collect();
    let free = |taken: &[(usize, usize)], s: usize, e: usize| taken.iter().all(|&(a, b)| e <= a || s >= b);

    for c in NUMERIC_DATE.captures_iter(text) {
        let m = c.get(0).unwrap();
        if let (Some(d), Ok(month @ 1..=12), Ok(year)) = (day(&c[1]), c[2].parse::<u8>(), c[3].parse::<f64>()) {
            out.push(Fact::Date { month, day: d });
            out.push(Fact::Value {
                value: year,
                step: 1.0,
                word: false,
            });
            taken.push((m.start(), m.end()));
        }
    }
    for c in RU_DATE.captures_iter(text) {
        let m = c.get(0).unwrap();
        if let (Some(d), Some(month)) = (day(&c[1]), month_of(&c[2], &RU_MONTHS))
            && free(&taken, m.start(), m.end())
        {
            out.push(Fact::Date { month, day: d });
            taken.push((m.start(), m.end()));
        }
    }
    for (re, day_at, month_at) in [(&*EN_DATE_MD, 2, 1), (&*EN_DATE_DM, 1, 2)] {
        for c in re.captures_iter(text) {
            let m = c.get(0).unwrap();
            if let (Some(d), Some(month)) = (day(&c[day_at]), month_of(&c[month_at], &EN_MONTHS))
                && free(&taken, m.start(), m.end())
            {
                out.push(Fact::Date { month, day: d });
                taken.push((m.start(), m.end()));
            }
        }
    }

    let (re, decimal, group): (&Regex, &[char], &[char]) = if lang == "ru" {
        (&*RU_NUMBER, &[',', '.'][..], &[' ', '\u{00A0}', '\u{202F}'][..])
    } else {
        (&*EN_NUMBER, &['.'][..], &[','][..])
    };
    for m in re.find_iter(text) {
        if !free(&taken, m.start(), m.end()) {
            continue;
        }
        // Glued to letters (G7, mp3, 5G, 4K): a name, not a quantity. A lower-case unit or
        // ordinal after it (10km, 21st) leaves it a number.
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let scale = SCALE.captures(&text[m.end()..]);
        if before.is_some_and(|c| c.is_alphabetic()) || (scale.is_none() && after.is_some_and(|c| c.is_uppercase())) {
            continue;
        }
        let digits: String = m.as_str().chars().filter(|c| !group.contains(c)).collect();
        let (int, frac) = match digits.find(decimal) {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits.as_str(), ""),
        };
        let Ok(value) = format!("{int}.{}", if frac.is_empty() { "0" } else { frac }).parse::<f64>() else {
            continue;
        };
        let factor = scale.map_or(1.0, |c| {
            let w = c.get(1).or_else(|| c.get(2)).unwrap().as_str().to_lowercase();
            scale_of(&w)
        });
        let step = 10f64.powi(-(frac.len() as i32)) * factor;
        out.push(Fact::Value {
            value: value * factor,
            step,
            word: false,
        });
    }

    // Number words, then a scale word after one: "three million".
    let words: Vec<_> = WORD.find_iter(text).collect();
    for (i, w) in words.iter().enumerate() {
        let lower = w.as_str().to_lowercase();
        if let Some(&(_, v)) = NUMBER_WORDS.iter().find(|(n, _)| *n == lower) {
            let factor = words.get(i + 1).map_or(1.0, |n| scale_of(&n.as_str().to_lowercase()));
            out.push(Fact::Value {
                value: v * factor,
                step: factor,
                word: true,
            });
        }
    }
    out
}

fn scale_of(word: &str) -> f64 {
    let w = word.trim_end_matches('.');
    if w.starts_with("тыс") || w.starts_with("thousand") || w == "k" {
        1e3
    } else if w.starts_with("млн") || w.starts_with("миллион") || w.starts_with("million") || w == "mln" || w == "m"
    {
        1e6
    } else if w.starts_with("млрд") || w.starts_with("миллиард") || w.starts_with("billion") || w == "bn" {
        1e9
    } else if w.starts_with("трлн") || w.starts_with("триллион") || w.starts_with("trillion") || w == "tn" {
        1e12
    } else {
        1.0
    }
}

/// The numbers in digits of `required` that nothing of `other` stands for.
pub fn unmatched<'a>(required: &'a [Fact], other: &[Fact]) -> Vec<&'a Fact> {
    required
        .iter()
        .filter(|f| f.flaggable() && !other.iter().any(|o| f.matches(o)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, lang: &str) -> Vec<f64> {
        facts(text, lang)
            .into_iter()
            .filter_map(|f| match f {
                Fact::Value { value, word: false, .. } => Some(value),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_language_reads_its_own_separators() {
        assert_eq!(values("рост составил 3,8 %", "ru"), vec![3.8]);
        assert_eq!(values("growth was 3.8%", "en"), vec![3.8]);
        assert_eq!(values("1 500 000 рублей", "ru"), vec![1_500_000.0]);
        assert_eq!(values("1,500,000 rubles", "en"), vec![1_500_000.0]);
        assert_eq!(values("в 2025 году 15 человек", "ru"), vec![2025.0, 15.0]);
    }

    #[test]
    fn scale_words_multiply() {
        assert_eq!(values("68 млрд рублей", "ru"), vec![68e9]);
        assert_eq!(values("68 billion roubles", "en"), vec![68e9]);
        assert_eq!(values("68 million roubles", "en"), vec![68e6]);
        assert_eq!(values("не менее 3 тыс. новобранцев", "ru"), vec![3e3]);
        assert_eq!(values("$5m deal and £3bn", "en"), vec![5e6, 3e9]);
    }

    #[test]
    fn dates_compare_across_languages() {
        let ru = facts("1 сентября 2025 года", "ru");
        let en = facts("on September 1, 2025", "en");
        let dm = facts("on the 1st of September", "en");
        let num = facts("01.09.2025", "ru");
        let date = Fact::Date { month: 9, day: 1 };
        for f in [&ru, &en, &dm, &num] {
            assert!(f.contains(&date), "{f:?}");
        }
        assert!(unmatched(&ru, &en).is_empty(), "{ru:?} {en:?}");
        assert!(facts("9 мая", "ru").contains(&Fact::Date { month: 5, day: 9 }));
        assert!(facts("8 марта", "ru").contains(&Fact::Date { month: 3, day: 8 }));
    }

    #[test]
    fn rounding_matches_and_a_moved_point_does_not() {
        let src = facts("сумма составила 1 734 000 рублей", "ru");
        assert!(unmatched(&facts("about 1.7 million roubles", "en"), &src).is_empty());
        assert_eq!(unmatched(&facts("about 17 million roubles", "en"), &src).len(), 1);
        let src = facts("инфляция 3,8 %", "ru");
        assert!(unmatched(&facts("inflation of 3.8%", "en"), &src).is_empty());
        assert_eq!(unmatched(&facts("inflation of 38%", "en"), &src).len(), 1);
    }

    #[test]
    fn names_and_list_markers_are_not_numbers() {
        assert!(values("G7 leaders and 5G networks", "en").is_empty());
        assert!(values("1. First point\n2. Second point", "en").is_empty());
        assert_eq!(values("истребители Су-57", "ru"), vec![57.0]);
    }

    #[test]
    fn words_accept_but_are_not_required() {
        let src = facts("три человека погибли", "ru");
        let out = facts("3 people died", "en");
        assert!(unmatched(&out, &src).is_empty());
        assert!(unmatched(&src, &out).is_empty());
        assert!(unmatched(&facts("three million people", "en"), &facts("3 млн человек", "ru")).is_empty());
        assert!(unmatched(&facts("3 млн человек", "ru"), &facts("three million people", "en")).is_empty());
    }
}
