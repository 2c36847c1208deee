//! The plan: the configuration and the loaded backends turned into routes, as data.
//!
//! For every article language the plan says, once, how each requested summary language is
//! made — by the summariser from the article (`summarize`), from the article's translation
//! (`translate-summarize`), or as a translation of another summary (`summarize-translate`, or a
//! longer chain such as `translate-summarize-translate`) — which whole-article translations
//! are needed, and which summaries are made only to be translated. `summarize.strategy` picks
//! between the two orders where both are possible. [`crate::execute`] follows the plan without
//! deciding anything, and `svodka config --routes` prints it ("summary.en of ru articles:
//! lead-3 → opus-mt-ru-en (summarize-translate)").
//!
//! Routes depend only on the article's language, so they are worked out for the served
//! languages up front (that is where a configuration that cannot make a requested summary is
//! refused) and for any other language (`language.unsupported = "process"`) when it turns up.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::backends::Backends;
use crate::config::{ConfigError, PipelineConfig, Strategy};

/// How a summary made by the summariser gets its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The article itself.
    Article,
    /// The article's translation by translator `n` (an index into the backends' translators).
    Translation(usize),
}

/// Who made a summary and how, as the record says it (`models`, `summary_path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    /// E.g. `lead-3 → opus-mt-ru-en`.
    pub models: String,
    /// E.g. `summarize-translate`.
    pub path: String,
}

/// What happens to the articles of one language, in the order it happens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LangPlan {
    /// Whole-article translations, by translator index: for `translate-summarize` routes and
    /// `translate.full`.
    pub whole: Vec<usize>,
    /// Summaries the summariser writes: the summary's language and what it reads.
    pub summaries: Vec<(String, Source)>,
    /// Translations of summaries, in order, by translator index: each translates the summary
    /// in its source language, made before, into its target language.
    pub translations: Vec<usize>,
    /// A summary made only to be translated (the article's language, when it is not requested);
    /// dropped from the record.
    pub intermediate: Option<String>,
    /// How each summary is made, by language (requested ones and the intermediate).
    pub made: BTreeMap<String, Made>,
}

/// The routes of a run.
pub(crate) struct Plan {
    languages: Vec<String>,
    strategy: Strategy,
    full: bool,
    by_lang: BTreeMap<String, LangPlan>,
}

/// The two orders of summarising and translating, where the summariser cannot write the
/// summary directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Summarize,
    SummarizeTranslate,
    TranslateSummarize,
}

impl Plan {
    /// The plan for `backends` under `cfg`. An error when a requested summary language can be
    /// made from no served language: such a run would write `ok` records without the summaries
    /// asked for. (A language that only a translator "auto" could not have would give is fine:
    /// that is said elsewhere.)
    pub fn new(cfg: &PipelineConfig, backends: &Backends) -> Result<Plan, ConfigError> {
        let mut plan = Plan {
            languages: cfg.summarize.languages.clone(),
            strategy: cfg.summarize.strategy,
            full: cfg.translate.full,
            by_lang: BTreeMap::new(),
        };
        for lang in &cfg.language.served {
            let p = plan.compute(backends, lang);
            plan.by_lang.insert(lang.clone(), p);
        }
        let served = &cfg.language.served;
        let auto_pending = |target: &str| {
            backends
                .unavailable()
                .iter()
                .any(|u| u.pair.ends_with(&format!("-{target}")))
        };
        for target in &plan.languages {
            let reachable = plan.by_lang.values().any(|p| p.made.contains_key(target));
            if !reachable && !auto_pending(target) {
                return Err(ConfigError::Invalid {
                    key: "summarize.languages".into(),
                    message: format!(
                        "no summary in `{target}` can be made from any served language ({}): the summariser `{}` \
                         does not write it and no translator translates into it; add a translator \
                         (translate.models.SRC-{target}) or a summariser that writes it, or remove `{target}`",
                        served.join(", "),
                        backends.summarizer().name()
                    ),
                });
            }
        }
        Ok(plan)
    }

