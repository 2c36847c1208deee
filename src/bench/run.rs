//! Measuring one model on its tasks, inside the process `svodka bench` starts for that model
//! (so its threads, load time and peak memory are its own).
//!
//! Per task: load the backend (timed), pack the items into batches as the backend packs them
//! in a run (`batches`: the seq2seq backend's token-budgeted batches; one batch for backends
//! that do not batch), run the first batch `warmup` times untimed,
//! then every batch `repeats` times. Each item's latency is the wall time of the batch that
//! carried it (an item is done when its batch is); throughput comes from the median pass.
//! Quality is scored on the outputs of the first timed pass.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::manifest::{Machine, ModelInfo};
use super::suite::{ModelRun, Suite, Task, TaskKind};
use crate::backends::{Backends, Loader, Spec, Summarizer, Translator};
use crate::checks::Check;
use crate::chunk::{EstimateCounter, TokenCounter};
use crate::config::PipelineConfig;
use crate::execute::{Checking, Input, execute};
use crate::metrics;
use crate::plan::Plan;
use crate::record_error::error_chain;

/// Quality of one model on one task, 0–100.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Quality {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chrf: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chrf_pp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rouge1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rouge2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "rougeL")]
    pub rouge_l: Option<f64>,
    /// How ROUGE tokenised: rouge-score's rules with Unicode letters and digits kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rouge_tokenizer: Option<String>,
}

/// What the output checks ([`crate::checks`]) found in one model's outputs of one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CheckStats {
    /// Whether the outputs were checked (`checks.enabled`, and a model wrote them).
    pub checked: bool,
    /// Items with at least one flag, and their share of the items (0–1).
    pub flagged: usize,
    pub share_flagged: f64,
    /// Items flagged by each check.
    pub by_check: std::collections::BTreeMap<String, usize>,
    /// Items run a second time with safer decoding (`checks.retry`).
    pub retried: usize,
    /// Mean segment chrF of the flagged and of the unflagged items (how far a flag means a
    /// worse output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chrf_flagged: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chrf_unflagged: Option<f64>,
    /// Each item's flags, one item a line (comma-separated names, empty when none), relative
    /// to the report's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

/// Speed of one model on one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Speed {
    pub items: usize,
    pub batches: usize,
    /// Source tokens of one pass, by `token_counter`.
    pub source_tokens: usize,
    /// Tokens of the outputs of one pass, re-tokenised by `token_counter`.
    pub generated_tokens: usize,
    /// "model tokenizer", or "estimate" for a model without one (lead-3).
    pub token_counter: String,
    pub source_tokens_per_s: f64,
    pub generated_tokens_per_s: f64,
    pub items_per_min: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub load_s: f64,
    /// Peak resident memory of the process from the start of this task's load to its end.
    pub peak_rss_mb: f64,
    pub warmup: usize,
    pub repeats: usize,
    /// Wall time of every timed pass; throughput is from their median.
    pub pass_s: Vec<f64>,
}

/// The manifest every result carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub model: ModelInfo,
    pub threads: usize,
    /// Batch budget and the generation settings of this run.
    pub settings: serde_json::Value,
    pub machine: Machine,
}

/// One model on one task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskResult {
    pub model: String,
    pub task: String,
    pub kind: TaskKind,
    /// "ok", or "error" when the model could not run this task at all.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Items whose output failed (scored as empty).
    pub failed_items: usize,
    /// The outputs of the first timed pass, one item a line, relative to the report's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<String>,
    pub quality: Quality,
    /// Flagged outputs, by check.
    #[serde(default)]
    pub checks: CheckStats,
    pub speed: Speed,
    pub manifest: Manifest,
}

/// Median of a non-empty list.
pub fn median(xs: &[f64]) -> f64 {
    percentile(xs, 50.0)
}

/// Linear-interpolated percentile (as numpy's default), `p` in 0–100; 0 for an empty list.
pub(crate) fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// Peak resident set of this process (VmHWM), in MiB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Start a new peak: Linux resets VmHWM to the current RSS when "5" is written to clear_refs.
fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::debug!("cannot reset the peak RSS ({e}); it then covers the whole process");
    }
}

/// The backend under test, seen through one batch call: a translator, or a summariser with
/// the plan and map-reduce a run gives it.
enum Backend {
    Translate(Box<dyn Translator>),
    Summarize(Box<(Backends, Plan)>, String),
}

impl Backend {
    fn counter(&self) -> Option<&dyn TokenCounter> {
        match self {
            Backend::Translate(t) => t.counter(),
            Backend::Summarize(b, _) => b.0.summarizer().counter(),
        }
    }

    /// How the backend packs `texts` into batches.
    fn batches(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        match self {
            Backend::Translate(t) => t.batches(texts),
            Backend::Summarize(b, _) => b.0.summarizer().batches(texts),
        }
    }

