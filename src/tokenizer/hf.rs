//! `tokenizer.json` through the `tokenizers` crate: the tokenizer of every repo that ships one
//! (BART's byte-level BPE, T5's and NLLB's Unigram). Encoding adds the special tokens the
//! file's post-processor defines, as transformers' fast tokenizers do by default; decoding
//! skips special tokens and does no clean-up of tokenization spaces, as the families svodka
//! supports configure it.
//!
//! Multilingual models (NLLB, M2M100, mBART) name languages with tokens; [`LanguageCodes`]
//! finds the token of a language and [`HfTokenizer::set_source_code`] puts the source one in
//! place, so one checkpoint serves every direction it was trained for.

use std::path::{Path, PathBuf};

use tokenizers::processors::template::TemplateProcessing;

use super::TokenizerError;

pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl HfTokenizer {
    /// `tokenizer.json` in `dir`.
    pub fn from_dir(dir: &Path) -> Result<HfTokenizer, TokenizerError> {
        let path = dir.join("tokenizer.json");
        let inner = tokenizers::Tokenizer::from_file(&path).map_err(|e| TokenizerError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(HfTokenizer { inner, path })
    }

    /// Ids with the post-processor's special tokens (`<s> … </s>` for BART, `… </s>` for T5).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.inner
            .encode(text, true)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TokenizerError::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, TokenizerError> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| TokenizerError::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Put source-language token `code` where `layout` says, as transformers' `src_lang` setter
    /// rebuilds the post-processor: `[code] $A </s>` or `$A </s> [code]`.
    pub(crate) fn set_source_code(&mut self, code: &str, layout: CodeLayout) -> Result<(), TokenizerError> {
        let invalid = |message: String| TokenizerError::Invalid {
            path: self.path.clone(),
            message,
        };
        let id = self
            .token_to_id(code)
            .ok_or_else(|| invalid(format!("no token `{code}` in the vocabulary")))?;
        let eos = self
            .token_to_id("</s>")
            .ok_or_else(|| invalid("no `</s>` token in the vocabulary".into()))?;
        let (single, pair) = match layout {
            CodeLayout::Prefix => (format!("{code} $A </s>"), format!("{code} $A $B </s>")),
            CodeLayout::Suffix => (format!("$A </s> {code}"), format!("$A $B </s> {code}")),
        };
        let template = TemplateProcessing::builder()
            .try_single(single.as_str())
            .and_then(|b| b.try_pair(pair.as_str()))
            .map_err(|e| invalid(e.to_string()))?
            .special_tokens(vec![(code, id), ("</s>", eos)])
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        self.inner.with_post_processor(Some(template));
        Ok(())
    }
}

/// Where a multilingual tokenizer puts the source-language token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeLayout {
    /// `[src] pieces </s>`: NLLB (non-legacy), M2M100, mBART-50.
    Prefix,
    /// `pieces </s> [src]`: mBART (cc25) and NLLB with `legacy_behaviour`.
    Suffix,
}

/// The language tokens of a multilingual model (NLLB's `rus_Cyrl`, mBART's `ru_RU`, M2M100's
/// `__ru__`), read from `tokenizer_config.json` as transformers reads them: its
/// `additional_special_tokens` are the codes, `src_lang` the default source, and the tokenizer
/// class (with NLLB's `legacy_behaviour`) says where the source token goes.
#[derive(Debug, Clone)]
pub(crate) struct LanguageCodes {
    codes: Vec<String>,
    default_source: String,
    layout: CodeLayout,
    /// The target token is forced as the first generated token (NLLB, M2M100, mBART-50); mBART
    /// cc25 models instead start decoding with it, or force it in their generation config.
    forces_target: bool,
}

/// ISO 639-1 codes to FLORES-200 codes (NLLB) for the languages news archives are likely in.
const FLORES: &[(&str, &str)] = &[
    ("ar", "arb_Arab"),
    ("az", "azj_Latn"),
    ("be", "bel_Cyrl"),
    ("bg", "bul_Cyrl"),
    ("cs", "ces_Latn"),
    ("de", "deu_Latn"),
    ("en", "eng_Latn"),
    ("es", "spa_Latn"),
    ("et", "est_Latn"),
    ("fi", "fin_Latn"),
    ("fr", "fra_Latn"),
    ("he", "heb_Hebr"),
    ("hy", "hye_Armn"),
    ("it", "ita_Latn"),
    ("ja", "jpn_Jpan"),
    ("ka", "kat_Geor"),
    ("kk", "kaz_Cyrl"),
    ("ko", "kor_Hang"),
    ("lt", "lit_Latn"),
    ("lv", "lvs_Latn"),
    ("nl", "nld_Latn"),
    ("pl", "pol_Latn"),
    ("pt", "por_Latn"),
    ("ro", "ron_Latn"),
    ("ru", "rus_Cyrl"),
    ("sk", "slk_Latn"),
    ("sr", "srp_Cyrl"),
    ("sv", "swe_Latn"),
    ("tr", "tur_Latn"),
    ("uk", "ukr_Cyrl"),
    ("uz", "uzn_Latn"),
    ("zh", "zho_Hans"),
];

