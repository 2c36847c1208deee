//! Summarisers and translators: the seams model backends plug into, and the planner that turns
//! a wave of articles into batched calls on them.
//!
//! Backends see batches, never single strings, because every model backend to come (seq2seq
//! on Candle, GGUF) is only fast when it runs many rows at once. The planner collects the
//! work of many articles, packs it with [`crate::batch::plan`], and maps the results back.
//! For each article and each language of `summarize.languages` it tries, in order: a summary
//! written in that language by the summariser; a summary in the article's language translated
//! by a configured translator; otherwise the language is listed in `missing`.

mod lead3;
pub mod llm;
pub mod seq2seq;

use std::collections::BTreeMap;
use std::time::Instant;

pub use lead3::Lead;

use crate::chunk::Chunk;
use crate::config::{ConfigError, PipelineConfig, Strategy, TranslatorSpec};
use crate::error::{ArticleError, ErrorKind, Stage};
use crate::models::ModelError;

/// Most rounds of summarising joined chunk summaries (map-reduce depth after the map).
const MAX_REDUCE: usize = 3;

/// One text to summarise.
#[derive(Debug, Clone, Copy)]
pub struct SummaryInput<'a> {
    pub text: &'a str,
    pub source_lang: &'a str,
    pub target_lang: &'a str,
}

/// Writes summaries; one result per input, in order.
pub trait Summarizer: Send + Sync {
    /// Recorded in each record's `models`.
    fn name(&self) -> &str;
    /// Whether it writes a `target` summary of `source` text.
    fn writes(&self, source: &str, target: &str) -> bool;
    /// Token budget of one input; `None` for summarisers that take a whole article.
    fn max_input_tokens(&self) -> Option<usize>;
    fn summarize(&self, batch: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>>;
    /// The model's own token counter, for chunking the articles it will read.
    fn counter(&self) -> Option<&dyn crate::chunk::TokenCounter> {
        None
    }
}

/// Translates texts from one language to another; one result per input, in order.
pub trait Translator: Send + Sync {
    fn name(&self) -> &str;
    fn source_lang(&self) -> &str;
    fn target_lang(&self) -> &str;
    fn translate(&self, batch: &[&str]) -> Vec<Result<String, ArticleError>>;
    /// The model's own token counter, for chunking articles it will translate.
    fn counter(&self) -> Option<&dyn crate::chunk::TokenCounter> {
        None
    }
    /// Token budget of one input, if the model has one.
    fn max_input_tokens(&self) -> Option<usize> {
        None
    }
}

/// A translator that "auto" asked for and could not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// `ru-en`.
    pub pair: String,
    /// The card.
    pub model: String,
    /// What was tried, and why it failed.
    pub reason: String,
}

/// The configured backends.
pub struct Tasks {
    summarizer: Box<dyn Summarizer>,
    translators: Vec<Box<dyn Translator>>,
    unavailable: Vec<Unavailable>,
    languages: Vec<String>,
    batch_tokens: usize,
    batch_items: usize,
    full: bool,
    strategy: Strategy,
    chunk_tokens: usize,
}

/// What the tasks made of one article.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub summary: BTreeMap<String, String>,
    /// Which backend produced each field, e.g. `summary.en` → `lead-3`.
    pub models: BTreeMap<String, String>,
    pub missing: Vec<String>,
    /// How each summary was made, by language: `summarize`, `summarize-translate`,
    /// `translate-summarize` (or `translate-summarize-translate`, via a third language).
    pub summary_path: BTreeMap<String, String>,
    /// Whole-article translations by language (`translate.full`).
    pub translation: BTreeMap<String, String>,
    /// Set when a backend failed on this article; the record becomes an error record.
    pub error: Option<ArticleError>,
    pub summarize_ms: f64,
    pub translate_ms: f64,
}

/// An article as the tasks see it.
pub struct TaskInput<'a> {
    pub body: &'a str,
    pub lang: Option<&'a str>,
    pub chunks: &'a [Chunk],
}

/// Why the tasks could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot load the model of `{key}`")]
    Model {
        key: String,
        #[source]
        source: Box<ModelError>,
    },
}

