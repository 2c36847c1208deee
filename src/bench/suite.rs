//! The suite file of `svodka bench`: which tasks (a parallel corpus to translate, articles
//! with reference summaries) and which models to compare on them, with the settings of each
//! run. Read and checked in full before any model loads, so a typo costs nothing; every error
//! names the suite file (or the data file and line) and the key.
//!
//! ```toml
//! [settings]
//! repeats = 3          # timed passes over each task's data; the median is reported (default 3)
//! warmup = 1           # untimed runs of the first batch before timing (default 1)
//! threads = 2          # compute threads of every model (default 2; 0 = one per core)
//!
//! [[task]]
//! name = "ru-en"
//! kind = "translate"   # or "summarize"
//! data = "ru-en.tsv"   # relative to this file; TSV `source<TAB>reference` or JSONL
//! from = "ru"
//! to = "en"
//!
//! [[model]]
//! name = "opus-mt"     # label in the report (default: `model`)
//! model = "opus-mt-ru-en"  # a card, a model directory, a .gguf file or "lead-3"
//! tasks = ["ru-en"]    # default: every task
//! batch_tokens = 4096  # batch.max_tokens of this run (default: the configuration's)
//! beams = 4            # num_beams (default: the model's)
//! dtype = "f32"        # seq2seq weights dtype (default: the configuration's)
//! threads = 2          # default: settings.threads
//! set = ["translate.generate.max_new_tokens=128"]  # any other --set override
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a suite or its data cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("suite `{}` is not valid", path.display())]
    Syntax {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("suite `{}`: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("`{}` line {line}: {message}", path.display())]
    Data {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// `[settings]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Timed passes over each task's data; the median pass is reported. Default: 3.
    pub repeats: usize,
    /// Untimed runs of the first batch before the timed passes. Default: 1.
    pub warmup: usize,
    /// Compute threads of every model unless it sets its own; 0 = one per core. Default: 2.
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            repeats: 3,
            warmup: 1,
            threads: 2,
        }
    }
}

/// A task's kind is svodka's one [`crate::task::Task`]; the name here keeps it apart from the
/// suite's [`Task`] (a kind with its data).
pub use crate::task::Task as TaskKind;

/// `[[task]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub kind: TaskKind,
    /// Relative to the suite file.
    pub data: PathBuf,
    /// translate: source and target language.
    pub from: Option<String>,
    pub to: Option<String>,
    /// summarize: the articles' language (and their summaries').
    pub lang: Option<String>,
}

/// `[[model]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Label in the report. Default: `model`.
    pub name: Option<String>,
    /// A card name, a model directory, a `.gguf` file (relative to the suite file) or "lead-3".
    pub model: String,
    /// Task names. Default: every task.
    pub tasks: Option<Vec<String>>,
    pub batch_tokens: Option<usize>,
    pub batch_items: Option<usize>,
    pub beams: Option<usize>,
    pub dtype: Option<String>,
    pub threads: Option<usize>,
    #[serde(default)]
    pub set: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default)]
    settings: Settings,
    #[serde(default)]
    task: Vec<TaskSpec>,
    #[serde(default)]
    model: Vec<ModelSpec>,
}

/// One item of a task: a source text and its reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub source: String,
    pub reference: String,
}

/// A task with its data read.
#[derive(Debug, Clone)]
pub struct Task {
    pub spec: TaskSpec,
    pub path: PathBuf,
    pub items: Vec<Item>,
}

impl Task {
    /// Source and target language.
    pub fn languages(&self) -> (&str, &str) {
        match self.spec.kind {
            TaskKind::Translate => (
                self.spec.from.as_deref().unwrap_or_default(),
                self.spec.to.as_deref().unwrap_or_default(),
            ),
            TaskKind::Summarize => {
                let l = self.spec.lang.as_deref().unwrap_or_default();
                (l, l)
            }
        }
    }
}

/// A model run as the suite asks for it, its spec resolved against the suite's folder.
#[derive(Debug, Clone)]
pub struct ModelRun {
    pub label: String,
    pub spec: String,
    pub tasks: Vec<String>,
    pub threads: usize,
    pub spec_src: ModelSpec,
}

