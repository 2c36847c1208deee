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
pub mod seq2seq;

use std::collections::BTreeMap;
use std::time::Instant;

pub use lead3::Lead;

use crate::chunk::Chunk;
use crate::config::{ConfigError, PipelineConfig};
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

/// The configured backends.
pub struct Tasks {
    summarizer: Box<dyn Summarizer>,
    translators: Vec<Box<dyn Translator>>,
    languages: Vec<String>,
    batch_tokens: usize,
    batch_items: usize,
    full: bool,
}

/// What the tasks made of one article.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub summary: BTreeMap<String, String>,
    /// Which backend produced each field, e.g. `summary.en` → `lead-3`.
    pub models: BTreeMap<String, String>,
    pub missing: Vec<String>,
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
        Stage::Summarize => (&cfg.summarize.generate, &cfg.summarize.dtype),
        _ => (&cfg.translate.generate, &cfg.translate.dtype),
    };
    Ok(seq2seq::BackendOptions {
        source: source.map(str::to_string),
        target: target.map(str::to_string),
        prefix,
        stage,
        generate: generate.clone(),
        dtype: crate::models::parse_dtype(dtype)?,
        batch_tokens: cfg.batch.max_tokens,
        batch_items: cfg.batch.max_items,
        models: models.clone(),
    })
}

/// Load the translator `spec` (a card name or a model directory) for `source` → `target`,
/// sharing weights already in `models`.
pub fn load_translator(
    cfg: &PipelineConfig,
    models: &seq2seq::ModelCache,
    spec: &str,
    source: &str,
    target: &str,
) -> Result<seq2seq::Seq2SeqTranslator, ModelError> {
    let loc = crate::models::hub::locate(spec)?;
    let prefix = cfg.translate.prefixes.get(&format!("{source}-{target}")).cloned();
    let opts = backend_options(cfg, models, Some(source), Some(target), Stage::Translate, prefix)?;
    Ok(seq2seq::Seq2SeqTranslator::new(
        seq2seq::Seq2SeqBackend::load(&loc, &opts)?,
        target,
    ))
}

/// Load the summariser `spec` (a card name or a model directory). `lang` sets up a model that
/// names languages with tokens (mBART) for that language instead of its card's first one.
pub fn load_summarizer(
    cfg: &PipelineConfig,
    models: &seq2seq::ModelCache,
    spec: &str,
    lang: Option<&str>,
) -> Result<seq2seq::Seq2SeqSummarizer, ModelError> {
    let loc = crate::models::hub::locate(spec)?;
    let languages: Vec<String> = loc.card.as_ref().map(|c| c.serves()).unwrap_or_default();
    let prefix = (!cfg.summarize.prefix.is_empty()).then(|| cfg.summarize.prefix.clone());
    let source = lang.or(languages.first().map(String::as_str));
    let opts = backend_options(cfg, models, source, None, Stage::Summarize, prefix)?;
    let backend = seq2seq::Seq2SeqBackend::load(&loc, &opts)?;
    // A model that names languages with tokens (mBART) is set up for one language; one without
    // a card serves whatever it is given.
    let languages = if backend.has_language_tokens() {
        vec![backend.source().to_string()]
    } else {
        languages
    };
    Ok(seq2seq::Seq2SeqSummarizer::new(backend, languages))
}

