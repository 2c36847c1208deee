//! The run's fingerprint, kept beside its output (`OUT.run.json`), so that `--resume` continues
//! only the run that wrote the output.
//!
//! Records say which unit they are for (`source`), but not which settings made them or which
//! bytes they were made from: an archive whose members changed, or `--set
//! summarize.lead_sentences=1` on the second half, would mix two runs in one file without a word.
//! So a run writes, before its first record, the settings that shape records (the effective
//! configuration without `run.*` and `output.*`, which change how it runs, not what it writes)
//! and a fingerprint of each input (a file's size and modification time; for a directory, a
//! digest of every file's path, size and modification time). `--resume` compares and refuses a
//! mismatch, naming the keys or inputs that changed. Standard input cannot be fingerprinted and
//! is taken on trust.
//!
//! The same file is what makes shards safe to merge: it names the shard (`--shard K/N`), the
//! SHA-256 of every model file the run loaded, a hash of the settings, the command line (so
//! that `svodka merge` can say how to resume a shard cut off by a killed job), and, once the
//! run has reached the end of its inputs, `finished`: how many units the inputs held and how
//! many records this output has. A manifest without `finished` is a run still going, or
//! killed. Written beside the output rather than as its first line so that the output stays
//! plain JSONL, one record per article, for every reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backends::Spec;
use crate::config::PipelineConfig;
use crate::error::Error;
use crate::models::fingerprint::{ModelInfo, model_info};
use crate::shard::Shard;

/// What is kept beside the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// svodka's version, for the reader's information.
    pub svodka: String,
    /// The command line that started the run (`svodka merge` quotes it to resume a shard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// This output's shard, for `svodka run --shard K/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// SHA-256 of `settings` (as JSON): one value to compare.
    #[serde(default)]
    pub config_sha256: String,
    /// Settings that shape records, as dotted keys (`summarize.lead_sentences`) → TOML values.
    pub settings: BTreeMap<String, String>,
    pub inputs: Vec<InputPrint>,
    /// The models the run loaded, by the key that named them (`summarize.model`,
    /// `translate.models.ru-en`, `llm.model`), with their files' SHA-256.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, ModelInfo>,
    /// Set when the run reached the end of its inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Finished>,
}

/// A finished run's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Finished {
    /// Units the inputs held (all shards', up to `--limit`).
    pub units: usize,
    /// Records in this output.
    pub records: usize,
}

/// One input's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InputPrint {
    /// As given on the command line.
    pub input: String,
    /// `file`, `dir`, `stdin`, `other` (a pipe or device: read, but not fingerprinted) or
    /// `missing`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Modification time, nanoseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ns: Option<u128>,
    /// Directories: files under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    /// Directories: SHA-256 of every file's relative path, size and modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Where the manifest of `output` lives.
pub(crate) fn path_for(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".run.json");
    output.with_file_name(name)
}

fn modified_ns(meta: &std::fs::Metadata) -> Option<u128> {
    meta.modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_nanos())
}

fn print_input(input: &str) -> InputPrint {
    let mut p = InputPrint {
        input: input.to_string(),
        kind: "missing".into(),
        size: None,
        modified_ns: None,
        files: None,
        digest: None,
    };
    if input == "-" {
        p.kind = "stdin".into();
        return p;
    }
    let Ok(meta) = std::fs::metadata(input) else {
        return p;
    };
    if meta.is_file() {
        p.kind = "file".into();
        p.size = Some(meta.len());
        p.modified_ns = modified_ns(&meta);
    } else if meta.is_dir() {
        p.kind = "dir".into();
        let mut hash = Sha256::new();
        let mut files = 0u64;
        for entry in walkdir::WalkDir::new(input).sort_by_file_name().into_iter().flatten() {
            let Ok(m) = entry.metadata() else { continue };
            if !m.is_file() {
                continue;
            }
            files += 1;
            let rel = entry.path().strip_prefix(input).unwrap_or(entry.path());
            hash.update(rel.to_string_lossy().as_bytes());
            hash.update([0]);
            hash.update(m.len().to_le_bytes());
            hash.update(modified_ns(&m).unwrap_or(0).to_le_bytes());
        }
        p.files = Some(files);
        p.digest = Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect());
    } else {
        p.kind = "other".into();
    }
    p
}

/// Dotted keys → TOML values of a table, depth first.
fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) if !t.is_empty() => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.to_string());
        }
    }
}