impl ModelRun {
    /// `--set` overrides that turn the base configuration into this run's.
    pub fn sets(&self) -> Vec<String> {
        let s = &self.spec_src;
        let mut out = Vec::new();
        if let Some(n) = s.batch_tokens {
            out.push(format!("batch.max_tokens={n}"));
        }
        if let Some(n) = s.batch_items {
            out.push(format!("batch.max_items={n}"));
        }
        if let Some(b) = s.beams {
            out.push(format!("translate.generate.num_beams={b}"));
            out.push(format!("summarize.generate.num_beams={b}"));
        }
        if let Some(d) = &s.dtype {
            let d = toml::Value::String(d.clone());
            out.push(format!("translate.dtype={d}"));
            out.push(format!("summarize.dtype={d}"));
        }
        out.push(format!("run.threads={}", self.threads));
        out.extend(s.set.iter().cloned());
        out
    }
}

/// A suite read and checked.
#[derive(Debug, Clone)]
pub struct Suite {
    pub path: PathBuf,
    pub settings: Settings,
    pub tasks: Vec<Task>,
    pub models: Vec<ModelRun>,
}

const LANGS: &[&str] = &["ru", "en"];

impl Suite {
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: SuiteFile = toml::from_str(&text).map_err(|source| SuiteError::Syntax {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| SuiteError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        if file.settings.repeats == 0 {
            return Err(invalid("settings.repeats must be at least 1".into()));
        }
        if file.task.is_empty() {
            return Err(invalid("no [[task]]".into()));
        }
        if file.model.is_empty() {
            return Err(invalid("no [[model]]".into()));
        }
        let mut tasks = Vec::new();
        for t in file.task {
            if tasks.iter().any(|o: &Task| o.spec.name == t.name) {
                return Err(invalid(format!("two tasks are named `{}`", t.name)));
            }
            let lang_ok = |key: &str, v: &Option<String>| match v.as_deref() {
                Some(l) if LANGS.contains(&l) => Ok(()),
                Some(l) => Err(invalid(format!(
                    "task `{}`: {key} = \"{l}\" is not one of {}",
                    t.name,
                    LANGS.join(", ")
                ))),
                None => Err(invalid(format!(
                    "task `{}`: `{key}` is required for {:?}",
                    t.name, t.kind
                ))),
            };
            match t.kind {
                TaskKind::Translate => {
                    lang_ok("from", &t.from)?;
                    lang_ok("to", &t.to)?;
                    if t.from == t.to {
                        return Err(invalid(format!("task `{}`: from and to are the same", t.name)));
                    }
                }
                TaskKind::Summarize => lang_ok("lang", &t.lang)?,
            }
            let data = base.join(&t.data);
            let items = read_items(&data)?;
            if items.is_empty() {
                return Err(SuiteError::Data {
                    path: data,
                    line: 0,
                    message: "holds no items".into(),
                });
            }
            tasks.push(Task {
                spec: t,
                path: data,
                items,
            });
        }
        let mut models = Vec::new();
        for m in file.model {
            let label = m.name.clone().unwrap_or_else(|| m.model.clone());
            if models.iter().any(|o: &ModelRun| o.label == label) {
                return Err(invalid(format!("two models are named `{label}`; give one a `name`")));
            }
            let names: Vec<String> = match &m.tasks {
                Some(ts) => {
                    for n in ts {
                        if !tasks.iter().any(|t| &t.spec.name == n) {
                            return Err(invalid(format!("model `{label}`: no task is named `{n}`")));
                        }
                    }
                    ts.clone()
                }
                None => tasks.iter().map(|t| t.spec.name.clone()).collect(),
            };
            if names.is_empty() {
                return Err(invalid(format!("model `{label}`: `tasks` is empty")));
            }
            for (key, v) in [
                ("batch_tokens", m.batch_tokens),
                ("batch_items", m.batch_items),
                ("beams", m.beams),
            ] {
                if v == Some(0) {
                    return Err(invalid(format!("model `{label}`: {key} must be at least 1")));
                }
            }
            // A path relative to the suite (directory or GGUF file) is resolved against it; a
            // card name or "lead-3" stays as written.
            let rel = base.join(&m.model);
            let spec = if Path::new(&m.model).is_relative() && rel.exists() {
                rel.canonicalize().unwrap_or(rel).display().to_string()
            } else {
                m.model.clone()
            };
            models.push(ModelRun {
                label,
                spec,
                tasks: names,
                threads: m.threads.unwrap_or(file.settings.threads),
                spec_src: m,
            });
        }
        Ok(Suite {
            path: path.to_path_buf(),
            settings: file.settings,
            tasks,
            models,
        })
    }

    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.spec.name == name)
    }
}