fn backend_options(
    cfg: &PipelineConfig,
    models: &seq2seq::ModelCache,
    source: Option<&str>,
    target: Option<&str>,
    stage: Stage,
    prefix: Option<String>,
) -> Result<seq2seq::BackendOptions, ModelError> {
    let (generate, dtype) = match stage {
        Stage::Summarize => (cfg.summarize_generate(), &cfg.summarize.dtype),
        _ => (cfg.translate_generate(), &cfg.translate.dtype),
    };
    Ok(seq2seq::BackendOptions {
        source: source.map(str::to_string),
        target: target.map(str::to_string),
        prefix,
        stage,
        generate,
        dtype: crate::models::parse_dtype(dtype)?,
        batch_tokens: cfg.batch.max_tokens,
        batch_items: cfg.batch.max_items,
        models: models.clone(),
    })
}

/// Weights loaded so far in this process, so that backends on one checkpoint or GGUF file
/// share one copy.
#[derive(Clone, Default)]
pub struct Loaded {
    pub seq2seq: seq2seq::ModelCache,
    llms: std::sync::Arc<std::sync::Mutex<BTreeMap<std::path::PathBuf, std::sync::Arc<llm::LlmBackend>>>>,
}

impl Loaded {
    fn llm(&self, cfg: &PipelineConfig, spec: &str) -> Result<std::sync::Arc<llm::LlmBackend>, ModelError> {
        let path = std::path::Path::new(spec);
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut llms = self.llms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = llms.get(&key) {
            return Ok(std::sync::Arc::clone(b));
        }
        let b = std::sync::Arc::new(llm::LlmBackend::load(path, cfg)?);
        llms.insert(key, std::sync::Arc::clone(&b));
        Ok(b)
    }
}

/// Load the translator `spec` (a card name, a model directory or a GGUF file) for `source` →
/// `target`, sharing weights already in `loaded`.
pub fn load_translator(
    cfg: &PipelineConfig,
    loaded: &Loaded,
    spec: &str,
    source: &str,
    target: &str,
) -> Result<Box<dyn Translator>, ModelError> {
    if llm::is_gguf(spec) {
        return Ok(Box::new(llm::LlmTranslator::new(
            loaded.llm(cfg, spec)?,
            source,
            target,
        )));
    }
    let loc = crate::models::hub::locate(spec)?;
    let prefix = cfg.translate.prefixes.get(&format!("{source}-{target}")).cloned();
    let opts = backend_options(
        cfg,
        &loaded.seq2seq,
        Some(source),
        Some(target),
        Stage::Translate,
        prefix,
    )?;
    Ok(Box::new(seq2seq::Seq2SeqTranslator::new(
        seq2seq::Seq2SeqBackend::load(&loc, &opts)?,
        target,
    )))
}

/// Load the summariser `spec`: "lead-3", a card name, a model directory or a GGUF file. `lang`
/// sets up a model that names languages with tokens (mBART) for that language instead of its
/// card's first one.
pub fn load_summarizer(
    cfg: &PipelineConfig,
    loaded: &Loaded,
    spec: &str,
    lang: Option<&str>,
) -> Result<Box<dyn Summarizer>, ModelError> {
    if spec == "lead-3" || spec == "lead" {
        return Ok(Box::new(Lead::new(cfg.summarize.lead_sentences)));
    }
    if llm::is_gguf(spec) {
        return Ok(Box::new(llm::LlmSummarizer::new(loaded.llm(cfg, spec)?)));
    }
    let loc = crate::models::hub::locate(spec)?;
    let languages: Vec<String> = loc.card.as_ref().map(|c| c.serves()).unwrap_or_default();
    let prefix = (!cfg.summarize.prefix.is_empty()).then(|| cfg.summarize.prefix.clone());
    let source = lang.or(languages.first().map(String::as_str));
    let opts = backend_options(cfg, &loaded.seq2seq, source, None, Stage::Summarize, prefix)?;
    let backend = seq2seq::Seq2SeqBackend::load(&loc, &opts)?;
    // A model that names languages with tokens (mBART) is set up for one language; one without
    // a card serves whatever it is given.
    let languages = if backend.has_language_tokens() {
        vec![backend.source().to_string()]
    } else {
        languages
    };
    Ok(Box::new(seq2seq::Seq2SeqSummarizer::new(backend, languages)))
}

