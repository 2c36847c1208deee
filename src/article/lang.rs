//! Language identification for the archive, not for the world.
//!
//! svodka only has to tell its served languages (`language.served`, English and Russian by
//! default) from everything else, so that it summarises the first and skips the second. Plain
//! whatlang (trigram profiles, no model files, fast enough for every article) weighs all its 69
//! languages equally, and on a sentence or two that goes wrong in a way that costs the archive
//! its own articles: "Снег ожидается в Москве. Температура до минус десяти." comes out Ukrainian
//! at confidence 0.28, short English news lines come out Danish, Javanese or Romanian, and the
//! pipeline then skips them as unserved. So [`detect`] takes the served languages and decides in
//! three steps, letters first, because letters are hard evidence and trigrams are not:
//!
//! 1. **Letters rule languages out.** Within Cyrillic the alphabets differ: ы, э, ё are Russian
//!    (and Belarusian) and never Ukrainian or Bulgarian; і, ї, є, ґ are Ukrainian, і and ў
//!    Belarusian, ѓ ќ ѕ Macedonian, ђ ћ Serbian, ј љ њ џ both; Belarusian has no и, щ or ъ;
//!    Macedonian and Serbian have none of й щ ъ ы ь э ю я ё. Two letters count by their place:
//!    ъ before a consonant is the Bulgarian vowel (България, във, кметът) and never Russian,
//!    where ъ only separates (объявил); ь anywhere but before о is Russian or Ukrainian, never
//!    Bulgarian. A language is ruled out when more than one letter in 200 of the text is foreign
//!    to it (so a short text with a single such letter rules it out, and a long article may
//!    quote a name or a phrase of another language). Ukrainian and Belarusian are also ruled
//!    out when none of their own letters (і ї є ґ; і ў) appears: a sentence of either shows
//!    one. (Not so Macedonian and Serbian: "Цене горива поново су порасле после празника."
//!    has no ј.) Latin script has no such sure letters (English news spells names and
//!    loanwords with their accents, Italian or Romanian lines often have none), so nothing is
//!    ruled out there.
//! 2. **whatlang picks the strongest served and the strongest other language** among those
//!    left, each with an allow-list, and then weighs the two against each other
//!    (`Detector::with_allowlist`): its confidence there is the margin between just those two.
//! 3. **A weak lead for another language resolves to the served one.** The other language wins
//!    when the text shows letters of its own that the served language lacks (Bulgarian ъ
//!    before a consonant, Ukrainian і, German ä in a lower-case word…) and whatlang leads for
//!    it by at least [`MARKED_THRESHOLD`]; without such letters it wins only when whatlang is
//!    certain (confidence 1.0 against the served language; `Info::is_reliable`'s 0.9 is not
//!    enough: a six-word English quote with its attribution, from the WMT19 lines, is
//!    Afrikaans at 0.905). In English a capitalised word (Erdoğan, São Paulo, Müller) is a name
//!    that keeps its own spelling, so its letters are neither evidence nor fed to whatlang.
//!
//! So Russian without і ї є ґ ў is never Ukrainian or Belarusian, and Bulgarian or Macedonian
//! only on strong evidence; a real sentence of Ukrainian, Belarusian, Bulgarian, German,
//! French… is still recognised (its own letters, or a clear trigram margin) and skipped.
//!
//! The confidence (0–1, three decimals) of an unserved language that wins step 3 is whatlang's
//! against the served one. A served language weighed in step 3 gets whatlang's margin between
//! the two (+c for it, −c against it) rescaled to the policy: 0 where the other language would
//! have won, 1 where whatlang is certain of the served one; so a tie gives 0.5 without marking
//! letters, 1/3 with them. Where step 1 leaves only served or only unserved languages, it is
//! whatlang's among those (1.0 when the letters leave a single one). With no served languages,
//! or a script of a single language (Greek, Hangul…), the answer is plain whatlang's.
//!
//! whatlang speaks ISO 639-3; records use ISO 639-1 where one exists, as the rest of svodka
//! (config, model cards) does.

use whatlang::{Detector, Lang, Script};

/// The first few thousand characters decide as well as the whole of a long article.
const HEAD_CHARS: usize = 4000;

/// A language is ruled out when more than one letter in this many is foreign to its alphabet.
const FOREIGN_LETTERS_PER: usize = 200;

/// How far whatlang must lead for a language that is not served but shows letters of its own
/// that the served language lacks.
pub(crate) const MARKED_THRESHOLD: f64 = 0.5;

/// ъ before a consonant: the Bulgarian vowel (България, във, кметът), never Russian.
const YER_VOWEL: char = '\u{E000}';
/// ь before о (шофьор, бульон): the only place Bulgarian writes ь.
const SOFT_SIGN_BEFORE_O: char = '\u{E001}';

