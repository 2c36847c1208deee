//! Token-budgeted chunking of article bodies.
//!
//! A model sees an article through a context window measured in tokens, so bodies
//! are cut into chunks that each fit a token budget. Chunks are byte ranges into
//! the text that was chunked, not copies: concatenating them gives back the body
//! exactly, so offsets stored downstream (highlights, citations, dedup) always
//! point into the original, and nothing is silently dropped or duplicated.
//!
//! Chunks are packed from whole sentences ([`sentence::split_sentences`]) because
//! a sentence is the smallest unit that reads on its own. Only a sentence that
//! alone exceeds the budget is cut, at the gentlest place available: clause
//! punctuation first, then word boundaries, then (for a single enormous word)
//! char boundaries.
//!
//! Token counting goes through [`TokenCounter`] so the real model tokenizer can
//! replace [`EstimateCounter`] later without touching the packing logic.

pub mod sentence;
pub use sentence::split_sentences;

use std::ops::Range;

/// Counts tokens the way a model will see them: each backend implements it with its own
/// tokenizer; `EstimateCounter` stands in where no model reads the text (lead-3, `inspect`).
pub trait TokenCounter: Send + Sync {
    fn count(&self, text: &str) -> usize;
    /// Short name for records/logs, e.g. "estimate".
    fn name(&self) -> &str;
}

/// Rough stand-in for a SentencePiece tokenizer on Russian and English text.
///
/// Rule (deterministic, whitespace costs nothing):
/// * the text is split on whitespace into words, and each word into maximal runs
///   of alphanumeric chars and maximal runs of other chars;
/// * an alphanumeric run costs `ceil(weight / 12)` tokens, where each ASCII letter
///   weighs 3 (≈4 Latin letters per token), each other letter (Cyrillic, …)
///   weighs 4 (≈3 per token, as SentencePiece vocabularies are less dense
///   there) and each digit weighs 12 (Llama/Gemma-style vocabularies split
///   numbers into single digits);
/// * any run of punctuation/symbols costs 1 token.
///
/// So every non-whitespace char costs at most 1 token on its own, and a word
/// costs at least 1. Because a run's cost is a ceiling of a sum, cutting text
/// anywhere can only keep or raise the total (`count(a) + count(b) >=
/// count(a + b)`), with equality when the cut is at whitespace. [`chunk_text`]
/// relies on this to pack by summing piece counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct EstimateCounter;

impl TokenCounter for EstimateCounter {
    fn count(&self, text: &str) -> usize {
        #[derive(PartialEq)]
        enum Run {
            None,
            Alnum,
            Other,
        }
        let mut tokens = 0;
        let mut weight: usize = 0;
        let mut run = Run::None;
        for c in text.chars() {
            let kind = if c.is_whitespace() {
                Run::None
            } else if c.is_alphanumeric() {
                Run::Alnum
            } else {
                Run::Other
            };
            if kind != Run::Alnum && run == Run::Alnum {
                tokens += weight.div_ceil(12);
                weight = 0;
            }
            if kind == Run::Other && run != Run::Other {
                tokens += 1;
            }
            if kind == Run::Alnum {
                weight += if c.is_ascii_digit() {
                    12
                } else if c.is_ascii() {
                    3
                } else {
                    4
                };
            }
            run = kind;
        }
        tokens + weight.div_ceil(12)
    }