impl Tasks {
    /// Build the backends named in the configuration; an unknown name is an error naming the key.
    pub fn from_config(cfg: &PipelineConfig) -> Result<Tasks, TaskError> {
        let models = seq2seq::ModelCache::default();
        let summarizer: Box<dyn Summarizer> = match cfg.summarize.model.as_str() {
            "lead-3" | "lead" => Box::new(Lead::new(cfg.summarize.lead_sentences)),
            spec => Box::new(load_summarizer(cfg, &models, spec, None).map_err(|e| TaskError::Model {
                key: "summarize.model".into(),
                source: Box::new(e),
            })?),
        };
        let mut translators: Vec<Box<dyn Translator>> = Vec::new();
        for (pair, spec) in &cfg.translate.models {
            let (source, target) = pair.split_once('-').expect("validated as a pair");
            translators.push(Box::new(load_translator(cfg, &models, spec, source, target).map_err(
                |e| TaskError::Model {
                    key: format!("translate.models.{pair}"),
                    source: Box::new(e),
                },
            )?));
        }
        Ok(Tasks::new(summarizer, translators, cfg))
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
            languages: cfg.summarize.languages.clone(),
            batch_tokens: cfg.batch.max_tokens,
            batch_items: cfg.batch.max_items,
            full: cfg.translate.full,
        }
    }

    /// Token budget chunks must respect for the summariser, if it has one.
    pub fn max_input_tokens(&self) -> Option<usize> {
        self.summarizer.max_input_tokens()
    }

    /// Summarise and translate a wave of articles, batching across them.
    pub fn run(&self, articles: &[TaskInput<'_>]) -> Vec<Outcome> {
        let mut out: Vec<Outcome> = (0..articles.len()).map(|_| Outcome::default()).collect();

        // 1. Summaries the summariser writes directly. A summariser with an input budget gets
        //    each chunk and the chunk summaries are joined in order.
        struct Piece<'a> {
            article: usize,
            lang: &'a str,
            input: SummaryInput<'a>,
            tokens: usize,
        }
        let mut pieces: Vec<Piece<'_>> = Vec::new();
        for (i, a) in articles.iter().enumerate() {
            let Some(src) = a.lang else { continue };
            for lang in &self.languages {
                if !self.summarizer.writes(src, lang) {
                    continue;
                }
                let input = |text| SummaryInput {
                    text,
                    source_lang: src,
                    target_lang: lang,
                };
                if self.summarizer.max_input_tokens().is_none() {
                    let tokens = a.chunks.iter().map(|c| c.tokens).sum();
                    pieces.push(Piece {
                        article: i,
                        lang,
                        input: input(a.body),
                        tokens,
                    });
                } else {
                    for c in a.chunks {
                        pieces.push(Piece {
                            article: i,
                            lang,
                            input: input(&a.body[c.start..c.end]),
                            tokens: c.tokens,
                        });
                    }
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
                out[pieces[k].article].summarize_ms += ms * lengths[k].max(1) as f64 / total as f64;
                results[k] = Some(r);
            }
        }
        // Pieces were pushed in article, language, chunk order: join them back in that order.
        for (p, r) in pieces.iter().zip(results) {
            let o = &mut out[p.article];
            let r = r.unwrap_or_else(|| {
                Err(ArticleError::new(
                    Stage::Summarize,
                    ErrorKind::Model,
                    "the summariser returned too few results",
                ))
            });
            match r {
                Ok(text) => {
                    let entry = o.summary.entry(p.lang.to_string()).or_default();
                    if !entry.is_empty() {
                        entry.push(' ');
                    }
                    entry.push_str(&text);
                    o.models
                        .insert(format!("summary.{}", p.lang), self.summarizer.name().to_string());
                }
                Err(e) => {
                    o.error.get_or_insert(e);
                }
            }
        }

        // 1b. Reduce: an article summarised chunk by chunk gets a summary of its joined chunk
        //     summaries, repeated while that is still longer than the summariser's input
        //     budget, at most MAX_REDUCE times, so even a 50,000-word article finishes.
        if let Some(budget) = self.summarizer.max_input_tokens() {
            let mut pending: Vec<(usize, String)> = Vec::new();
            for (i, a) in articles.iter().enumerate() {
                if a.chunks.len() > 1 && out[i].error.is_none() {
                    pending.extend(out[i].summary.keys().map(|l| (i, l.clone())));
                }
            }
            let mut depth = 0;
            while !pending.is_empty() && depth < MAX_REDUCE {
                depth += 1;
                let texts: Vec<String> = pending.iter().map(|(i, l)| out[*i].summary[l].clone()).collect();
                let inputs: Vec<SummaryInput<'_>> = pending
                    .iter()
                    .zip(&texts)
                    .map(|((_, l), t)| SummaryInput {
                        text: t,
                        source_lang: l,
                        target_lang: l,
                    })
                    .collect();
                let t = Instant::now();
                let res = self.summarizer.summarize(&inputs);
                let ms = t.elapsed().as_secs_f64() * 1000.0 / pending.len().max(1) as f64;
                let counter = self.summarizer.counter();
                let mut next = Vec::new();
                for ((i, l), r) in pending.into_iter().zip(res) {
                    out[i].summarize_ms += ms;
                    match r {
                        Ok(text) => {
                            let too_long = counter.is_some_and(|c| c.count(&text) > budget);
                            out[i].summary.insert(l.clone(), text);
                            if too_long {
                                next.push((i, l));
                            }
                        }
                        Err(e) => {
                            out[i].error.get_or_insert(e);
                        }
                    }
                }
                pending = next;
            }
        }

        // 2. Translations of the source-language summary into the languages still missing,
        //    and with `translate.full` the whole article. The translator batches by itself.
        for tr in &self.translators {
            let (src, tgt) = (tr.source_lang(), tr.target_lang());
            let mut jobs: Vec<(usize, bool)> = Vec::new();
            let mut texts: Vec<&str> = Vec::new();
            for (i, o) in out.iter().enumerate() {
                if o.error.is_some() {
                    continue;
                }
                if self.languages.iter().any(|l| l == tgt)
                    && !o.summary.contains_key(tgt)
                    && let Some(s) = o.summary.get(src)
                {
                    jobs.push((i, false));
                    texts.push(s.as_str());
                }
                if self.full && articles[i].lang == Some(src) {
                    jobs.push((i, true));
                    texts.push(articles[i].body);
                }
            }
            if texts.is_empty() {
                continue;
            }
            // Owned copies: the summaries live in `out`, which the results are written into.
            let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            let t = Instant::now();
            let res = tr.translate(&refs);
            let total: usize = refs.iter().map(|t| t.len().max(1)).sum();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            for ((&(i, full), r), text) in jobs.iter().zip(res).zip(&refs) {
                let o = &mut out[i];
                o.translate_ms += ms * text.len().max(1) as f64 / total as f64;
                match r {
                    Ok(text) if full => {
                        o.translation.insert(tgt.to_string(), text);
                        o.models.insert(format!("translation.{tgt}"), tr.name().to_string());
                    }
                    Ok(text) => {
                        let src_model = o.models.get(&format!("summary.{src}")).cloned().unwrap_or_default();
                        o.summary.insert(tgt.to_string(), text);
                        o.models
                            .insert(format!("summary.{tgt}"), format!("{src_model} → {}", tr.name()));
                    }
                    Err(e) => {
                        o.error.get_or_insert(e);
                    }
                }
            }
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
        cfg.translate.models.insert("ru-en".into(), "no-such-model".into());
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