    /// The plan for articles in `lang`.
    pub(crate) fn for_lang(&self, backends: &Backends, lang: &str) -> Cow<'_, LangPlan> {
        match self.by_lang.get(lang) {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(self.compute(backends, lang)),
        }
    }

    /// Whether whole articles are translated too (`translate.full`).
    pub fn full(&self) -> bool {
        self.full
    }

    /// The requested summary languages.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// One line per served language and requested summary: who makes it, and how.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (source, p) in &self.by_lang {
            for target in &self.languages {
                lines.push(match p.made.get(target) {
                    Some(m) => format!("summary.{target} of {source} articles: {} ({})", m.models, m.path),
                    None => format!("summary.{target} of {source} articles: none (listed in `missing`)"),
                });
            }
        }
        lines
    }

    /// How the summariser and the translators can make a `target` summary of `source` text in
    /// one step or two; `summarize.strategy` decides when both orders are possible.
    fn order(&self, b: &Backends, source: &str, target: &str) -> Option<Order> {
        let s = b.summarizer();
        if s.writes(source, target) {
            return Some(Order::Summarize);
        }
        let translator = b.translator(source, target).is_some();
        let summarize_first = translator && s.writes(source, source);
        let translate_first = translator && s.writes(target, target);
        match self.strategy {
            Strategy::SummarizeTranslate if summarize_first => Some(Order::SummarizeTranslate),
            Strategy::TranslateSummarize if translate_first => Some(Order::TranslateSummarize),
            _ if summarize_first => Some(Order::SummarizeTranslate),
            _ if translate_first => Some(Order::TranslateSummarize),
            _ => None,
        }
    }

    fn compute(&self, b: &Backends, src: &str) -> LangPlan {
        let summarizer = b.summarizer().name().to_string();
        let index = |source: &str, target: &str| {
            b.translators()
                .iter()
                .position(|t| t.source_lang() == source && t.target_lang() == target)
        };
        let mut p = LangPlan::default();
        let mut via = Vec::new();
        for lang in &self.languages {
            match self.order(b, src, lang) {
                Some(Order::Summarize) => p.summaries.push((lang.clone(), Source::Article)),
                Some(Order::TranslateSummarize) => via.push(lang.clone()),
                Some(Order::SummarizeTranslate) if !self.languages.iter().any(|l| l == src) => {
                    p.intermediate = Some(src.to_string());
                }
                Some(Order::SummarizeTranslate) | None => {}
            }
        }
        if let Some(lang) = &p.intermediate {
            p.summaries.push((lang.clone(), Source::Article));
        }
        for lang in &via {
            let n = index(src, lang).expect("a translate-summarize route has its translator");
            p.summaries.push((lang.clone(), Source::Translation(n)));
        }
        for (n, t) in b.translators().iter().enumerate() {
            let target = t.target_lang();
            if t.source_lang() == src && ((self.full && target != src) || via.iter().any(|l| l == target)) {
                p.whole.push(n);
            }
        }
        for (lang, source) in &p.summaries {
            let made = match source {
                Source::Article => Made {
                    models: summarizer.clone(),
                    path: "summarize".into(),
                },
                Source::Translation(n) => Made {
                    models: format!("{} → {summarizer}", b.translators()[*n].name()),
                    path: "translate-summarize".into(),
                },
            };
            p.made.insert(lang.clone(), made);
        }
        // Summaries still missing, translated from one already made: every translator in turn,
        // so a summary made by one translation can be translated again by a later translator.
        for (n, t) in b.translators().iter().enumerate() {
            let (from, to) = (t.source_lang(), t.target_lang());
            if !self.languages.iter().any(|l| l == to) || p.made.contains_key(to) {
                continue;
            }
            if let Some(before) = p.made.get(from) {
                let made = Made {
                    models: format!("{} → {}", before.models, t.name()),
                    path: format!("{}-translate", before.path),
                };
                p.made.insert(to.to_string(), made);
                p.translations.push(n);
            }
        }
        p
    }
}