impl Tasks {
    /// Build the backends named in the configuration; an unknown name is an error naming the key.
    pub fn from_config(cfg: &PipelineConfig) -> Result<Tasks, TaskError> {
        let loaded = Loaded::default();
        // `llm.model`: one GGUF file as the summariser and every translator.
        let (summary_spec, summary_key) = if cfg.llm.model.is_empty() {
            (cfg.summarize.model.clone(), "summarize.model")
        } else {
            (cfg.llm.model.clone(), "llm.model")
        };
        let pairs: Vec<(TranslatorSpec, String)> = if cfg.llm.model.is_empty() {
            cfg.translate
                .models
                .pairs()
                .into_iter()
                .map(|t| {
                    let key = format!("translate.models.{}", t.pair);
                    (t, key)
                })
                .collect()
        } else {
            let langs = &cfg.summarize.languages;
            langs
                .iter()
                .flat_map(|a| langs.iter().filter(move |b| *b != a).map(move |b| format!("{a}-{b}")))
                .map(|pair| {
                    let t = TranslatorSpec {
                        pair,
                        spec: cfg.llm.model.clone(),
                        auto: false,
                    };
                    (t, "llm.model".to_string())
                })
                .collect()
        };
        let summarizer = load_summarizer(cfg, &loaded, &summary_spec, None).map_err(|e| TaskError::Model {
            key: summary_key.into(),
            source: Box::new(e),
        })?;
        let mut translators: Vec<Box<dyn Translator>> = Vec::new();
        let mut unavailable = Vec::new();
        for (t, key) in &pairs {
            let (source, target) = t.pair.split_once('-').expect("validated as a pair");
            match load_translator(cfg, &loaded, &t.spec, source, target) {
                Ok(tr) => translators.push(tr),
                // "auto" asked for the card only if it can be had: a card neither cached nor
                // downloadable leaves the pair untranslated. Anything else (a cached model
                // that does not load) is as fatal as for a model named outright.
                Err(ModelError::NotAvailable { name, tried, .. }) if t.auto => {
                    tracing::debug!("{key}: {name} is not available: {tried}");
                    unavailable.push(Unavailable {
                        pair: t.pair.clone(),
                        model: name,
                        reason: tried,
                    });
                }
                Err(e) => {
                    return Err(TaskError::Model {
                        key: key.clone(),
                        source: Box::new(e),
                    });
                }
            }
        }
        let mut tasks = Tasks::new(summarizer, translators, cfg);
        tasks.unavailable = unavailable;
        tasks.check_reachable(cfg)?;
        Ok(tasks)
    }