impl LanguageCodes {
    /// `None` when the tokenizer has no `src_lang` (a monolingual or Marian-style model).
    pub fn from_dir(dir: &Path) -> Result<Option<LanguageCodes>, TokenizerError> {
        let path = dir.join("tokenizer_config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TokenizerError::Io { path, source }),
        };
        let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|source| TokenizerError::Json {
            path: path.clone(),
            source,
        })?;
        let Some(default_source) = cfg.get("src_lang").and_then(|v| v.as_str()) else {
            return Ok(None);
        };
        let codes: Vec<String> = cfg
            .get("additional_special_tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let class = cfg.get("tokenizer_class").and_then(|v| v.as_str()).unwrap_or("");
        let legacy = cfg.get("legacy_behaviour").and_then(|v| v.as_bool()).unwrap_or(false);
        let (layout, forces_target) = if class.starts_with("Nllb") {
            (if legacy { CodeLayout::Suffix } else { CodeLayout::Prefix }, true)
        } else if class.starts_with("M2M100") || class.starts_with("MBart50") {
            (CodeLayout::Prefix, true)
        } else if class.starts_with("MBart") {
            (CodeLayout::Suffix, false)
        } else {
            return Err(TokenizerError::Unsupported(format!(
                "{}: language codes of tokenizer class `{class}`",
                path.display()
            )));
        };
        Ok(Some(LanguageCodes {
            codes,
            default_source: default_source.to_string(),
            layout,
            forces_target,
        }))
    }

    /// The token that names `lang` (an ISO 639-1 code such as `ru`, or the model's own code).
    pub fn code(&self, lang: &str) -> Option<&str> {
        let flores = FLORES.iter().find(|(l, _)| *l == lang).map(|(_, c)| *c);
        let m2m = format!("__{lang}__");
        self.codes
            .iter()
            .find(|c| *c == lang || Some(c.as_str()) == flores || **c == m2m)
            .or_else(|| {
                // mBART: `ru_RU`, `en_XX`.
                self.codes
                    .iter()
                    .find(|c| c.len() == lang.len() + 3 && c.starts_with(lang) && c[lang.len()..].starts_with('_'))
            })
            .map(String::as_str)
    }

    /// The ISO 639-1 language a code names, when it is one svodka knows.
    pub(crate) fn language_of(code: &str) -> Option<String> {
        if let Some((l, _)) = FLORES.iter().find(|(_, c)| *c == code) {
            return Some(l.to_string());
        }
        let bare = code.trim_matches('_');
        let lang = bare.split('_').next().unwrap_or(bare);
        (lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase())).then(|| lang.to_string())
    }

    /// The language the tokenizer is set up for (`src_lang`), when svodka knows it.
    pub(crate) fn default_language(&self) -> Option<String> {
        Self::language_of(&self.default_source)
    }

    pub fn layout(&self) -> CodeLayout {
        self.layout
    }

    pub(crate) fn forces_target(&self) -> bool {
        self.forces_target
    }

    pub(crate) fn is_code(&self, token: &str) -> bool {
        self.codes.iter().any(|c| c == token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seq2seq")
            .join(name)
    }

    #[test]
    fn language_tokens_of_nllb_and_mbart() {
        let nllb = LanguageCodes::from_dir(&fixture("m2m100")).unwrap().unwrap();
        assert_eq!((nllb.code("ru"), nllb.code("en")), (Some("rus_Cyrl"), Some("eng_Latn")));
        assert_eq!(nllb.code("eng_Latn"), Some("eng_Latn"));
        assert_eq!(nllb.code("tlh"), None);
        assert_eq!((nllb.layout(), nllb.forces_target()), (CodeLayout::Prefix, true));
        assert_eq!(nllb.default_language().as_deref(), Some("ru"));
        let mbart = LanguageCodes::from_dir(&fixture("mbart")).unwrap().unwrap();
        assert_eq!((mbart.code("ru"), mbart.code("en")), (Some("ru_RU"), Some("en_XX")));
        assert_eq!((mbart.layout(), mbart.forces_target()), (CodeLayout::Suffix, false));
        assert_eq!(LanguageCodes::language_of("__uk__").as_deref(), Some("uk"));
        assert!(LanguageCodes::from_dir(&fixture("bart")).unwrap().is_none());

        let mut tok = HfTokenizer::from_dir(&fixture("m2m100")).unwrap();
        let ru = tok.encode("Привет").unwrap();
        tok.set_source_code("eng_Latn", CodeLayout::Prefix).unwrap();
        let en = tok.encode("Привет").unwrap();
        assert_eq!(ru[1..], en[1..]);
        assert_eq!(Some(en[0]), tok.token_to_id("eng_Latn"));
        tok.set_source_code("eng_Latn", CodeLayout::Suffix).unwrap();
        let legacy = tok.encode("Привет").unwrap();
        assert_eq!(legacy[..legacy.len() - 1], en[1..]);
        assert_eq!(legacy.last().copied(), tok.token_to_id("eng_Latn"));
    }
}
