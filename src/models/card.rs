//! Model cards: one TOML file per supported model in `models/`, compiled into the binary so
//! `svodka models list` and card names work wherever the binary runs.
//!
//! A card says what a model is for (family, task, languages), where it lives on the Hugging
//! Face Hub (repo, revision), how inputs are prepared (prefix, input limit) and its
//! generation defaults. It does not list files: the loader discovers them.

use serde::{Deserialize, Serialize};

use crate::generate::GenerationConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub name: String,
    pub family: String,
    /// `translate` or `summarize`.
    pub task: crate::task::Task,
    pub source_lang: String,
    pub target_lang: String,
    /// Languages a summariser serves (it writes in the language it reads); default: the
    /// source language.
    #[serde(default)]
    pub languages: Vec<String>,
    pub repo: String,
    #[serde(default = "main_revision")]
    pub revision: String,
    #[serde(default)]
    pub prefix: String,
    pub max_input_tokens: usize,
    #[serde(default)]
    pub generate: GenerationConfig,
}

fn main_revision() -> String {
    "main".into()
}

const BUILT_IN: &[(&str, &str)] = &[
    (
        "distilbart-cnn-12-6.toml",
        include_str!("../../models/distilbart-cnn-12-6.toml"),
    ),
    (
        "mbart-ru-sum-gazeta.toml",
        include_str!("../../models/mbart-ru-sum-gazeta.toml"),
    ),
    ("mt5-xlsum.toml", include_str!("../../models/mt5-xlsum.toml")),
    (
        "nllb-200-distilled-600m.toml",
        include_str!("../../models/nllb-200-distilled-600m.toml"),
    ),
    ("opus-mt-en-ru.toml", include_str!("../../models/opus-mt-en-ru.toml")),
    ("opus-mt-ru-en.toml", include_str!("../../models/opus-mt-ru-en.toml")),
];

impl Card {
    /// Languages this model reads.
    pub fn serves(&self) -> Vec<String> {
        if self.languages.is_empty() {
            vec![self.source_lang.clone()]
        } else {
            self.languages.clone()
        }
    }
}

/// All built-in cards, sorted by name.
pub fn all() -> Vec<Card> {
    let mut cards: Vec<Card> = BUILT_IN
        .iter()
        .map(|(file, text)| {
            toml::from_str(text).unwrap_or_else(|e| panic!("built-in card models/{file} is invalid: {e}"))
        })
        .collect();
    cards.sort_by(|a, b| a.name.cmp(&b.name));
    cards
}

/// The card `name`, or `name@REVISION`: the card at another Hub revision (a commit hash, a
/// tag or a branch), to pin or try one without editing the card.
pub fn find(name: &str) -> Option<Card> {
    let (base, revision) = match name.rsplit_once('@') {
        Some((b, r)) if !b.is_empty() && !r.is_empty() => (b, Some(r)),
        _ => (name, None),
    };
    let mut card = all().into_iter().find(|c| c.name == base)?;
    if let Some(r) = revision {
        card.revision = r.to_string();
    }
    Some(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_cards_parse_and_are_consistent() {
        let cards = all();
        assert!(cards.len() >= 2);
        for c in &cards {
            assert!(c.repo.contains('/'), "{}", c.name);
            assert!(c.max_input_tokens > 0);
        }
        let all_files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        assert_eq!(all_files.len(), BUILT_IN.len(), "every card in models/ is compiled in");
        assert_eq!(find("mt5-xlsum").unwrap().serves(), ["en", "ru"]);
        assert_eq!(find("distilbart-cnn-12-6").unwrap().serves(), ["en"]);
        let ru_en = find("opus-mt-ru-en").unwrap();
        assert_eq!((ru_en.source_lang.as_str(), ru_en.target_lang.as_str()), ("ru", "en"));
        assert_eq!(ru_en.generate.num_beams, Some(4));
        assert_eq!(find("nllb-200-distilled-600m").unwrap().serves(), ["ru", "en"]);
    }
}
