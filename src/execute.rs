//! A wave of articles through the plan: whole-article translations, summaries (map-reduce
//! over chunks), then translations of summaries, each step one call per backend for the whole
//! wave so that the backend can batch across articles.
//!
//! Nothing is decided here: [`crate::plan`] says what each article's language needs, the
//! backends pack their own batches, and [`crate::backends::Chunking`] cuts texts. What this
//! module owns is the bookkeeping: which result belongs to which article, map-reduce for texts
//! longer than the summariser reads, the time each article cost, and the first error of an
//! article (which makes its record an error record; the rest of the wave goes on). Every model
//! output is checked here as it comes back ([`crate::checks`]), beside the text it was made
//! from, and a flagged one is run once more with safer decoding when `checks.retry` asks: only
//! here are an output and its source side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::backends::{Backends, Chunking, Decoding, Generated, SummaryInput};
use crate::checks::{self, Check, Kind};
use crate::chunk::Chunk;
use crate::plan::{Plan, Source};
use crate::record_error::{ArticleError, ErrorKind, Stage};

/// Most rounds of summarising joined chunk summaries (map-reduce depth after the map).
const MAX_REDUCE: usize = 3;

/// Whether and how model outputs are checked (`[checks]`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checking<'a> {
    pub enabled: bool,
    pub retry: bool,
    /// `language.served`: the languages the detector favours.
    pub served: &'a [String],
}

impl<'a> Checking<'a> {
    /// As the configuration's `[checks]` and `language.served` say.
    pub fn of(cfg: &'a crate::config::PipelineConfig) -> Checking<'a> {
        Checking {
            enabled: cfg.checks.enabled,
            retry: cfg.checks.retry,
            served: &cfg.language.served,
        }
    }

    pub const OFF: Checking<'static> = Checking {
        enabled: false,
        retry: false,
        served: &[],
    };
}

/// What one output is of which source, for the checks.
#[derive(Clone, Copy)]
struct Made<'a> {
    kind: Kind,
    source: &'a str,
    source_lang: &'a str,
    lang: &'a str,
}

/// One checked output.
pub(crate) struct Checked {
    pub result: Result<String, ArticleError>,
    pub flags: Vec<Check>,
    pub retried: bool,
}

fn flags_of(g: &Generated, m: &Made<'_>, checking: Checking<'_>) -> Vec<Check> {
    checks::check(
        &checks::Output {
            kind: m.kind,
            source: m.source,
            source_lang: m.source_lang,
            text: &g.text,
            lang: m.lang,
            hit_limit: g.hit_limit,
        },
        checking.served,
    )
}

/// Run `call` on every item (`call(indices, decoding)` returns one result per index), check
/// each output against what it was `made` of, and with `checking.retry` run the flagged ones
/// once more, all in one call, with safer decoding; the retry is kept when it has fewer flags.
fn run_checked<F>(made: &[Made<'_>], checking: Checking<'_>, stage: Stage, name: &str, call: F) -> Vec<Checked>
where
    F: Fn(&[usize], Decoding) -> Vec<Result<Generated, ArticleError>>,
{
    let all: Vec<usize> = (0..made.len()).collect();
    let first = complete(call(&all, Decoding::Configured), made.len(), stage, name);
    let mut out: Vec<Checked> = first
        .into_iter()
        .zip(made)
        .map(|(r, m)| match r {
            Ok(g) => Checked {
                flags: if checking.enabled {
                    flags_of(&g, m, checking)
                } else {
                    Vec::new()
                },
                result: Ok(g.text),
                retried: false,
            },
            Err(e) => Checked {
                result: Err(e),
                flags: Vec::new(),
                retried: false,
            },
        })
        .collect();
    if !(checking.enabled && checking.retry) {
        return out;
    }
    let flagged: Vec<usize> = (0..out.len()).filter(|&i| !out[i].flags.is_empty()).collect();
    if flagged.is_empty() {
        return out;
    }
    let again = complete(call(&flagged, Decoding::Safer), flagged.len(), stage, name);
    for (&i, r) in flagged.iter().zip(again) {
        out[i].retried = true;
        // A retry that failed leaves the first answer, flags and all.
        if let Ok(g) = r {
            let flags = flags_of(&g, &made[i], checking);
            if flags.len() < out[i].flags.len() {
                out[i].result = Ok(g.text);
                out[i].flags = flags;
            }
        }
    }
    out
}

/// An article as the executor sees it.
pub(crate) struct Input<'a> {
    pub body: &'a str,
    pub lang: Option<&'a str>,
    pub chunks: &'a [Chunk],
}

