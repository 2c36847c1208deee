//! Backends: the models that summarise and translate, loaded once from the names the
//! configuration gives them, behind two small traits.
//!
//! A name (a [`Spec`]: `lead-3`, a model card, a model directory or a `.gguf` file) resolves
//! once into a backend that knows its tokenizer, its input limit and its languages. Weights are
//! loaded once per process and shared ([`Loader`]): NLLB serving ru → en and en → ru, or one
//! GGUF file serving as summariser and every translator, is one copy in memory.
//!
//! Backends see whole work lists, never single strings: the executor hands a backend all the
//! items of a wave at once, and the backend alone packs them into batches to its own token
//! budget (the seq2seq backend with [`crate::batch::plan`] over its tokenizer's lengths, as
//! text-embeddings-inference's queue does), because every model is only fast when it runs many
//! rows at once and only the model knows what a row costs.
//!
//! [`Backends`] is the loaded set a run uses; what to do with it is [`crate::plan`]'s job, and
//! running a wave of articles through it [`crate::execute`]'s.

mod lead;
mod llm;
mod seq2seq;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use lead::Lead;
pub use llm::clean_answer;
pub use seq2seq::generation_settings;

use crate::chunk::{Chunk, EstimateCounter, TokenCounter, chunk_text};
use crate::config::{ConfigError, PipelineConfig};
use crate::models::ModelError;
use crate::record_error::ArticleError;
use crate::task::Task;

/// One text to summarise.
#[derive(Debug, Clone, Copy)]
pub struct SummaryInput<'a> {
    pub text: &'a str,
    pub source_lang: &'a str,
    pub target_lang: &'a str,
}

/// How a backend decodes: as configured, or the safer way a retry of a flagged output uses
/// (`checks.retry`): beam search that never repeats an n-gram for seq2seq models, a higher
/// repetition penalty and shorter pieces for GGUF models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    Configured,
    Safer,
}

/// One model answer and whether generation stopped at its token limit (the `truncated`
/// check) rather than at an end token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Generated {
    pub text: String,
    pub hit_limit: bool,
}

impl Generated {
    /// An answer that ended by itself (or was not generated: lead-3).
    pub fn whole(text: String) -> Generated {
        Generated { text, hit_limit: false }
    }
}

/// Results of a backend that cannot say whether it hit a limit.
fn whole(results: Vec<Result<String, ArticleError>>) -> Vec<Result<Generated, ArticleError>> {
    results.into_iter().map(|r| r.map(Generated::whole)).collect()
}

/// The texts of generated answers: `summarize`/`translate` of backends that generate.
fn texts_of(results: Vec<Result<Generated, ArticleError>>) -> Vec<Result<String, ArticleError>> {
    results.into_iter().map(|r| r.map(|g| g.text)).collect()
}

/// Writes summaries; one result per input, in order.
pub trait Summarizer: Send + Sync {
    /// Recorded in each record's `models`.
    fn name(&self) -> &str;
    /// Whether it writes a `target` summary of `source` text.
    fn writes(&self, source: &str, target: &str) -> bool;
    /// Token budget of one input; `None` for summarisers that take a whole article.
    fn max_input_tokens(&self) -> Option<usize>;
    /// Summaries of every input, batched as the backend sees fit.
    fn summarize(&self, inputs: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>>;
    /// [`Summarizer::summarize`] decoded as `decoding` asks, saying which answers hit the
    /// token limit. Backends that generate override it; the default is for those that do not.
    fn summarize_as(&self, inputs: &[SummaryInput<'_>], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        let _ = decoding;
        whole(self.summarize(inputs))
    }
    /// Whether its outputs come from a model, and so are checked (`checks`): lead-3's are
    /// the article's own sentences.
    fn generates(&self) -> bool {
        true
    }
    /// The model's own token counter, for chunking the articles it will read.
    fn counter(&self) -> Option<&dyn TokenCounter> {
        None
    }
    /// How the backend would pack `texts` into batches (indices into `texts`); for `svodka
    /// bench`, which times each batch. One batch of everything unless the backend batches.
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        vec![(0..texts.len()).collect()]
    }
}

/// Translates texts from one language to another; one result per input, in order.
pub trait Translator: Send + Sync {
    fn name(&self) -> &str;
    fn source_lang(&self) -> &str;
    fn target_lang(&self) -> &str;
    /// Translations of every input, batched as the backend sees fit.
    fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>>;
    /// As [`Summarizer::summarize_as`].
    fn translate_as(&self, texts: &[&str], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        let _ = decoding;
        whole(self.translate(texts))
    }
    /// The model's own token counter, for chunking articles it will translate.
    fn counter(&self) -> Option<&dyn TokenCounter> {
        None
    }
    /// Token budget of one input, if the model has one.
    fn max_input_tokens(&self) -> Option<usize> {
        None
    }
    /// As [`Summarizer::batches`].
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        vec![(0..texts.len()).collect()]
    }
}

