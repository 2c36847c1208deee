//! [`Summarizer`] and [`Translator`] backed by one GGUF instruct model: the article goes into
//! a prompt (`[llm]` in `pipeline.toml`), the prompt through the file's chat template and
//! tokenizer, and the answer is cleaned of what instruct models add around it.
//!
//! One loaded model serves the summariser and every translator (weights shared; each
//! sequence gets its own cache). A batch's items (and every piece of its translations) go to
//! the model at once and are decoded `llm.batch` together ([`crate::generate::continuous`]). An instruct model
//! can summarise an English article in Russian directly (`llm.cross_lingual`), but small ones
//! tend to translate the whole article instead, so by default it writes summaries in the
//! article's language and the planner's strategy makes the other. Summaries are cut to
//! `llm.sentences` sentences and translations to their source's paragraphs, since small
//! models run on with commentary. Inputs longer than the context are cut at sentence
//! boundaries with the model's own tokenizer: summaries by the planner's map-reduce,
//! translations here, piece by piece.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::{Decoding, Generated, Summarizer, SummaryInput, Translator, texts_of};
use crate::chunk::{TokenCounter, chunk_text};
use crate::config::{LlmConfig, PipelineConfig};
use crate::generate::continuous::{BatchLimits, Request, complete_all};
use crate::generate::sample::SamplingConfig;
use crate::models::ModelError;
use crate::models::llm::Llm;
use crate::record_error::{ArticleError, ErrorKind, Stage, error_chain};
use crate::task::Task;
use crate::tokenizer::chat::{ChatTemplate, Message};
use crate::tokenizer::gguf::GgufTokenizer;

/// English names of languages, for prompts.
fn language_name(code: &str) -> &str {
    match code {
        "en" => "English",
        "ru" => "Russian",
        "uk" => "Ukrainian",
        "be" => "Belarusian",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "pt" => "Portuguese",
        "pl" => "Polish",
        "cs" => "Czech",
        "tr" => "Turkish",
        "kk" => "Kazakh",
        "zh" => "Chinese",
        "ja" => "Japanese",
        other => other,
    }
}