/// What the backends made of one article.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Outcome {
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
    /// Flags of the model outputs behind each summary (and whole-article translation), by
    /// language; empty sets are never kept.
    pub checks: BTreeMap<String, BTreeSet<Check>>,
    /// Languages whose outputs were run a second time (`checks.retry`).
    pub retried: BTreeSet<String>,
    pub summarize_ms: f64,
    pub translate_ms: f64,
}

impl Outcome {
    /// Note what checking an output that feeds `lang` found.
    fn note(&mut self, lang: &str, c: &Checked) {
        if !c.flags.is_empty() {
            self.checks
                .entry(lang.to_string())
                .or_default()
                .extend(c.flags.iter().copied());
        }
        if c.retried {
            self.retried.insert(lang.to_string());
        }
    }
}

/// `results` made `n` long: a backend that returned too few results fails the items it left
/// out, instead of the run.
fn complete<T>(
    mut results: Vec<Result<T, ArticleError>>,
    n: usize,
    stage: Stage,
    name: &str,
) -> Vec<Result<T, ArticleError>> {
    results.truncate(n);
    while results.len() < n {
        results.push(Err(ArticleError::new(
            stage,
            ErrorKind::Model,
            format!("{name}: the backend returned fewer results than inputs"),
        )));
    }
    results
}

/// Milliseconds since `t`, shared among items in proportion to their `weights`.
fn shares(t: Instant, weights: &[usize]) -> Vec<f64> {
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let total: usize = weights.iter().map(|w| w.max(&1)).sum();
    weights
        .iter()
        .map(|w| ms * *w.max(&1) as f64 / total.max(1) as f64)
        .collect()
}

/// One text to summarise into one language.
struct SummaryJob<'a> {
    article: usize,
    /// The summary's language (also the text's: summaries are written in the language read).
    lang: String,
    /// The text's language.
    text_lang: String,
    text: &'a str,
    chunks: std::borrow::Cow<'a, [Chunk]>,
}

