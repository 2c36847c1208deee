//! The run configuration: `pipeline.toml`, `--set` overrides, validation.
//!
//! Every key has a default, so an empty file is a valid configuration and the shipped
//! `pipeline.toml` only spells the defaults out (a test keeps the two equal). Unknown keys are
//! rejected (`deny_unknown_fields`) and every error names the key it is about, because a
//! misspelt key silently ignored is the worst kind of configuration bug. Validation returns an
//! error, it never panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generate::GenerationConfig;
use crate::generate::sample;

/// Problems with the configuration; each names the file or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file `{}` is not valid TOML", path.display())]
    Syntax {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("`--set {arg}`: expected `section.key=value`")]
    SetSyntax { arg: String },
    #[error("`--set {arg}`: `{key}` is not a key of the configuration")]
    SetUnknown { arg: String, key: String },
    #[error("{origin}: key `{key}`: {message}")]
    Value {
        origin: String,
        key: String,
        message: String,
    },
    #[error("key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// What to do with an article whose language is not in `language.served`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedLanguage {
    /// Write a record with `status = "skipped"` and the reason; no summaries.
    Skip,
    /// Process it like any other article; summaries that need a model for its language are
    /// listed in `missing`.
    Process,
}

/// The whole configuration. Each section is documented in `pipeline.toml` too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    pub input: InputConfig,
    pub language: LanguageConfig,
    pub chunk: ChunkConfig,
    pub batch: BatchConfig,
    /// Decoding settings of every model, seq2seq and GGUF (transformers' names); the task
    /// sections `[summarize.generate]` and `[translate.generate]` override them. Default: none
    /// set (a model's own files and card, else transformers' defaults for seq2seq models and
    /// the GGUF defaults of [`crate::generate::sample::SamplingConfig::from_settings`]).
    pub generate: GenerationConfig,
    pub summarize: SummarizeConfig,
    pub translate: TranslateConfig,
    pub llm: LlmConfig,
    pub checks: ChecksConfig,
    pub dedup: DedupConfig,
    pub run: RunConfig,
    pub output: OutputConfig,
}

/// Checks on every model output ([`crate::checks`]): flagged outputs are named in the
/// record's `checks`, and may be run once more with safer decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Check every model output (lead-3's are the article's own sentences, never checked).
    /// Default: true.
    pub enabled: bool,
    /// Run a flagged output once more with safer decoding (seq2seq: beam search with
    /// `no_repeat_ngram_size`; GGUF: a higher repetition penalty, shorter translation pieces)
    /// and keep the result with fewer flags; the record's `retried` names it. Default: false.
    pub retry: bool,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            enabled: true,
            retry: false,
        }
    }
}

/// GGUF instruct models: the prompts and the settings of their own (seed, context, …) of every
/// model given as a `.gguf` file (in `llm.model`, `summarize.model` or `translate.models`).
/// Their decoding settings (`max_new_tokens`, `do_sample`, `temperature`, `top_p`, `top_k`,
/// `repetition_penalty`) are those of every model: `[generate]` and the task sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// A GGUF file that serves as the summariser and as the translator of every pair of
    /// `summarize.languages`, overriding `summarize.model` and `translate.models`; "" = none.
    /// Default: "".
    pub model: String,
    /// Languages GGUF models are asked to read and write, when they should be fewer (or other)
    /// than `language.served`. Default: unset, which is `language.served`
    /// ([`PipelineConfig::llm_languages`]).
    pub languages: Option<Vec<String>>,
    /// Most sentences a summary may have (given to the model in the prompt). Default: 3.
    pub sentences: usize,
    /// Ask the model for a summary in another language than the article's directly. Off,
    /// the other language's summary follows `summarize.strategy` (by default the model's
    /// summary, translated by the model): small models often translate the whole article when
    /// asked for a summary in another language, and a short translation costs less than a
    /// second pass over the article. Default: false.
    pub cross_lingual: bool,
    /// The system message; "" = none. Default: a news editor's brief.
    pub system: String,
    /// The user message that asks for a summary: {language}, {sentences} and {text} are filled
    /// in. Default: see pipeline.toml.
    pub summarize_prompt: String,
    /// The user message that asks for a translation: {source}, {target} and {text}.
    /// Default: see pipeline.toml.
    pub translate_prompt: String,
    /// Seed of the sampler (`do_sample = true`). Default: 299792458.
    pub seed: u64,
    /// How many of the last tokens `repetition_penalty` looks at. Default: 64.
    pub repeat_last_n: usize,
    /// Context length used, in tokens; 0 = the file's. Default: 4096.
    pub context: usize,
    /// Prompt tokens run per forward pass. Default: 512.
    pub prompt_block: usize,
    /// Most sequences (summaries, translation pieces) decoded together: each decode step
    /// reads the weights once for all of them, and when one answer ends the next waiting
    /// prompt takes its place. 1 = one at a time. Default: 8.
    pub batch: usize,
    /// Most memory, in MiB, the K/V caches of the sequences decoded together may take: a
    /// sequence joins only when its whole length (prompt + max_new_tokens) fits beside the
    /// others'; one sequence alone always runs. On a GPU (`run.device`) the caches live in
    /// the GPU's memory and this bounds that. Default: 2048.
    pub kv_cache_mb: usize,
}

pub(crate) const LLM_SYSTEM: &str = "You are a careful news editor. You answer with the requested text only.";
pub(crate) const LLM_SUMMARIZE: &str = "{text}\n\nSummarize the news article above in {language}, in at most {sentences} \
sentences. Keep names, numbers and dates exact. Write only the summary, in {language}.";
pub(crate) const LLM_TRANSLATE: &str = "Translate the following text from {source} into {target}. Keep names, numbers \
and dates exact and keep the paragraphs. Answer with the translation only.\n\n{text}";

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            model: String::new(),
            languages: None,
            sentences: 3,
            cross_lingual: false,
            system: LLM_SYSTEM.into(),
            summarize_prompt: LLM_SUMMARIZE.into(),
            translate_prompt: LLM_TRANSLATE.into(),
            seed: sample::SEED,
            repeat_last_n: sample::REPEAT_LAST_N,
            context: 4096,
            prompt_block: sample::PROMPT_BLOCK,
            batch: sample::BATCH,
            kv_cache_mb: sample::KV_CACHE_MB,
        }
    }
}

