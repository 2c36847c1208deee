//! Language identification with whatlang (trigram profiles, no model files, fast enough to
//! run on every article). whatlang speaks ISO 639-3; records use ISO 639-1 where one exists,
//! as the rest of svodka (config, model cards) does.

/// Detected language code and whatlang's confidence (0–1); `None` when the text gives no clue
/// (digits, punctuation, too short).
pub fn detect(text: &str) -> Option<(String, f64)> {
    // The first few thousand characters decide as well as the whole of a long article.
    let end = text.char_indices().nth(4000).map_or(text.len(), |(i, _)| i);
    let info = whatlang::detect(&text[..end])?;
    let code = info.lang().code();
    let short = to_639_1(code).unwrap_or(code);
    Some((short.to_string(), (info.confidence() * 1000.0).round() / 1000.0))
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

    #[test]
    fn russian_english_german() {
        let (l, c) = detect("Центральный банк сохранил ключевую ставку, сообщили в пресс-службе регулятора.").unwrap();
        assert_eq!(l, "ru");
        assert!(c > 0.5);
        assert_eq!(
            detect("The central bank kept its key rate unchanged, the regulator said on Friday.")
                .unwrap()
                .0,
            "en"
        );
        assert_eq!(
            detect("Die Zentralbank hat den Leitzins unverändert gelassen, teilte die Behörde mit.")
                .unwrap()
                .0,
            "de"
        );
        assert!(detect("12345 !!! 678").is_none());
    }
}