/// A loaded GGUF model with its tokenizer, chat template and settings.
pub(crate) struct LlmBackend {
    name: String,
    model: Llm,
    tokenizer: GgufTokenizer,
    template: ChatTemplate,
    /// Decoding of summaries and of translations: each task's generation settings.
    summarize: SamplingConfig,
    translate: SamplingConfig,
    /// Decoding settings of each task that a GGUF model does not read, said once per task.
    ignored: [(Task, Vec<&'static str>, std::sync::Once); 2],
    stop: Vec<u32>,
    cfg: LlmConfig,
    /// Languages it reads and writes: `llm.languages`, else `language.served`.
    languages: Vec<String>,
    /// Largest input text, in tokens, that fits the context with the prompt and the answer.
    max_input_tokens: usize,
}

impl LlmBackend {
    pub fn load(path: &Path, config: &PipelineConfig) -> Result<LlmBackend, ModelError> {
        let cfg = &config.llm;
        if !path.is_file() {
            return Err(ModelError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such GGUF file"),
            });
        }
        let device = crate::device::resolve(&config.run.device)?;
        let (mut model, content) = Llm::load(path, &device)?;
        if cfg.context > 0 {
            model.limit_context(cfg.context);
        }
        let tokenizer = GgufTokenizer::from_gguf(&content, path)?;
        let template = ChatTemplate::from_gguf(&content, &tokenizer, path)?;
        let sampling = |g| SamplingConfig::from_settings(&g, cfg.seed, cfg.repeat_last_n, cfg.prompt_block);
        let (summarize, translate) = (
            sampling(config.summarize_generate()),
            sampling(config.translate_generate()),
        );
        let ignored = [Task::Summarize, Task::Translate]
            .map(|t| (t, config.generate_for(t).seq2seq_only_keys(), std::sync::Once::new()));
        // One loaded model serves both tasks: the input budget leaves room for the longer answer.
        let answer = summarize.max_new_tokens.max(translate.max_new_tokens);
        let mut backend = LlmBackend {
            name: path.display().to_string(),
            stop: tokenizer.stop_ids(),
            model,
            tokenizer,
            template,
            summarize,
            translate,
            ignored,
            cfg: cfg.clone(),
            languages: config.llm_languages().to_vec(),
            max_input_tokens: 0,
        };
        // What the prompt costs around the text, measured on the longer of the two prompts.
        let overhead = [Task::Summarize, Task::Translate]
            .iter()
            .map(|&task| {
                let prompt = backend.prompt(task, "", "en", "ru")?;
                Ok(backend.encode_prompt(&prompt)?.len())
            })
            .collect::<Result<Vec<usize>, ModelError>>()?
            .into_iter()
            .max()
            .unwrap_or(0);
        let context = backend.model.config().context;
        backend.max_input_tokens = context.saturating_sub(overhead + answer + 8);
        if backend.max_input_tokens < 32 {
            return Err(ModelError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "a context of {context} tokens leaves no room for the article after the prompt \
                     ({overhead} tokens) and the answer (max_new_tokens = {answer}); raise llm.context"
                ),
            });
        }
        Ok(backend)
    }

    /// Say once per task when its decoding settings include keys only seq2seq models read
    /// (`[generate]` is shared by every model, so `num_beams` meant for opus-mt reaches a GGUF
    /// summariser too): they are ignored here, and the user should know.
    fn warn_ignored(&self, task: Task) {
        if let Some((_, keys, once)) = self.ignored.iter().find(|(t, k, _)| *t == task && !k.is_empty()) {
            once.call_once(|| {
                tracing::warn!(
                    "{}: a GGUF model ignores the {task} decoding settings {} (seq2seq only); it reads \
                     max_new_tokens, repetition_penalty, do_sample, temperature, top_p and top_k",
                    self.name,
                    keys.join(", ")
                )
            });
        }
    }

    /// The rendered chat prompt for `task` over `text`.
    fn prompt(&self, task: Task, text: &str, source: &str, target: &str) -> Result<String, ModelError> {
        let user = if task == Task::Summarize {
            self.cfg
                .summarize_prompt
                .replace("{language}", language_name(target))
                .replace("{sentences}", &self.cfg.sentences.to_string())
        } else {
            self.cfg
                .translate_prompt
                .replace("{source}", language_name(source))
                .replace("{target}", language_name(target))
        };
        // The text last, so that braces in an article are never taken for placeholders.
        let user = user.replace("{text}", text);
        let mut messages = Vec::new();
        if !self.cfg.system.is_empty() {
            messages.push(Message::new("system", self.cfg.system.clone()));
        }
        messages.push(Message::new("user", user));
        Ok(self.template.render(&messages, true)?)
    }

    /// Ids of a rendered prompt: special tokens in it parsed, BOS added when the file asks for
    /// it and the template has not written it already.
    fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>, ModelError> {
        let bos_written = self
            .tokenizer
            .bos()
            .and_then(|b| self.tokenizer.token_str(b))
            .is_some_and(|b| !b.is_empty() && prompt.starts_with(&b));
        Ok(self.tokenizer.encode(prompt, !bos_written)?)
    }

    /// The prompt ids of `task` over `text`.
    fn request(&self, task: Task, text: &str, source: &str, target: &str) -> Result<Vec<u32>, String> {
        let prompt = self.prompt(task, text, source, target).map_err(|e| error_chain(&e))?;
        self.encode_prompt(&prompt).map_err(|e| error_chain(&e))
    }

    /// Decoding of `task` as `decoding` asks: the safer way raises the repetition penalty to
    /// at least [`SAFER_REPETITION_PENALTY`].
    fn sampling(&self, task: Task, decoding: Decoding) -> std::borrow::Cow<'_, SamplingConfig> {
        let cfg = if task == Task::Summarize {
            &self.summarize
        } else {
            &self.translate
        };
        match decoding {
            Decoding::Configured => std::borrow::Cow::Borrowed(cfg),
            Decoding::Safer => {
                let mut c = cfg.clone();
                c.repetition_penalty = c.repetition_penalty.max(SAFER_REPETITION_PENALTY);
                std::borrow::Cow::Owned(c)
            }
        }
    }

    /// The model's answers to every job (task, text, source and target language), cleaned:
    /// all of them go to the model at once, decoded `llm.batch` at a time.
    fn answers(&self, jobs: &[(Task, &str, &str, &str)], decoding: Decoding) -> Vec<Result<Generated, String>> {
        let (summarize, translate) = (
            self.sampling(Task::Summarize, decoding),
            self.sampling(Task::Translate, decoding),
        );
        let prompts: Vec<Result<Vec<u32>, String>> = jobs
            .par_iter()
            .map(|&(task, text, source, target)| self.request(task, text, source, target))
            .collect();
        let mut requests = Vec::new();
        let mut slots = Vec::new();
        for (i, p) in prompts.iter().enumerate() {
            if let Ok(ids) = p {
                requests.push(Request {
                    prompt: ids,
                    stop: &self.stop,
                    cfg: if jobs[i].0 == Task::Summarize {
                        &summarize
                    } else {
                        &translate
                    },
                });
                slots.push(i);
            }
        }
        let limits = BatchLimits {
            batch: self.cfg.batch,
            cache_budget: self.cfg.kv_cache_mb.saturating_mul(1 << 20),
        };
        let generated = complete_all(&self.model, &requests, limits);
        log_prompts(&requests, &generated, &slots, jobs);
        let mut generated = generated.into_iter();
        let mut out: Vec<Result<Generated, String>> =
            prompts.into_iter().map(|p| p.map(|_| Generated::default())).collect();
        for i in slots {
            let g = generated.next().expect("one result per request");
            out[i] = g.map_err(|e| e.to_string()).and_then(|g| {
                let text = self.tokenizer.decode(&g.tokens, true).map_err(|e| e.to_string())?;
                Ok(Generated {
                    text: clean_answer(&text),
                    hit_limit: !g.stopped,
                })
            });
        }
        out
    }

    /// Translate each of `texts`, cut into pieces the answer budget can hold; every piece of
    /// every text goes to the model at once. The safer way cuts pieces half as long (a small
    /// model loses its place in long inputs) as well.
    fn translate_texts(
        &self,
        texts: &[&str],
        source: &str,
        target: &str,
        decoding: Decoding,
    ) -> Vec<Result<Generated, String>> {
        // A translation is about as long as its source (longer in Cyrillic for most vocabularies):
        // pieces of two thirds of the answer budget leave room.
        let budget = (self.translate.max_new_tokens * 2 / 3).min(self.max_input_tokens);
        let budget = match decoding {
            Decoding::Configured => budget,
            Decoding::Safer => budget / 2,
        }
        .max(16);
        // Each text's pieces, with the separator that follows each in the source.
        let pieces: Vec<Vec<(&str, &str)>> = texts
            .par_iter()
            .map(|&text| {
                if text.trim().is_empty() {
                    return Vec::new();
                }
                if self.count(text) <= budget {
                    return vec![(text, "")];
                }
                chunk_text(text, source, budget, self)
                    .iter()
                    .filter_map(|c| {
                        let piece = &text[c.start..c.end];
                        let trimmed = piece.trim();
                        let tail = &piece[piece.trim_end().len()..];
                        let sep = if tail.contains("\n\n") { "\n\n" } else { " " };
                        (!trimmed.is_empty()).then_some((trimmed, sep))
                    })
                    .collect()
            })
            .collect();
        let jobs: Vec<(Task, &str, &str, &str)> = pieces
            .iter()
            .flatten()
            .map(|&(piece, _)| (Task::Translate, piece, source, target))
            .collect();
        let mut answers = self.answers(&jobs, decoding).into_iter();
        pieces
            .iter()
            .map(|text_pieces| {
                let mut out = Generated::default();
                let mut sep = "";
                let mut failed = None;
                for &(piece, next_sep) in text_pieces {
                    match answers.next().expect("one answer per piece") {
                        Ok(answer) => {
                            out.text.push_str(sep);
                            out.text.push_str(&keep_paragraphs(&answer.text, piece));
                            out.hit_limit |= answer.hit_limit;
                        }
                        Err(e) => failed = failed.or(Some(e)),
                    }
                    sep = next_sep;
                }
                match failed {
                    Some(e) => Err(e),
                    None => Ok(out),
                }
            })
            .collect()
    }
}