/// Check that a prompt template has `{text}` and only the placeholders in `allowed`.
fn check_prompt(key: &str, prompt: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    let bad = |message: String| ConfigError::Invalid {
        key: key.into(),
        message,
    };
    if !prompt.contains("{text}") {
        return Err(bad("must contain {text}, where the article goes".into()));
    }
    let mut rest = prompt;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else { break };
        let name = &after[..j];
        if !allowed.contains(&name) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!(
                "unknown placeholder {{{name}}} (known: {})",
                allowed.join(", ")
            )));
        }
        rest = &after[j + 1..];
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// Largest article file or archive member read, in bytes; larger ones become error
    /// records. Default: 67108864 (64 MiB).
    pub max_bytes: u64,
    /// Read files and directories whose name starts with a dot. Default: false.
    pub hidden: bool,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            max_bytes: 64 * 1024 * 1024,
            hidden: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageConfig {
    /// Languages svodka serves (ISO 639-1). Default: ["en", "ru"].
    pub served: Vec<String>,
    /// What to do with other languages: "skip" or "process". Default: "skip".
    pub unsupported: UnsupportedLanguage,
}

impl Default for LanguageConfig {
    fn default() -> Self {
        LanguageConfig {
            served: vec!["en".into(), "ru".into()],
            unsupported: UnsupportedLanguage::Skip,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkConfig {
    /// Token budget of one chunk. Default: 400.
    pub max_tokens: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        ChunkConfig { max_tokens: 400 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Token budget of one model batch, padding included (rows × longest row).
    /// Default: 8192.
    pub max_tokens: usize,
    /// Most items in one batch. Default: 64.
    pub max_items: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_tokens: 8192,
            max_items: 64,
        }
    }
}

/// `summarize.strategy`: the order of summarising and translating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    SummarizeTranslate,
    TranslateSummarize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SummarizeConfig {
    /// Languages every record gets a summary in (ISO 639-1). Default: ["en", "ru"].
    pub languages: Vec<String>,
    /// The summariser: "lead-3" (the first sentences of the article), or a model card name
    /// or model directory of an encoder-decoder summariser (BART, mBART, T5/mT5).
    /// Default: "lead-3".
    pub model: String,
    /// Text put before every input of a model summariser; empty = the card's, else the
    /// model's own (`summarize: ` from T5's task_specific_params). Default: "".
    pub prefix: String,
    /// Weights' dtype of a model summariser: "auto" (f32 on the CPU, bf16 on a GPU, f16
    /// before Ampere), "f32", "f16", "bf16" or "int8" (weights quantised at load, activations
    /// in f32; CPU only). Default: "auto".
    pub dtype: String,
    /// How a summary in a language other than the article's is made, when both ways are
    /// possible: "summarize-translate" (summarise the article, translate the summary: one
    /// short translation) or "translate-summarize" (translate the article, summarise the
    /// translation: for summarisers that only read the target language, or read it better).
    /// When only one way is possible it is taken; each record says which in `summary_path`.
    /// Default: "summarize-translate".
    pub strategy: Strategy,
    /// How many leading sentences "lead-3" takes. Default: 3.
    pub lead_sentences: usize,
    /// Decoding settings of summaries, over `[generate]` (transformers' names). Default: none.
    pub generate: GenerationConfig,
}

impl Default for SummarizeConfig {
    fn default() -> Self {
        SummarizeConfig {
            languages: vec!["en".into(), "ru".into()],
            model: "lead-3".into(),
            prefix: String::new(),
            dtype: "auto".into(),
            strategy: Strategy::default(),
            lead_sentences: 3,
            generate: Default::default(),
        }
    }
}

/// The word that asks for a translator only where one can be had without the user's help.
pub(crate) const AUTO: &str = "auto";

/// What "auto" means, pair by pair: the built-in card svodka uses when it is cached or can be
/// downloaded. A pair not listed here has no automatic translator and must be named.
pub(crate) const AUTO_TRANSLATORS: &[(&str, &str)] = &[("en-ru", "opus-mt-en-ru"), ("ru-en", "opus-mt-ru-en")];

/// `translate.models`: "auto" or a table of pair → spec (a card, a directory, a GGUF file or
/// "auto"). Kept as written, so that `svodka config` prints what the user said; the pairs it
/// stands for come from [`TranslateModels::pairs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TranslateModels {
    /// A single word; only "auto" is valid (checked by `validate`, which names the key).
    Word(String),
    Pairs(BTreeMap<String, String>),
}

impl Default for TranslateModels {
    fn default() -> Self {
        TranslateModels::Word(AUTO.into())
    }
}

/// One configured translator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslatorSpec {
    /// `ru-en`.
    pub pair: String,
    /// A card name, a model directory or a GGUF file.
    pub spec: String,
    /// Chosen by "auto": when the model cannot be had, the pair goes untranslated instead
    /// of stopping the run.
    pub auto: bool,
}

impl TranslateModels {
    /// The configured translators, "auto" resolved to cards, in pair order.
    pub fn pairs(&self) -> Vec<TranslatorSpec> {
        let auto = |pair: &str| {
            AUTO_TRANSLATORS
                .iter()
                .find(|(p, _)| *p == pair)
                .map(|(p, card)| TranslatorSpec {
                    pair: p.to_string(),
                    spec: card.to_string(),
                    auto: true,
                })
        };
        match self {
            TranslateModels::Word(_) => AUTO_TRANSLATORS.iter().filter_map(|(p, _)| auto(p)).collect(),
            TranslateModels::Pairs(m) => m
                .iter()
                .filter_map(|(pair, spec)| {
                    if spec == AUTO {
                        auto(pair)
                    } else {
                        Some(TranslatorSpec {
                            pair: pair.clone(),
                            spec: spec.clone(),
                            auto: false,
                        })
                    }
                })
                .collect(),
        }
    }

    /// The translator of one pair, if any.
    pub fn get(&self, pair: &str) -> Option<TranslatorSpec> {
        self.pairs().into_iter().find(|t| t.pair == pair)
    }

    /// Pairs named in a table (empty for "auto").
    fn keys(&self) -> Vec<&String> {
        match self {
            TranslateModels::Word(_) => Vec::new(),
            TranslateModels::Pairs(m) => m.keys().collect(),
        }
    }

    /// Turn translation off, or name one pair's translator (tests and callers that build a
    /// configuration in code).
    pub fn set(&mut self, pair: &str, spec: &str) {
        if let TranslateModels::Word(_) = self {
            *self = TranslateModels::Pairs(BTreeMap::new());
        }
        if let TranslateModels::Pairs(m) = self {
            m.insert(pair.to_string(), spec.to_string());
        }
    }

