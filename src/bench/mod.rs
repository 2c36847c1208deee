//! `svodka bench`: compare models on the same tasks for quality and speed, and write the
//! results as JSON, Markdown and an SVG chart, each result with the manifest that makes it
//! reproducible.
//!
//! Each model runs in a process of its own (the `svodka` binary again, with a hidden
//! `--model-index`): candle and rayon size their thread pools once per process, so only a
//! fresh process can give a model the thread count the suite asks for, and only then are its
//! load time and peak memory its own rather than whatever the models before it left behind.
//! A model that fails (cannot load, crashes) becomes error results and the others still run.
//!
//! - [`suite`]: the suite file and its data;
//! - [`agreement`]: how closely one model follows another (int8 against float32);
//! - [`run`]: measuring one model, inside its process;
//! - [`manifest`]: the model, machine and build a result was measured on;
//! - [`report`]: the files written.

pub mod agreement;
pub mod manifest;
pub mod report;
pub mod run;
pub mod suite;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use report::Report;
pub use suite::{Suite, SuiteError};

/// Why `svodka bench` stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error("cannot start a model process `{}`", exe.display())]
    Spawn {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the command line passes on to every model process.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub suite: PathBuf,
    pub out: PathBuf,
    /// `-c`, passed on.
    pub config: Option<PathBuf>,
    /// `--set`, passed on.
    pub sets: Vec<String>,
    /// The `svodka` binary to run each model in.
    pub exe: PathBuf,
    /// A line on stderr as each model starts and ends (a suite can run for hours).
    pub progress: bool,
}

/// Run every model of the suite, each in its own process, and write the report.
pub fn bench(opts: &BenchOptions) -> Result<(Report, Vec<PathBuf>), BenchError> {
    let suite = Suite::load(&opts.suite)?;
    let machine = manifest::Machine::here();
    let mut results = Vec::new();
    for (i, m) in suite.models.iter().enumerate() {
        if opts.progress {
            eprintln!(
                "svodka: bench: model {} of {}: {} ({} task{})",
                i + 1,
                suite.models.len(),
                m.label,
                m.tasks.len(),
                if m.tasks.len() == 1 { "" } else { "s" }
            );
        }
        let started = std::time::Instant::now();
        let mut cmd = Command::new(&opts.exe);
        if let Some(c) = &opts.config {
            cmd.arg("--config").arg(c);
        }
        for s in &opts.sets {
            cmd.arg("--set").arg(s);
        }
        cmd.args(["bench", "--suite"])
            .arg(&opts.suite)
            .arg("--out")
            .arg(&opts.out)
            .arg("--model-index")
            .arg(i.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // The child sizes its pools from the model's `threads` (crate::runtime), not from
            // whatever this environment says.
            .env_remove("RAYON_NUM_THREADS")
            .env_remove("CANDLE_NUM_THREADS");
        let out = cmd.output().map_err(|source| BenchError::Spawn {
            exe: opts.exe.clone(),
            source,
        })?;
        let parsed: Option<Vec<run::TaskResult>> = out
            .status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten();
        if opts.progress {
            eprintln!(
                "svodka: bench: {} done in {:.1} s",
                m.label,
                started.elapsed().as_secs_f64()
            );
        }
        match parsed {
            Some(r) => results.extend(r),
            None => {
                let why = format!("the model's process ended with {}", out.status);
                tracing::error!("bench: {}: {why}", m.label);
                for name in &m.tasks {
                    let task = suite.task(name).expect("checked");
                    results.push(run::TaskResult {
                        model: m.label.clone(),
                        task: name.clone(),
                        kind: task.spec.kind,
                        status: "error".into(),
                        error: Some(why.clone()),
                        failed_items: task.items.len(),
                        outputs: None,
                        quality: Default::default(),
                        checks: Default::default(),
                        speed: Default::default(),
                        manifest: run::Manifest {
                            model: manifest::ModelInfo {
                                spec: m.spec.clone(),
                                id: m.spec.clone(),
                                revision: String::new(),
                                commit: None,
                                files: Vec::new(),
                                dtype: String::new(),
                            },
                            threads: m.threads,
                            settings: serde_json::Value::Null,
                            machine: machine.clone(),
                        },
                    });
                }
            }
        }
    }
    let report = Report::new(&suite, machine, results);
    let files = report.write(&opts.out)?;
    Ok((report, files))
}

/// Inside a model's process: measure model `index` of the suite and print its results as JSON.
pub fn bench_one(
    suite_path: &Path,
    index: usize,
    out: &Path,
    config: Option<&Path>,
    sets: &[String],
) -> Result<String, BenchError> {
    let suite = Suite::load(suite_path)?;
    let Some(m) = suite.models.get(index) else {
        return Err(SuiteError::Invalid {
            path: suite_path.to_path_buf(),
            message: format!("has no model number {index}"),
        }
        .into());
    };
    let results = run::run_model(&suite, m, out, config, sets);
    Ok(serde_json::to_string(&results).expect("results serialise"))
}