/// For `benches/peers/digest.py`: with `SVODKA_PROMPT_LOG=FILE` set, every prompt a GGUF model
/// answers is appended to FILE as one JSON line (the ids and decoding settings, the number of
/// the call it came in, since a run's summaries come before their translations, and how many
/// tokens the answer took), so that another engine can be given the same prompts in the same
/// order. Writing is best-effort: a benchmark hook must never fail a run.
fn log_prompts(
    requests: &[Request<'_>],
    generated: &[candle_core::Result<crate::generate::sample::Generated>],
    slots: &[usize],
    jobs: &[(Task, &str, &str, &str)],
) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALL: AtomicUsize = AtomicUsize::new(0);
    let Some(path) = std::env::var_os("SVODKA_PROMPT_LOG") else {
        return;
    };
    let call = CALL.fetch_add(1, Ordering::Relaxed);
    let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) else {
        return;
    };
    for ((r, g), &slot) in requests.iter().zip(generated).zip(slots) {
        let line = serde_json::json!({
            "call": call,
            "task": jobs[slot].0.to_string(),
            "ids": r.prompt,
            "stop": r.stop,
            "max_new_tokens": r.cfg.max_new_tokens,
            "repetition_penalty": r.cfg.repetition_penalty,
            "repeat_last_n": r.cfg.repeat_last_n,
            "greedy": r.cfg.temperature <= 0.0,
            "generated": g.as_ref().map_or(0, |g| g.tokens.len()),
        });
        let _ = writeln!(f, "{line}");
    }
}