impl Manifest {
    /// The manifest of a run of `cfg` over `inputs`, as of now.
    pub fn of(cfg: &PipelineConfig, inputs: &[String]) -> Manifest {
        let mut table = toml::Table::try_from(cfg).expect("the configuration always serialises");
        // How the run goes, not what it writes.
        table.remove("run");
        table.remove("output");
        let mut settings = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut settings);
        let json = serde_json::to_vec(&settings).expect("settings serialise");
        Manifest {
            svodka: env!("CARGO_PKG_VERSION").to_string(),
            command: Vec::new(),
            shard: None,
            config_sha256: Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect(),
            settings,
            inputs: inputs.iter().map(|i| print_input(i)).collect(),
            models: BTreeMap::new(),
            finished: None,
        }
    }

    /// With the fingerprints of the models `cfg` names that the run loaded (the keys of
    /// the translators that "auto" left out, `skipped_pairs`, are not). Lead-3 has no files and is left out.
    pub fn with_models(mut self, cfg: &PipelineConfig, skipped_pairs: &[String]) -> Result<Manifest, Error> {
        use crate::task::Task;
        let mut specs: Vec<(String, String, String)> = Vec::new();
        if cfg.llm.model.is_empty() {
            specs.push((
                "summarize.model".into(),
                cfg.summarize.model.clone(),
                cfg.resolved_dtype(Task::Summarize),
            ));
        } else {
            specs.push(("llm.model".into(), cfg.llm.model.clone(), "gguf".into()));
        }
        for (t, key) in cfg.translator_specs() {
            if !skipped_pairs.contains(&t.pair) {
                specs.push((key, t.spec, cfg.resolved_dtype(Task::Translate)));
            }
        }
        for (key, spec, dtype) in specs {
            if self.models.contains_key(&key) {
                continue;
            }
            let parsed = Spec::parse(&spec);
            if matches!(parsed, Spec::Lead) {
                continue;
            }
            let info = model_info(&spec, parsed.files(), &dtype).map_err(|source| Error::Fingerprint {
                key: key.clone(),
                source,
            })?;
            self.models.insert(key, info);
        }
        Ok(self)
    }

    /// Read the manifest beside `output`; `None` when there is none.
    pub fn read(output: &Path) -> Result<Option<Manifest>, Error> {
        let path = path_for(output);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Resume {
                    path: output.to_path_buf(),
                    reason: format!("cannot read its run manifest `{}`: {e}", path.display()),
                });
            }
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Resume {
            path: output.to_path_buf(),
            reason: format!("its run manifest `{}` is damaged ({e})", path.display()),
        })
    }

    /// Write it beside `output`, atomically (a temporary file renamed over the old one).
    pub fn write(&self, output: &Path) -> Result<(), Error> {
        let path = path_for(output);
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).expect("manifests serialise");
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| Error::Output { path, source })
    }

    /// What differs between the run that wrote the output (`self`) and this one (`now`), in
    /// words; empty when they match.
    pub fn differences(&self, now: &Manifest) -> Vec<String> {
        let mut out = Vec::new();
        let keys: std::collections::BTreeSet<&String> = self.settings.keys().chain(now.settings.keys()).collect();
        for k in keys {
            let (a, b) = (self.settings.get(k), now.settings.get(k));
            if a != b {
                let show = |v: Option<&String>| v.map_or("(unset)".to_string(), |s| s.clone());
                out.push(format!("setting `{k}` was {} and is now {}", show(a), show(b)));
            }
        }
        if self.shard != now.shard {
            let show = |s: Option<Shard>| s.map_or("not a shard".to_string(), |s| format!("shard {s}"));
            out.push(format!(
                "it was written as {} and this run is {}",
                show(self.shard),
                show(now.shard)
            ));
        }
        // Manifests of older versions name no models: nothing to compare then.
        if !self.models.is_empty() {
            let keys: std::collections::BTreeSet<&String> = self.models.keys().chain(now.models.keys()).collect();
            for k in keys {
                let sums = |m: &Manifest| {
                    m.models.get(k).map(|i| {
                        // By file name, not path: shards on nodes with caches of their own
                        // (another HF_HOME) load the same files from other directories.
                        i.files
                            .iter()
                            .map(|f| {
                                let name = Path::new(&f.path).file_name().map(|n| n.to_os_string());
                                (name, f.sha256.clone())
                            })
                            .collect::<Vec<_>>()
                    })
                };
                let (a, b) = (sums(self), sums(now));
                if a != b {
                    let what = match (&a, &b) {
                        (None, _) => "was not loaded and is now".to_string(),
                        (_, None) => "was loaded and is not now".to_string(),
                        _ => "has other files now (SHA-256 differ)".to_string(),
                    };
                    out.push(format!("model `{k}` {what}"));
                } else if let (Some(x), Some(y)) = (self.models.get(k), now.models.get(k))
                    && x.dtype != y.dtype
                {
                    // The settings may be equal and the dtype not: "auto" follows the device.
                    out.push(format!(
                        "model `{k}` ran in {} and would now run in {} (dtype \"auto\" follows run.device)",
                        x.dtype, y.dtype
                    ));
                }
            }
        }
        let names = |m: &Manifest| m.inputs.iter().map(|i| i.input.clone()).collect::<Vec<_>>();
        if names(self) != names(now) {
            out.push(format!(
                "these are not the inputs of the interrupted run: they were {:?} and are now {:?}",
                names(self),
                names(now)
            ));
            return out;
        }
        for (a, b) in self.inputs.iter().zip(&now.inputs) {
            if a.kind == "stdin" || a.kind == "other" {
                continue;
            }
            if a != b {
                let what = match (a.kind.as_str(), b.kind.as_str()) {
                    ("file", "file") if a.size != b.size => format!(
                        "input `{}` changed (size {} → {} bytes)",
                        a.input,
                        a.size.unwrap_or(0),
                        b.size.unwrap_or(0)
                    ),
                    ("file", "file") => format!("input `{}` changed (modified since)", a.input),
                    ("dir", "dir") => format!(
                        "input directory `{}` changed ({} → {} files; files added, removed or modified)",
                        a.input,
                        a.files.unwrap_or(0),
                        b.files.unwrap_or(0)
                    ),
                    (x, y) => format!("input `{}` was a {x} and is now a {y}", a.input),
                };
                out.push(what);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_inputs_changes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.md");
        std::fs::write(&file, "# T\n\nBody.\n").unwrap();
        let sub = dir.path().join("d");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("x.md"), "x").unwrap();
        let inputs = vec![file.display().to_string(), sub.display().to_string()];
        let cfg = PipelineConfig::default();
        let before = Manifest::of(&cfg, &inputs);
        assert!(before.differences(&Manifest::of(&cfg, &inputs)).is_empty());

        // Threads and the output path do not shape records.
        let mut other = cfg.clone();
        other.run.threads = 7;
        other.output.path = "elsewhere.jsonl".into();
        assert!(before.differences(&Manifest::of(&other, &inputs)).is_empty());

        let mut lead1 = cfg.clone();
        lead1.summarize.lead_sentences = 1;
        let d = before.differences(&Manifest::of(&lead1, &inputs));
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("summarize.lead_sentences") && d[0].contains('3') && d[0].contains('1'));

        std::fs::write(&file, "# T\n\nBody, longer now.\n").unwrap();
        std::fs::write(sub.join("y.md"), "y").unwrap();
        let d = before.differences(&Manifest::of(&cfg, &inputs));
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("a.md") && d[0].contains("size"), "{d:?}");
        assert!(d[1].contains("1 → 2 files"), "{d:?}");

        // Model files compare by name and SHA-256, wherever they were loaded from.
        let model = |dir: &str, sha: &str| crate::models::fingerprint::ModelInfo {
            spec: "opus-mt-ru-en".into(),
            id: "Helsinki-NLP/opus-mt-ru-en".into(),
            revision: "main".into(),
            commit: None,
            files: vec![crate::models::fingerprint::FileHash {
                path: format!("{dir}/model.safetensors"),
                bytes: 3,
                sha256: sha.into(),
            }],
            dtype: "f32".into(),
        };
        let (mut a, mut b) = (before.clone(), before.clone());
        a.models
            .insert("translate.models.ru-en".into(), model("/node1/hf/snap", "aa"));
        b.models
            .insert("translate.models.ru-en".into(), model("/node2/cache/snap", "aa"));
        assert!(a.differences(&b).is_empty());
        b.models
            .insert("translate.models.ru-en".into(), model("/node1/hf/snap", "bb"));
        let d = a.differences(&b);
        assert!(
            d.len() == 1 && d[0].contains("translate.models.ru-en") && d[0].contains("SHA-256"),
            "{d:?}"
        );
        // The same files in another dtype (dtype auto on another device) are another run.
        let mut on_gpu = model("/node1/hf/snap", "aa");
        on_gpu.dtype = "bf16".into();
        b.models.insert("translate.models.ru-en".into(), on_gpu);
        let d = a.differences(&b);
        assert!(
            d.len() == 1 && d[0].contains("ran in f32 and would now run in bf16"),
            "{d:?}"
        );

        // Written and read back as it was.
        let out = dir.path().join("out.jsonl");
        before.write(&out).unwrap();
        assert_eq!(Manifest::read(&out).unwrap(), Some(before));
        assert_eq!(path_for(&out), dir.path().join("out.jsonl.run.json"));
    }
}