    fn name(&self) -> &str {
        "estimate"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range into the text that was chunked.
    pub start: usize,
    pub end: usize,
    /// `counter.count(&text[start..end])`.
    pub tokens: usize,
    /// Number of sentences the chunk holds, a sentence cut across chunks counting
    /// once in each.
    pub sentences: usize,
}

/// Pack whole sentences into chunks of at most `max_tokens` tokens (as counted by `counter` on the chunk's text).
/// A sentence longer than the budget is split at clause punctuation (, ; : — – and similar, split AFTER the
/// punctuation and its following whitespace), then at whitespace between words, and a single word longer than the
/// budget at char boundaries. Chunks tile the text exactly (concatenating text[c.start..c.end] for all chunks gives
/// back `text`), none is empty, and each has tokens <= max_tokens except where a single char exceeds it.
/// max_tokens == 0 is treated as 1.
///
/// Packing sums the counts of the pieces (sentences or their fragments) rather than
/// re-counting the growing chunk, which would be quadratic on long articles. The
/// final chunk is then counted once for the `tokens` field. For [`EstimateCounter`]
/// the sum is never below the real count, so the budget holds; for a counter where
/// joining pieces can cost more than the pieces did, a chunk that comes out over
/// budget is re-packed piece by piece with exact counts.
pub fn chunk_text(text: &str, lang: &str, max_tokens: usize, counter: &dyn TokenCounter) -> Vec<Chunk> {
    let mut packer = Packer {
        text,
        max: max_tokens.max(1),
        counter,
        pieces: Vec::new(),
        sum: 0,
        chunks: Vec::new(),
    };
    for (sentence, range) in split_sentences(text, lang).into_iter().enumerate() {
        let tokens = counter.count(&text[range.clone()]);
        if tokens <= packer.max {
            packer.push(Piece {
                range,
                tokens,
                sentence,
            });
        } else {
            split_oversized(&mut packer, range, sentence, Level::Clause);
        }
    }
    packer.flush();
    packer.chunks
}

/// Where an oversized piece may be cut, gentlest first.
#[derive(Clone, Copy)]
enum Level {
    Clause,
    Word,
    Char,
}

fn split_oversized(packer: &mut Packer<'_>, range: Range<usize>, sentence: usize, level: Level) {
    let text = packer.text;
    let piece = &text[range.clone()];
    let (cuts, finer) = match level {
        Level::Clause => (clause_cuts(piece), Level::Word),
        Level::Word => (word_cuts(piece), Level::Char),
        Level::Char => {
            split_word(packer, range, sentence);
            return;
        }
    };
    let mut start = range.start;
    let ends = cuts
        .into_iter()
        .map(|c| range.start + c)
        .chain(std::iter::once(range.end));
    for end in ends {
        let part = start..end;
        start = end;
        let tokens = packer.counter.count(&text[part.clone()]);
        if tokens > packer.max {
            split_oversized(packer, part, sentence, finer);
        } else {
            packer.push(Piece {
                range: part,
                tokens,
                sentence,
            });
        }
    }
}

/// Cut a word that alone exceeds the budget into the longest runs of chars that
/// fit, measured exactly. Summing single-char counts would waste most of the budget
/// (four Latin letters cost one token together but four apart), and growing char by
/// char would be quadratic on a pathological multi-kilobyte "word", so each run's
/// end is found by galloping and then bisecting. A run that does not fit even as a
/// single char is emitted alone.
fn split_word(packer: &mut Packer<'_>, range: Range<usize>, sentence: usize) {
    let text = packer.text;
    let mut bounds: Vec<usize> = text[range.clone()]
        .char_indices()
        .map(|(i, _)| range.start + i)
        .collect();
    bounds.push(range.end);
    let last = bounds.len() - 1;
    let count = |from: usize, to: usize| packer.counter.count(&text[bounds[from]..bounds[to]]);

    let mut pieces = Vec::new();
    let mut from = 0;
    while from < last {
        let mut good = from + 1;
        let mut good_tokens = count(from, good);
        if good_tokens <= packer.max {
            // Invariant: `from..good` fits; `from..bad` (when `bad <= last`) does not.
            let mut bad = last + 1;
            let mut step = 1;
            while good < last {
                let probe = (good + step).min(last);
                let tokens = count(from, probe);
                if tokens > packer.max {
                    bad = probe;
                    break;
                }
                good = probe;
                good_tokens = tokens;
                step *= 2;
            }
            while bad <= last && bad - good > 1 {
                let mid = good + (bad - good) / 2;
                let tokens = count(from, mid);
                if tokens > packer.max {
                    bad = mid;
                } else {
                    good = mid;
                    good_tokens = tokens;
                }
            }
        }
        pieces.push(Piece {
            range: bounds[from]..bounds[good],
            tokens: good_tokens,
            sentence,
        });
        from = good;
    }
    for piece in pieces {
        packer.push(piece);
    }
}

/// Offsets just after clause punctuation and the whitespace following it. The
/// whitespace is required so decimals (`3,8`) and ranges (`2020–2024`) stay whole.
fn clause_cuts(piece: &str) -> Vec<usize> {
    const CLAUSE: &[char] = &[',', ';', ':', '—', '–', '‒', '―', '，', '；', '：'];
    let mut cuts = Vec::new();
    let mut chars = piece.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if !CLAUSE.contains(&c) || !chars.peek().is_some_and(|&(_, n)| n.is_whitespace()) {
            continue;
        }
        while chars.peek().is_some_and(|&(_, n)| n.is_whitespace()) {
            chars.next();
        }
        if let Some(&(i, _)) = chars.peek() {
            cuts.push(i);
        }
    }
    cuts
}