    /// Whether its outputs are checked.
    fn generates(&self) -> bool {
        match self {
            Backend::Translate(_) => true,
            Backend::Summarize(b, _) => b.0.summarizer().generates(),
        }
    }

    /// Outputs of one batch with their flags and whether they were retried, as a run checks
    /// them; `None` for a failed item.
    fn run(&self, cfg: &PipelineConfig, texts: &[&str]) -> Vec<Option<Checked>> {
        let checking = Checking::of(cfg);
        match self {
            Backend::Translate(t) => crate::execute::translate_checked(t.as_ref(), texts, checking)
                .into_iter()
                .map(|c| {
                    c.result.ok().map(|text| Checked {
                        text,
                        flags: c.flags,
                        retried: c.retried,
                    })
                })
                .collect(),
            Backend::Summarize(b, lang) => {
                let (backends, plan) = (&b.0, &b.1);
                let chunking = backends.chunking(cfg);
                let chunks: Vec<_> = texts.iter().map(|t| chunking.chunk(t, lang)).collect();
                let inputs: Vec<Input<'_>> = texts
                    .iter()
                    .zip(&chunks)
                    .map(|(b, c)| Input {
                        body: b,
                        lang: Some(lang),
                        chunks: c,
                    })
                    .collect();
                execute(backends, plan, chunking, checking, &inputs)
                    .into_iter()
                    .map(|o| {
                        if o.error.is_some() {
                            return None;
                        }
                        Some(Checked {
                            text: o.summary.get(lang)?.clone(),
                            flags: o
                                .checks
                                .get(lang)
                                .map(|f| f.iter().copied().collect())
                                .unwrap_or_default(),
                            retried: o.retried.contains(lang),
                        })
                    })
                    .collect()
            }
        }
    }
}

/// One checked output of the bench.
struct Checked {
    text: String,
    flags: Vec<Check>,
    retried: bool,
}

/// A file-name-safe form of a label: lowercase letters and digits, other runs as one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Write the outputs one a line (line breaks inside one become spaces, as `svodka score`
/// reads them); returns the path relative to `out_dir`. `suffix`: "" for outputs, ".checks"
/// for their flags.
fn write_outputs(
    out_dir: &std::path::Path,
    model: &str,
    task: &str,
    suffix: &str,
    hyps: &[&str],
) -> Result<String, String> {
    let rel = format!("outputs/{}.{}{suffix}.txt", slug(model), slug(task));
    let path = out_dir.join(&rel);
    let text: String = hyps.iter().map(|h| h.replace(['\n', '\r'], " ") + "\n").collect();
    std::fs::create_dir_all(out_dir.join("outputs"))
        .and_then(|_| std::fs::write(&path, text))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(rel)
}

/// The configuration of one model's run: the base configuration with the model's overrides.
pub(crate) fn run_config(
    base: Option<&std::path::Path>,
    base_sets: &[String],
    run: &ModelRun,
    task: &Task,
) -> Result<PipelineConfig, crate::config::ConfigError> {
    let mut sets = base_sets.to_vec();
    sets.extend(run.sets());
    if task.spec.kind == TaskKind::Summarize {
        let (lang, _) = task.languages();
        sets.push(format!("summarize.languages=[\"{lang}\"]"));
        sets.push("translate.full=false".into());
    }
    PipelineConfig::load(base, &sets)
}