    pub fn clear(&mut self) {
        *self = TranslateModels::Pairs(BTreeMap::new());
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranslateConfig {
    /// Translator per language pair: "auto", or a table of pair → a card name, a model
    /// directory, a GGUF file or "auto". "auto" (for a pair: its built-in card, see
    /// [`AUTO_TRANSLATORS`]; as the whole value: every pair there) uses the card when it is
    /// cached or can be downloaded and otherwise leaves the pair untranslated, saying so once;
    /// a card or directory named outright that cannot be loaded stops the run before any
    /// work. `{}` turns translation off. Default: "auto".
    pub models: TranslateModels,
    /// Also translate whole articles (record field `translation`). Default: false.
    pub full: bool,
    /// Weights' dtype: "auto" (f32 on the CPU, bf16 on a GPU, f16 before Ampere), "f32", "f16",
    /// "bf16" or "int8" (weights quantised at load, activations in f32; CPU only). Default: "auto".
    pub dtype: String,
    /// Text put before each input, per pair (e.g. `en-ru = ">>rus<< "` for multi-target
    /// models); overrides the card's prefix. Default: none.
    pub prefixes: BTreeMap<String, String>,
    /// Decoding settings of translations, over `[generate]` (transformers' names: num_beams,
    /// max_new_tokens, length_penalty, …). Default: none.
    pub generate: GenerationConfig,
}

impl Default for TranslateConfig {
    fn default() -> Self {
        TranslateConfig {
            models: TranslateModels::default(),
            full: false,
            dtype: "auto".into(),
            prefixes: BTreeMap::new(),
            generate: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Worker threads for reading, parsing and chunking, and model computation; 0 = one per
    /// core; capped at [`THREADS_PER_CORE_CAP`] per core, with a message. Default: 0.
    pub threads: usize,
    /// Most articles in flight between the reader and the writer (bounds memory and the
    /// reorder buffer). Default: 256.
    pub window: usize,
    /// Most input bytes (article files, archive members, JSONL lines) in flight at once, as
    /// well: a window of big articles must not fill the memory. One article larger than this
    /// still runs, alone. Default: 134217728 (128 MiB).
    pub window_bytes: u64,
    /// Where the models run: "cpu", "cuda" (GPU 0), "cuda:N", or "auto" (a GPU when svodka is
    /// built with the `cuda` feature and one answers, else the CPU); see [`crate::device`].
    /// `--device` overrides. Default: "auto".
    pub device: String,
}

/// Articles that repeat an earlier one of the run ([`crate::dedup`]). A section of its own,
/// not part of `[run]`: it changes records, so the run manifest covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// A repeat gets `duplicate_of` and its original's summaries, with no model run: "near"
    /// (MinHash of word shingles), "exact" (the same words) or "off". Default: "near".
    pub mode: crate::dedup::Mode,
    /// Least estimated Jaccard similarity of 4-word shingles for "near" (0 < t <= 1).
    /// Default: 0.8.
    pub threshold: f64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            mode: crate::dedup::Mode::Near,
            threshold: 0.8,
        }
    }
}

/// Most threads per core that `run.threads` may ask for: more only adds switching (the
/// campaign's `--threads 1000` took 14 s for 50 articles) and, far beyond, exhausts the machine.
pub(crate) const THREADS_PER_CORE_CAP: usize = 4;

impl RunConfig {
    /// The threads the run uses: `run.threads`, 0 meaning one per core, capped at
    /// [`THREADS_PER_CORE_CAP`] per core; the second value says when the cap applied.
    pub(crate) fn effective_threads(&self) -> (usize, Option<String>) {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cap = cores * THREADS_PER_CORE_CAP;
        match self.threads {
            0 => (cores, None),
            n if n > cap => (
                cap,
                Some(format!(
                    "run.threads = {n} is more than {THREADS_PER_CORE_CAP} per core on this machine's {cores} cores: using {cap}"
                )),
            ),
            n => (n, None),
        }
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            threads: 0,
            window: 256,
            window_bytes: 128 * 1024 * 1024,
            device: "auto".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Where records go; "-" is standard output. Default: "-".
    pub path: String,
    /// fsync the output after every record (slower, survives power loss, not only crashes).
    /// Default: false.
    pub fsync: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            path: "-".into(),
            fsync: false,
        }
    }
}

/// The languages of `summarize.languages` and `language.served` must look like ISO 639-1.
fn check_lang_list(key: &str, langs: &[String]) -> Result<(), ConfigError> {
    for l in langs {
        let ok = (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            return Err(ConfigError::Invalid {
                key: key.into(),
                message: format!("`{l}` is not a language code such as \"en\" or \"ru\""),
            });
        }
    }
    Ok(())
}

/// What command-line options (other than `--set`) change in the configuration: typed, and
/// applied after the file and the `--set` overrides, as ripgrep turns its low-level arguments
/// into high-level ones.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-o/--output`: `output.path`.
    pub output: Option<String>,
    /// `--threads`: `run.threads`.
    pub threads: Option<usize>,
}

impl PipelineConfig {
    /// [`PipelineConfig::load`], then the command line's typed `overrides`, then validation.
    pub fn load_with(
        path: Option<&Path>,
        sets: &[String],
        overrides: &Overrides,
    ) -> Result<PipelineConfig, ConfigError> {
        Self::load_warning(path, sets, overrides, &mut |w| tracing::warn!("{w}"))
    }

    /// Load the configuration: `path` if given, else `./pipeline.toml` if it exists, else
    /// the built-in defaults; then apply `--set` overrides in order and validate.
    /// Deprecated keys are read as their new ones, each with a warning (`tracing::warn!`).
    pub fn load(path: Option<&Path>, sets: &[String]) -> Result<PipelineConfig, ConfigError> {
        Self::load_with(path, sets, &Overrides::default())
    }

    /// [`PipelineConfig::load_with`], with the deprecation warnings given to `warn`.
    fn load_warning(
        path: Option<&Path>,
        sets: &[String],
        overrides: &Overrides,
        warn: &mut dyn FnMut(&str),
    ) -> Result<PipelineConfig, ConfigError> {
        let default_path = Path::new("pipeline.toml");
        let (origin, text) = match path {
            Some(p) => (p.to_path_buf(), Some(read(p)?)),
            None if default_path.is_file() => (default_path.to_path_buf(), Some(read(default_path)?)),
            None => (PathBuf::from("<defaults>"), None),
        };
        let mut value = match text {
            Some(t) => toml::from_str::<toml::Table>(&t).map_err(|source| ConfigError::Syntax {
                path: origin.clone(),
                source,
            })?,
            None => toml::Table::new(),
        };
        let origin = origin.display().to_string();
        // Check the file alone first, so an error in it is blamed on the file.
        let mut file = value.clone();
        let moved = migrate(&mut file);
        from_table(file, &origin).map_err(|e| moved.rename(e))?;
        for arg in sets {
            apply_set(&mut value, arg)?;
        }
        let origin = if sets.is_empty() {
            origin
        } else {
            format!("{origin} with --set")
        };
        let moved = migrate(&mut value);
        for w in &moved.warnings {
            warn(w);
        }
        let mut cfg = from_table(value, &origin).map_err(|e| moved.rename(e))?;
        if let Some(o) = &overrides.output {
            cfg.output.path = o.clone();
        }
        if let Some(t) = overrides.threads {
            cfg.run.threads = t;
        }
        cfg.validate().map_err(|e| moved.rename(e))?;
        Ok(cfg)
    }

