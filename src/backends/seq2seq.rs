//! [`Translator`] and [`Summarizer`] backed by an encoder-decoder model: Marian/opus-mt,
//! BART/mBART, T5/mT5, M2M100/NLLB, all through one [`Seq2SeqBackend`].
//!
//! The backend takes whole texts, so callers need not know the model's limits: a text longer
//! than the model's input budget is cut into sentence-aligned pieces with the model's own
//! tokenizer (a safety net: the executor already hands over chunks that fit), the pieces of
//! all texts are sorted by length and packed into token-budgeted batches (little padding) —
//! the only place a run decides batches — batches run in parallel on rayon over one shared
//! copy of the weights, and each text's pieces are joined back. Output is deterministic
//! whatever the batching, because each row's result does not depend on its neighbours.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::Device;
use rayon::prelude::*;

use super::{Decoding, Generated, Summarizer, SummaryInput, Translator, texts_of};
use crate::chunk::{TokenCounter, chunk_text};
use crate::config::PipelineConfig;
use crate::generate::{GenerationConfig, Resolved, Seq2Seq, generate};
use crate::models::hub::Located;
use crate::models::{FamilyConfig, ModelError, Precision, load_seq2seq_with, read_config, read_json};
use crate::record_error::{ArticleError, ErrorKind, Stage};
use crate::task::Task;
use crate::tokenizer::MarianTokenizer;
use crate::tokenizer::hf::{HfTokenizer, LanguageCodes};

/// A model's tokenizer: Marian's SentencePiece files, or a `tokenizer.json`.
pub(crate) enum Codec {
    Marian(MarianTokenizer),
    Hf(HfTokenizer),
}

impl Codec {
    /// Marian repos are recognised by their SentencePiece files (`source.spm`, `target.spm`)
    /// when there is no `tokenizer.json`; everything else needs `tokenizer.json`. A Marian repo
    /// missing one of its files is told so by the Marian loader, not sent to look for
    /// `tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Codec, ModelError> {
        let spm = ["source.spm", "target.spm"].iter().any(|f| dir.join(f).is_file());
        if dir.join("source.spm").is_file() || spm && !dir.join("tokenizer.json").is_file() {
            Ok(Codec::Marian(MarianTokenizer::from_dir(dir)?))
        } else {
            Ok(Codec::Hf(HfTokenizer::from_dir(dir)?))
        }
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        match self {
            Codec::Marian(t) => Ok(t.encode(text)),
            Codec::Hf(t) => t.encode(text).map_err(|e| e.to_string()),
        }
    }

    fn decode(&self, ids: &[u32]) -> Result<String, String> {
        match self {
            Codec::Marian(t) => Ok(t.decode(ids, true)),
            Codec::Hf(t) => t.decode(ids, true).map_err(|e| e.to_string()),
        }
    }
}

/// How a backend is set up beyond its model.
#[derive(Debug, Clone)]
pub(crate) struct BackendOptions {
    /// Language of the inputs (for cutting long ones at sentence boundaries and for the source
    /// token of multilingual models); `None` = the model's own default, else English.
    pub source: Option<String>,
    /// Language of the outputs (the target token of multilingual models); `None` = the source.
    pub target: Option<String>,
    /// Text put before every input (`>>rus<< ` for multi-target models, `summarize: ` for
    /// T5); `None` = the card's, else the model's own task prefix.
    pub prefix: Option<String>,
    /// The task, for error records and the T5 task prefix.
    pub task: Task,
    /// Generation settings over the card's and the model's.
    pub generate: GenerationConfig,
    pub dtype: Precision,
    /// Where the model runs (`run.device`, opened once per process).
    pub device: Device,
    pub batch_tokens: usize,
    pub batch_items: usize,
}