/// A translation has the paragraphs of its source: paragraphs beyond those are commentary
/// the model added ("This text describes…"), and are dropped.
fn keep_paragraphs(answer: &str, source: &str) -> String {
    let wanted = source.split("\n\n").filter(|p| !p.trim().is_empty()).count().max(1);
    let paragraphs: Vec<&str> = answer.split("\n\n").filter(|p| !p.trim().is_empty()).collect();
    if paragraphs.len() <= wanted {
        return answer.to_string();
    }
    paragraphs[..wanted].join("\n\n")
}

/// At most `n` sentences of `summary` (the limit the prompt asked for), whole.
fn keep_sentences(summary: &str, lang: &str, n: usize) -> String {
    let sentences = crate::chunk::split_sentences(summary, lang);
    match sentences.get(n.saturating_sub(1)) {
        Some(last) if sentences.len() > n => summary[..last.end].trim_end().to_string(),
        _ => summary.to_string(),
    }
}

/// What instruct models put around the answer: `<think>` blocks (Qwen3), a label line
/// ("Summary:", "Перевод:"), Markdown bold around the label, wrapping quotes.
pub fn clean_answer(text: &str) -> String {
    let mut s = text.to_string();
    while let Some(start) = s.find("<think>") {
        match s[start..].find("</think>") {
            Some(end) => s.replace_range(start..start + end + "</think>".len(), ""),
            None => s.truncate(start),
        }
    }
    let mut s = s.trim();
    // A preamble line ("Here is the summary:", "Вот краткое содержание:") before a blank line.
    if let Some((first, rest)) = s.split_once("\n\n")
        && !first.contains('\n')
        && (first.trim_end().ends_with(':') || first.trim_end().ends_with('：'))
        && first.split_whitespace().count() <= 12
        && !rest.trim().is_empty()
    {
        s = rest.trim();
    }
    const LABELS: &[&str] = &[
        "summary",
        "translation",
        "english translation",
        "russian translation",
        "резюме",
        "краткое содержание",
        "краткий пересказ",
        "перевод",
        "перевод на русский",
        "перевод на английский",
        "аннотация",
    ];
    let lower = s.to_lowercase();
    for label in LABELS {
        for deco in ["", "**", "### ", "## "] {
            let head = format!("{deco}{label}");
            if lower.starts_with(&head) {
                let Some(rest) = s.get(head.len()..) else { continue };
                let rest = rest.trim_start_matches("**").trim_start();
                if let Some(r) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
                    s = r.trim_start_matches("**").trim();
                }
            }
        }
    }
    for (open, close) in [("\"", "\""), ("«", "»"), ("“", "”")] {
        if s.len() > open.len() + close.len()
            && s.starts_with(open)
            && s.ends_with(close)
            && !s[open.len()..s.len() - close.len()].contains(open)
        {
            s = &s[open.len()..s.len() - close.len()];
        }
    }
    s.trim().to_string()
}