/// Run a wave of articles through `plan` on `backends`.
pub(crate) fn execute(
    backends: &Backends,
    plan: &Plan,
    chunking: Chunking<'_>,
    checking: Checking<'_>,
    articles: &[Input<'_>],
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = (0..articles.len()).map(|_| Outcome::default()).collect();
    let plans: Vec<_> = articles
        .iter()
        .map(|a| a.lang.map(|l| plan.for_lang(backends, l)))
        .collect();
    let translators = backends.translators();

    // 1. Whole-article translations, one call per translator.
    let mut translated: BTreeMap<(usize, String), String> = BTreeMap::new();
    for (n, tr) in translators.iter().enumerate() {
        let jobs: Vec<usize> = (0..articles.len())
            .filter(|&i| plans[i].as_ref().is_some_and(|p| p.whole.contains(&n)))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let texts: Vec<&str> = jobs.iter().map(|&i| articles[i].body).collect();
        let t = Instant::now();
        let tgt = tr.target_lang();
        let res = translate_checked(tr.as_ref(), &texts, checking);
        let lengths: Vec<usize> = texts.iter().map(|t| t.len()).collect();
        for ((&i, c), ms) in jobs.iter().zip(res).zip(shares(t, &lengths)) {
            let o = &mut out[i];
            o.translate_ms += ms;
            o.note(tgt, &c);
            match c.result {
                Ok(text) => {
                    if plan.full() {
                        o.translation.insert(tgt.to_string(), text.clone());
                        o.models.insert(format!("translation.{tgt}"), tr.name().to_string());
                    }
                    translated.insert((i, tgt.to_string()), text);
                }
                Err(e) => {
                    o.error.get_or_insert(e);
                }
            }
        }
    }

    // 2. Summaries: of the article in its language, or of its translation.
    let mut jobs: Vec<SummaryJob<'_>> = Vec::new();
    for (i, (a, p)) in articles.iter().zip(&plans).enumerate() {
        let (Some(src), Some(p)) = (a.lang, p) else { continue };
        for (lang, source) in &p.summaries {
            let job = match source {
                Source::Article => SummaryJob {
                    article: i,
                    lang: lang.clone(),
                    text_lang: src.to_string(),
                    text: a.body,
                    chunks: std::borrow::Cow::Borrowed(a.chunks),
                },
                Source::Translation(_) => {
                    // Its translation failed: the record is already an error record.
                    let Some(text) = translated.get(&(i, lang.clone())) else {
                        continue;
                    };
                    SummaryJob {
                        article: i,
                        lang: lang.clone(),
                        text_lang: lang.clone(),
                        text,
                        chunks: std::borrow::Cow::Owned(chunking.chunk(text, lang)),
                    }
                }
            };
            jobs.push(job);
        }
    }
    let summaries = summarize(backends, chunking, checking, &jobs, &mut out);
    for (job, r) in jobs.iter().zip(summaries) {
        let o = &mut out[job.article];
        match r {
            Ok(text) => {
                let p = plans[job.article].as_ref().expect("planned");
                let made = &p.made[&job.lang];
                o.summary.insert(job.lang.clone(), text);
                o.models.insert(format!("summary.{}", job.lang), made.models.clone());
                o.summary_path.insert(job.lang.clone(), made.path.clone());
            }
            Err(e) => {
                o.error.get_or_insert(e);
            }
        }
    }

    // 3. Translations of summaries into the requested languages still missing, in the plan's
    // order (a summary translated by one translator may be translated again by a later one).
    for (n, tr) in translators.iter().enumerate() {
        let (src, tgt) = (tr.source_lang(), tr.target_lang());
        let jobs: Vec<usize> = (0..out.len())
            .filter(|&i| {
                let o = &out[i];
                plans[i].as_ref().is_some_and(|p| p.translations.contains(&n))
                    && o.error.is_none()
                    && o.summary.contains_key(src)
                    && !o.summary.contains_key(tgt)
            })
            .collect();
        if jobs.is_empty() {
            continue;
        }
        // Owned copies: the summaries live in `out`, which the results are written into.
        let texts: Vec<String> = jobs.iter().map(|&i| out[i].summary[src].clone()).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let t = Instant::now();
        let res = translate_checked(tr.as_ref(), &refs, checking);
        let lengths: Vec<usize> = refs.iter().map(|t| t.len()).collect();
        for ((&i, c), ms) in jobs.iter().zip(res).zip(shares(t, &lengths)) {
            let o = &mut out[i];
            o.translate_ms += ms;
            o.note(tgt, &c);
            match c.result {
                Ok(text) => {
                    let made = &plans[i].as_ref().expect("planned").made[tgt];
                    o.summary.insert(tgt.to_string(), text);
                    o.models.insert(format!("summary.{tgt}"), made.models.clone());
                    o.summary_path.insert(tgt.to_string(), made.path.clone());
                }
                Err(e) => {
                    o.error.get_or_insert(e);
                }
            }
        }
    }

    for (o, p) in out.iter_mut().zip(&plans) {
        if let Some(lang) = p.as_ref().and_then(|p| p.intermediate.as_ref()) {
            o.summary.remove(lang);
            o.summary_path.remove(lang);
            o.models.remove(&format!("summary.{lang}"));
            // The summaries made from it inherit its flags.
            let inherited = o.checks.remove(lang);
            let was_retried = o.retried.remove(lang);
            let made: Vec<String> = o.summary.keys().cloned().collect();
            for l in made {
                if let Some(flags) = &inherited {
                    o.checks.entry(l.clone()).or_default().extend(flags.iter().copied());
                }
                if was_retried {
                    o.retried.insert(l);
                }
            }
        }
        o.missing = plan
            .languages()
            .iter()
            .filter(|l| !o.summary.contains_key(*l))
            .cloned()
            .collect();
    }
    out
}

/// `texts` translated by `tr`, checked (and retried) as `checking` says.
pub(crate) fn translate_checked(
    tr: &dyn crate::backends::Translator,
    texts: &[&str],
    checking: Checking<'_>,
) -> Vec<Checked> {
    let made: Vec<Made<'_>> = texts
        .iter()
        .map(|t| Made {
            kind: Kind::Translation,
            source: t,
            source_lang: tr.source_lang(),
            lang: tr.target_lang(),
        })
        .collect();
    run_checked(&made, checking, Stage::Translate, tr.name(), |idx, d| {
        let subset: Vec<&str> = idx.iter().map(|&i| texts[i]).collect();
        tr.translate_as(&subset, d)
    })
}

/// Summaries of `jobs`, one result per job. A summariser with an input budget gets each
/// chunk (all chunks of the wave in one call); the chunk summaries of a job are joined in
/// order and, when the job had several chunks, summarised again while the result is longer
/// than the budget, at most MAX_REDUCE times, so even a 50,000-word article finishes. A joined
/// text longer than the summariser reads is cut into chunks again first, and the chunks'
/// summaries joined: no input ever exceeds the model's limit.
fn summarize(
    backends: &Backends,
    chunking: Chunking<'_>,
    checking: Checking<'_>,
    jobs: &[SummaryJob<'_>],
    out: &mut [Outcome],
) -> Vec<Result<String, ArticleError>> {
    let summarizer = backends.summarizer();
    let budget = summarizer.max_input_tokens();
    // Pieces of every job: (job, text, weight for the time shares).
    let mut pieces: Vec<(usize, &str, usize)> = Vec::new();
    for (k, j) in jobs.iter().enumerate() {
        if budget.is_none() {
            pieces.push((k, j.text, j.chunks.iter().map(|c| c.tokens).sum()));
        } else {
            pieces.extend(j.chunks.iter().map(|c| (k, &j.text[c.start..c.end], c.tokens)));
        }
    }
    let (mut done, pieces_of) = summarize_pieces(summarizer, checking, jobs, &pieces, false, out);

    let Some(budget) = budget else {
        return done;
    };
    let mut pending: Vec<usize> = (0..jobs.len())
        .filter(|&k| pieces_of[k] > 1 && done[k].is_ok())
        .collect();
    let counter = summarizer.counter();
    let mut depth = 0;
    while !pending.is_empty() && depth < MAX_REDUCE {
        depth += 1;
        let texts: Vec<String> = pending
            .iter()
            .map(|&k| done[k].as_ref().expect("pending jobs succeeded").clone())
            .collect();
        let mut pieces: Vec<(usize, &str, usize)> = Vec::new();
        for (&k, text) in pending.iter().zip(&texts) {
            let whole = counter.is_none_or(|c| c.count(text) <= budget);
            if whole {
                pieces.push((k, text, 1));
            } else {
                let chunks = chunking.chunk(text, &jobs[k].lang);
                pieces.extend(chunks.iter().map(|c| (k, &text[c.start..c.end], c.tokens)));
            }
        }
        let (results, _) = summarize_pieces(summarizer, checking, jobs, &pieces, true, out);
        let mut next = Vec::new();
        for k in pending {
            let r = results[k].clone();
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

/// Summarise `pieces` (job, text, weight) in one call and join each job's piece summaries in
/// order; returns a result per job (empty for a job without pieces) and the pieces per job.
/// In a `reduce` round the pieces are summaries, in the summary's language already.
fn summarize_pieces(
    summarizer: &dyn crate::backends::Summarizer,
    checking: Checking<'_>,
    jobs: &[SummaryJob<'_>],
    pieces: &[(usize, &str, usize)],
    reduce: bool,
    out: &mut [Outcome],
) -> (Vec<Result<String, ArticleError>>, Vec<usize>) {
    let inputs: Vec<SummaryInput<'_>> = pieces
        .iter()
        .map(|&(k, text, _)| SummaryInput {
            text,
            source_lang: if reduce { &jobs[k].lang } else { &jobs[k].text_lang },
            target_lang: &jobs[k].lang,
        })
        .collect();
    let made: Vec<Made<'_>> = inputs
        .iter()
        .map(|i| Made {
            kind: Kind::Summary,
            source: i.text,
            source_lang: i.source_lang,
            lang: i.target_lang,
        })
        .collect();
    // Lead-3's "outputs" are the article's sentences: nothing to check.
    let checking = if summarizer.generates() {
        checking
    } else {
        Checking::OFF
    };
    let t = Instant::now();
    let checked = run_checked(&made, checking, Stage::Summarize, summarizer.name(), |idx, d| {
        let subset: Vec<SummaryInput<'_>> = idx.iter().map(|&i| inputs[i]).collect();
        summarizer.summarize_as(&subset, d)
    });
    let mut results = Vec::with_capacity(checked.len());
    for (&(k, _, _), c) in pieces.iter().zip(checked) {
        out[jobs[k].article].note(&jobs[k].lang, &c);
        results.push(c.result);
    }
    let weights: Vec<usize> = pieces.iter().map(|p| p.2).collect();
    let mut done: Vec<Result<String, ArticleError>> = vec![Ok(String::new()); jobs.len()];
    let mut pieces_of = vec![0usize; jobs.len()];
    for ((&(k, _, _), r), ms) in pieces.iter().zip(results).zip(shares(t, &weights)) {
        out[jobs[k].article].summarize_ms += ms;
        pieces_of[k] += 1;
        match (&mut done[k], r) {
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
    (done, pieces_of)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::{Lead, Summarizer, Translator};
    use crate::config::{PipelineConfig, Strategy};

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

    /// The backends with their plan under `cfg`.
    fn setup(
        summarizer: Box<dyn Summarizer>,
        translators: Vec<Box<dyn Translator>>,
        cfg: &PipelineConfig,
    ) -> (Backends, Plan) {
        let b = Backends::new(summarizer, translators);
        let plan = Plan::new(cfg, &b).unwrap();
        (b, plan)
    }

    fn run(setup: &(Backends, Plan), cfg: &PipelineConfig, articles: &[Input<'_>]) -> Vec<Outcome> {
        execute(&setup.0, &setup.1, setup.0.chunking(cfg), Checking::OFF, articles)
    }

    fn run_one(setup: &(Backends, Plan), cfg: &PipelineConfig, body: &str, lang: &str) -> Outcome {
        let c = chunks(body);
        run(
            setup,
            cfg,
            &[Input {
                body,
                lang: Some(lang),
                chunks: &c,
            }],
        )
        .remove(0)
    }

    #[test]
    fn strategies_choose_the_order_and_say_which() {
        let body = "One. Two. Three. Four.";
        let mut cfg = PipelineConfig::default();
        let tasks = setup(Box::new(Lead::new(2)), vec![Box::new(Wrap("en", "ru"))], &cfg);
        let o = run_one(&tasks, &cfg, body, "en");
        assert_eq!(o.summary["ru"], "ru:Two. One.");
        assert_eq!(o.summary_path["ru"], "summarize-translate");
        assert_eq!(o.summary_path["en"], "summarize");
        cfg.summarize.strategy = Strategy::TranslateSummarize;
        let tasks = setup(Box::new(Lead::new(2)), vec![Box::new(Wrap("en", "ru"))], &cfg);
        let o = run_one(&tasks, &cfg, body, "en");
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
        let tasks = setup(Box::new(EnglishLead), translators(), &cfg);
        let o = run_one(&tasks, &cfg, "Раз. Два. Три.", "ru");
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
        let tasks = setup(Box::new(Lead::new(2)), translators(), &cfg);
        let o = run_one(&tasks, &cfg, "Раз. Два. Три.", "ru");
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
        let tasks = setup(Box::new(Lead::new(3)), vec![Box::new(Upper)], &cfg);
        let en = "One. Two. Three. Four.";
        let ru = "Раз. Два. Три. Четыре.";
        let (ce, cr) = (chunks(en), chunks(ru));
        let out = run(
            &tasks,
            &cfg,
            &[
                Input {
                    body: en,
                    lang: Some("en"),
                    chunks: &ce,
                },
                Input {
                    body: ru,
                    lang: Some("ru"),
                    chunks: &cr,
                },
                Input {
                    body: en,
                    lang: None,
                    chunks: &ce,
                },
            ],
        );
        assert_eq!(out[0].summary["en"], "One. Two. Three.");
        assert_eq!(out[0].summary["ru"], "ONE. TWO. THREE.");
        assert_eq!(out[0].models["summary.ru"], "lead-3 → upper");
        assert!(out[0].missing.is_empty());
        assert_eq!(out[1].summary["ru"], "Раз. Два. Три.");
        assert_eq!(out[1].missing, ["en"]);
        assert_eq!(out[2].missing, ["en", "ru"]);
    }

    /// A translator that loses its last result, as a faulty backend might.
    struct Lossy;
    impl Translator for Lossy {
        fn name(&self) -> &str {
            "lossy"
        }
        fn source_lang(&self) -> &str {
            "en"
        }
        fn target_lang(&self) -> &str {
            "ru"
        }
        fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
            texts[..texts.len() - 1].iter().map(|s| Ok(s.to_string())).collect()
        }
    }

    #[test]
    fn a_backend_that_returns_too_few_results_fails_those_articles_only() {
        let cfg = PipelineConfig::default();
        let tasks = setup(Box::new(Lead::new(1)), vec![Box::new(Lossy)], &cfg);
        let (a, b) = ("One. Two.", "Three. Four.");
        let (ca, cb) = (chunks(a), chunks(b));
        let input = |body, chunks| Input {
            body,
            lang: Some("en"),
            chunks,
        };
        let out = run(&tasks, &cfg, &[input(a, &ca), input(b, &cb)]);
        assert_eq!(out[0].summary["ru"], "One.");
        let e = out[1].error.as_ref().expect("the item left out is an error");
        assert_eq!((e.stage, e.kind), (Stage::Translate, ErrorKind::Model));
        assert!(e.message.contains("fewer results"), "{}", e.message);
    }

    /// Loops when decoding as configured; with safer decoding, translates (or, `stubborn`,
    /// loops again).
    struct Looping {
        stubborn: bool,
    }
    impl Translator for Looping {
        fn name(&self) -> &str {
            "looping"
        }
        fn source_lang(&self) -> &str {
            "en"
        }
        fn target_lang(&self) -> &str {
            "ru"
        }
        fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
            texts
                .iter()
                .map(|_| Ok("Совет собрался. Совет собрался. Совет собрался.".into()))
                .collect()
        }
        fn translate_as(&self, texts: &[&str], decoding: Decoding) -> Vec<Result<Generated, ArticleError>> {
            if decoding == Decoding::Safer && !self.stubborn {
                let good = "Совет собрался в понедельник и несколько часов спорил о бюджете города.";
                return texts.iter().map(|_| Ok(Generated::whole(good.into()))).collect();
            }
            self.translate(texts)
                .into_iter()
                .map(|r| r.map(Generated::whole))
                .collect()
        }
    }

    #[test]
    fn flagged_outputs_are_recorded_and_retried_once_with_safer_decoding() {
        let cfg = PipelineConfig::default();
        let body = "The council met on Monday and argued about the city budget for hours. Two.";
        let c = chunks(body);
        let input = [Input {
            body,
            lang: Some("en"),
            chunks: &c,
        }];
        let served = vec!["en".to_string(), "ru".to_string()];
        let mut checking = Checking {
            enabled: true,
            retry: false,
            served: &served,
        };
        let run = |tr: Looping, checking: Checking<'_>| {
            let (b, plan) = setup(Box::new(Lead::new(1)), vec![Box::new(tr)], &cfg);
            execute(&b, &plan, b.chunking(&cfg), checking, &input).remove(0)
        };
        // Checked, not retried: the loop is kept and flagged; lead-3's summary is never checked.
        let o = run(Looping { stubborn: false }, checking);
        assert!(o.checks["ru"].contains(&Check::Repetition), "{:?}", o.checks);
        assert!(!o.checks.contains_key("en"));
        assert!(o.retried.is_empty());
        // Retried: the better answer is kept, and the record says a retry happened.
        checking.retry = true;
        let o = run(Looping { stubborn: false }, checking);
        assert!(
            o.summary["ru"].starts_with("Совет собрался в понедельник"),
            "{}",
            o.summary["ru"]
        );
        assert!(!o.checks.contains_key("ru"), "{:?}", o.checks);
        assert_eq!(o.retried.iter().collect::<Vec<_>>(), ["ru"]);
        // A retry no better than the first answer: the first stays, flags and all.
        let o = run(Looping { stubborn: true }, checking);
        assert!(o.checks["ru"].contains(&Check::Repetition));
        assert_eq!(o.retried.iter().collect::<Vec<_>>(), ["ru"]);
        // Checks off: nothing recorded.
        let o = run(Looping { stubborn: false }, Checking::OFF);
        assert!(o.checks.is_empty() && o.retried.is_empty());
    }

    /// Echoes its input and notes the longest input it was given, in estimated tokens.
    struct Echo(std::sync::Arc<std::sync::Mutex<usize>>);
    impl Summarizer for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn writes(&self, source: &str, target: &str) -> bool {
            source == target
        }
        fn max_input_tokens(&self) -> Option<usize> {
            Some(24)
        }
        fn summarize(&self, inputs: &[SummaryInput<'_>]) -> Vec<Result<String, ArticleError>> {
            let longest = inputs
                .iter()
                .map(|i| crate::chunk::TokenCounter::count(&crate::chunk::EstimateCounter, i.text))
                .max();
            let mut seen = self.0.lock().unwrap();
            *seen = (*seen).max(longest.unwrap_or(0));
            inputs.iter().map(|i| Ok(i.text.to_string())).collect()
        }
        fn counter(&self) -> Option<&dyn crate::chunk::TokenCounter> {
            Some(&crate::chunk::EstimateCounter)
        }
    }

    #[test]
    fn reduce_rounds_never_give_the_summariser_more_than_it_reads() {
        // The chunk summaries of a long article, joined, are longer than the summariser reads:
        // they are cut again before each reduce round (a GGUF summariser would otherwise be
        // asked for a prompt longer than its context).
        let mut cfg = PipelineConfig::default();
        cfg.summarize.languages = vec!["en".into()];
        let seen = std::sync::Arc::new(std::sync::Mutex::new(0));
        let tasks = setup(Box::new(Echo(seen.clone())), Vec::new(), &cfg);
        let body = "The council met on Monday and argued for hours about the budget. ".repeat(40);
        let c = tasks.0.chunking(&cfg).chunk(&body, "en");
        assert!(c.len() > 5);
        let out = run(
            &tasks,
            &cfg,
            &[Input {
                body: &body,
                lang: Some("en"),
                chunks: &c,
            }],
        );
        assert!(out[0].error.is_none());
        let seen = *seen.lock().unwrap();
        assert!(seen > 0 && seen <= 24, "longest input: {seen} tokens");
    }
}