/// The routes `svodka config --routes` prints after the configuration: the backends loaded
/// as a run would load them, then one TOML comment line per served language and summary.
pub fn routes_text(cfg: &PipelineConfig) -> Result<String, crate::backends::LoadError> {
    let backends = Backends::from_config(cfg)?;
    let plan = Plan::new(cfg, &backends)?;
    let mut out = String::from("\n# routes (summarize.languages of each language.served article)\n");
    for line in plan.describe() {
        out.push_str(&format!("# {line}\n"));
    }
    for u in backends.unavailable() {
        out.push_str(&format!("# not available: {} ({}): {}\n", u.pair, u.model, u.reason));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::{Lead, Translator};
    use crate::record_error::ArticleError;

    struct Named(&'static str, &'static str);
    impl Translator for Named {
        fn name(&self) -> &str {
            "tr"
        }
        fn source_lang(&self) -> &str {
            self.0
        }
        fn target_lang(&self) -> &str {
            self.1
        }
        fn translate(&self, texts: &[&str]) -> Vec<Result<String, ArticleError>> {
            texts.iter().map(|t| Ok(t.to_string())).collect()
        }
    }

    fn backends(pairs: &[(&'static str, &'static str)]) -> Backends {
        let translators: Vec<Box<dyn Translator>> = pairs.iter().map(|&(a, b)| Box::new(Named(a, b)) as _).collect();
        Backends::new(Box::new(Lead::new(3)), translators)
    }

    #[test]
    fn routes_are_data_and_follow_the_strategy() {
        let mut cfg = PipelineConfig::default();
        let b = backends(&[("ru", "en"), ("en", "ru")]);
        let plan = Plan::new(&cfg, &b).unwrap();
        assert_eq!(
            plan.describe(),
            [
                "summary.en of en articles: lead-3 (summarize)",
                "summary.ru of en articles: lead-3 → tr (summarize-translate)",
                "summary.en of ru articles: lead-3 → tr (summarize-translate)",
                "summary.ru of ru articles: lead-3 (summarize)",
            ]
        );
        let ru = plan.for_lang(&b, "ru");
        assert_eq!(ru.summaries, [("ru".to_string(), Source::Article)]);
        assert_eq!(ru.translations, [0]);
        assert!(ru.whole.is_empty() && ru.intermediate.is_none());
        cfg.summarize.strategy = Strategy::TranslateSummarize;
        cfg.translate.full = true;
        let plan = Plan::new(&cfg, &b).unwrap();
        let ru = plan.for_lang(&b, "ru");
        assert_eq!(ru.whole, [0]);
        assert_eq!(ru.made["en"].path, "translate-summarize");
        assert_eq!(ru.made["en"].models, "tr → lead-3");
        // A language outside `language.served` is planned when it turns up.
        assert_eq!(plan.for_lang(&b, "de").made.len(), 0);
    }

    #[test]
    fn an_intermediate_summary_and_a_chain() {
        // Only English requested, Russian articles: the Russian summary is made to be
        // translated; a Ukrainian article reaches English through Russian.
        let mut cfg = PipelineConfig::default();
        cfg.summarize.languages = vec!["en".into()];
        cfg.language.served = vec!["en".into(), "ru".into(), "uk".into()];
        let b = backends(&[("uk", "ru"), ("ru", "en")]);
        let plan = Plan::new(&cfg, &b).unwrap();
        let ru = plan.for_lang(&b, "ru");
        assert_eq!(ru.intermediate.as_deref(), Some("ru"));
        assert_eq!(ru.made["en"].path, "summarize-translate");
        let uk = plan.for_lang(&b, "uk");
        assert_eq!(
            uk.made.get("en"),
            None,
            "uk → ru is not requested, so nothing reaches en"
        );
        assert_eq!(
            plan.describe()[1],
            "summary.en of ru articles: lead-3 → tr (summarize-translate)"
        );
    }

    #[test]
    fn a_language_nothing_can_write_is_refused() {
        let mut cfg = PipelineConfig::default();
        cfg.summarize.languages = vec!["en".into(), "de".into()];
        let err = Plan::new(&cfg, &backends(&[("ru", "en")])).err().unwrap();
        assert!(err.to_string().contains("no summary in `de`"), "{err}");
    }
}