impl BackendOptions {
    /// The options of a `task` backend under `cfg`: that task's generation settings and dtype.
    pub fn new(
        cfg: &PipelineConfig,
        task: Task,
        source: Option<&str>,
        target: Option<&str>,
        prefix: Option<String>,
    ) -> Result<BackendOptions, ModelError> {
        let (generate, dtype) = (cfg.generate_for(task), cfg.dtype_for(task));
        let device = crate::device::resolve(&cfg.run.device)?;
        Ok(BackendOptions {
            source: source.map(str::to_string),
            target: target.map(str::to_string),
            prefix,
            task,
            generate,
            dtype: crate::models::precision_for(dtype, &device)?,
            device,
            batch_tokens: cfg.batch.max_tokens,
            batch_items: cfg.batch.max_items,
        })
    }
}

type LoadedModels = HashMap<(PathBuf, Precision), Arc<dyn Seq2Seq>>;

/// Loaded weights by directory and dtype, so that backends on one checkpoint (NLLB serving
/// ru → en and en → ru) share one copy.
#[derive(Clone, Default)]
pub(crate) struct ModelCache {
    loaded: Arc<Mutex<LoadedModels>>,
}

impl std::fmt::Debug for ModelCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.loaded.lock().map_or(0, |m| m.len());
        write!(f, "ModelCache({n} loaded)")
    }
}

impl ModelCache {
    fn get_or_load(
        &self,
        cfg: &FamilyConfig,
        dir: &Path,
        dtype: Precision,
        device: &Device,
    ) -> Result<Arc<dyn Seq2Seq>, ModelError> {
        let key = (dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()), dtype);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = loaded.get(&key) {
            return Ok(Arc::clone(m));
        }
        let model: Arc<dyn Seq2Seq> = Arc::from(load_seq2seq_with(cfg, dir, dtype, device)?);
        loaded.insert(key, Arc::clone(&model));
        Ok(model)
    }
}

/// A batch's piece indices and their translations (or the batch's error).
type BatchResult = (Vec<usize>, Result<Vec<Generated>, String>);

/// A loaded encoder-decoder model with its tokenizer and generation settings.
pub(crate) struct Seq2SeqBackend {
    name: String,
    model: Arc<dyn Seq2Seq>,
    codec: Codec,
    settings: Resolved,
    prefix: String,
    source: String,
    /// The model names languages with tokens, so one backend serves one direction.
    language_tokens: bool,
    task: Task,
    max_input_tokens: usize,
    batch_tokens: usize,
    batch_items: usize,
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
    settings_of(dir, &raw, card, overrides, name)
}