    /// Every language of `summarize.languages` must be writable for at least one served
    /// language, by the summariser or through a translator: a configuration that cannot produce
    /// what it asks for would write `ok` records without the summaries wanted. (A language that
    /// only a translator "auto" could not have would give is fine: that is said elsewhere.)
    fn check_reachable(&self, cfg: &PipelineConfig) -> Result<(), ConfigError> {
        let served = &cfg.language.served;
        let auto_pending = |target: &str| self.unavailable.iter().any(|u| u.pair.ends_with(&format!("-{target}")));
        for target in &self.languages {
            let reachable = served.iter().any(|source| {
                self.route(source, target).is_some()
                    || self
                        .translators
                        .iter()
                        .any(|t| t.target_lang() == target && self.route(source, t.source_lang()).is_some())
            });
            if !reachable && !auto_pending(target) {
                return Err(ConfigError::Invalid {
                    key: "summarize.languages".into(),
                    message: format!(
                        "no summary in `{target}` can be made from any served language ({}): the summariser `{}` \
                         does not write it and no translator translates into it; add a translator \
                         (translate.models.SRC-{target}) or a summariser that writes it, or remove `{target}`",
                        served.join(", "),
                        self.summarizer.name()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Tasks that load no model: lead-3 and no translators (`svodka inspect`, which must work
    /// without the models a run would load or download).
    pub fn without_models(cfg: &PipelineConfig) -> Tasks {
        Tasks::new(Box::new(Lead::new(cfg.summarize.lead_sentences)), Vec::new(), cfg)
    }

    /// Whether any translator is loaded.
    pub fn translates(&self) -> bool {
        !self.translators.is_empty()
    }

    /// Translators that "auto" asked for and could not have, by pair.
    pub fn unavailable(&self) -> &[Unavailable] {
        &self.unavailable
    }

    /// One line for the user when "auto" left pairs untranslated: which models are missing,
    /// and the one command that fetches them.
    pub fn translation_notice(&self) -> Option<String> {
        if self.unavailable.is_empty() {
            return None;
        }
        let models: Vec<&str> = self.unavailable.iter().map(|u| u.model.as_str()).collect();
        let pairs: Vec<&str> = self.unavailable.iter().map(|u| u.pair.as_str()).collect();
        let what = if self.translators.is_empty() {
            "translation is off".to_string()
        } else {
            format!("no translation {}", pairs.join(", "))
        };
        Some(format!(
            "{what}: {} {} not in the Hugging Face cache ({}) and cannot be downloaded here; \
             records list the untranslated languages in `missing`.\n  tried: {}\n  to translate: run \
             `svodka models fetch {}` where huggingface.co is reachable and copy its cache here, \
             or name local models with --set translate.models.PAIR=DIR",
            models.join(" and "),
            if models.len() == 1 { "is" } else { "are" },
            crate::models::hub::cache_dir().display(),
            self.unavailable[0].reason,
            models.join(" "),
        ))
    }

    /// The token counter and budget chunks of a `lang` article should use: those of the model
    /// that reads that language, else `None` (the estimate and `chunk.max_tokens`).
    pub fn chunking_for(&self, lang: &str) -> Option<(&dyn crate::chunk::TokenCounter, Option<usize>)> {
        if self.summarizer.writes(lang, lang)
            && let Some(c) = self.summarizer.counter()
        {
            return Some((c, self.summarizer.max_input_tokens()));
        }
        self.translators
            .iter()
            .find(|t| t.source_lang() == lang)
            .and_then(|t| t.counter().map(|c| (c, t.max_input_tokens())))
    }

    pub fn new(summarizer: Box<dyn Summarizer>, translators: Vec<Box<dyn Translator>>, cfg: &PipelineConfig) -> Tasks {
        Tasks {
            summarizer,
            translators,
            unavailable: Vec::new(),
            languages: cfg.summarize.languages.clone(),
            batch_tokens: cfg.batch.max_tokens,
            batch_items: cfg.batch.max_items,
            full: cfg.translate.full,
            strategy: cfg.summarize.strategy,
            chunk_tokens: cfg.chunk.max_tokens,
        }
    }

    /// Token budget chunks must respect for the summariser, if it has one.
    pub fn max_input_tokens(&self) -> Option<usize> {
        self.summarizer.max_input_tokens()
    }

    /// How the `target` summary of a `source` article is made, if the summariser and the
    /// translators can make it in one of the two orders (a summary translated from a third
    /// language is found later, in stage 3 of [`Tasks::run`]).
    fn route(&self, source: &str, target: &str) -> Option<Route> {
        if self.summarizer.writes(source, target) {
            return Some(Route::Summarize);
        }
        let translator = self.translator(source, target).is_some();
        let summarize_first = translator && self.summarizer.writes(source, source);
        let translate_first = translator && self.summarizer.writes(target, target);
        match self.strategy {
            Strategy::SummarizeTranslate if summarize_first => Some(Route::SummarizeTranslate),
            Strategy::TranslateSummarize if translate_first => Some(Route::TranslateSummarize),
            _ if summarize_first => Some(Route::SummarizeTranslate),
            _ if translate_first => Some(Route::TranslateSummarize),
            _ => None,
        }
    }

    fn translator(&self, source: &str, target: &str) -> Option<&dyn Translator> {
        self.translators
            .iter()
            .find(|t| t.source_lang() == source && t.target_lang() == target)
            .map(|t| t.as_ref())
    }

    /// Summarise and translate a wave of articles, batching across them, in three stages:
    /// 1. whole-article translations (`translate-summarize` routes and `translate.full`);
    /// 2. summaries of original or translated texts, chunk by chunk with reduce rounds;
    /// 3. translations of summaries into the languages still missing.
    pub fn run(&self, articles: &[TaskInput<'_>]) -> Vec<Outcome> {
        let mut out: Vec<Outcome> = (0..articles.len()).map(|_| Outcome::default()).collect();

        // Plan: which texts get summarised in which language. A `summarize-translate` route
        // needs the source-language summary even when that language is not requested: it is
        // made as an intermediate and dropped at the end.
        let mut direct: Vec<(usize, String)> = Vec::new();
        let mut via: Vec<(usize, String)> = Vec::new();
        let mut intermediate: Vec<(usize, String)> = Vec::new();
        for (i, a) in articles.iter().enumerate() {
            let Some(src) = a.lang else { continue };
            for lang in &self.languages {
                match self.route(src, lang) {
                    Some(Route::Summarize) => direct.push((i, lang.clone())),
                    Some(Route::TranslateSummarize) => via.push((i, lang.clone())),
                    Some(Route::SummarizeTranslate) if !self.languages.iter().any(|l| l == src) => {
                        intermediate.push((i, src.to_string()));
                    }
                    Some(Route::SummarizeTranslate) | None => {}
                }
            }
        }
        intermediate.dedup();
        direct.extend(intermediate.iter().cloned());

        // 1. Whole-article translations.
        let mut translated: BTreeMap<(usize, String), String> = BTreeMap::new();
        for tr in &self.translators {
            let (src, tgt) = (tr.source_lang(), tr.target_lang());
            let jobs: Vec<usize> = (0..articles.len())
                .filter(|&i| {
                    articles[i].lang == Some(src)
                        && ((self.full && tgt != src) || via.iter().any(|(k, l)| *k == i && l == tgt))
                })
                .collect();
            if jobs.is_empty() {
                continue;
            }
            let texts: Vec<&str> = jobs.iter().map(|&i| articles[i].body).collect();
            let t = Instant::now();
            let res = tr.translate(&texts);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let total: usize = texts.iter().map(|t| t.len().max(1)).sum();
            for ((&i, r), text) in jobs.iter().zip(res).zip(&texts) {
                let o = &mut out[i];
                o.translate_ms += ms * text.len().max(1) as f64 / total as f64;
                match r {
                    Ok(t) => {
                        if self.full {
                            o.translation.insert(tgt.to_string(), t.clone());
                            o.models.insert(format!("translation.{tgt}"), tr.name().to_string());
                        }
                        translated.insert((i, tgt.to_string()), t);
                    }
                    Err(e) => {
                        o.error.get_or_insert(e);
                    }
                }
            }
        }

        // 2. Summaries: of the article in its language, or of its translation.
        let budget = self
            .summarizer
            .max_input_tokens()
            .map_or(self.chunk_tokens, |m| m.min(self.chunk_tokens));
        let mut jobs: Vec<SummaryJob<'_>> = Vec::new();
        for (i, lang) in &direct {
            let a = &articles[*i];
            let src = a.lang.expect("planned for articles with a language");
            jobs.push(SummaryJob {
                article: *i,
                lang: lang.clone(),
                text_lang: src.to_string(),
                text: a.body,
                chunks: std::borrow::Cow::Borrowed(a.chunks),
                translator: None,
            });
        }
        for (i, lang) in &via {
            let Some(text) = translated.get(&(*i, lang.clone())) else {
                continue; // its translation failed: the record is already an error record
            };
            let counter: &dyn crate::chunk::TokenCounter =
                self.summarizer.counter().unwrap_or(&crate::chunk::EstimateCounter);
            let src = articles[*i].lang.expect("planned for articles with a language");
            jobs.push(SummaryJob {
                article: *i,
                lang: lang.clone(),
                text_lang: lang.clone(),
                text,
                chunks: std::borrow::Cow::Owned(crate::chunk::chunk_text(text, lang, budget, counter)),
                translator: self.translator(src, lang).map(|t| t.name().to_string()),
            });
        }
        let summaries = self.summarize_jobs(&jobs, &mut out);
        for (job, r) in jobs.iter().zip(summaries) {
            let o = &mut out[job.article];
            match r {
                Ok(text) => {
                    o.summary.insert(job.lang.clone(), text);
                    let (model, path) = match &job.translator {
                        Some(t) => (format!("{t} → {}", self.summarizer.name()), "translate-summarize"),
                        None => (self.summarizer.name().to_string(), "summarize"),
                    };
                    o.models.insert(format!("summary.{}", job.lang), model);
                    o.summary_path.insert(job.lang.clone(), path.to_string());
                }
                Err(e) => {
                    o.error.get_or_insert(e);
                }
            }
        }

        // 3. Translations of summaries into the requested languages still missing.
        for tr in &self.translators {
            let (src, tgt) = (tr.source_lang(), tr.target_lang());
            if !self.languages.iter().any(|l| l == tgt) {
                continue;
            }
            let jobs: Vec<usize> = (0..out.len())
                .filter(|&i| {
                    let o = &out[i];
                    o.error.is_none() && !o.summary.contains_key(tgt) && o.summary.contains_key(src)
                })
                .collect();
            if jobs.is_empty() {
                continue;
            }
            // Owned copies: the summaries live in `out`, which the results are written into.
            let owned: Vec<String> = jobs.iter().map(|&i| out[i].summary[src].clone()).collect();
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            let t = Instant::now();
            let res = tr.translate(&refs);
            let total: usize = refs.iter().map(|t| t.len().max(1)).sum();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            for ((&i, r), text) in jobs.iter().zip(res).zip(&refs) {
                let o = &mut out[i];
                o.translate_ms += ms * text.len().max(1) as f64 / total as f64;
                match r {
                    Ok(text) => {
                        let src_model = o.models.get(&format!("summary.{src}")).cloned().unwrap_or_default();
                        let src_path = o.summary_path.get(src).cloned().unwrap_or_default();
                        o.summary.insert(tgt.to_string(), text);
                        o.models
                            .insert(format!("summary.{tgt}"), format!("{src_model} → {}", tr.name()));
                        o.summary_path.insert(tgt.to_string(), format!("{src_path}-translate"));
                    }
                    Err(e) => {
                        o.error.get_or_insert(e);
                    }
                }
            }
        }

        for (i, lang) in &intermediate {
            let o = &mut out[*i];
            o.summary.remove(lang);
            o.summary_path.remove(lang);
            o.models.remove(&format!("summary.{lang}"));
        }
        for o in &mut out {
            o.missing = self
                .languages
                .iter()
                .filter(|l| !o.summary.contains_key(*l))
                .cloned()
                .collect();
        }
        out
    }

    /// Summaries of `jobs`, one result per job. A summariser with an input budget gets each
    /// chunk, batched across jobs; the chunk summaries of a job are joined in order and, when
    /// the job had several chunks, summarised again while the result is longer than the
    /// budget, at most MAX_REDUCE times, so even a 50,000-word article finishes.
    fn summarize_jobs(&self, jobs: &[SummaryJob<'_>], out: &mut [Outcome]) -> Vec<Result<String, ArticleError>> {
        struct Piece<'a> {
            job: usize,
            input: SummaryInput<'a>,
            tokens: usize,
        }
        let mut pieces: Vec<Piece<'_>> = Vec::new();
        for (k, j) in jobs.iter().enumerate() {
            let input = |text| SummaryInput {
                text,
                source_lang: &j.text_lang,
                target_lang: &j.lang,
            };
            if self.summarizer.max_input_tokens().is_none() {
                let tokens = j.chunks.iter().map(|c| c.tokens).sum();
                pieces.push(Piece {
                    job: k,
                    input: input(j.text),
                    tokens,
                });
            } else {
                for c in j.chunks.iter() {
                    pieces.push(Piece {
                        job: k,
                        input: input(&j.text[c.start..c.end]),
                        tokens: c.tokens,
                    });
                }
            }
        }
        let lengths: Vec<usize> = pieces.iter().map(|p| p.tokens).collect();
        let mut results: Vec<Option<Result<String, ArticleError>>> = (0..pieces.len()).map(|_| None).collect();
        for batch in crate::batch::plan(&lengths, self.batch_tokens, self.batch_items) {
            let inputs: Vec<SummaryInput<'_>> = batch.iter().map(|&k| pieces[k].input).collect();
            let t = Instant::now();
            let res = self.summarizer.summarize(&inputs);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let total: usize = batch.iter().map(|&k| lengths[k].max(1)).sum();
            for (&k, r) in batch.iter().zip(res) {
                out[jobs[pieces[k].job].article].summarize_ms += ms * lengths[k].max(1) as f64 / total as f64;
                results[k] = Some(r);
            }
        }
        // Pieces were pushed in job, chunk order: join them back in that order.
        let mut done: Vec<Result<String, ArticleError>> = vec![Ok(String::new()); jobs.len()];
        let mut pieces_of = vec![0usize; jobs.len()];
        for (p, r) in pieces.iter().zip(results) {
            pieces_of[p.job] += 1;
            let r = r.unwrap_or_else(|| {
                Err(ArticleError::new(
                    Stage::Summarize,
                    ErrorKind::Model,
                    "the summariser returned too few results",
                ))
            });
            match (&mut done[p.job], r) {
                (Ok(acc), Ok(text)) => {
                    if !acc.is_empty() {
                        acc.push(' ');
                    }
                    acc.push_str(&text);
                }
                (slot @ Ok(_), Err(e)) => *slot = Err(e),
                (Err(_), _) => {}
            }
        }

        let Some(budget) = self.summarizer.max_input_tokens() else {
            return done;
        };
        let mut pending: Vec<usize> = (0..jobs.len())
            .filter(|&k| pieces_of[k] > 1 && done[k].is_ok())
            .collect();
        let mut depth = 0;
        while !pending.is_empty() && depth < MAX_REDUCE {
            depth += 1;
            let texts: Vec<String> = pending
                .iter()
                .map(|&k| done[k].as_ref().expect("pending jobs succeeded").clone())
                .collect();
            let inputs: Vec<SummaryInput<'_>> = pending
                .iter()
                .zip(&texts)
                .map(|(&k, t)| SummaryInput {
                    text: t,
                    source_lang: &jobs[k].lang,
                    target_lang: &jobs[k].lang,
                })
                .collect();
            let t = Instant::now();
            let res = self.summarizer.summarize(&inputs);
            let ms = t.elapsed().as_secs_f64() * 1000.0 / pending.len().max(1) as f64;
            let counter = self.summarizer.counter();
            let mut next = Vec::new();
            for (k, r) in pending.into_iter().zip(res) {
                out[jobs[k].article].summarize_ms += ms;
                if let Ok(text) = &r
                    && counter.is_some_and(|c| c.count(text) > budget)
                {
                    next.push(k);
                }
                done[k] = r;
            }
            pending = next;
        }
        done
    }
}

/// How one summary is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The summariser writes it from the article.
    Summarize,
    /// A summary in the article's language, translated.
    SummarizeTranslate,
    /// The article translated, then summarised.
    TranslateSummarize,
}

/// One text to summarise into one language.
struct SummaryJob<'a> {
    article: usize,
    /// The summary's language.
    lang: String,
    /// The text's language (the article's, or the translation's).
    text_lang: String,
    text: &'a str,
    chunks: std::borrow::Cow<'a, [Chunk]>,
    /// The translator that made `text`, for `translate-summarize` routes.
    translator: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A translator that upper-cases, to prove the planner's wiring (not a product backend).
    struct Upper;
    impl Translator for Upper {
        fn name(&self) -> &str {
            "upper"
        }
        fn source_lang(&self) -> &str {
            "en"
        }
        fn target_lang(&self) -> &str {
            "ru"
        }
        fn translate(&self, batch: &[&str]) -> Vec<Result<String, ArticleError>> {
            batch.iter().map(|s| Ok(s.to_uppercase())).collect()
        }
    }

    /// "Translates" by marking the language and reversing the sentences, so that which step
    /// came first shows in the result.
    fn wrap(target: &str, text: &str) -> String {
        let mut sentences: Vec<&str> = text.split_inclusive('.').map(str::trim).collect();
        sentences.reverse();
        format!("{target}:{}", sentences.join(" "))
    }

    struct Wrap(&'static str, &'static str);
    impl Translator for Wrap {
        fn name(&self) -> &str {
            "wrap"
        }
        fn source_lang(&self) -> &str {
            self.0
        }
        fn target_lang(&self) -> &str {
            self.1
        }
        fn translate(&self, batch: &[&str]) -> Vec<Result<String, ArticleError>> {
            batch.iter().map(|s| Ok(wrap(self.1, s))).collect()
        }
    }

    /// Lead-2 that reads English only.
    struct EnglishLead;
    impl Summarizer for EnglishLead {
        fn name(&self) -> &str {
            "en-lead"
        }
        fn writes(&self, source: &str, target: &str) -> bool {
            source == "en" && target == "en"
        }
        fn max_input_tokens(&self) -> Option<usize> {
            None
        }
        fn summarize(&self, batch: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>> {
            Lead::new(2).summarize(batch)
        }
    }

    fn run_one(tasks: &Tasks, body: &str, lang: &str) -> Outcome {
        let c = chunks(body);
        tasks
            .run(&[TaskInput {
                body,
                lang: Some(lang),
                chunks: &c,
            }])
            .remove(0)
    }

    #[test]
    fn strategies_choose_the_order_and_say_which() {
        let body = "One. Two. Three. Four.";
        let mut cfg = PipelineConfig::default();
        let tasks = Tasks::new(Box::new(Lead::new(2)), vec![Box::new(Wrap("en", "ru"))], &cfg);
        let o = run_one(&tasks, body, "en");
        assert_eq!(o.summary["ru"], "ru:Two. One.");
        assert_eq!(o.summary_path["ru"], "summarize-translate");
        assert_eq!(o.summary_path["en"], "summarize");
        cfg.summarize.strategy = Strategy::TranslateSummarize;
        let tasks = Tasks::new(Box::new(Lead::new(2)), vec![Box::new(Wrap("en", "ru"))], &cfg);
        let o = run_one(&tasks, body, "en");
        assert_eq!(o.summary["ru"], "ru:Four. Three.");
        assert_eq!(o.summary_path["ru"], "translate-summarize");
        assert_eq!(o.models["summary.ru"], "wrap → lead-3");
        assert_eq!(o.summary["en"], "One. Two.");
        assert!(
            o.translation.is_empty(),
            "the translation is kept only with translate.full"
        );
    }

    #[test]
    fn a_summariser_that_reads_one_language_is_reached_by_translating() {
        // Russian article, English-only summariser: whatever the strategy, the English summary
        // is of the translated article, and the Russian one its translation back.
        let translators =
            || -> Vec<Box<dyn Translator>> { vec![Box::new(Wrap("ru", "en")), Box::new(Wrap("en", "ru"))] };
        let cfg = PipelineConfig::default();
        let tasks = Tasks::new(Box::new(EnglishLead), translators(), &cfg);
        let o = run_one(&tasks, "Раз. Два. Три.", "ru");
        assert_eq!(o.summary["en"], "en:Три. Два.");
        assert_eq!(o.summary["ru"], wrap("ru", "en:Три. Два."));
        assert_eq!(o.summary_path["en"], "translate-summarize");
        assert_eq!(o.summary_path["ru"], "translate-summarize-translate");
        assert_eq!(o.models["summary.ru"], "wrap → en-lead → wrap");
        assert!(o.missing.is_empty());
        // Only English requested, Russian article, a summariser that reads Russian: the Russian
        // summary is made to be translated, and not reported.
        let mut cfg = PipelineConfig::default();
        cfg.summarize.languages = vec!["en".into()];
        let tasks = Tasks::new(Box::new(Lead::new(2)), translators(), &cfg);
        let o = run_one(&tasks, "Раз. Два. Три.", "ru");
        assert_eq!(o.summary.keys().collect::<Vec<_>>(), ["en"]);
        assert_eq!(o.summary["en"], "en:Два. Раз.");
        assert_eq!(o.summary_path.keys().collect::<Vec<_>>(), ["en"]);
        assert_eq!(o.models.keys().collect::<Vec<_>>(), ["summary.en"]);
    }

    fn chunks(body: &str) -> Vec<Chunk> {
        crate::chunk::chunk_text(body, "en", 400, &crate::chunk::EstimateCounter)
    }

    #[test]
    fn lead3_then_translation_then_missing() {
        let cfg = PipelineConfig::default();
        let tasks = Tasks::new(Box::new(Lead::new(3)), vec![Box::new(Upper)], &cfg);
        let en = "One. Two. Three. Four.";
        let ru = "Раз. Два. Три. Четыре.";
        let (ce, cr) = (chunks(en), chunks(ru));
        let out = tasks.run(&[
            TaskInput {
                body: en,
                lang: Some("en"),
                chunks: &ce,
            },
            TaskInput {
                body: ru,
                lang: Some("ru"),
                chunks: &cr,
            },
            TaskInput {
                body: en,
                lang: None,
                chunks: &ce,
            },
        ]);
        assert_eq!(out[0].summary["en"], "One. Two. Three.");
        assert_eq!(out[0].summary["ru"], "ONE. TWO. THREE.");
        assert_eq!(out[0].models["summary.ru"], "lead-3 → upper");
        assert!(out[0].missing.is_empty());
        assert_eq!(out[1].summary["ru"], "Раз. Два. Три.");
        assert_eq!(out[1].missing, ["en"]);
        assert_eq!(out[2].missing, ["en", "ru"]);
    }

    #[test]
    fn unknown_backends_are_config_errors() {
        let mut cfg = PipelineConfig::default();
        cfg.summarize.model = "no-such-summariser".into();
        assert!(
            Tasks::from_config(&cfg)
                .err()
                .unwrap()
                .to_string()
                .contains("summarize.model")
        );
        let mut cfg = PipelineConfig::default();
        cfg.translate.models.clear();
        cfg.translate.models.set("ru-en", "no-such-model");
        let err = Tasks::from_config(&cfg).err().unwrap();
        assert!(err.to_string().contains("translate.models.ru-en"), "{err}");
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("no-such-model")
        );
    }
}