/// What a model name in the configuration means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spec {
    /// `lead-3` (or `lead`): the first sentences; no model.
    Lead,
    /// A `.gguf` file: a decoder-only instruct model.
    Gguf(PathBuf),
    /// A model card or a model directory of an encoder-decoder model.
    Seq2Seq(String),
}

impl Spec {
    /// Where its files are, for fingerprints (run manifests, bench results): a card or
    /// directory is located (a card that cannot be had has none).
    pub(crate) fn files(&self) -> crate::models::fingerprint::Files {
        use crate::models::fingerprint::Files;
        match self {
            Spec::Lead => Files::None,
            Spec::Gguf(p) => Files::Gguf(p.clone()),
            Spec::Seq2Seq(s) => crate::models::hub::locate(s).map_or(Files::None, |l| Files::Located(Box::new(l))),
        }
    }

    pub fn parse(spec: &str) -> Spec {
        if spec == "lead-3" || spec == "lead" {
            Spec::Lead
        } else if Path::new(spec)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            Spec::Gguf(PathBuf::from(spec))
        } else {
            Spec::Seq2Seq(spec.to_string())
        }
    }
}

/// A translator that "auto" asked for and could not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unavailable {
    /// `ru-en`.
    pub pair: String,
    /// The card.
    pub model: String,
    /// What was tried, and why it failed.
    pub reason: String,
}

/// Why the backends could not be set up; stops the run before any work.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot load the model of `{key}`")]
    Model {
        /// The configuration key (or command-line option) that named the model.
        key: String,
        #[source]
        source: Box<ModelError>,
    },
}

/// Weights loaded so far in this process, so that backends on one checkpoint or GGUF file
/// share one copy.
#[derive(Clone, Default)]
pub struct Loader {
    seq2seq: seq2seq::ModelCache,
    llms: Arc<Mutex<BTreeMap<PathBuf, Arc<llm::LlmBackend>>>>,
}