    /// The decoding settings of `task`'s models (its section over `[generate]`).
    pub(crate) fn generate_for(&self, task: crate::task::Task) -> GenerationConfig {
        match task {
            crate::task::Task::Summarize => self.summarize_generate(),
            crate::task::Task::Translate => self.translate_generate(),
        }
    }

    /// `task`'s seq2seq dtype as the models run it (`auto` resolved on `run.device`), as run
    /// manifests and benchmark records name it; the setting itself where the device cannot be
    /// opened (the run stops on that before any model loads).
    pub(crate) fn resolved_dtype(&self, task: crate::task::Task) -> String {
        let dtype = self.dtype_for(task);
        crate::device::resolve(&self.run.device)
            .ok()
            .and_then(|d| crate::models::precision_for(dtype, &d).ok())
            .map_or(dtype.to_string(), |p| crate::models::precision_name(p).to_string())
    }

    /// The weights' dtype of `task`'s seq2seq models (`summarize.dtype`, `translate.dtype`).
    pub(crate) fn dtype_for(&self, task: crate::task::Task) -> &str {
        match task {
            crate::task::Task::Summarize => &self.summarize.dtype,
            crate::task::Task::Translate => &self.translate.dtype,
        }
    }

    /// The decoding settings of summaries: `[generate]`, `[summarize.generate]` on top. A
    /// model's own files and card go below both when it is loaded.
    pub(crate) fn summarize_generate(&self) -> GenerationConfig {
        let mut g = GenerationConfig::default();
        g.merge(&self.generate);
        g.merge(&self.summarize.generate);
        g
    }

    /// The decoding settings of translations: `[generate]`, `[translate.generate]` on top.
    pub(crate) fn translate_generate(&self) -> GenerationConfig {
        let mut g = GenerationConfig::default();
        g.merge(&self.generate);
        g.merge(&self.translate.generate);
        g
    }

    /// The languages GGUF models read and write: `llm.languages`, else `language.served`.
    pub(crate) fn llm_languages(&self) -> &[String] {
        self.llm.languages.as_deref().unwrap_or(&self.language.served)
    }

    /// Reject values that parse but make no sense.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("chunk.max_tokens", self.chunk.max_tokens),
            ("batch.max_tokens", self.batch.max_tokens),
            ("batch.max_items", self.batch.max_items),
            ("run.window", self.run.window),
            ("summarize.lead_sentences", self.summarize.lead_sentences),
            ("llm.sentences", self.llm.sentences),
            ("llm.prompt_block", self.llm.prompt_block),
            ("llm.batch", self.llm.batch),
            ("llm.kv_cache_mb", self.llm.kv_cache_mb),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "must be at least 1".into(),
                });
            }
        }
        if !(self.dedup.threshold > 0.0 && self.dedup.threshold <= 1.0) {
            return Err(ConfigError::Invalid {
                key: "dedup.threshold".into(),
                message: format!("must be more than 0 and at most 1, not {}", self.dedup.threshold),
            });
        }
        if self.run.window_bytes == 0 {
            return Err(ConfigError::Invalid {
                key: "run.window_bytes".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.input.max_bytes == 0 {
            return Err(ConfigError::Invalid {
                key: "input.max_bytes".into(),
                message: "must be at least 1".into(),
            });
        }
        check_lang_list("language.served", &self.language.served)?;
        check_lang_list("summarize.languages", &self.summarize.languages)?;
        let none = Vec::new();
        for (key, list) in [
            ("language.served", &self.language.served),
            ("summarize.languages", &self.summarize.languages),
            ("llm.languages", self.llm.languages.as_ref().unwrap_or(&none)),
        ] {
            if key == "llm.languages" && self.llm.languages.is_none() {
                continue;
            }
            if list.is_empty() {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "must name at least one language".into(),
                });
            }
        }
        crate::device::DeviceChoice::parse(&self.run.device).map_err(|e| ConfigError::Invalid {
            key: "run.device".into(),
            message: e.to_string(),
        })?;
        crate::models::parse_precision(&self.summarize.dtype).map_err(|e| ConfigError::Invalid {
            key: "summarize.dtype".into(),
            message: e.to_string(),
        })?;
        if let Some(l) = &self.llm.languages {
            check_lang_list("llm.languages", l)?;
        }
        check_prompt(
            "llm.summarize_prompt",
            &self.llm.summarize_prompt,
            &["language", "sentences", "text"],
        )?;
        check_prompt(
            "llm.translate_prompt",
            &self.llm.translate_prompt,
            &["source", "target", "text"],
        )?;
        check_generate("generate", &self.generate)?;
        check_generate("summarize.generate", &self.summarize.generate)?;
        check_generate("translate.generate", &self.translate.generate)?;
        // transformers refuses to sample at temperature 0.
        for (task, what, own, merged) in [
            (
                "summarize",
                "summaries",
                &self.summarize.generate,
                self.summarize_generate(),
            ),
            (
                "translate",
                "translations",
                &self.translate.generate,
                self.translate_generate(),
            ),
        ] {
            if merged.do_sample == Some(true) && merged.temperature == Some(0.0) {
                let key = if own.temperature.is_some() {
                    format!("{task}.generate.temperature")
                } else {
                    "generate.temperature".into()
                };
                return Err(ConfigError::Invalid {
                    key,
                    message: format!(
                        "must be more than 0 when {what} are sampled (do_sample = true); \
                         do_sample = false decodes greedily"
                    ),
                });
            }
        }
        if self.output.path.is_empty() {
            return Err(ConfigError::Invalid {
                key: "output.path".into(),
                message: "must be a file path or \"-\" for standard output".into(),
            });
        }
        crate::models::parse_precision(&self.translate.dtype).map_err(|e| ConfigError::Invalid {
            key: "translate.dtype".into(),
            message: e.to_string(),
        })?;
        // int8 is svodka's CPU format: with a GPU named outright, say so now, not at the first load.
        if let Ok(crate::device::DeviceChoice::Cuda(n)) = crate::device::DeviceChoice::parse(&self.run.device) {
            for (key, dtype) in [
                ("summarize.dtype", &self.summarize.dtype),
                ("translate.dtype", &self.translate.dtype),
            ] {
                if matches!(
                    crate::models::parse_precision(dtype),
                    Ok(crate::models::Precision::Int8)
                ) {
                    return Err(ConfigError::Invalid {
                        key: key.into(),
                        message: format!(
                            "int8 runs on the CPU only (svodka's own int8 kernels); with run.device = cuda:{n} use \"auto\" (bf16 there), \"f16\" or \"f32\""
                        ),
                    });
                }
            }
        }
        if let TranslateModels::Word(w) = &self.translate.models
            && w != AUTO
        {
            return Err(ConfigError::Invalid {
                key: "translate.models".into(),
                message: format!(
                    "`{w}` is neither \"auto\" nor a table of language pairs such as {{ ru-en = \"opus-mt-ru-en\" }}"
                ),
            });
        }
        if let TranslateModels::Pairs(m) = &self.translate.models {
            for (pair, spec) in m {
                if spec == AUTO && !AUTO_TRANSLATORS.iter().any(|(p, _)| p == pair) {
                    let known: Vec<&str> = AUTO_TRANSLATORS.iter().map(|(p, _)| *p).collect();
                    return Err(ConfigError::Invalid {
                        key: format!("translate.models.{pair}"),
                        message: format!(
                            "\"auto\" has no translator for this pair (it knows {}); name a card, a model directory or a GGUF file",
                            known.join(", ")
                        ),
                    });
                }
                if spec.trim().is_empty() {
                    return Err(ConfigError::Invalid {
                        key: format!("translate.models.{pair}"),
                        message: "is empty; name a card, a model directory or a GGUF file (or remove the pair)".into(),
                    });
                }
            }
        }
        for pair in self
            .translate
            .models
            .keys()
            .into_iter()
            .chain(self.translate.prefixes.keys())
        {
            let ok = pair
                .split_once('-')
                .is_some_and(|(a, b)| check_lang_list("", &[a.into(), b.into()]).is_ok());
            if !ok {
                return Err(ConfigError::Invalid {
                    key: format!("translate.models.{pair}"),
                    message: "the key must be a language pair such as `ru-en`".into(),
                });
            }
        }
        Ok(())
    }

    /// The translators the run loads, each with the key that named it: `translate.models`,
    /// or, when `llm.model` is set, that one file for every pair of `summarize.languages`.
    pub(crate) fn translator_specs(&self) -> Vec<(TranslatorSpec, String)> {
        if self.llm.model.is_empty() {
            return self
                .translate
                .models
                .pairs()
                .into_iter()
                .map(|t| {
                    let key = format!("translate.models.{}", t.pair);
                    (t, key)
                })
                .collect();
        }
        let langs = &self.summarize.languages;
        langs
            .iter()
            .flat_map(|a| langs.iter().filter(move |b| *b != a).map(move |b| format!("{a}-{b}")))
            .map(|pair| {
                let t = TranslatorSpec {
                    pair,
                    spec: self.llm.model.clone(),
                    auto: false,
                };
                (t, "llm.model".to_string())
            })
            .collect()
    }

    /// The effective configuration as TOML, for `svodka config`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration always serialises")
    }
}