impl TokenCounter for LlmBackend {
    fn count(&self, text: &str) -> usize {
        self.tokenizer.encode(text, false).map_or(0, |ids| ids.len())
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Least repetition penalty of a safer retry ([`Decoding::Safer`]) of a flagged answer.
const SAFER_REPETITION_PENALTY: f32 = 1.3;

fn model_error(stage: Stage, name: &str, e: String) -> ArticleError {
    ArticleError::new(stage, ErrorKind::Model, format!("{name}: {e}"))
}

/// The summariser face of a GGUF model.
pub(crate) struct LlmSummarizer {
    backend: Arc<LlmBackend>,
}

impl LlmSummarizer {
    pub fn new(backend: Arc<LlmBackend>) -> LlmSummarizer {
        backend.warn_ignored(Task::Summarize);
        LlmSummarizer { backend }
    }
}

impl Summarizer for LlmSummarizer {
    fn name(&self) -> &str {
        &self.backend.name
    }
    fn writes(&self, source: &str, target: &str) -> bool {
        let l = &self.backend.languages;
        (source == target || self.backend.cfg.cross_lingual)
            && l.iter().any(|x| x == source)
            && l.iter().any(|x| x == target)
    }
    fn max_input_tokens(&self) -> Option<usize> {
        Some(self.backend.max_input_tokens)
    }
    fn summarize(&self, inputs: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>> {
        texts_of(self.summarize_as(inputs, Decoding::Configured))
    }
    fn summarize_as(&self, inputs: &[SummaryInput<'_>], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        let b = &self.backend;
        // The safer way reads shorter chunks: an input longer than half the budget is cut in
        // pieces of half the budget, each summarised, the summaries joined (and kept to
        // `llm.sentences` below). A small model loses the thread of a long input.
        let half = (b.max_input_tokens / 2).max(16);
        let pieces: Vec<Vec<&str>> = inputs
            .iter()
            .map(|i| {
                if !self.writes(i.source_lang, i.target_lang) {
                    Vec::new()
                } else if decoding == Decoding::Safer && b.count(i.text) > half {
                    chunk_text(i.text, i.source_lang, half, b.as_ref())
                        .iter()
                        .map(|c| i.text[c.start..c.end].trim())
                        .filter(|p| !p.is_empty())
                        .collect()
                } else {
                    vec![i.text]
                }
            })
            .collect();
        let jobs: Vec<(Task, &str, &str, &str)> = inputs
            .iter()
            .zip(&pieces)
            .flat_map(|(i, p)| p.iter().map(|t| (Task::Summarize, *t, i.source_lang, i.target_lang)))
            .collect();
        let mut answers = b.answers(&jobs, decoding).into_iter();
        let mut joined = pieces.iter().map(|p| {
            let mut out: Result<Generated, String> = Ok(Generated::default());
            for _ in p {
                match (&mut out, answers.next().expect("one answer per piece")) {
                    (Ok(acc), Ok(g)) => {
                        if !acc.text.is_empty() && !g.text.is_empty() {
                            acc.text.push(' ');
                        }
                        acc.text.push_str(&g.text);
                        acc.hit_limit |= g.hit_limit;
                    }
                    (slot @ Ok(_), Err(e)) => *slot = Err(e),
                    (Err(_), _) => {}
                }
            }
            out
        });
        inputs
            .iter()
            .map(|i| {
                let answer = joined.next().expect("one answer per input");
                if !self.writes(i.source_lang, i.target_lang) {
                    return Err(model_error(
                        Stage::Summarize,
                        &b.name,
                        format!(
                            "does not write {} summaries of {} text (it serves: {}, see language.served and \
                             llm.languages; llm.cross_lingual)",
                            i.target_lang,
                            i.source_lang,
                            b.languages.join(", ")
                        ),
                    ));
                }
                answer
                    .map(|g| Generated {
                        text: keep_sentences(&g.text, i.target_lang, b.cfg.sentences),
                        ..g
                    })
                    .map_err(|e| model_error(Stage::Summarize, &b.name, e))
            })
            .collect()
    }
    fn counter(&self) -> Option<&dyn TokenCounter> {
        Some(self.backend.as_ref())
    }
}

/// The translator face of a GGUF model, for one direction.
pub(crate) struct LlmTranslator {
    backend: Arc<LlmBackend>,
    source: String,
    target: String,
}

impl LlmTranslator {
    pub fn new(backend: Arc<LlmBackend>, source: &str, target: &str) -> LlmTranslator {
        backend.warn_ignored(Task::Translate);
        LlmTranslator {
            backend,
            source: source.to_string(),
            target: target.to_string(),
        }
    }
}

impl Translator for LlmTranslator {
    fn name(&self) -> &str {
        &self.backend.name
    }
    fn source_lang(&self) -> &str {
        &self.source
    }
    fn target_lang(&self) -> &str {
        &self.target
    }
    fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
        texts_of(self.translate_as(texts, Decoding::Configured))
    }
    fn translate_as(&self, texts: &[&str], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
        self.backend
            .translate_texts(texts, &self.source, &self.target, decoding)
            .into_iter()
            .map(|r| r.map_err(|e| model_error(Stage::Translate, &self.backend.name, e)))
            .collect()
    }
    fn counter(&self) -> Option<&dyn TokenCounter> {
        Some(self.backend.as_ref())
    }
    fn max_input_tokens(&self) -> Option<usize> {
        Some(self.backend.max_input_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_cleaned() {
        assert_eq!(clean_answer("<think>hmm</think>\n\nSummary: A B."), "A B.");
        assert_eq!(clean_answer("**Перевод:** Текст."), "Текст.");
        assert_eq!(clean_answer("«Цитата целиком»"), "Цитата целиком");
        assert_eq!(clean_answer("«Один» и «два»"), "«Один» и «два»");
        assert_eq!(clean_answer("Summary of events: none"), "Summary of events: none");
        assert_eq!(clean_answer("<think>unfinished"), "");
        assert_eq!(
            clean_answer("Вот русский перевод текста:\n\nТекст. Ещё."),
            "Текст. Ещё."
        );
        assert_eq!(clean_answer("Итог:\n\n"), "Итог:");
    }

    #[test]
    fn translations_keep_the_source_paragraphs_and_summaries_the_sentence_limit() {
        assert_eq!(
            keep_paragraphs("One. Two.\n\nThis text says…", "Раз. Два."),
            "One. Two."
        );
        assert_eq!(keep_paragraphs("A.\n\nB.", "А.\n\nБ."), "A.\n\nB.");
        assert_eq!(keep_sentences("Раз. Два. Три. Четыре.", "ru", 3), "Раз. Два. Три.");
        assert_eq!(keep_sentences("One. Two.", "en", 3), "One. Two.");
    }
}
