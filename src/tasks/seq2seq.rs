//! A [`Translator`] backed by an encoder-decoder model (Marian/opus-mt now; the summarisation
//! families reuse the same shape).
//!
//! It takes whole texts, so callers need not know the model's limits: a text longer than the
//! model's input budget is cut into sentence-aligned pieces with the model's own tokenizer,
//! the pieces of all texts are sorted by length and packed into token-budgeted batches (little
//! padding), batches run in parallel on rayon over one shared copy of the weights, and each
//! text's pieces are joined back. Output is deterministic whatever the batching, because each
//! row's result does not depend on its neighbours.

use std::path::Path;

use candle_core::{DType, Device};
use rayon::prelude::*;

use super::Translator;
use crate::chunk::{TokenCounter, chunk_text};
use crate::error::{ArticleError, ErrorKind, Stage};
use crate::generate::{GenerationConfig, Resolved, generate};
use crate::models::hub::Located;
use crate::models::{ModelError, Seq2Seq, load_seq2seq, read_config};
use crate::tokenizer::MarianTokenizer;

/// How a translator is set up beyond its model.
#[derive(Debug, Clone)]
pub struct TranslatorOptions {
    pub source: String,
    pub target: String,
    /// Text put before every input (`>>rus<< ` for multi-target models); `None` = the card's.
    pub prefix: Option<String>,
    /// Generation settings over the card's and the model's.
    pub generate: GenerationConfig,
    pub dtype: DType,
    pub batch_tokens: usize,
    pub batch_items: usize,
}

/// A batch's piece indices and their translations (or the batch's error).
type BatchResult = (Vec<usize>, Result<Vec<String>, String>);