/// Values of one generation section that no model could use.
fn check_generate(section: &str, g: &GenerationConfig) -> Result<(), ConfigError> {
    let bad = |key: &str, message: String| {
        Err(ConfigError::Invalid {
            key: format!("{section}.{key}"),
            message,
        })
    };
    if g.max_new_tokens == Some(0) {
        return bad("max_new_tokens", "must be at least 1".into());
    }
    if let Some(t) = g.temperature
        && !(t >= 0.0 && t.is_finite())
    {
        return bad(
            "temperature",
            "must be 0 or more (it matters only with do_sample = true, and then must be more than 0)".into(),
        );
    }
    if let Some(p) = g.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return bad("top_p", format!("{p} is not between 0 and 1"));
    }
    if let Some(r) = g.repetition_penalty
        && !(r > 0.0 && r.is_finite())
    {
        return bad("repetition_penalty", "must be more than 0 (1 = off)".into());
    }
    Ok(())
}

/// `[llm]` keys that are `[generate]`'s now, under the same name.
const DEPRECATED_LLM_KEYS: &[&str] = &["max_new_tokens", "top_p", "top_k", "repetition_penalty", "temperature"];

/// What [`migrate`] did: the warnings to show, and which new keys hold a value the user wrote
/// under an old name, so that errors about it name the key the user wrote.
#[derive(Debug, Default)]
struct Migration {
    warnings: Vec<String>,
    renamed: BTreeMap<String, String>,
}

impl Migration {
    fn rename(&self, e: ConfigError) -> ConfigError {
        match e {
            ConfigError::Value { origin, key, message } if self.renamed.contains_key(&key) => ConfigError::Value {
                origin,
                key: self.renamed[&key].clone(),
                message,
            },
            ConfigError::Invalid { key, message } if self.renamed.contains_key(&key) => ConfigError::Invalid {
                key: self.renamed[&key].clone(),
                message,
            },
            e => e,
        }
    }
}