/// Items of a data file: JSONL (`{"source"|"text": …, "reference"|"summary"|"target": …}`) or
/// TSV (`source<TAB>reference`, tabs and line breaks inside a field written `\t`, `\n`).
pub(crate) fn read_items(path: &Path) -> Result<Vec<Item>, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let jsonl = path.extension().is_some_and(|e| e == "jsonl" || e == "json");
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let data_err = |message: String| SuiteError::Data {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let item = if jsonl {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| data_err(format!("not a JSON object: {e}")))?;
            let field = |keys: &[&str]| {
                keys.iter()
                    .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_string))
            };
            let source = field(&["source", "text", "src"])
                .ok_or_else(|| data_err("no string field `source` (or `text`)".into()))?;
            let reference = field(&["reference", "summary", "target", "ref"])
                .ok_or_else(|| data_err("no string field `reference` (or `summary`, `target`)".into()))?;
            Item { source, reference }
        } else {
            let mut parts = line.split('\t');
            let (Some(s), Some(r), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(data_err("expected two tab-separated fields: source, reference".into()));
            };
            let unescape = |s: &str| s.replace("\\n", "\n").replace("\\t", "\t");
            Item {
                source: unescape(s),
                reference: unescape(r),
            }
        };
        if item.source.trim().is_empty() {
            return Err(data_err("the source is empty".into()));
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_suite_resolves_paths_and_defaults() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "c.tsv", "Привет\tHello\n\nМир\\nдом\tWorld\n");
        write(d.path(), "s.jsonl", "{\"text\": \"A. B.\", \"summary\": \"A.\"}\n");
        std::fs::create_dir(d.path().join("m")).unwrap();
        let s = write(
            d.path(),
            "s.toml",
            "[settings]\nrepeats = 2\n[[task]]\nname = \"t\"\nkind = \"translate\"\ndata = \"c.tsv\"\nfrom = \"ru\"\nto = \"en\"\n\
             [[task]]\nname = \"s\"\nkind = \"summarize\"\ndata = \"s.jsonl\"\nlang = \"en\"\n\
             [[model]]\nmodel = \"m\"\ntasks = [\"t\"]\nbeams = 4\n[[model]]\nmodel = \"lead-3\"\n",
        );
        let suite = Suite::load(&s).unwrap();
        assert_eq!(suite.settings.repeats, 2);
        assert_eq!(suite.settings.warmup, 1);
        assert_eq!(suite.tasks[0].items[1].source, "Мир\nдом");
        assert_eq!(suite.tasks[1].items[0].reference, "A.");
        assert_eq!(
            suite.models[0].spec,
            d.path().join("m").canonicalize().unwrap().display().to_string()
        );
        assert!(
            suite.models[0]
                .sets()
                .contains(&"summarize.generate.num_beams=4".to_string())
        );
        assert_eq!(suite.models[1].spec, "lead-3");
        assert_eq!(suite.models[1].tasks, vec!["t", "s"]);
        assert_eq!(suite.models[1].threads, 2);
    }

    #[test]
    fn mistakes_name_the_file_and_the_problem() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "c.tsv", "one field only\n");
        let cases = [
            (
                "[[task]]\nname = \"t\"\nkind = \"translate\"\ndata = \"c.tsv\"\nfrom = \"ru\"\nto = \"en\"\n[[model]]\nmodel = \"x\"\n",
                "line 1: expected two tab-separated",
            ),
            ("[[model]]\nmodel = \"x\"\n", "no [[task]]"),
            (
                "[[task]]\nname = \"t\"\nkind = \"translate\"\ndata = \"c.tsv\"\nfrom = \"de\"\nto = \"en\"\n[[model]]\nmodel = \"x\"\n",
                "from = \"de\"",
            ),
            ("[settings]\nrepeat = 2\n", "unknown field"),
        ];
        for (text, want) in cases {
            let s = write(d.path(), "s.toml", text);
            let e = Suite::load(&s).unwrap_err();
            let chain = format!(
                "{e}: {}",
                std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()
            );
            assert!(chain.contains(want), "{chain}");
            assert!(chain.contains(".tsv") || chain.contains("s.toml"), "{chain}");
        }
    }
}