/// Offsets where a word starts after whitespace (leading whitespace stays with
/// the first word, trailing whitespace with the word before it).
fn word_cuts(piece: &str) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut seen_word = false;
    let mut prev_ws = false;
    for (i, c) in piece.char_indices() {
        let ws = c.is_whitespace();
        if prev_ws && !ws && seen_word {
            cuts.push(i);
        }
        seen_word |= !ws;
        prev_ws = ws;
    }
    cuts
}

struct Piece {
    range: Range<usize>,
    tokens: usize,
    sentence: usize,
}

struct Packer<'a> {
    text: &'a str,
    max: usize,
    counter: &'a dyn TokenCounter,
    /// Pieces of the chunk being built; kept only for the exact re-pack fallback.
    pieces: Vec<Piece>,
    sum: usize,
    chunks: Vec<Chunk>,
}

impl Packer<'_> {
    fn push(&mut self, piece: Piece) {
        while !self.pieces.is_empty() && self.sum + piece.tokens > self.max {
            self.settle();
        }
        self.sum += piece.tokens;
        self.pieces.push(piece);
    }

    fn flush(&mut self) {
        while !self.pieces.is_empty() {
            self.settle();
        }
    }

    /// Emit the pending chunk, counted exactly. If the exact count breaks the
    /// budget (the counter is not subadditive), emit the longest exactly-fitting
    /// prefixes instead and keep the remainder pending so it can still grow. Only
    /// reachable with a non-estimate counter, and bounded by one chunk's pieces.
    fn settle(&mut self) {
        let pieces = std::mem::take(&mut self.pieces);
        self.sum = 0;
        let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
            return;
        };
        let range = first.range.start..last.range.end;
        let tokens = self.counter.count(&self.text[range.clone()]);
        if tokens <= self.max || pieces.len() == 1 {
            self.emit(range, tokens, &pieces);
            return;
        }
        let mut from = 0;
        loop {
            let start = pieces[from].range.start;
            let mut to = from + 1;
            let mut tokens = self.counter.count(&self.text[start..pieces[from].range.end]);
            while let Some(next) = pieces.get(to) {
                let grown = self.counter.count(&self.text[start..next.range.end]);
                if grown > self.max {
                    break;
                }
                tokens = grown;
                to += 1;
            }
            if to == pieces.len() {
                self.sum = tokens;
                self.pieces = pieces.into_iter().skip(from).collect();
                return;
            }
            let end = pieces[to - 1].range.end;
            self.emit(start..end, tokens, &pieces[from..to]);
            from = to;
        }
    }

    fn emit(&mut self, range: Range<usize>, tokens: usize, pieces: &[Piece]) {
        // Pieces arrive in text order, so distinct sentences are runs of equal ids.
        let sentences = 1 + pieces.windows(2).filter(|w| w[0].sentence != w[1].sentence).count();
        self.chunks.push(Chunk {
            start: range.start,
            end: range.end,
            tokens,
            sentences,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts<'a>(text: &'a str, chunks: &[Chunk]) -> Vec<&'a str> {
        chunks.iter().map(|c| &text[c.start..c.end]).collect()
    }

    fn assert_valid(text: &str, chunks: &[Chunk], max: usize, counter: &dyn TokenCounter) {
        let mut pos = 0;
        for c in chunks {
            assert_eq!(c.start, pos, "chunks must tile: {chunks:?}");
            assert!(c.start < c.end, "empty chunk: {chunks:?}");
            assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
            assert_eq!(c.tokens, counter.count(&text[c.start..c.end]));
            assert!(c.tokens <= max.max(1), "over budget: {c:?} in {text:?}");
            assert!(c.sentences >= 1);
            pos = c.end;
        }
        assert_eq!(pos, text.len());
    }

    #[test]
    fn estimate_counter_rule() {
        let c = EstimateCounter;
        assert_eq!(c.name(), "estimate");
        assert_eq!(c.count(""), 0);
        assert_eq!(c.count(" \n\t "), 0);
        assert_eq!(c.count("a"), 1);
        assert_eq!(c.count("word"), 1);
        assert_eq!(c.count("words"), 2);
        assert_eq!(c.count("при"), 1);
        assert_eq!(c.count("привет"), 2);
        assert_eq!(c.count("2025"), 4);
        assert_eq!(c.count("Hello, world!"), 6);
        // «|Мы  готовы|»,  —  сказал  он|.
        assert_eq!(c.count("«Мы готовы», — сказал он."), 10);
        assert_eq!(c.count("..."), 1);
        assert_eq!(c.count("👋"), 1);
        // Additive across whitespace.
        assert_eq!(
            c.count("Hello, world! Привет"),
            c.count("Hello, world! ") + c.count("Привет")
        );
    }

    #[test]
    fn empty_text() {
        assert!(chunk_text("", "ru", 10, &EstimateCounter).is_empty());
    }

    #[test]
    fn whitespace_only_text() {
        let chunks = chunk_text("  \n ", "ru", 10, &EstimateCounter);
        assert_eq!(
            chunks,
            vec![Chunk {
                start: 0,
                end: 4,
                tokens: 0,
                sentences: 1
            }]
        );
    }

    #[test]
    fn packs_whole_sentences() {
        let text = "Первое предложение. Второе предложение. Третье предложение.";
        let counter = EstimateCounter;
        let per_sentence = counter.count("Первое предложение. ");
        let chunks = chunk_text(text, "ru", per_sentence * 2, &counter);
        assert_valid(text, &chunks, per_sentence * 2, &counter);
        assert_eq!(
            texts(text, &chunks),
            ["Первое предложение. Второе предложение. ", "Третье предложение."]
        );
        assert_eq!(chunks[0].sentences, 2);
        assert_eq!(chunks[1].sentences, 1);

        let all = chunk_text(text, "ru", 1000, &counter);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].sentences, 3);
        assert_eq!(all[0].tokens, counter.count(text));
    }

    #[test]
    fn splits_long_sentence_at_clauses() {
        let text = "Правительство выделило деньги, регионы получили субсидии; \
                    подрядчики начали работы — и всё закончилось.";
        let counter = EstimateCounter;
        let max = counter.count("Правительство выделило деньги, ");
        let chunks = chunk_text(text, "ru", max, &counter);
        assert_valid(text, &chunks, max, &counter);
        assert_eq!(
            texts(text, &chunks),
            [
                "Правительство выделило деньги, ",
                "регионы получили субсидии; ",
                "подрядчики начали работы — ",
                "и всё закончилось."
            ]
        );
        assert!(chunks.iter().all(|c| c.sentences == 1));
    }

    #[test]
    fn splits_long_clause_at_words_and_long_word_at_chars() {
        let text = "one two three four five six seven";
        let counter = EstimateCounter;
        let chunks = chunk_text(text, "en", 2, &counter);
        assert_valid(text, &chunks, 2, &counter);
        // one=1, two=1, three=2, four=1, five=1, six=1, seven=2 tokens.
        assert_eq!(
            texts(text, &chunks),
            ["one two ", "three ", "four five ", "six ", "seven"]
        );

        let text = "Сверхдлинноесловобезпробелов";
        let chunks = chunk_text(text, "ru", 2, &counter);
        assert_valid(text, &chunks, 2, &counter);
        // Six Cyrillic letters per two tokens: runs are measured exactly, not by
        // summing single chars.
        assert_eq!(texts(text, &chunks), ["Сверхд", "линное", "словоб", "езпроб", "елов"]);
    }

    #[test]
    fn zero_budget_is_one() {
        let text = "Да нет";
        let chunks = chunk_text(text, "ru", 0, &EstimateCounter);
        assert_valid(text, &chunks, 1, &EstimateCounter);
        assert_eq!(texts(text, &chunks), ["Да ", "нет"]);
    }

    #[test]
    fn decimal_comma_is_not_a_clause_break() {
        let text = "Расстояние составило 3,8 километра";
        let counter = EstimateCounter;
        let chunks = chunk_text(text, "ru", 6, &counter);
        assert_valid(text, &chunks, 6, &counter);
        assert!(texts(text, &chunks).iter().any(|t| t.contains("3,8")));
    }

    /// Counts characters, but charges extra for a joined chunk: not subadditive,
    /// to exercise the exact re-pack path.
    struct Superadditive;

    impl TokenCounter for Superadditive {
        fn count(&self, text: &str) -> usize {
            let words = text.split_whitespace().count();
            words + words.saturating_sub(1)
        }
        fn name(&self) -> &str {
            "superadditive"
        }
    }

    #[test]
    fn non_subadditive_counter_still_respects_budget() {
        let text = "a b c d e f g h";
        let chunks = chunk_text(text, "en", 3, &Superadditive);
        assert_valid(text, &chunks, 3, &Superadditive);
        assert_eq!(texts(text, &chunks), ["a b ", "c d ", "e f ", "g h"]);
    }

    /// A counter for which one char can exceed the budget.
    struct Heavy;

    impl TokenCounter for Heavy {
        fn count(&self, text: &str) -> usize {
            text.chars().filter(|c| !c.is_whitespace()).count() * 5
        }
        fn name(&self) -> &str {
            "heavy"
        }
    }

    #[test]
    fn single_char_over_budget_stands_alone() {
        let text = "ab";
        let chunks = chunk_text(text, "en", 3, &Heavy);
        assert_eq!(texts(text, &chunks), ["a", "b"]);
        assert!(chunks.iter().all(|c| c.tokens == 5));
    }

    #[test]
    fn long_article_is_fast_and_valid() {
        let para = "Правительство РФ выделило 3,5 млрд руб. на ремонт дорог в 2025 г., \
                    т. е. почти вдвое больше. Об этом сообщил А. В. Кузнецов.\n\n";
        let text = para.repeat(2000);
        let counter = EstimateCounter;
        let chunks = chunk_text(&text, "ru", 256, &counter);
        assert_valid(&text, &chunks, 256, &counter);
    }

    fn mixed_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-zA-Z]{1,8}",
            4 => "[а-яА-ЯёЁ]{1,8}",
            3 => Just(" ".to_string()),
            1 => Just("\n".to_string()),
            1 => Just("\n\n".to_string()),
            2 => Just(". ".to_string()),
            1 => Just(".".to_string()),
            1 => Just(",".to_string()),
            1 => Just(", ".to_string()),
            1 => Just("…".to_string()),
            1 => Just("«".to_string()),
            1 => Just("»".to_string()),
            1 => Just(" — ".to_string()),
            1 => Just("? ".to_string()),
            1 => Just("! ".to_string()),
            1 => Just("т. д. ".to_string()),
            1 => Just("г. ".to_string()),
            1 => Just("А. ".to_string()),
            2 => "[0-9]{1,4}",
            1 => any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![mixed_text(), any::<String>(), "\\PC{0,80}"]
    }

    proptest! {
        #[test]
        fn chunks_tile_and_fit(text in any_text(), max in 1usize..64, en in any::<bool>()) {
            let lang = if en { "en" } else { "ru" };
            let counter = EstimateCounter;
            let chunks = chunk_text(&text, lang, max, &counter);
            assert_valid(&text, &chunks, max, &counter);
            let joined: String = chunks.iter().map(|c| &text[c.start..c.end]).collect();
            prop_assert_eq!(joined, text);
        }

        #[test]
        fn sentences_tile(text in any_text(), en in any::<bool>()) {
            let lang = if en { "en" } else { "ru" };
            let ranges = split_sentences(&text, lang);
            prop_assert_eq!(ranges.is_empty(), text.is_empty());
            let mut pos = 0;
            for r in &ranges {
                prop_assert_eq!(r.start, pos);
                prop_assert!(r.start < r.end);
                prop_assert!(text.is_char_boundary(r.end));
                // Whitespace belongs to the end of a sentence, never its start
                // (except leading whitespace of the whole text).
                if r.start > 0 {
                    prop_assert!(!text[r.clone()].starts_with(char::is_whitespace));
                }
                if ranges.len() > 1 {
                    prop_assert!(!text[r.clone()].trim().is_empty(), "blank sentence");
                }
                pos = r.end;
            }
            prop_assert_eq!(pos, text.len());
        }

        #[test]
        fn never_splits_a_sentence_that_fits(text in mixed_text(), extra in 0usize..20) {
            let counter = EstimateCounter;
            let ranges = split_sentences(&text, "ru");
            let largest = ranges.iter().map(|r| counter.count(&text[r.clone()])).max();
            let max = largest.unwrap_or(0).max(1) + extra;
            let chunks = chunk_text(&text, "ru", max, &counter);
            assert_valid(&text, &chunks, max, &counter);
            let starts: Vec<usize> = ranges.iter().map(|r| r.start).collect();
            for c in &chunks {
                prop_assert!(starts.binary_search(&c.start).is_ok(), "cut inside a sentence");
            }
            prop_assert_eq!(chunks.iter().map(|c| c.sentences).sum::<usize>(), ranges.len());
        }
    }
}