/// Move the deprecated `llm.max_new_tokens`, `llm.temperature`, `llm.top_p`, `llm.top_k` and
/// `llm.repetition_penalty` to `[generate]`, saying so. Their meaning is kept: a value equal
/// to the old default is what GGUF models do unset (and moving it would override seq2seq
/// models' own settings), so it is dropped; `llm.temperature` above 0 meant sampling, so it
/// also turns `generate.do_sample` on, and brings `generate.top_k = 0` (the old default, where
/// transformers' is 50) unless `top_k` is set. A key set in `[generate]` as well wins.
fn migrate(table: &mut toml::Table) -> Migration {
    let mut m = Migration::default();
    let has_old = table
        .get("llm")
        .and_then(|v| v.as_table())
        .is_some_and(|l| DEPRECATED_LLM_KEYS.iter().any(|k| l.contains_key(*k)));
    if !has_old || table.get("generate").is_some_and(|g| !g.is_table()) {
        return m;
    }
    let llm = table
        .get_mut("llm")
        .and_then(|v| v.as_table_mut())
        .expect("checked above");
    let old: Vec<(&str, toml::Value)> = DEPRECATED_LLM_KEYS
        .iter()
        .filter_map(|k| llm.remove(*k).map(|v| (*k, v)))
        .collect();
    let generate = table
        .entry("generate")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("checked above");
    let float = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64));
    for (key, value) in old {
        let (was, now) = (format!("llm.{key}"), format!("generate.{key}"));
        let deprecated = format!("`{was}` is deprecated: use `{now}`");
        if generate.contains_key(key) {
            m.warnings
                .push(format!("{deprecated}; `{now}` is set too and wins, `{was}` is ignored"));
            continue;
        }
        let default = match key {
            "max_new_tokens" => value.as_integer() == Some(sample::MAX_NEW_TOKENS as i64),
            "top_k" => value.as_integer() == Some(0),
            "top_p" => float(&value) == Some(1.0),
            "temperature" => float(&value) == Some(0.0),
            _ => float(&value).map(|r| r as f32) == Some(sample::REPETITION_PENALTY),
        };
        if default {
            m.warnings.push(format!(
                "{deprecated} ({value} is GGUF models' default: nothing to move)"
            ));
            continue;
        }
        let mut also = Vec::new();
        if key == "temperature" && float(&value).is_some_and(|t| t > 0.0) {
            if !generate.contains_key("do_sample") {
                generate.insert("do_sample".into(), toml::Value::Boolean(true));
                m.renamed.insert("generate.do_sample".into(), was.clone());
                also.push("`generate.do_sample = true`");
            }
            if !generate.contains_key("top_k") {
                generate.insert("top_k".into(), toml::Value::Integer(0));
                m.renamed.insert("generate.top_k".into(), was.clone());
                also.push("`generate.top_k = 0` as before, not transformers' 50");
            }
        }
        generate.insert(key.into(), value);
        let with = if also.is_empty() {
            String::new()
        } else {
            format!(", with {}", also.join(" and "))
        };
        m.warnings.push(format!(
            "{deprecated} (read as that now{with}; `[generate]` applies to every model, \
             `[summarize.generate]` and `[translate.generate]` to one task)"
        ));
        m.renamed.insert(now, was);
    }
    m
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Deserialise through serde_path_to_error so the error names the offending key.
fn from_table(table: toml::Table, origin: &str) -> Result<PipelineConfig, ConfigError> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let message = e.inner().to_string();
        // toml's message ends with "in `KEY`", which the error says already.
        let message = message.trim();
        let message = message
            .rsplit_once('\n')
            .filter(|(_, last)| last.starts_with("in `"))
            .map_or(message, |(head, _)| head.trim_end());
        ConfigError::Value {
            origin: origin.to_string(),
            key: if key == "." { "(top level)".into() } else { key },
            message: message.to_string(),
        }
    })
}

