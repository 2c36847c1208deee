//! What `svodka bench` writes into `--out DIR`: `results.json` (everything, manifests
//! included), `results.md` (one table per task) and `chart.svg` (quality against speed, one
//! point per model, a panel per task, drawn with plotters' SVG backend).

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::Machine;
use super::run::TaskResult;
use super::suite::{Suite, TaskKind};

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub suite: String,
    pub repeats: usize,
    pub warmup: usize,
    pub machine: Machine,
    pub results: Vec<TaskResult>,
}

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot draw `{}`: {message}", path.display())]
    Chart { path: PathBuf, message: String },
}

impl Report {
    pub fn new(suite: &Suite, machine: Machine, results: Vec<TaskResult>) -> Report {
        Report {
            suite: suite.path.display().to_string(),
            repeats: suite.settings.repeats,
            warmup: suite.settings.warmup,
            machine,
            results,
        }
    }

    /// Write the three files; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let write = |name: &str, text: String| -> Result<PathBuf, ReportError> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        };
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let json = write(
            "results.json",
            serde_json::to_string_pretty(self).expect("report serialises") + "\n",
        )?;
        let md = write("results.md", self.markdown())?;
        let svg_path = dir.join("chart.svg");
        let svg = self.chart().map_err(|message| ReportError::Chart {
            path: svg_path.clone(),
            message,
        })?;
        let svg = write("chart.svg", svg)?;
        Ok(vec![json, md, svg])
    }

    fn tasks(&self) -> Vec<(&str, TaskKind)> {
        let mut v: Vec<(&str, TaskKind)> = Vec::new();
        for r in &self.results {
            if !v.iter().any(|(n, _)| *n == r.task) {
                v.push((&r.task, r.kind));
            }
        }
        v
    }

    /// The quality figure a chart plots: BLEU for translation, ROUGE-L for summaries.
    fn headline(r: &TaskResult) -> Option<f64> {
        match r.kind {
            TaskKind::Translate => r.quality.bleu,
            TaskKind::Summarize => r.quality.rouge_l,
        }
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "# svodka bench: `{}`\n\nsvodka {} (commit `{}`), {}, {} CPUs, {}; median of {} timed pass{} after {} warm-up batch{}.\n",
            self.suite,
            m.svodka_version,
            m.git_commit,
            m.cpu_model,
            m.cpus,
            m.time,
            self.repeats,
            if self.repeats == 1 { "" } else { "es" },
            self.warmup,
            if self.warmup == 1 { "" } else { "es" },
        );
        let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
        for (task, kind) in self.tasks() {
            s.push_str(&format!(
                "\n## {task} ({})\n\n",
                match kind {
                    TaskKind::Translate => "translate",
                    TaskKind::Summarize => "summarize",
                }
            ));
            let quality_cols = match kind {
                TaskKind::Translate => "BLEU | chrF | chrF++",
                TaskKind::Summarize => "ROUGE-1 | ROUGE-2 | ROUGE-L",
            };
            s.push_str(&format!(
                "| model | {quality_cols} | src tok/s | gen tok/s | items/min | p50 ms | p95 ms | load s | peak RSS MiB | threads | failed |\n"
            ));
            s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            let mut errors = Vec::new();
            for r in self.results.iter().filter(|r| r.task == task) {
                if r.status != "ok" {
                    errors.push(format!(
                        "- **{}**: {}\n",
                        r.model,
                        r.error.as_deref().unwrap_or("failed")
                    ));
                    continue;
                }
                let q = &r.quality;
                let (a, b, c) = match kind {
                    TaskKind::Translate => (q.bleu, q.chrf, q.chrf_pp),
                    TaskKind::Summarize => (q.rouge1, q.rouge2, q.rouge_l),
                };
                let p = &r.speed;
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {:.2} | {:.0} | {} | {} |\n",
                    r.model,
                    f(a),
                    f(b),
                    f(c),
                    p.source_tokens_per_s,
                    p.generated_tokens_per_s,
                    p.items_per_min,
                    p.latency_p50_ms,
                    p.latency_p95_ms,
                    p.load_s,
                    p.peak_rss_mb,
                    r.manifest.threads,
                    r.failed_items,
                ));
            }
            if kind == TaskKind::Summarize {
                s.push_str(
                    "\nROUGE F1 as rouge-score computes it (no stemming), mean over items, with a Unicode-aware \
                     tokeniser: rouge-score's rules, but Cyrillic and other non-ASCII letters are kept instead of dropped.\n",
                );
            } else {
                s.push_str("\nBLEU and chrF as sacrebleu computes them by default (13a tokenisation, exponential smoothing; chrF: character order 6, β = 2; chrF++ adds word bigrams).\n");
            }
            if !errors.is_empty() {
                s.push_str("\nCould not run:\n\n");
                s.extend(errors);
            }
        }
        s.push_str(&self.checks_markdown());
        s.push_str("\n## Models\n\n| model | id | revision | dtype | files (SHA-256) |\n|---|---|---|---|---|\n");
        let mut seen = Vec::new();
        for r in &self.results {
            if seen.contains(&&r.model) || r.status != "ok" {
                continue;
            }
            seen.push(&r.model);
            let mi = &r.manifest.model;
            let files: Vec<String> = mi
                .files
                .iter()
                .map(|h| {
                    let name = Path::new(&h.path)
                        .file_name()
                        .map_or(h.path.clone(), |n| n.to_string_lossy().into_owned());
                    format!("{name} `{}…`", &h.sha256[..12])
                })
                .collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.model,
                mi.id,
                mi.revision,
                mi.dtype,
                files.join(", ")
            ));
        }
        s.push_str("\nSpeed: tokens are counted with each model's own tokenizer (generated tokens by re-tokenising the output); an item's latency is the wall time of the batch that carried it. Each model's outputs are in `outputs/` (one item a line, for `svodka score`); everything else, with every file's full hash and the generation settings, is in `results.json`.\n");
        s
    }

    /// The share of flagged outputs per model and task, by check, with the mean segment chrF
    /// of flagged and unflagged outputs.
    fn checks_markdown(&self) -> String {
        let checked: Vec<&TaskResult> = self
            .results
            .iter()
            .filter(|r| r.status == "ok" && r.checks.checked)
            .collect();
        if checked.is_empty() {
            return String::new();
        }
        let names = crate::checks::Check::ALL.map(|c| c.name());
        let mut s = format!(
            "\n## Output checks\n\n| model | task | flagged | {} | retried | chrF flagged | chrF unflagged |\n|---|---|---:|{}---:|---:|---:|\n",
            names.join(" | "),
            "---:|".repeat(names.len())
        );
        let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.1}"));
        for r in checked {
            let c = &r.checks;
            let n = r.speed.items.max(1) as f64;
            let by: Vec<String> = names
                .iter()
                .map(|k| {
                    let v = c.by_check.get(*k).copied().unwrap_or(0);
                    format!("{:.1}%", v as f64 / n * 100.0)
                })
                .collect();
            s.push_str(&format!(
                "| {} | {} | {:.1}% ({}) | {} | {} | {} | {} |\n",
                r.model,
                r.task,
                c.share_flagged * 100.0,
                c.flagged,
                by.join(" | "),
                c.retried,
                f(c.chrf_flagged),
                f(c.chrf_unflagged),
            ));
        }
        s.push_str(
            "\nShare of items whose output a check flagged (a failed item counts as flagged); chrF: mean segment chrF \
             of the flagged and of the unflagged items. Each item's flags are in `outputs/*.checks.txt`.\n",
        );
        s
    }

    /// Quality against generated tokens/s, a panel per task.
    pub fn chart(&self) -> Result<String, String> {
        let tasks = self.tasks();
        let mut svg = String::new();
        {
            let panel_h = 360u32;
            let root =
                SVGBackend::with_string(&mut svg, (720, panel_h * tasks.len().max(1) as u32)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let panels = root.split_evenly((tasks.len().max(1), 1));
            let mut models: Vec<&str> = Vec::new();
            for r in &self.results {
                if !models.contains(&r.model.as_str()) {
                    models.push(&r.model);
                }
            }
            for ((task, kind), area) in tasks.iter().zip(panels.iter()) {
                let pts: Vec<(f64, f64, &str)> = self
                    .results
                    .iter()
                    .filter(|r| r.task == *task && r.status == "ok")
                    .filter_map(|r| Self::headline(r).map(|q| (r.speed.generated_tokens_per_s, q, r.model.as_str())))
                    .collect();
                // Speeds span orders of magnitude (lead-3 against a 1.5B model): a log axis.
                let xs = || pts.iter().map(|p| p.0).filter(|x| *x > 0.0);
                let xmin = xs().fold(f64::INFINITY, f64::min);
                let xmin = if xmin.is_finite() { xmin / 2.0 } else { 0.1 };
                let xmax = xs().fold(xmin * 4.0, f64::max) * 2.0;
                let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.2;
                let y_label = match kind {
                    TaskKind::Translate => "BLEU",
                    TaskKind::Summarize => "ROUGE-L F1",
                };
                let mut chart = ChartBuilder::on(area)
                    .caption(format!("{task}: quality against speed"), ("sans-serif", 18))
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(50)
                    .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..ymax)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_desc("generated tokens/s (log scale)")
                    .y_desc(y_label)
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(pts.iter().map(|(x, y, name)| {
                        // A model keeps its colour in every panel.
                        let color = Palette99::pick(models.iter().position(|m| m == name).unwrap_or(0)).to_rgba();
                        EmptyElement::at((x.max(xmin), *y))
                            + Circle::new((0, 0), 5, color.filled())
                            + Text::new(name.to_string(), (8, -6), ("sans-serif", 13))
                    }))
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }
}