/// A Cyrillic orthography: its letters (lower case, with the two positional ones above) and its
/// own letters, one of which any sentence of it shows (empty where a sentence may show none).
struct Orthography {
    lang: Lang,
    letters: &'static str,
    own: &'static str,
}

const CYRILLIC: [Orthography; 6] = [
    Orthography {
        lang: Lang::Rus,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюя\u{E001}",
        own: "",
    },
    Orthography {
        lang: Lang::Ukr,
        letters: "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя\u{E001}",
        own: "іїєґ",
    },
    Orthography {
        lang: Lang::Bel,
        letters: "абвгдеёжзійклмнопрстуўфхцчшыьэюя\u{E001}",
        own: "іў",
    },
    // Plain ъ (not before a consonant: a stray or word-final one) is let pass.
    Orthography {
        lang: Lang::Bul,
        letters: "абвгдежзийклмнопрстуфхцчшщъюя\u{E000}\u{E001}",
        own: "",
    },
    Orthography {
        lang: Lang::Mkd,
        letters: "абвгдѓежзѕијклљмнњопрстќуфхцчџш",
        own: "",
    },
    Orthography {
        lang: Lang::Srp,
        letters: "абвгдђежзијклљмнњопрстћуфхцчџш",
        own: "",
    },
];

const CYRILLIC_CONSONANTS: &str = "бвгґдђжзѕйјклљмнњпрстћфхцчџшщѓќ";

/// The served languages svodka has out of the box (`language.served`'s default).
pub fn default_served() -> Vec<String> {
    crate::config::LanguageConfig::default().served
}

/// Detected language (ISO 639-1 where one exists) and a confidence in 0–1, for an archive that
/// serves `served` (ISO 639-1 codes, or whatlang's ISO 639-3); see the module header for the policy. `None` when the
/// text gives no clue (digits, punctuation).
pub fn detect(text: &str, served: &[String]) -> Option<(String, f64)> {
    let end = text.char_indices().nth(HEAD_CHARS).map_or(text.len(), |(i, _)| i);
    let text = &text[..end];
    let script = whatlang::detect_script(text)?;
    let all = script.langs();
    if served.is_empty() || all.len() < 2 {
        let info = whatlang::detect(text)?;
        return Some(answer(info.lang(), info.confidence()));
    }
    let is_served = |l: Lang| {
        served
            .iter()
            .any(|s| s.eq_ignore_ascii_case(code(l)) || s.eq_ignore_ascii_case(l.code()))
    };
    let evidence = Evidence::of(text, script, all.iter().any(|&l| l == Lang::Eng && is_served(l)));

    // 1. Letters rule languages out.
    let mut left: Vec<Lang> = all.iter().copied().filter(|&l| !evidence.rules_out(l)).collect();
    if left.is_empty() {
        // Letters foreign to every alphabet known here: they tell nothing.
        left = all.to_vec();
    }
    let shown: Vec<Lang> = left.iter().copied().filter(|&l| evidence.shows_own(l)).collect();
    if !shown.is_empty() {
        left = shown;
    }

    // 2. The strongest served and the strongest other language, then the two against each other.
    let soft = evidence.soft_text.as_deref().unwrap_or(text);
    let weigh = |langs: Vec<Lang>| match langs[..] {
        [only] => Some((only, 1.0)),
        _ => {
            let detector = Detector::with_allowlist(langs);
            let info = detector.detect(soft).or_else(|| detector.detect(text))?;
            Some((info.lang(), info.confidence()))
        }
    };
    let (mine, others): (Vec<Lang>, Vec<Lang>) = left.iter().copied().partition(|&l| is_served(l));
    if mine.is_empty() || others.is_empty() {
        let (lang, confidence) = weigh(left)?;
        return Some(answer(lang, confidence));
    }
    let (mine, _) = weigh(mine)?;
    let (other, _) = weigh(others)?;
    let (leader, c) = weigh(vec![mine, other])?;

    // 3. A weak lead for the other language resolves to the served one.
    let threshold = if evidence.marks(other, mine) {
        MARKED_THRESHOLD
    } else {
        1.0
    };
    if leader == other && c >= threshold {
        return Some(answer(other, c));
    }
    let margin = if leader == mine { c } else { -c };
    Some(answer(mine, (margin + threshold) / (1.0 + threshold)))
}