/// Apply one `section.key=value`: the value is read as a TOML value (`3`, `true`,
/// `["en"]`, `"text"`), and as a bare string when it is not one (`summarize.model=lead-3`).
fn apply_set(table: &mut toml::Table, arg: &str) -> Result<(), ConfigError> {
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| ConfigError::SetSyntax { arg: arg.into() })?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if key.is_empty() || parts.iter().any(|p| p.is_empty()) || parts.len() < 2 {
        return Err(ConfigError::SetSyntax { arg: arg.into() });
    }
    let value = parse_value(raw.trim());
    // A number TOML cannot hold would otherwise go on as a string and be called one.
    if value.is_str()
        && raw
            .trim()
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_')
        && raw.trim().chars().any(|c| c.is_ascii_digit())
    {
        return Err(ConfigError::Value {
            origin: "--set".into(),
            key: key.into(),
            message: format!("{} is out of range for a number", raw.trim()),
        });
    }
    // Known sections and keys come from the defaults, so `--set` names an unknown key
    // before serde would.
    let known = toml::Table::try_from(PipelineConfig::default()).expect("defaults serialise");
    let unknown = || ConfigError::SetUnknown {
        arg: arg.into(),
        key: key.into(),
    };
    let section = known.get(parts[0]).and_then(|v| v.as_table()).ok_or_else(unknown)?;
    // Map-valued keys (translate.models.<pair>, translate.prefixes.<pair>) accept any
    // sub-key; generation settings accept transformers' names.
    let is_map = parts.len() == 3 && parts[0] == "translate" && ["models", "prefixes"].contains(&parts[1]);
    let generation_key = |k: &str| crate::generate::config::KEYS.contains(&k);
    let is_generate = (parts.len() == 3 && parts[1] == "generate" && generation_key(parts[2]))
        || (parts.len() == 2 && parts[0] == "generate" && generation_key(parts[1]));
    // Keys whose default is unset (not in the serialised defaults), and deprecated keys
    // (moved by `migrate`).
    let optional =
        parts.len() == 2 && parts[0] == "llm" && (parts[1] == "languages" || DEPRECATED_LLM_KEYS.contains(&parts[1]));
    let known_key = parts.len() == 2 && (section.contains_key(parts[1]) || parts[1] == "generate" || optional);
    if !is_map && !is_generate && !known_key {
        return Err(unknown());
    }
    // Naming one pair on top of "auto" (written, or the default) keeps "auto" for the others.
    if is_map
        && parts[1] == "models"
        && let Some(t) = table
            .entry("translate")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
        && t.get("models").is_none_or(|m| m.as_str() == Some(AUTO))
    {
        let auto: toml::Table = AUTO_TRANSLATORS
            .iter()
            .map(|(p, _)| (p.to_string(), toml::Value::String(AUTO.into())))
            .collect();
        t.insert("models".into(), toml::Value::Table(auto));
    }
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(unknown)?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v").expect("the key is there"),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, sets: &[&str]) -> Result<PipelineConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, text).unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        PipelineConfig::load(Some(&p), &sets)
    }

    #[test]
    fn shipped_pipeline_toml_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.toml");
        let mut warnings = Vec::new();
        let cfg = PipelineConfig::load_warning(Some(&path), &[], &Overrides::default(), &mut |w| {
            warnings.push(w.to_string())
        })
        .unwrap();
        assert_eq!(cfg, PipelineConfig::default());
        assert!(warnings.is_empty(), "no deprecated key: {warnings:?}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(load_str("", &[]).unwrap(), PipelineConfig::default());
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let err = load_str("[chunk]\nmax_tokenz = 3\n", &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("max_tokenz"), "{msg}");
        assert!(msg.contains("chunk"), "{msg}");
    }

    #[test]
    fn bad_value_type_names_the_key() {
        let err = load_str("[chunk]\nmax_tokens = \"many\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("chunk.max_tokens"), "{err}");
    }

    #[test]
    fn set_overrides_and_parses_values() {
        let cfg = load_str(
            "",
            &[
                "chunk.max_tokens=77",
                "summarize.languages=[\"ru\"]",
                "language.unsupported=process",
                "translate.models.ru-en=opus",
                "translate.generate.num_beams=2",
            ],
        )
        .unwrap();
        assert_eq!(cfg.translate.generate.num_beams, Some(2));
        assert_eq!(cfg.chunk.max_tokens, 77);
        assert_eq!(cfg.summarize.languages, vec!["ru".to_string()]);
        assert_eq!(cfg.language.unsupported, UnsupportedLanguage::Process);
        assert_eq!(cfg.translate.models.get("ru-en").unwrap().spec, "opus");
    }

    #[test]
    fn translate_models_auto() {
        // The default: every built-in pair, each soft.
        let cfg = load_str("", &[]).unwrap();
        let pairs = cfg.translate.models.pairs();
        assert_eq!(pairs.len(), AUTO_TRANSLATORS.len());
        assert!(pairs.iter().all(|t| t.auto));
        assert_eq!(cfg.translate.models.get("ru-en").unwrap().spec, "opus-mt-ru-en");
        // Naming one pair keeps "auto" for the others, whether the defaults come from the
        // built-in values or from a file that spells "auto" out.
        for file in ["", "[translate]\nmodels = \"auto\"\n"] {
            let cfg = load_str(file, &["translate.models.ru-en=/models/ru-en"]).unwrap();
            let ru_en = cfg.translate.models.get("ru-en").unwrap();
            assert_eq!((ru_en.spec.as_str(), ru_en.auto), ("/models/ru-en", false));
            let en_ru = cfg.translate.models.get("en-ru").unwrap();
            assert_eq!((en_ru.spec.as_str(), en_ru.auto), ("opus-mt-en-ru", true));
        }
        // A table names exactly its pairs; `{}` is no translation at all.
        let cfg = load_str("[translate.models]\nen-ru = \"x\"\n", &[]).unwrap();
        assert_eq!(cfg.translate.models.pairs().len(), 1);
        assert!(
            load_str("", &["translate.models={}"])
                .unwrap()
                .translate
                .models
                .pairs()
                .is_empty()
        );
        assert_eq!(
            load_str("", &["translate.models=auto"]).unwrap(),
            PipelineConfig::default()
        );
        // Anything else is an error that names the key.
        let err = load_str("", &["translate.models=opus"]).unwrap_err();
        assert!(
            err.to_string().contains("translate.models") && err.to_string().contains("auto"),
            "{err}"
        );
        let err = load_str("", &["translate.models.de-en=auto"]).unwrap_err();
        assert!(err.to_string().contains("translate.models.de-en"), "{err}");
        let err = load_str("", &["translate.models.ru-en=\"\""]).unwrap_err();
        assert!(err.to_string().contains("translate.models.ru-en"), "{err}");
    }

    #[test]
    fn set_unknown_key_is_named() {
        let err = load_str("", &["chunk.size=3"]).unwrap_err();
        assert!(matches!(err, ConfigError::SetUnknown { ref key, .. } if key == "chunk.size"));
        let err = load_str("", &["nosuch.size=3"]).unwrap_err();
        assert!(err.to_string().contains("nosuch.size"));
        assert!(matches!(load_str("", &["chunk"]), Err(ConfigError::SetSyntax { .. })));
    }

    #[test]
    fn set_bad_enum_value_is_named() {
        let err = load_str("", &["language.unsupported=drop"]).unwrap_err();
        assert!(err.to_string().contains("language.unsupported"), "{err}");
    }

    #[test]
    fn validation_rejects_nonsense() {
        let err = load_str("[chunk]\nmax_tokens = 0\n", &[]).unwrap_err();
        assert!(err.to_string().contains("chunk.max_tokens"));
        let err = load_str("", &["summarize.languages=[\"English\"]"]).unwrap_err();
        assert!(err.to_string().contains("summarize.languages"));
        let err = load_str("", &["translate.models.russian=x"]).unwrap_err();
        assert!(err.to_string().contains("translate.models.russian"));
        let err = load_str("", &["llm.summarize_prompt=\"Summarise in {language}.\""]).unwrap_err();
        assert!(err.to_string().contains("llm.summarize_prompt") && err.to_string().contains("{text}"));
        let err = load_str("", &["llm.translate_prompt=\"{text} into {langauge}\""]).unwrap_err();
        assert!(err.to_string().contains("{langauge}"), "{err}");
        assert!(load_str("", &["llm.translate_prompt=\"JSON {\\\"a\\\": 1} {text}\""]).is_ok());
        let err = load_str("", &["llm.top_p=1.5"]).unwrap_err();
        assert!(err.to_string().contains("llm.top_p"));
        let err = load_str("", &["llm.temperature=-1.0"]).unwrap_err();
        assert!(err.to_string().contains("llm.temperature"));
        let err = load_str("", &["chunk.max_tokens=99999999999999999999"]).unwrap_err();
        assert!(
            err.to_string().contains("out of range") && !err.to_string().contains("string"),
            "{err}"
        );
        let err = load_str("[chunk]\nmax_tokens = \"many\"\n", &[]).unwrap_err();
        assert_eq!(err.to_string().matches("chunk.max_tokens").count(), 1, "{err}");
        let err = load_str("", &["translate.dtype=int8", "run.device=cuda"]).unwrap_err();
        assert!(
            err.to_string().contains("translate.dtype") && err.to_string().contains("CPU only"),
            "{err}"
        );
        assert!(load_str("", &["translate.dtype=int8", "run.device=auto"]).is_ok());
        let err = load_str("", &["run.device=tpu"]).unwrap_err();
        assert!(err.to_string().contains("run.device"), "{err}");
        let err = load_str("", &["summarize.dtype=f8"]).unwrap_err();
        assert!(
            err.to_string().contains("summarize.dtype") && err.to_string().contains("f8"),
            "{err}"
        );
        for key in ["language.served", "summarize.languages", "llm.languages"] {
            let err = load_str("", &[&format!("{key}=[]")]).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    fn load_warned(text: &str, sets: &[&str]) -> (PipelineConfig, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, text).unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let mut warnings = Vec::new();
        let cfg = PipelineConfig::load_warning(Some(&p), &sets, &Overrides::default(), &mut |w| {
            warnings.push(w.to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        (cfg, warnings)
    }

    /// `[generate]` applies to both tasks; a task section wins over it, key by key.
    #[test]
    fn generation_settings_merge_generate_then_the_task_section() {
        let (cfg, warnings) = load_warned(
            "[generate]\nmax_new_tokens = 50\nnum_beams = 2\ntemperature = 0.5\n\
             [summarize.generate]\nmax_new_tokens = 20\n",
            &["translate.generate.num_beams=4", "generate.top_k=7"],
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let s = cfg.summarize_generate();
        assert_eq!((s.max_new_tokens, s.num_beams, s.top_k), (Some(20), Some(2), Some(7)));
        assert_eq!(s.temperature, Some(0.5));
        let t = cfg.translate_generate();
        assert_eq!((t.max_new_tokens, t.num_beams, t.top_k), (Some(50), Some(4), Some(7)));
        // Nothing set anywhere: nothing set (the model's files and card, else the defaults).
        assert_eq!(
            PipelineConfig::default().summarize_generate(),
            crate::generate::GenerationConfig::default()
        );
        // The GGUF defaults, once: greedy, 384 new tokens, repetition penalty 1.1; sampling
        // takes transformers' defaults.
        let d = sample::SamplingConfig::from_settings(&PipelineConfig::default().translate_generate(), 1, 64, 512);
        assert_eq!((d.max_new_tokens, d.temperature, d.repetition_penalty), (384, 0.0, 1.1));
        let (cfg, _) = load_warned("", &["generate.do_sample=true", "summarize.generate.top_p=0.9"]);
        let d = sample::SamplingConfig::from_settings(&cfg.summarize_generate(), 1, 64, 512);
        assert_eq!((d.temperature, d.top_p, d.top_k), (1.0, 0.9, 50));
        // Unknown generation keys are named, in every section.
        let err = load_str("", &["generate.num_beam=2"]).unwrap_err();
        assert!(err.to_string().contains("generate.num_beam"), "{err}");
        let err = load_str("[generate]\ntop_q = 1\n", &[]).unwrap_err();
        assert!(err.to_string().contains("top_q"), "{err}");
        // Values no model could use are named where they are written.
        let err = load_str("", &["translate.generate.top_p=2"]).unwrap_err();
        assert!(err.to_string().contains("translate.generate.top_p"), "{err}");
        let err = load_str("", &["generate.max_new_tokens=0"]).unwrap_err();
        assert!(err.to_string().contains("generate.max_new_tokens"), "{err}");
        let err = load_str("", &["generate.do_sample=true", "summarize.generate.temperature=0"]).unwrap_err();
        assert!(err.to_string().contains("summarize.generate.temperature"), "{err}");
    }

    /// The old `[llm]` decoding keys are read as `[generate]`'s, each with a warning naming
    /// both keys; they never show in the effective configuration.
    #[test]
    fn deprecated_llm_decoding_keys_move_to_generate() {
        let old = [
            "llm.max_new_tokens=6",
            "llm.top_p=0.8",
            "llm.top_k=9",
            "llm.repetition_penalty=1.3",
        ];
        let (cfg, warnings) = load_warned("", &old);
        let g = &cfg.generate;
        assert_eq!((g.max_new_tokens, g.top_p, g.top_k), (Some(6), Some(0.8), Some(9)));
        assert_eq!(
            (g.repetition_penalty, g.do_sample, g.temperature),
            (Some(1.3), None, None)
        );
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        for key in ["max_new_tokens", "top_p", "top_k", "repetition_penalty"] {
            let w = format!("`llm.{key}` is deprecated: use `generate.{key}`");
            assert!(warnings.iter().any(|x| x.starts_with(&w)), "{w}: {warnings:?}");
        }
        // The same in a file, and the same configuration as the new keys give.
        let (from_file, _) = load_warned(
            "[llm]\nmax_new_tokens = 6\ntop_p = 0.8\ntop_k = 9\nrepetition_penalty = 1.3\n",
            &[],
        );
        let (new, none) = load_warned(
            "",
            &[
                "generate.max_new_tokens=6",
                "generate.top_p=0.8",
                "generate.top_k=9",
                "generate.repetition_penalty=1.3",
            ],
        );
        assert!(none.is_empty());
        assert_eq!(cfg, new);
        assert_eq!(from_file, new);
        let text = cfg.to_toml();
        for key in ["max_new_tokens", "top_p", "top_k", "repetition_penalty", "temperature"] {
            let llm = text.split("[llm]").nth(1).unwrap().split("\n[").next().unwrap();
            assert!(!llm.contains(key), "{key} in [llm]: {text}");
        }
        assert_eq!(toml::from_str::<PipelineConfig>(&text).unwrap(), cfg);

        // A temperature above 0 meant sampling, without top-k.
        let (cfg, warnings) = load_warned("", &["llm.temperature=0.7"]);
        let g = &cfg.generate;
        assert_eq!((g.do_sample, g.temperature, g.top_k), (Some(true), Some(0.7), Some(0)));
        assert!(warnings[0].contains("generate.do_sample = true"), "{warnings:?}");
        let d = sample::SamplingConfig::from_settings(&cfg.summarize_generate(), 1, 64, 512);
        assert_eq!((d.temperature, d.top_p, d.top_k), (0.7, 1.0, 0));
        let (cfg, _) = load_warned("[llm]\ntemperature = 0.7\ntop_k = 40\n", &[]);
        assert_eq!(cfg.generate.top_k, Some(40));

        // The old defaults (the old pipeline.toml spelt them all out) are what GGUF models do
        // unset: moving them would override seq2seq models' own settings.
        let (cfg, warnings) = load_warned(
            "[llm]\nmax_new_tokens = 384\ntemperature = 0.0\ntop_p = 1.0\ntop_k = 0\nrepetition_penalty = 1.1\n",
            &[],
        );
        assert_eq!(cfg, PipelineConfig::default());
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings.iter().all(|w| w.contains("is deprecated: use `generate.")));

        // The new key, when set too, wins, and the warning says so.
        let (cfg, warnings) = load_warned("[generate]\nmax_new_tokens = 10\n", &["llm.max_new_tokens=6"]);
        assert_eq!(cfg.generate.max_new_tokens, Some(10));
        assert!(
            warnings[0].contains("`generate.max_new_tokens` is set too and wins"),
            "{warnings:?}"
        );

        // Errors name the key the user wrote.
        let err = load_str("[llm]\nmax_new_tokens = \"many\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("llm.max_new_tokens"), "{err}");
        let err = load_str("", &["llm.max_new_tokens=0"]).unwrap_err();
        assert!(err.to_string().contains("llm.max_new_tokens"), "{err}");
        let err = load_str("", &["llm.repetition_penalty=0"]).unwrap_err();
        assert!(err.to_string().contains("llm.repetition_penalty"), "{err}");
    }

    /// GGUF models serve `language.served` unless `llm.languages` overrides it.
    #[test]
    fn llm_languages_default_to_the_served_ones() {
        let cfg = load_str("", &["language.served=[\"en\", \"de\"]"]).unwrap();
        assert_eq!(cfg.llm_languages(), ["en", "de"]);
        let cfg = load_str("", &["language.served=[\"en\", \"de\"]", "llm.languages=[\"en\"]"]).unwrap();
        assert_eq!(cfg.llm_languages(), ["en"]);
        assert!(
            !PipelineConfig::default()
                .to_toml()
                .contains("languages = [\"en\", \"ru\"]\nsentences")
        );
        let err = load_str("", &["llm.languages=[\"English\"]"]).unwrap_err();
        assert!(err.to_string().contains("llm.languages"), "{err}");
    }

    #[test]
    fn effective_config_round_trips() {
        let cfg = load_str("", &["batch.max_items=5"]).unwrap();
        let again: PipelineConfig = toml::from_str(&cfg.to_toml()).unwrap();
        assert_eq!(cfg, again);
    }
}
