//! Lead-3: the first sentences of the article as its summary.
//!
//! The standard extractive baseline of news summarisation (news puts the essentials first),
//! and a real summariser in its own right: it is what svodka writes when no model summariser is
//! configured, and what any model has to beat in `svodka bench`. It writes in the article's
//! own language only; other languages come from translators.

use super::{Summarizer, SummaryInput};
use crate::chunk::split_sentences;
use crate::record_error::ArticleError;

pub struct Lead {
    sentences: usize,
}

impl Lead {
    pub fn new(sentences: usize) -> Lead {
        Lead {
            sentences: sentences.max(1),
        }
    }
}

impl Summarizer for Lead {
    fn name(&self) -> &str {
        "lead-3"
    }

    fn writes(&self, source: &str, target: &str) -> bool {
        source == target
    }

    fn max_input_tokens(&self) -> Option<usize> {
        None
    }

    fn generates(&self) -> bool {
        false
    }

    fn summarize(&self, inputs: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>> {
        inputs
            .iter()
            .map(|item| {
                let ranges = split_sentences(item.text, item.source_lang);
                let end = ranges[..ranges.len().min(self.sentences)].last().map_or(0, |r| r.end);
                Ok(item.text[..end].split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(text: &str, lang: &str, n: usize) -> String {
        let input = SummaryInput {
            text,
            source_lang: lang,
            target_lang: lang,
        };
        Lead::new(n).summarize(&[input]).remove(0).unwrap()
    }

    #[test]
    fn first_three_sentences_across_paragraphs() {
        let t = "Первое предложение, т. е. вступление. Второе — о 2025 г. и планах.\n\nТретье в новом абзаце. Четвёртое лишнее.";
        assert_eq!(
            lead(t, "ru", 3),
            "Первое предложение, т. е. вступление. Второе — о 2025 г. и планах. Третье в новом абзаце."
        );
        assert_eq!(lead("Only one.", "en", 3), "Only one.");
        assert_eq!(
            lead(
                "Dr. Smith went to the U.S. in Sept. last year. He stayed. Then left. Bye.",
                "en",
                2
            ),
            "Dr. Smith went to the U.S. in Sept. last year. He stayed."
        );
    }
}