pub struct Seq2SeqTranslator {
    name: String,
    model: Box<dyn Seq2Seq>,
    tokenizer: MarianTokenizer,
    settings: Resolved,
    prefix: String,
    source: String,
    target: String,
    max_input_tokens: usize,
    batch_tokens: usize,
    batch_items: usize,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, ModelError> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t).map(Some).map_err(|source| ModelError::Json {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ModelError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The generation settings of a model directory: `generation_config.json`, the token ids of
/// `config.json`, then the card's defaults, then `overrides`.
pub fn generation_settings(
    dir: &Path,
    card: Option<&GenerationConfig>,
    overrides: &GenerationConfig,
    name: &str,
) -> Result<Resolved, ModelError> {
    let (_, raw) = read_config(dir)?;
    let gen_path = dir.join("generation_config.json");
    // Old checkpoints keep their generation defaults in config.json.
    let (source, path) = match read_json(&gen_path)? {
        Some(v) => (v, gen_path),
        None => (raw.clone(), dir.join("config.json")),
    };
    let mut g = GenerationConfig::from_hf_json(&source).map_err(|source| ModelError::Json { path, source })?;
    g.fill_from_model_config(&raw);
    if let Some(c) = card {
        g.merge(c);
    }
    g.merge(overrides);
    let max_pos = raw
        .get("max_position_embeddings")
        .and_then(|v| v.as_u64())
        .map(|v| v as usize);
    let mut r = g.resolve(max_pos).map_err(|source| ModelError::Generation {
        model: name.to_string(),
        source,
    })?;
    // The decoder has no positions past max_position_embeddings: a longer max_length (opus-mt's
    // card asks for 512 new tokens after the start token) would fail mid-batch, so it is capped.
    if let Some(p) = max_pos {
        r.max_length = r.max_length.min(p);
    }
    Ok(r)
}

impl Seq2SeqTranslator {
    pub fn load(loc: &Located, opts: &TranslatorOptions) -> Result<Seq2SeqTranslator, ModelError> {
        let dir = &loc.dir;
        let (_, raw) = read_config(dir)?;
        let tokenizer = MarianTokenizer::from_dir(dir)?;
        let model = load_seq2seq(dir, opts.dtype, &Device::Cpu)?;
        let settings = generation_settings(dir, loc.card.as_ref().map(|c| &c.generate), &opts.generate, &loc.name)?;
        let max_pos = raw
            .get("max_position_embeddings")
            .and_then(|v| v.as_u64())
            .unwrap_or(512) as usize;
        let max_input_tokens = loc.card.as_ref().map_or(max_pos, |c| c.max_input_tokens.min(max_pos));
        let prefix = opts
            .prefix
            .clone()
            .or_else(|| loc.card.as_ref().map(|c| c.prefix.clone()))
            .unwrap_or_default();
        Ok(Seq2SeqTranslator {
            name: loc.name.clone(),
            model,
            tokenizer,
            settings,
            prefix,
            source: opts.source.clone(),
            target: opts.target.clone(),
            max_input_tokens,
            batch_tokens: opts.batch_tokens,
            batch_items: opts.batch_items,
        })
    }

    pub fn generation(&self) -> &Resolved {
        &self.settings
    }

    /// Pieces of `text` that each fit the model's input budget, with what separated them.
    fn pieces<'a>(&self, text: &'a str) -> Vec<(&'a str, &'a str)> {
        let budget = self
            .max_input_tokens
            .saturating_sub(1 + self.count(&self.prefix))
            .max(1);
        if self.count(text) <= budget {
            return vec![(text.trim(), "")];
        }
        chunk_text(text, &self.source, budget, self)
            .into_iter()
            .map(|c| {
                let piece = &text[c.start..c.end];
                let trimmed = piece.trim_end();
                (trimmed.trim_start(), &piece[trimmed.len()..])
            })
            .collect()
    }

    /// Translate texts; any model failure fails the texts of its batch.
    pub fn translate_all(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
        let mut owners: Vec<(usize, &str)> = Vec::new();
        let mut inputs: Vec<Vec<u32>> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            for (piece, sep) in self.pieces(t) {
                owners.push((i, sep));
                inputs.push(if piece.is_empty() {
                    Vec::new()
                } else {
                    self.tokenizer.encode(&format!("{}{piece}", self.prefix))
                });
            }
        }
        let lengths: Vec<usize> = inputs.iter().map(Vec::len).collect();
        let batches = crate::batch::plan(&lengths, self.batch_tokens, self.batch_items);
        let results: Vec<BatchResult> = batches
            .into_par_iter()
            .map(|b| {
                let rows: Vec<Vec<u32>> = b.iter().map(|&k| inputs[k].clone()).filter(|r| !r.is_empty()).collect();
                let out = generate(self.model.as_ref(), &rows, &self.settings)
                    .map_err(|e| e.to_string())
                    .map(|seqs| {
                        let mut it = seqs.into_iter();
                        b.iter()
                            .map(|&k| {
                                if inputs[k].is_empty() {
                                    String::new()
                                } else {
                                    self.tokenizer.decode(&it.next().expect("one output per row"), true)
                                }
                            })
                            .collect()
                    });
                (b, out)
            })
            .collect();
        let mut pieces: Vec<Option<Result<String, String>>> = vec![None; inputs.len()];
        for (b, out) in results {
            match out {
                Ok(texts) => b.into_iter().zip(texts).for_each(|(k, t)| pieces[k] = Some(Ok(t))),
                Err(e) => b.into_iter().for_each(|k| pieces[k] = Some(Err(e.clone()))),
            }
        }
        let mut out: Vec<Result<String, ArticleError>> = vec![Ok(String::new()); texts.len()];
        for ((i, sep), piece) in owners.into_iter().zip(pieces) {
            match (&mut out[i], piece.expect("every piece is in a batch")) {
                (Ok(acc), Ok(t)) => {
                    acc.push_str(&t);
                    // Paragraph breaks survive translation; other separators become a space.
                    acc.push_str(if sep.contains("\n\n") {
                        "\n\n"
                    } else if sep.is_empty() {
                        ""
                    } else {
                        " "
                    });
                }
                (slot @ Ok(_), Err(e)) => {
                    *slot = Err(ArticleError::new(
                        Stage::Translate,
                        ErrorKind::Model,
                        format!("{}: {e}", self.name),
                    ));
                }
                (Err(_), _) => {}
            }
        }
        out.into_iter().map(|r| r.map(|s| s.trim_end().to_string())).collect()
    }
}

impl TokenCounter for Seq2SeqTranslator {
    /// Source tokens the model sees for `text`, without the end-of-sequence token.
    fn count(&self, text: &str) -> usize {
        self.tokenizer.encode(text).len().saturating_sub(1)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl Translator for Seq2SeqTranslator {
    fn name(&self) -> &str {
        &self.name
    }
    fn source_lang(&self) -> &str {
        &self.source
    }
    fn target_lang(&self) -> &str {
        &self.target
    }
    fn translate(&self, batch: &[&str]) -> Vec<Result<String, ArticleError>> {
        self.translate_all(batch)
    }
    fn counter(&self) -> Option<&dyn TokenCounter> {
        Some(self)
    }
    fn max_input_tokens(&self) -> Option<usize> {
        Some(self.max_input_tokens)
    }
}