fn answer(lang: Lang, confidence: f64) -> (String, f64) {
    (
        code(lang).to_string(),
        (confidence.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
    )
}

/// What the letters of a text say.
struct Evidence {
    /// Cyrillic: the text's Cyrillic letters, lower case, ъ and ь rewritten by their place.
    cyrillic: Vec<char>,
    /// Latin, with English served: non-English letters in words that are not capitalised.
    non_english: usize,
    /// Latin, with English served: the text without its capitalised words that hold letters
    /// English lacks (names keep their spelling in English), for whatlang to weigh.
    soft_text: Option<String>,
}

impl Evidence {
    fn of(text: &str, script: Script, english_served: bool) -> Self {
        let mut evidence = Evidence {
            cyrillic: Vec::new(),
            non_english: 0,
            soft_text: None,
        };
        match script {
            Script::Cyrillic => evidence.cyrillic = cyrillic_letters(text),
            Script::Latin if english_served => {
                let mut kept = Vec::new();
                for word in text.split_whitespace() {
                    let foreign = word.chars().filter(|&c| is_non_english_latin(c)).count();
                    match word.chars().find(|c| c.is_alphabetic()) {
                        Some(first) if first.is_uppercase() && foreign > 0 => {}
                        _ => {
                            evidence.non_english += foreign;
                            kept.push(word);
                        }
                    }
                }
                evidence.soft_text = Some(kept.join(" "));
            }
            _ => {}
        }
        evidence
    }

    fn orthography(lang: Lang) -> Option<&'static Orthography> {
        CYRILLIC.iter().find(|o| o.lang == lang)
    }

    /// More than one letter in [`FOREIGN_LETTERS_PER`] is foreign to the language's alphabet.
    fn rules_out(&self, lang: Lang) -> bool {
        let Some(o) = Self::orthography(lang) else {
            return false;
        };
        let foreign = self.cyrillic.iter().filter(|&&c| !o.letters.contains(c)).count();
        foreign * FOREIGN_LETTERS_PER > self.cyrillic.len()
    }

    /// The language has letters of its own and the text shows one of them (true where it has
    /// none of its own, or its orthography is not known here).
    fn shows_own(&self, lang: Lang) -> bool {
        match Self::orthography(lang) {
            Some(o) if !o.own.is_empty() => self.cyrillic.iter().any(|&c| o.own.contains(c)),
            _ => true,
        }
    }

    /// The text shows letters of `other` that `served` lacks.
    fn marks(&self, other: Lang, served: Lang) -> bool {
        match (Self::orthography(other), Self::orthography(served)) {
            (Some(o), Some(s)) => self
                .cyrillic
                .iter()
                .any(|&c| o.letters.contains(c) && !s.letters.contains(c)),
            _ => served == Lang::Eng && self.non_english > 0,
        }
    }
}

/// The Cyrillic letters of a text, lower case, with ъ before a consonant as [`YER_VOWEL`] and
/// ь before о as [`SOFT_SIGN_BEFORE_O`].
fn cyrillic_letters(text: &str) -> Vec<char> {
    let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut out = Vec::with_capacity(lower.len());
    for (i, &c) in lower.iter().enumerate() {
        if !('\u{0400}'..='\u{04FF}').contains(&c) || !c.is_alphabetic() {
            continue;
        }
        let next = lower.get(i + 1).copied().unwrap_or(' ');
        out.push(match c {
            'ъ' if CYRILLIC_CONSONANTS.contains(next) => YER_VOWEL,
            'ь' if next == 'о' => SOFT_SIGN_BEFORE_O,
            _ => c,
        });
    }
    out
}

/// A Latin letter English does not write (é, ü, ł, ș…).
fn is_non_english_latin(c: char) -> bool {
    c.is_alphabetic()
        && !c.is_ascii()
        && matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF)
        && c != '\u{00D7}'
        && c != '\u{00F7}'
}

/// ISO 639-1 where one exists, else whatlang's ISO 639-3.
fn code(lang: Lang) -> &'static str {
    let code = lang.code();
    to_639_1(code).unwrap_or(code)
}