fn settings_of(cfg: &PipelineConfig, kind: TaskKind, spec: &str) -> serde_json::Value {
    let strip = |v: serde_json::Value| match v {
        serde_json::Value::Object(m) => {
            serde_json::Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        v => v,
    };
    // The device the model ran on (`run.device` resolved: `auto` says which it became).
    let device = crate::device::resolve(&cfg.run.device).map_or(cfg.run.device.clone(), |d| crate::device::name(&d));
    let mut s = serde_json::json!({
        "device": device,
        "batch_tokens": cfg.batch.max_tokens,
        "batch_items": cfg.batch.max_items,
    });
    let g = cfg.generate_for(kind);
    if matches!(Spec::parse(spec), Spec::Gguf(_)) {
        let l = &cfg.llm;
        let d = crate::generate::sample::SamplingConfig::from_settings(&g, l.seed, l.repeat_last_n, l.prompt_block);
        s["llm"] = serde_json::json!({
            "max_new_tokens": d.max_new_tokens, "temperature": d.temperature,
            "top_p": d.top_p, "top_k": d.top_k, "seed": d.seed,
            "repetition_penalty": d.repetition_penalty, "context": l.context,
        });
    } else {
        s["generate"] = strip(serde_json::to_value(&g).unwrap_or_default());
        s["dtype"] = cfg.resolved_dtype(kind).into();
    }
    s
}

/// Run one model on each of its tasks; a task it cannot do becomes an error result.
pub(crate) fn run_model(
    suite: &Suite,
    run: &ModelRun,
    out_dir: &std::path::Path,
    base: Option<&std::path::Path>,
    base_sets: &[String],
) -> Vec<TaskResult> {
    // This process runs this one model: its threads are the model's, set up before it loads.
    let threads = crate::config::RunConfig {
        threads: run.threads,
        ..Default::default()
    };
    if let Some(msg) = crate::runtime::init(&threads) {
        tracing::warn!("{msg}");
    }
    let machine = Machine::here();
    let loader = Loader::default();
    let mut out = Vec::new();
    for name in &run.tasks {
        let task = suite.task(name).expect("suite checked task names");
        let cfg = match run_config(base, base_sets, run, task) {
            Ok(c) => c,
            Err(e) => {
                out.push(failed(run, task, &machine, error_chain(&e)));
                continue;
            }
        };
        out.push(match run_task(suite, run, task, &cfg, &loader, &machine, out_dir) {
            Ok(r) => r,
            Err(msg) => failed(run, task, &machine, msg),
        });
    }
    out
}

fn failed(run: &ModelRun, task: &Task, machine: &Machine, msg: String) -> TaskResult {
    TaskResult {
        model: run.label.clone(),
        task: task.spec.name.clone(),
        kind: task.spec.kind,
        status: "error".into(),
        error: Some(msg),
        failed_items: task.items.len(),
        outputs: None,
        quality: Quality::default(),
        checks: CheckStats::default(),
        speed: Speed::default(),
        manifest: Manifest {
            model: ModelInfo {
                spec: run.spec.clone(),
                id: run.spec.clone(),
                revision: String::new(),
                commit: None,
                files: Vec::new(),
                dtype: String::new(),
            },
            threads: run.threads,
            settings: serde_json::Value::Null,
            machine: machine.clone(),
        },
    }
}

fn run_task(
    suite: &Suite,
    run: &ModelRun,
    task: &Task,
    cfg: &PipelineConfig,
    loader: &Loader,
    machine: &Machine,
    out_dir: &std::path::Path,
) -> Result<TaskResult, String> {
    let (from, to) = task.languages();
    reset_peak_rss();
    let t = Instant::now();
    let backend = match task.spec.kind {
        TaskKind::Translate => Backend::Translate(
            loader
                .translator(cfg, &run.spec, from, to)
                .map_err(|e| error_chain(&e))?,
        ),
        TaskKind::Summarize => {
            let s: Box<dyn Summarizer> = loader
                .summarizer(cfg, &run.spec, Some(from))
                .map_err(|e| error_chain(&e))?;
            if !s.writes(from, from) {
                return Err(format!("`{}` does not summarise `{from}` text", run.spec));
            }
            let backends = Backends::new(s, Vec::new());
            let plan = Plan::new(cfg, &backends).map_err(|e| error_chain(&e))?;
            Backend::Summarize(Box::new((backends, plan)), from.to_string())
        }
    };
    let load_s = t.elapsed().as_secs_f64();

    let dtype = cfg.resolved_dtype(task.spec.kind);
    let model = super::manifest::model_info(&run.spec, Spec::parse(&run.spec).files(), &dtype)
        .map_err(|e| format!("cannot hash the model's files: {e}"))?;

    let (counter, counter_name): (&dyn TokenCounter, &str) = match backend.counter() {
        Some(c) => (c, "model tokenizer"),
        None => (&EstimateCounter, "estimate"),
    };
    let sources: Vec<&str> = task.items.iter().map(|i| i.source.as_str()).collect();
    let lengths: Vec<usize> = sources.iter().map(|s| counter.count(s)).collect();
    let batches = backend.batches(&sources);
    let texts = |b: &[usize]| -> Vec<&str> { b.iter().map(|&i| sources[i]).collect() };

    for _ in 0..suite.settings.warmup {
        backend.run(cfg, &texts(&batches[0]));
    }
    let mut outputs: Vec<Option<Checked>> = (0..sources.len()).map(|_| None).collect();
    let (mut pass_s, mut latencies_ms) = (Vec::new(), Vec::new());
    for rep in 0..suite.settings.repeats {
        let pass = Instant::now();
        for b in &batches {
            let bt = Instant::now();
            let got = backend.run(cfg, &texts(b));
            let ms = bt.elapsed().as_secs_f64() * 1000.0;
            latencies_ms.extend(std::iter::repeat_n(ms, b.len()));
            if rep == 0 {
                for (&i, o) in b.iter().zip(got) {
                    outputs[i] = o;
                }
            }
        }
        pass_s.push(pass.elapsed().as_secs_f64());
    }
    let peak = peak_rss_mb();

    let hyps: Vec<&str> = outputs
        .iter()
        .map(|o| o.as_ref().map_or("", |c| c.text.as_str()))
        .collect();
    let outputs_file = write_outputs(out_dir, &run.label, &task.spec.name, "", &hyps)?;
    let refs: Vec<&str> = task.items.iter().map(|i| i.reference.as_str()).collect();
    let checks = if cfg.checks.enabled && backend.generates() {
        let flags: Vec<String> = outputs
            .iter()
            .map(|o| {
                o.as_ref().map_or(String::new(), |c| {
                    c.flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(",")
                })
            })
            .collect();
        let flags_ref: Vec<&str> = flags.iter().map(String::as_str).collect();
        let flags_file = write_outputs(out_dir, &run.label, &task.spec.name, ".checks", &flags_ref)?;
        check_stats(&outputs, &hyps, &refs, flags_file)
    } else {
        CheckStats::default()
    };
    let quality = match task.spec.kind {
        TaskKind::Translate => Quality {
            bleu: Some(metrics::bleu(&hyps, &refs).score),
            chrf: Some(metrics::chrf(&hyps, &refs)),
            chrf_pp: Some(metrics::chrf::chrf_pp(&hyps, &refs)),
            ..Default::default()
        },
        TaskKind::Summarize => {
            let r = metrics::rouge::rouge(&hyps, &refs, metrics::rouge::RougeTokenizer::Unicode);
            Quality {
                rouge1: Some(r.rouge1.f1 * 100.0),
                rouge2: Some(r.rouge2.f1 * 100.0),
                rouge_l: Some(r.rouge_l.f1 * 100.0),
                rouge_tokenizer: Some(
                    "rouge-score rules, Unicode letters and digits kept (Cyrillic is not dropped)".into(),
                ),
                ..Default::default()
            }
        }
    };
    let source_tokens: usize = lengths.iter().sum();
    let generated_tokens: usize = hyps
        .iter()
        .map(|h| if h.is_empty() { 0 } else { counter.count(h) })
        .sum();
    let m = median(&pass_s).max(1e-9);
    Ok(TaskResult {
        model: run.label.clone(),
        task: task.spec.name.clone(),
        kind: task.spec.kind,
        status: "ok".into(),
        error: None,
        failed_items: outputs.iter().filter(|o| o.is_none()).count(),
        outputs: Some(outputs_file),
        quality,
        checks,
        speed: Speed {
            items: sources.len(),
            batches: batches.len(),
            source_tokens,
            generated_tokens,
            token_counter: counter_name.to_string(),
            source_tokens_per_s: source_tokens as f64 / m,
            generated_tokens_per_s: generated_tokens as f64 / m,
            items_per_min: sources.len() as f64 / m * 60.0,
            latency_p50_ms: percentile(&latencies_ms, 50.0),
            latency_p95_ms: percentile(&latencies_ms, 95.0),
            load_s,
            peak_rss_mb: peak,
            warmup: suite.settings.warmup,
            repeats: suite.settings.repeats,
            pass_s,
        },
        manifest: Manifest {
            model,
            threads: run.threads,
            settings: settings_of(cfg, task.spec.kind, &run.spec),
            machine: machine.clone(),
        },
    })
}

/// Share flagged, by check, and the mean segment chrF of flagged against unflagged items
/// (a failed item counts as flagged: its output is empty).
fn check_stats(outputs: &[Option<Checked>], hyps: &[&str], refs: &[&str], flags_file: String) -> CheckStats {
    let mut st = CheckStats {
        checked: true,
        flags: Some(flags_file),
        ..Default::default()
    };
    let (mut bad, mut good) = (Vec::new(), Vec::new());
    for ((o, h), r) in outputs.iter().zip(hyps).zip(refs) {
        let flagged = o.as_ref().is_none_or(|c| !c.flags.is_empty());
        if let Some(c) = o {
            for f in &c.flags {
                *st.by_check.entry(f.name().to_string()).or_default() += 1;
            }
            st.retried += usize::from(c.retried);
        }
        let chrf = metrics::chrf(&[*h], &[*r]);
        if flagged {
            st.flagged += 1;
            bad.push(chrf);
        } else {
            good.push(chrf);
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    st.share_flagged = st.flagged as f64 / outputs.len().max(1) as f64;
    st.chrf_flagged = mean(&bad);
    st.chrf_unflagged = mean(&good);
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_numpy() {
        let xs = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&xs), 2.5);
        assert!((percentile(&xs, 95.0) - 3.85).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("Qwen2.5-Coder 0.5B (GGUF)"), "qwen2-5-coder-0-5b-gguf");
        assert_eq!(slug("сводка ru→en"), "сводка-ru-en");
    }

    #[test]
    fn peak_rss_is_read() {
        assert!(peak_rss_mb() > 0.0);
    }
}