/// [`generation_settings`] with `config.json` already read (`raw`).
fn settings_of(
    dir: &Path,
    raw: &serde_json::Value,
    card: Option<&GenerationConfig>,
    overrides: &GenerationConfig,
    name: &str,
) -> Result<Resolved, ModelError> {
    let gen_path = dir.join("generation_config.json");
    // Old checkpoints keep their generation defaults in config.json.
    let (source, path) = match gen_path.exists().then(|| read_json(&gen_path)).transpose()? {
        Some(v) => (v, gen_path),
        None => (raw.clone(), dir.join("config.json")),
    };
    let mut g = GenerationConfig::from_hf_json(&source).map_err(|source| ModelError::Json { path, source })?;
    g.fill_from_model_config(raw);
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

/// Point a multilingual model at `source` → `target`, as transformers' `src_lang` setter and
/// translation pipeline do: the source token goes into the tokenizer's template, and the
/// target token becomes the forced first token (NLLB, M2M100, mBART-50, or any model whose
/// generation config forces a language token) and the decoder start when that is a language.
fn set_languages(
    tok: &mut HfTokenizer,
    codes: &LanguageCodes,
    source: &str,
    target: &str,
    settings: &mut Resolved,
    name: &str,
) -> Result<(), ModelError> {
    let find = |lang: &str| {
        codes
            .code(lang)
            .map(str::to_string)
            .ok_or_else(|| ModelError::Language {
                model: name.to_string(),
                lang: lang.to_string(),
                example: codes.code("en").or(codes.code("ru")).unwrap_or("?").to_string(),
            })
    };
    let (src, tgt) = (find(source)?, find(target)?);
    tok.set_source_code(&src, codes.layout())?;
    let tgt_id = tok.token_to_id(&tgt).ok_or_else(|| ModelError::Language {
        model: name.to_string(),
        lang: target.to_string(),
        example: tgt.clone(),
    })?;
    let is_code = |id: u32| tok.id_to_token(id).is_some_and(|t| codes.is_code(&t));
    if codes.forces_target() || settings.forced_bos_token_id.is_some_and(is_code) {
        settings.forced_bos_token_id = Some(tgt_id);
    }
    if is_code(settings.decoder_start_token_id) {
        settings.decoder_start_token_id = tgt_id;
    }
    Ok(())
}

impl Seq2SeqBackend {
    pub fn load(loc: &Located, opts: &BackendOptions, models: &ModelCache) -> Result<Seq2SeqBackend, ModelError> {
        let dir = &loc.dir;
        // config.json once, for the weights, the generation settings and the limits.
        let (family, raw) = read_config(dir)?;
        let mut codec = Codec::from_dir(dir)?;
        let model = models.get_or_load(&family, dir, opts.dtype, &opts.device)?;
        let card = loc.card.as_ref().map(|c| &c.generate);
        let mut settings = settings_of(dir, &raw, card, &opts.generate, &loc.name)?;
        let codes = match codec {
            Codec::Hf(_) => LanguageCodes::from_dir(dir)?,
            Codec::Marian(_) => None,
        };
        let source = opts
            .source
            .clone()
            .or_else(|| codes.as_ref().and_then(LanguageCodes::default_language))
            .unwrap_or_else(|| "en".into());
        let target = opts.target.clone().unwrap_or_else(|| source.clone());
        if let (Some(codes), Codec::Hf(tok)) = (&codes, &mut codec) {
            set_languages(tok, codes, &source, &target, &mut settings, &loc.name)?;
        }
        let max_pos = raw
            .get("max_position_embeddings")
            .and_then(|v| v.as_u64())
            .unwrap_or(512) as usize;
        let max_input_tokens = loc.card.as_ref().map_or(max_pos, |c| c.max_input_tokens.min(max_pos));
        // transformers' summarization pipeline puts T5's task prefix before every input.
        let task_prefix = || {
            let task = if opts.task == Task::Summarize {
                "summarization"
            } else {
                "translation"
            };
            raw.pointer(&format!("/task_specific_params/{task}/prefix"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let prefix = opts
            .prefix
            .clone()
            .or_else(|| loc.card.as_ref().map(|c| c.prefix.clone()).filter(|p| !p.is_empty()))
            .or_else(task_prefix)
            .unwrap_or_default();
        // A card from the Hub cache is named with the commit its files are (a short hash),
        // so that every record says which weights made it, unless the name pins it already.
        let name = match (&loc.card, crate::models::hub::snapshot_commit(&loc.dir)) {
            (Some(c), Some(commit)) if !commit.starts_with(&c.revision) => {
                format!("{}@{}", loc.name, &commit[..commit.len().min(12)])
            }
            _ => loc.name.clone(),
        };
        Ok(Seq2SeqBackend {
            name,
            model,
            codec,
            settings,
            prefix,
            source,
            language_tokens: codes.is_some(),
            task: opts.task,
            max_input_tokens,
            batch_tokens: opts.batch_tokens,
            batch_items: opts.batch_items,
        })
    }

    /// The language the backend reads.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the model names languages with tokens (then it is set up for one direction).
    pub(crate) fn has_language_tokens(&self) -> bool {
        self.language_tokens
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

    /// Batches of `texts` as [`Seq2SeqBackend::run`] packs them when each is one piece.
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        let lengths: Vec<usize> = texts
            .iter()
            .map(|t| {
                self.codec
                    .encode(&format!("{}{}", self.prefix, t.trim()))
                    .map_or(0, |ids| ids.len())
            })
            .collect();
        crate::batch::plan(&lengths, self.batch_tokens, self.batch_items)
    }

    /// The settings `decoding` asks for: the safer way is beam search (at least 4 beams) that
    /// never repeats a 3-gram, the usual cure for the loops greedy decoding falls into.
    fn settings(&self, decoding: Decoding) -> std::borrow::Cow<'_, Resolved> {
        match decoding {
            Decoding::Configured => std::borrow::Cow::Borrowed(&self.settings),
            Decoding::Safer => {
                let mut s = self.settings.clone();
                s.num_beams = s.num_beams.max(SAFER_BEAMS);
                if s.no_repeat_ngram_size == 0 {
                    s.no_repeat_ngram_size = SAFER_NO_REPEAT;
                }
                std::borrow::Cow::Owned(s)
            }
        }
    }

    /// Run the model on texts (translate or summarise, whatever it was trained for); a model
    /// or tokenizer failure fails the texts of its batch.
    fn run(&self, texts: &[&str], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        let settings = self.settings(decoding);
        let settings = settings.as_ref();
        let mut owners: Vec<(usize, &str)> = Vec::new();
        let mut inputs: Vec<Result<Vec<u32>, String>> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            for (piece, sep) in self.pieces(t) {
                owners.push((i, sep));
                inputs.push(if piece.is_empty() {
                    Ok(Vec::new())
                } else {
                    self.codec.encode(&format!("{}{piece}", self.prefix))
                });
            }
        }
        let lengths: Vec<usize> = inputs.iter().map(|r| r.as_ref().map_or(0, Vec::len)).collect();
        let batches = crate::batch::plan(&lengths, self.batch_tokens, self.batch_items);
        let results: Vec<BatchResult> = batches
            .into_par_iter()
            .map(|b| {
                if let Some(Err(e)) = b.iter().map(|&k| &inputs[k]).find(|r| r.is_err()) {
                    return (b, Err(format!("tokenizer: {e}")));
                }
                let encoded = |k: usize| inputs[k].as_ref().expect("checked above");
                let rows: Vec<Vec<u32>> = b
                    .iter()
                    .map(|&k| encoded(k).clone())
                    .filter(|r| !r.is_empty())
                    .collect();
                let out = generate(self.model.as_ref(), &rows, settings)
                    .map_err(|e| e.to_string())
                    .and_then(|seqs| {
                        let mut it = seqs.into_iter();
                        b.iter()
                            .map(|&k| {
                                if encoded(k).is_empty() {
                                    Ok(Generated::default())
                                } else {
                                    // A model that returned fewer rows than it was given fails
                                    // its batch, rather than the pool.
                                    let seq = it.next().ok_or("the model returned fewer sequences than inputs")?;
                                    // At max_length the last token may be a forced end token:
                                    // the length says it was cut, not the token.
                                    let hit_limit = seq.len() >= settings.max_length
                                        || seq.last().is_none_or(|t| !settings.eos_token_id.contains(t));
                                    Ok(Generated {
                                        text: self.codec.decode(&seq)?,
                                        hit_limit,
                                    })
                                }
                            })
                            .collect()
                    });
                (b, out)
            })
            .collect();
        let mut pieces: Vec<Option<Result<Generated, String>>> = vec![None; inputs.len()];
        for (b, out) in results {
            match out {
                Ok(texts) => b.into_iter().zip(texts).for_each(|(k, t)| pieces[k] = Some(Ok(t))),
                Err(e) => b.into_iter().for_each(|k| pieces[k] = Some(Err(e.clone()))),
            }
        }
        let mut out: Vec<Result<Generated, ArticleError>> = vec![Ok(Generated::default()); texts.len()];
        // What separated each text's previous piece from the next, put back between outputs:
        // paragraph breaks survive, other separators become a space. A single piece is the
        // model's output exactly.
        let mut pending_sep: Vec<&str> = vec![""; texts.len()];
        for ((i, sep), piece) in owners.into_iter().zip(pieces) {
            match (&mut out[i], piece.expect("every piece is in a batch")) {
                (Ok(acc), Ok(t)) => {
                    acc.text.push_str(pending_sep[i]);
                    acc.text.push_str(&t.text);
                    acc.hit_limit |= t.hit_limit;
                    pending_sep[i] = if sep.contains("\n\n") {
                        "\n\n"
                    } else if sep.is_empty() {
                        ""
                    } else {
                        " "
                    };
                }
                (slot @ Ok(_), Err(e)) => {
                    *slot = Err(ArticleError::new(
                        self.task.into(),
                        ErrorKind::Model,
                        format!("{}: {e}", self.name),
                    ));
                }
                (Err(_), _) => {}
            }
        }
        out
    }
}

impl TokenCounter for Seq2SeqBackend {
    /// Tokens the model sees for `text`, without the end-of-sequence token.
    fn count(&self, text: &str) -> usize {
        self.codec.encode(text).map_or(0, |ids| ids.len().saturating_sub(1))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Beams of a safer retry ([`Decoding::Safer`]).
const SAFER_BEAMS: usize = 4;
/// `no_repeat_ngram_size` of a safer retry, where the configuration has none.
const SAFER_NO_REPEAT: usize = 3;

/// A translator: a backend that reads `source` and writes `target`.
pub(crate) struct Seq2SeqTranslator {
    backend: Seq2SeqBackend,
    target: String,
}

impl Seq2SeqTranslator {
    pub fn new(backend: Seq2SeqBackend, target: &str) -> Seq2SeqTranslator {
        Seq2SeqTranslator {
            backend,
            target: target.to_string(),
        }
    }
}

impl Translator for Seq2SeqTranslator {
    fn name(&self) -> &str {
        &self.backend.name
    }
    fn source_lang(&self) -> &str {
        &self.backend.source
    }
    fn target_lang(&self) -> &str {
        &self.target
    }
    fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
        texts_of(self.translate_as(texts, Decoding::Configured))
    }
    fn translate_as(&self, texts: &[&str], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        self.backend.run(texts, decoding)
    }
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        self.backend.batches(texts)
    }
    fn counter(&self) -> Option<&dyn TokenCounter> {
        Some(&self.backend)
    }
    fn max_input_tokens(&self) -> Option<usize> {
        Some(self.backend.max_input_tokens)
    }
}

/// A summariser: a backend that writes summaries in the language it reads. `languages` lists
/// the languages it serves (from its card); empty means any.
pub(crate) struct Seq2SeqSummarizer {
    backend: Seq2SeqBackend,
    languages: Vec<String>,
}

impl Seq2SeqSummarizer {
    pub fn new(backend: Seq2SeqBackend, languages: Vec<String>) -> Seq2SeqSummarizer {
        Seq2SeqSummarizer { backend, languages }
    }
}

impl Summarizer for Seq2SeqSummarizer {
    fn name(&self) -> &str {
        &self.backend.name
    }
    fn writes(&self, source: &str, target: &str) -> bool {
        source == target && (self.languages.is_empty() || self.languages.iter().any(|l| l == source))
    }
    fn max_input_tokens(&self) -> Option<usize> {
        Some(self.backend.max_input_tokens)
    }
    fn summarize(&self, inputs: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>> {
        texts_of(self.summarize_as(inputs, Decoding::Configured))
    }
    /// Inputs in a language the model does not serve get an error, not a summary in the wrong
    /// language.
    fn summarize_as(&self, inputs: &[SummaryInput<'_>], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        let (ok, texts): (Vec<usize>, Vec<&str>) = inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| self.writes(i.source_lang, i.target_lang))
            .map(|(k, i)| (k, i.text))
            .unzip();
        let mut done = self.backend.run(&texts, decoding).into_iter();
        let mut ok = ok.into_iter().peekable();
        inputs
            .iter()
            .enumerate()
            .map(|(k, i)| {
                if ok.next_if_eq(&k).is_some() {
                    done.next().expect("one result per served input")
                } else {
                    Err(ArticleError::new(
                        Stage::Summarize,
                        ErrorKind::Model,
                        format!(
                            "{} does not write {} summaries of {} text (it serves: {})",
                            self.backend.name,
                            i.target_lang,
                            i.source_lang,
                            self.languages.join(", ")
                        ),
                    ))
                }
            })
            .collect()
    }
    fn counter(&self) -> Option<&dyn TokenCounter> {
        Some(&self.backend)
    }
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        self.backend.batches(texts)
    }
}