impl Loader {
    fn llm(&self, cfg: &PipelineConfig, path: &Path) -> Result<Arc<llm::LlmBackend>, ModelError> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut llms = self.llms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = llms.get(&key) {
            return Ok(Arc::clone(b));
        }
        let b = Arc::new(llm::LlmBackend::load(path, cfg)?);
        llms.insert(key, Arc::clone(&b));
        Ok(b)
    }

    /// The translator `spec` for `source` → `target`.
    pub fn translator(
        &self,
        cfg: &PipelineConfig,
        spec: &str,
        source: &str,
        target: &str,
    ) -> Result<Box<dyn Translator>, ModelError> {
        match Spec::parse(spec) {
            Spec::Gguf(path) => Ok(Box::new(llm::LlmTranslator::new(self.llm(cfg, &path)?, source, target))),
            // Lead-3 is not a translator; as a model name it is looked up like any other and
            // fails with the list of cards.
            Spec::Lead | Spec::Seq2Seq(_) => {
                let loc = crate::models::hub::locate(spec)?;
                let prefix = cfg.translate.prefixes.get(&format!("{source}-{target}")).cloned();
                let opts = seq2seq::BackendOptions::new(cfg, Task::Translate, Some(source), Some(target), prefix)?;
                Ok(Box::new(seq2seq::Seq2SeqTranslator::new(
                    seq2seq::Seq2SeqBackend::load(&loc, &opts, &self.seq2seq)?,
                    target,
                )))
            }
        }
    }

    /// The summariser `spec`. `lang` sets up a model that names languages with tokens (mBART)
    /// for that language instead of its card's first one.
    pub fn summarizer(
        &self,
        cfg: &PipelineConfig,
        spec: &str,
        lang: Option<&str>,
    ) -> Result<Box<dyn Summarizer>, ModelError> {
        match Spec::parse(spec) {
            Spec::Lead => Ok(Box::new(Lead::new(cfg.summarize.lead_sentences))),
            Spec::Gguf(path) => Ok(Box::new(llm::LlmSummarizer::new(self.llm(cfg, &path)?))),
            Spec::Seq2Seq(_) => {
                let loc = crate::models::hub::locate(spec)?;
                let languages: Vec<String> = loc.card.as_ref().map(|c| c.serves()).unwrap_or_default();
                let prefix = (!cfg.summarize.prefix.is_empty()).then(|| cfg.summarize.prefix.clone());
                let source = lang.or(languages.first().map(String::as_str));
                let opts = seq2seq::BackendOptions::new(cfg, Task::Summarize, source, None, prefix)?;
                let backend = seq2seq::Seq2SeqBackend::load(&loc, &opts, &self.seq2seq)?;
                // A model that names languages with tokens (mBART) is set up for one language;
                // one without a card serves whatever it is given.
                let languages = if backend.has_language_tokens() {
                    vec![backend.source().to_string()]
                } else {
                    languages
                };
                Ok(Box::new(seq2seq::Seq2SeqSummarizer::new(backend, languages)))
            }
        }
    }
}

/// The backends of a run: one summariser and the translators, in the order of the
/// configuration's pairs.
pub(crate) struct Backends {
    summarizer: Box<dyn Summarizer>,
    translators: Vec<Box<dyn Translator>>,
    unavailable: Vec<Unavailable>,
}

impl Backends {
    /// Load the backends the configuration names; an unknown name, or a model that does not
    /// load, is an error naming the key.
    pub(crate) fn from_config(cfg: &PipelineConfig) -> Result<Backends, LoadError> {
        let loader = Loader::default();
        let model_err = |key: &str| {
            let key = key.to_string();
            move |e| LoadError::Model {
                key,
                source: Box::new(e),
            }
        };
        // `llm.model`: one GGUF file as the summariser and every translator.
        let (summary_spec, summary_key) = if cfg.llm.model.is_empty() {
            (cfg.summarize.model.as_str(), "summarize.model")
        } else {
            (cfg.llm.model.as_str(), "llm.model")
        };
        let summarizer = loader
            .summarizer(cfg, summary_spec, None)
            .map_err(model_err(summary_key))?;
        let mut translators: Vec<Box<dyn Translator>> = Vec::new();
        let mut unavailable = Vec::new();
        for (t, key) in cfg.translator_specs() {
            let (source, target) = t.pair.split_once('-').expect("validated as a pair");
            match loader.translator(cfg, &t.spec, source, target) {
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
                Err(e) => return Err(model_err(&key)(e)),
            }
        }
        Ok(Backends {
            summarizer,
            translators,
            unavailable,
        })
    }

    /// Backends given outright (tests, benches, the one-off commands).
    pub fn new(summarizer: Box<dyn Summarizer>, translators: Vec<Box<dyn Translator>>) -> Backends {
        Backends {
            summarizer,
            translators,
            unavailable: Vec::new(),
        }
    }

    /// Lead-3 and no translators: no model loaded (`svodka inspect`, which must work without
    /// the models a run would load or download).
    pub(crate) fn without_models(cfg: &PipelineConfig) -> Backends {
        Backends::new(Box::new(Lead::new(cfg.summarize.lead_sentences)), Vec::new())
    }