fn to_639_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "eng" => "en",
        "rus" => "ru",
        "ukr" => "uk",
        "bel" => "be",
        "bul" => "bg",
        "srp" => "sr",
        "mkd" => "mk",
        "deu" => "de",
        "fra" => "fr",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "nld" => "nl",
        "pol" => "pl",
        "ces" => "cs",
        "slk" => "sk",
        "slv" => "sl",
        "hrv" => "hr",
        "ron" => "ro",
        "hun" => "hu",
        "fin" => "fi",
        "est" => "et",
        "lav" => "lv",
        "lit" => "lt",
        "swe" => "sv",
        "dan" => "da",
        "nob" => "nb",
        "ell" => "el",
        "tur" => "tr",
        "aze" => "az",
        "uzb" => "uz",
        "tuk" => "tk",
        "kat" => "ka",
        "hye" => "hy",
        "heb" => "he",
        "yid" => "yi",
        "ara" => "ar",
        "pes" => "fa",
        "urd" => "ur",
        "hin" => "hi",
        "ben" => "bn",
        "mar" => "mr",
        "guj" => "gu",
        "pan" => "pa",
        "tam" => "ta",
        "tel" => "te",
        "kan" => "kn",
        "mal" => "ml",
        "ori" => "or",
        "nep" => "ne",
        "sin" => "si",
        "tha" => "th",
        "khm" => "km",
        "mya" => "my",
        "vie" => "vi",
        "ind" => "id",
        "jav" => "jv",
        "tgl" => "tl",
        "cmn" => "zh",
        "jpn" => "ja",
        "kor" => "ko",
        "amh" => "am",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "cat" => "ca",
        "cym" => "cy",
        "epo" => "eo",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<String> {
        default_served()
    }

    fn langs(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    fn lang_of(text: &str) -> String {
        detect(text, &served()).map_or_else(|| "-".to_string(), |(l, _)| l)
    }

    /// Short Russian news lines, many without ы, э or ё (the letters that rule out Bulgarian and
    /// Ukrainian), the first one from the issue.
    const RUSSIAN: &[&str] = &[
        "Снег ожидается в Москве. Температура до минус десяти.",
        "Курс доллара вырос на торгах в среду.",
        "В Петербурге открыли новую станцию метро.",
        "Президент подписал закон о бюджете.",
        "Сборная России проиграла в финале.",
        "На трассе М-4 столкнулись два грузовика.",
        "Цены на бензин снова поднялись.",
        "Мэр пообещал отремонтировать дороги к осени.",
        "Рейс задержан из-за тумана.",
        "Пожар на складе потушили к утру.",
        "Суд арестовал бывшего министра.",
        "Банк России сохранил ставку.",
        "Урожай пшеницы оказался рекордным.",
        "Завод в Туле начал выпуск новых вагонов.",
        "Депутаты приняли поправки во втором чтении.",
        "Ураган обесточил десятки поселков на Камчатке.",
        "Матч перенесли на понедельник.",
        "Умер известный актер театра и кино.",
        "В Сибири ожидаются сильные морозы.",
        "Полиция задержала подозреваемого в краже.",
        "Губернатор объявил режим чрезвычайной ситуации.",
        "Власти Казани отменили концерт на площади.",
        "Подробнее читайте в публикации «Коммерсантъ» и «Ъ-Огонек».",
        "Министерство транспорта предложило продлить льготы для перевозчиков до конца следующего года, \
         сообщили в ведомстве.",
        "Аэропорт Внуково в понедельник утром ограничил прием рейсов из-за сильного снегопада.",
    ];

    /// Short English news lines, some with names spelt with their own accents.
    const ENGLISH: &[&str] = &[
        "Snow is expected in Moscow, with lows of minus ten.",
        "The dollar rose against the rouble on Wednesday.",
        "The minister resigned after the vote.",
        "Flights were delayed by fog at Heathrow.",
        "Police arrested a man in Leeds.",
        "Oil prices fell for a third day.",
        "The mayor promised to repair the roads by autumn.",
        "Parliament passed the budget bill.",
        "A fire at a warehouse was put out by morning.",
        "Shares in Tesla jumped ten percent.",
        "Heavy rain is forecast for the weekend.",
        "The court jailed a former minister.",
        "Wheat harvest hit a record high.",
        "The match was moved to Monday.",
        "Storm Ciarán cut power to thousands of homes.",
        "Inflation eased to 3.2% in March.",
        "Rescuers pulled two climbers from the ice.",
        "The central bank held rates steady.",
        "Talks resume in Geneva next week.",
        "A new metro station opened in Delhi.",
        "Erdoğan met Müller in São Paulo on Tuesday.",
        "Ukraine's grain deal expires in July.",
        "The café reopened after the storm.",
        "The government said on Tuesday it would extend support for small businesses until the end of next year.",
        "Rescue teams searched through the night for survivors after the landslide buried several houses.",
    ];

    /// Page furniture that reaches a body when an HTML page has little text: English, if anything.
    const PAGE_FURNITURE: &[&str] = &[
        "Home World Business Energy Subscribe now",
        "Skip to main content",
        "Page not found",
        "Sign in | Register | Newsletter | Contact",
        "<div class=\"wrap\"><span>Loading…</span></div>",
        "Menu Search Login",
        "Read more",
    ];

    /// News sentences in languages that are not served, with their language.
    const OTHERS: &[(&str, &str)] = &[
        ("uk", "Уряд схвалив проєкт державного бюджету на наступний рік."),
        ("uk", "У Києві відкрили нову станцію метро."),
        (
            "uk",
            "Синоптики прогнозують сніг і морози до мінус п'ятнадцяти градусів.",
        ),
        ("uk", "Національний банк залишив облікову ставку без змін."),
        ("uk", "Збірна України виграла у фіналі чемпіонату Європи."),
        ("uk", "Ціни на пальне знову зросли після Нового року."),
        ("uk", "Мер пообіцяв відремонтувати дороги до осені."),
        ("uk", "Поліція затримала підозрюваного у крадіжці."),
        (
            "uk",
            "Міністерство інфраструктури запропонувало продовжити пільги для перевізників до кінця \
             наступного року, повідомили у відомстві.",
        ),
        (
            "uk",
            "Аеропорт Бориспіль у понеділок вранці обмежив прийом рейсів через сильний снігопад.",
        ),
        (
            "uk",
            "За даними поліції, водій вантажівки не впорався з керуванням і виїхав на зустрічну смугу.",
        ),
        ("be", "Урад зацвердзіў новы дзяржаўны бюджэт на наступны год."),
        ("be", "У Мінску адкрылі новую станцыю метро."),
        ("be", "Сіноптыкі прагназуюць снег і мароз да мінус дзесяці градусаў."),
        ("be", "Нацыянальны банк пакінуў стаўку без змен."),
        ("be", "Зборная Беларусі перамагла ў фінале чэмпіянату."),
        ("be", "Міліцыя затрымала падазраванага ў крадзяжы."),
        (
            "be",
            "Міністэрства транспарту прапанавала падоўжыць льготы для перавозчыкаў да канца наступнага \
             года, паведамілі ў ведамстве.",
        ),
        (
            "be",
            "Аэрапорт Мінска ў панядзелак раніцай абмежаваў прыём рэйсаў з-за моцнага снегападу.",
        ),
        (
            "be",
            "Паводле звестак міліцыі, кіроўца грузавіка не справіўся з кіраваннем і выехаў на сустрэчную паласу.",
        ),
        ("bg", "Правителството одобри проектобюджета за следващата година."),
        ("bg", "Българската народна банка запази основния лихвен процент."),
        ("bg", "Цените на горивата отново се повишиха след Нова година."),
        ("bg", "Кметът обеща да ремонтира пътищата до есента."),
        ("bg", "Полицията задържа заподозрян за кражбата в центъра на града."),
        ("bg", "Депутатите приеха промените на второ четене."),
        (
            "bg",
            "Министерството на транспорта предложи облекченията за превозвачите да бъдат удължени до края \
             на следващата година.",
        ),
        (
            "bg",
            "Летището в София ограничи в понеделник сутринта приемането на полети заради силния снеговалеж.",
        ),
        (
            "bg",
            "Според полицията шофьорът на камиона е загубил контрол над управлението и е навлязъл в \
             насрещното платно.",
        ),
        (
            "bg",
            "Президентът заяви, че правителството трябва да осигури повече средства за здравеопазването през \
             следващите месеци.",
        ),
        ("mk", "Владата го усвои буџетот за следната година."),
        ("mk", "Во Скопје беше отворен нов трговски центар."),
        ("mk", "Метеоролозите најавуваат снег и студ до минус десет степени."),
        ("mk", "Цените на горивата повторно се зголемија по празниците."),
        ("mk", "Полицијата уапси осомничен за кражбата во центарот на градот."),
        (
            "mk",
            "Министерството за транспорт предложи олеснувањата за превозниците да се продолжат до крајот на \
             следната година.",
        ),
        (
            "mk",
            "Аеродромот во Скопје во понеделникот наутро ги ограничи летовите поради силниот снег.",
        ),
        (
            "mk",
            "Според полицијата, возачот на камионот изгубил контрола над возилото и излетал на спротивната \
             лента.",
        ),
        ("sr", "Влада је усвојила предлог буџета за следећу годину."),
        ("sr", "У Београду је отворена нова аутобуска станица."),
        ("sr", "Метеоролози најављују снег и мраз до минус десет степени."),
        ("sr", "Народна банка Србије задржала је референтну каматну стопу."),
        ("sr", "Цене горива поново су порасле после празника."),
        ("sr", "Полиција је ухапсила осумњиченог за крађу у центру града."),
        (
            "sr",
            "Министарство саобраћаја предложило је да се олакшице за превознике продуже до краја следеће године.",
        ),
        (
            "sr",
            "Аеродром у Београду је у понедељак ујутру ограничио пријем летова због јаког снега.",
        ),
        (
            "sr",
            "Према наводима полиције, возач камиона изгубио је контролу над возилом и прешао у супротну траку.",
        ),
        (
            "de",
            "Die Regierung hat den Haushaltsentwurf für das nächste Jahr gebilligt.",
        ),
        ("de", "In Berlin wurde eine neue U-Bahn-Station eröffnet."),
        ("de", "Meteorologen erwarten Schnee und Frost bis minus zehn Grad."),
        ("de", "Die Polizei nahm einen Verdächtigen nach dem Diebstahl fest."),
        ("de", "Die Benzinpreise sind erneut gestiegen."),
        (
            "de",
            "Das Verkehrsministerium schlug vor, die Erleichterungen für Transportunternehmen bis Ende nächsten \
             Jahres zu verlängern.",
        ),
        (
            "de",
            "Nach Angaben der Polizei verlor der Lastwagenfahrer die Kontrolle über sein Fahrzeug und geriet auf \
             die Gegenfahrbahn.",
        ),
        (
            "de",
            "Der Flughafen musste am Montagmorgen wegen starken Schneefalls den Betrieb einschränken.",
        ),
        (
            "fr",
            "Le gouvernement a approuvé le projet de budget pour l'année prochaine.",
        ),
        ("fr", "Une nouvelle station de métro a ouvert à Lyon."),
        (
            "fr",
            "Les météorologues prévoient de la neige et du gel jusqu'à moins dix degrés.",
        ),
        ("fr", "La police a arrêté un suspect après le vol."),
        ("fr", "Les prix du carburant ont encore augmenté."),
        (
            "fr",
            "Le ministère des Transports a proposé de prolonger les aides aux transporteurs jusqu'à la fin de \
             l'année prochaine.",
        ),
        (
            "fr",
            "Selon la police, le conducteur du camion a perdu le contrôle de son véhicule et s'est déporté sur la \
             voie opposée.",
        ),
        (
            "fr",
            "L'aéroport a dû limiter les vols lundi matin en raison de fortes chutes de neige.",
        ),
        (
            "it",
            "Il governo ha approvato la legge di bilancio per il prossimo anno.",
        ),
        (
            "it",
            "A Milano è stata inaugurata una nuova stazione della metropolitana.",
        ),
        ("it", "I meteorologi prevedono neve e gelo fino a meno dieci gradi."),
        ("it", "La polizia ha arrestato un sospettato dopo il furto."),
        ("it", "I prezzi della benzina sono aumentati di nuovo."),
        (
            "it",
            "Il ministero dei trasporti ha proposto di prorogare le agevolazioni per i trasportatori fino alla \
             fine del prossimo anno.",
        ),
        (
            "it",
            "Secondo la polizia, il conducente del camion ha perso il controllo del veicolo ed è finito nella \
             corsia opposta.",
        ),
        (
            "it",
            "L'aeroporto ha dovuto limitare i voli lunedì mattina a causa di una forte nevicata.",
        ),
        (
            "es",
            "El gobierno aprobó el proyecto de presupuesto para el próximo año.",
        ),
        ("es", "Una nueva estación de metro abrió en Madrid."),
        (
            "es",
            "Los meteorólogos prevén nieve y heladas de hasta diez grados bajo cero.",
        ),
        ("es", "La policía detuvo a un sospechoso tras el robo."),
        ("es", "Los precios de la gasolina volvieron a subir."),
        (
            "es",
            "El Ministerio de Transportes propuso prorrogar las ayudas a los transportistas hasta finales del \
             próximo año.",
        ),
        (
            "es",
            "Según la policía, el conductor del camión perdió el control del vehículo y invadió el carril \
             contrario.",
        ),
        (
            "es",
            "El aeropuerto tuvo que limitar los vuelos el lunes por la mañana debido a una fuerte nevada.",
        ),
        ("pl", "Rząd zatwierdził projekt budżetu na przyszły rok."),
        ("pl", "W Warszawie otwarto nową stację metra."),
        ("pl", "Synoptycy zapowiadają śnieg i mróz do minus dziesięciu stopni."),
        ("pl", "Policja zatrzymała podejrzanego o kradzież."),
        ("pl", "Ceny paliw znowu wzrosły."),
        (
            "pl",
            "Ministerstwo Transportu zaproponowało przedłużenie ulg dla przewoźników do końca przyszłego roku.",
        ),
        (
            "pl",
            "Według policji kierowca ciężarówki stracił panowanie nad pojazdem i zjechał na przeciwległy pas.",
        ),
        (
            "pl",
            "Lotnisko musiało w poniedziałek rano ograniczyć ruch z powodu intensywnych opadów śniegu.",
        ),
        ("ro", "La București a fost inaugurată o nouă stație de metrou."),
        ("ro", "Meteorologii anunță ninsori și ger de până la minus zece grade."),
        ("ro", "Poliția a reținut un suspect după furt."),
        ("ro", "Prețurile carburanților au crescut din nou."),
        (
            "ro",
            "Ministerul Transporturilor a propus prelungirea facilităților pentru transportatori până la sfârșitul \
             anului viitor.",
        ),
        (
            "ro",
            "Potrivit poliției, șoferul camionului a pierdut controlul asupra vehiculului și a intrat pe \
             contrasens.",
        ),
        (
            "ro",
            "Aeroportul a fost nevoit să limiteze zborurile luni dimineață din cauza ninsorii abundente.",
        ),
    ];

    /// Written in the same batch as `OTHERS`, and resolved to the served language by the policy:
    /// short lines with no letter the served language lacks (no Bulgarian ъ before a consonant,
    /// no Romanian diacritic) on which whatlang leads for their language only weakly. This is
    /// the price of "a weak signal resolves to the served language"; the same sentences at
    /// article length, or with one such letter, are recognised (see `OTHERS`).
    const RESOLVED_TO_SERVED: &[(&str, &str, &str)] = &[
        ("bg", "ru", "В София откриха нова станция на метрото."),
        ("bg", "ru", "Синоптиците очакват сняг и студове до минус десет градуса."),
        ("ro", "en", "Guvernul a aprobat proiectul de buget pentru anul viitor."),
    ];

    #[test]
    fn short_russian_news_is_russian() {
        let wrong: Vec<String> = RUSSIAN
            .iter()
            .filter(|s| lang_of(s) != "ru")
            .map(|s| format!("{s} -> {:?}", detect(s, &served())))
            .collect();
        assert!(wrong.is_empty(), "not called ru:\n{}", wrong.join("\n"));
    }

    #[test]
    fn short_english_news_and_page_furniture_are_english() {
        let wrong: Vec<String> = ENGLISH
            .iter()
            .chain(PAGE_FURNITURE)
            .filter(|s| lang_of(s) != "en")
            .map(|s| format!("{s} -> {:?}", detect(s, &served())))
            .collect();
        assert!(wrong.is_empty(), "not called en:\n{}", wrong.join("\n"));
    }

    /// No sentence of another language is called Russian or English; Ukrainian and Belarusian,
    /// and the Latin-script languages, are called what they are; Bulgarian, Macedonian and
    /// Serbian (neither served nor told apart by the pipeline) are called one of the three.
    #[test]
    fn other_languages_are_recognised_not_served() {
        let mut wrong = Vec::new();
        let mut exact = 0;
        for &(want, s) in OTHERS {
            let got = lang_of(s);
            exact += usize::from(got == want);
            let ok = match want {
                "bg" | "mk" | "sr" => ["bg", "mk", "sr"].contains(&got.as_str()),
                _ => got == want,
            };
            if !ok {
                wrong.push(format!("{want}: {s} -> {got}"));
            }
        }
        let all = OTHERS.len() + RESOLVED_TO_SERVED.len();
        let served_calls = OTHERS
            .iter()
            .filter(|(_, s)| ["ru", "en"].contains(&lang_of(s).as_str()))
            .count()
            + RESOLVED_TO_SERVED
                .iter()
                .filter(|(_, _, s)| ["ru", "en"].contains(&lang_of(s).as_str()))
                .count();
        println!(
            "other-language sentences: {all}; called their own language: {exact}; called ru or en: {served_calls}"
        );
        assert!(wrong.is_empty(), "misdetected:\n{}", wrong.join("\n"));
    }

    #[test]
    fn a_weak_lead_without_own_letters_resolves_to_the_served_language() {
        for &(language, resolved, s) in RESOLVED_TO_SERVED {
            // Plain whatlang does lean to the sentence's language...
            assert_eq!(detect(s, &[]).unwrap().0, language, "{s}");
            // ... but not far enough for the archive to give up a served reading.
            let (got, confidence) = detect(s, &served()).unwrap();
            assert_eq!(got, resolved, "{s}");
            assert!(
                confidence < 0.5,
                "{s}: a served language chosen against a lead: {confidence}"
            );
        }
    }

    #[test]
    fn the_issue_sentence() {
        let s = "Снег ожидается в Москве. Температура до минус десяти.";
        // Plain whatlang (no served languages) calls it Ukrainian, the bug in the issue.
        assert_eq!(detect(s, &[]).unwrap().0, "uk");
        let (l, c) = detect(s, &served()).unwrap();
        assert_eq!(l, "ru");
        assert!(c > 0.0 && c < 1.0, "{c}");
        assert_eq!(c, (c * 1000.0).round() / 1000.0);
        // Not even when Ukrainian is served too: no і, ї, є or ґ.
        assert_eq!(detect(s, &langs(&["en", "ru", "uk"])).unwrap().0, "ru");
        // With Russian not served it is still not Ukrainian.
        assert_ne!(detect(s, &langs(&["en"])).unwrap().0, "uk");
    }

    #[test]
    fn letters_by_their_place() {
        let yer = |s: &str| cyrillic_letters(s).contains(&YER_VOWEL);
        assert!(yer("България"));
        assert!(yer("във"));
        assert!(yer("КМЕТЪТ"));
        assert!(!yer("объявил"), "the Russian separating ъ");
        assert!(!yer("Коммерсантъ"), "a word-final ъ");
        assert!(!yer("Ъ-Огонек"));
        assert_eq!(
            cyrillic_letters("шофьор пьет"),
            vec!['ш', 'о', 'ф', SOFT_SIGN_BEFORE_O, 'о', 'р', 'п', 'ь', 'е', 'т']
        );
        let ruled_out = |s: &str, l| Evidence::of(s, Script::Cyrillic, false).rules_out(l);
        // ы rules Bulgarian and Ukrainian out, not Russian or Belarusian.
        let s = "Суд арестовал бывшего министра.";
        assert!(ruled_out(s, Lang::Bul) && ruled_out(s, Lang::Ukr));
        assert!(!ruled_out(s, Lang::Rus));
        // и rules Belarusian out; ь before a consonant rules Bulgarian out.
        assert!(ruled_out("Матч перенесли на понедельник.", Lang::Bel));
        assert!(ruled_out("Матч перенесли на понедельник.", Lang::Bul));
        // ъ as a vowel rules Russian out.
        assert!(ruled_out("Кметът обеща да ремонтира пътищата.", Lang::Rus));
        // One foreign letter in a long text does not: a Russian article may quote a name.
        let article = format!(
            "{} Киев, Київ.",
            "Правительство утвердило бюджет на следующий год. ".repeat(10)
        );
        assert!(!ruled_out(&article, Lang::Rus));
        assert_eq!(lang_of(&article), "ru");
    }

    #[test]
    fn quotes_in_a_long_text_do_not_flip_it() {
        let russian = "Правительство утвердило проект бюджета на следующий год, сообщили в пресс-службе. \
                       Расходы на дороги вырастут на десятую часть, на образование и медицину тоже. "
            .repeat(3);
        let quoted = format!("{russian}Министр напомнил слова коллеги: «Ми не здамося, і це головне».");
        assert_eq!(lang_of(&quoted), "ru");
        let ukrainian = "Уряд схвалив проєкт бюджету на наступний рік, повідомили у пресслужбі. \
                         Видатки на дороги зростуть на десяту частину, на освіту і медицину теж. "
            .repeat(3);
        let quoted = format!("{ukrainian}Міністр нагадав слова колеги: «Мы не сдадимся, это главное».");
        assert_eq!(lang_of(&quoted), "uk");
    }

    #[test]
    fn served_lists() {
        let uk = "Уряд схвалив проєкт державного бюджету на наступний рік.";
        assert_eq!(detect(uk, &langs(&["en", "ru", "uk"])).unwrap().0, "uk");
        assert_eq!(
            detect("Цены на бензин снова поднялись.", &langs(&["en", "ru", "uk"]))
                .unwrap()
                .0,
            "ru"
        );
        // No served language in the script: the letters still choose among the rest.
        assert_eq!(
            detect("Die Benzinpreise sind erneut gestiegen.", &langs(&["ru"]))
                .unwrap()
                .0,
            "de"
        );
        assert_eq!(
            detect("Die Benzinpreise sind erneut gestiegen.", &langs(&["de"]))
                .unwrap()
                .0,
            "de"
        );
        assert_eq!(
            detect("The dollar rose against the rouble on Wednesday.", &langs(&["de"]))
                .unwrap()
                .0,
            "en"
        );
        // A script of one language.
        let greek = "Η κυβέρνηση ενέκρινε τον προϋπολογισμό.";
        assert_eq!(detect(greek, &served()).unwrap(), ("el".to_string(), 1.0));
    }

    #[test]
    fn no_served_languages_is_plain_whatlang() {
        for s in RUSSIAN.iter().chain(ENGLISH).chain(OTHERS.iter().map(|(_, s)| s)) {
            let info = whatlang::detect(s).unwrap();
            let (l, c) = detect(s, &[]).unwrap();
            assert_eq!(l, code(info.lang()), "{s}");
            assert_eq!(c, (info.confidence() * 1000.0).round() / 1000.0, "{s}");
        }
    }

    #[test]
    fn russian_english_german_and_no_clue() {
        let (l, c) = detect(
            "Центральный банк сохранил ключевую ставку, сообщили в пресс-службе регулятора.",
            &served(),
        )
        .unwrap();
        assert_eq!(l, "ru");
        assert!(c > 0.5);
        assert_eq!(
            lang_of("The central bank kept its key rate unchanged, the regulator said on Friday."),
            "en"
        );
        assert_eq!(
            lang_of("Die Zentralbank hat den Leitzins unverändert gelassen, teilte die Behörde mit."),
            "de"
        );
        assert!(detect("12345 !!! 678", &served()).is_none());
        assert!(detect("12345 !!! 678", &[]).is_none());
        assert!(detect("", &served()).is_none());
    }
}