    pub fn summarizer(&self) -> &dyn Summarizer {
        self.summarizer.as_ref()
    }

    pub fn translators(&self) -> &[Box<dyn Translator>] {
        &self.translators
    }

    /// The translator for `source` → `target`, if one is loaded.
    pub fn translator(&self, source: &str, target: &str) -> Option<&dyn Translator> {
        self.translators
            .iter()
            .find(|t| t.source_lang() == source && t.target_lang() == target)
            .map(|t| t.as_ref())
    }

    /// Translators that "auto" asked for and could not have, by pair.
    pub(crate) fn unavailable(&self) -> &[Unavailable] {
        &self.unavailable
    }

    /// One line for the user when "auto" left pairs untranslated: which models are missing,
    /// and the one command that fetches them.
    pub(crate) fn translation_notice(&self) -> Option<String> {
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

    /// How articles are cut into chunks for these backends.
    pub fn chunking(&self, cfg: &PipelineConfig) -> Chunking<'_> {
        let budget = self
            .summarizer
            .max_input_tokens()
            .map_or(cfg.chunk.max_tokens, |m| m.min(cfg.chunk.max_tokens));
        Chunking { backends: self, budget }
    }
}

/// The chunking policy of a run, in one place: a text in language L is cut at sentence
/// boundaries with the token counter of the model that reads L (the summariser if it writes L
/// and has a tokenizer, else a translator from L), into chunks of at most `chunk.max_tokens`,
/// tightened to the summariser's input limit and to that model's.
#[derive(Clone, Copy)]
pub(crate) struct Chunking<'a> {
    backends: &'a Backends,
    budget: usize,
}

impl<'a> Chunking<'a> {
    /// The counter and budget for `lang` text.
    fn for_lang(&self, lang: &str) -> (&'a dyn TokenCounter, usize) {
        let b = self.backends;
        if b.summarizer.writes(lang, lang)
            && let Some(c) = b.summarizer.counter()
        {
            let limit = b.summarizer.max_input_tokens();
            return (c, limit.map_or(self.budget, |l| l.min(self.budget)));
        }
        match b
            .translators
            .iter()
            .find(|t| t.source_lang() == lang)
            .and_then(|t| t.counter().map(|c| (c, t.max_input_tokens())))
        {
            Some((c, limit)) => (c, limit.map_or(self.budget, |l| l.min(self.budget))),
            None => (&EstimateCounter, self.budget),
        }
    }

    /// The chunks of `text`, a `lang` text.
    pub fn chunk(&self, text: &str, lang: &str) -> Vec<Chunk> {
        let (counter, budget) = self.for_lang(lang);
        chunk_text(text, lang, budget, counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_told_apart_by_name() {
        assert_eq!(Spec::parse("lead-3"), Spec::Lead);
        assert_eq!(Spec::parse("lead"), Spec::Lead);
        assert_eq!(
            Spec::parse("/m/Qwen.Q4_K_M.GGUF"),
            Spec::Gguf("/m/Qwen.Q4_K_M.GGUF".into())
        );
        assert_eq!(Spec::parse("opus-mt-ru-en"), Spec::Seq2Seq("opus-mt-ru-en".into()));
    }

    #[test]
    fn unknown_backends_are_errors_naming_the_key() {
        let mut cfg = PipelineConfig::default();
        cfg.summarize.model = "no-such-summariser".into();
        let err = Backends::from_config(&cfg).err().unwrap();
        assert!(err.to_string().contains("summarize.model"), "{err}");
        let mut cfg = PipelineConfig::default();
        cfg.translate.models.clear();
        cfg.translate.models.set("ru-en", "no-such-model");
        let err = Backends::from_config(&cfg).err().unwrap();
        assert!(err.to_string().contains("translate.models.ru-en"), "{err}");
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("no-such-model")
        );
    }
}
