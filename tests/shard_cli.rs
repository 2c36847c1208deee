//! Shards and their merge, end to end through the real binary: `svodka run --shard K/4` for
//! K = 0..3 over the fixture corpus (files, a JSONL feed, a tar.gz archive and planted
//! near-duplicates that fall into other shards than their originals), then `svodka merge`,
//! must give exactly the records of one run (`timings_ms` aside). Shards of two
//! configurations, a missing shard, a cut-off shard and a killed shard must each be refused
//! with a clear message and exit status 1, writing nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::archives::tar_gz_of;

const BIN: &str = env!("CARGO_BIN_EXE_svodka");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn svodka(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("svodka starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn without_timings(recs: &[Value]) -> Vec<Value> {
    recs.iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("timings_ms");
            r
        })
        .collect()
}

/// The corpus: the fixture articles as files, each Markdown article's copy with a trailing
/// "Read more" line and a changed headline (near-duplicates), the JSONL feed, a JSONL line
/// cut short (an error record) and a tar.gz of the articles again (exact copies of the files).
fn corpus(dir: &Path) -> Vec<String> {
    let c = dir.join("corpus");
    std::fs::create_dir(&c).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("articles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        std::fs::copy(f, c.join(format!("a-{name}"))).unwrap();
        if name.ends_with(".md") {
            let md = std::fs::read_to_string(f).unwrap();
            let (_, rest) = md.split_once('\n').unwrap();
            let copy = format!(
                "# Updated\n{}\n\nRead more: subscribe to our newsletter.\n",
                rest.trim_end()
            );
            std::fs::write(c.join(format!("b-{name}")), copy).unwrap();
        }
    }
    std::fs::copy(fixtures().join("feed.jsonl"), c.join("c-feed.jsonl")).unwrap();
    std::fs::write(c.join("d-broken.jsonl"), "{\"title\": \"cut\n").unwrap();
    std::fs::write(dir.join("news.tar.gz"), tar_gz_of(&files, "09/")).unwrap();
    vec!["corpus".into(), "news.tar.gz".into()]
}

fn run_args<'a>(inputs: &'a [String], out: &'a str, bart: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run", "-q", "-o", out, "--set", bart, "--set", "translate.models={}"];
    v.extend(extra);
    v.extend(inputs.iter().map(String::as_str));
    v
}

#[test]
fn shards_merge_into_exactly_one_runs_records_and_bad_sets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inputs = corpus(d);
    let bart = format!("summarize.model={}", fixtures().join("seq2seq/bart").display());

    let o = svodka(d, &run_args(&inputs, "single.jsonl", &bart, &[]));
    assert!(o.status.code() == Some(3), "one error record, exit 3: {}", stderr(&o));
    let single = records(&d.join("single.jsonl"));
    let dups = single.iter().filter(|r| r.get("duplicate_of").is_some()).count();
    assert!(dups >= 10, "the corpus has copies: {dups}");

    let names: Vec<String> = (0..4).map(|k| format!("shard-{k}.jsonl")).collect();
    for (k, name) in names.iter().enumerate() {
        let spec = format!("{k}/4");
        let o = svodka(d, &run_args(&inputs, name, &bart, &["--shard", &spec]));
        assert!(o.status.code().is_some_and(|c| c == 0 || c == 3), "{}", stderr(&o));
        let recs = records(&d.join(name));
        // Its share, dealt one unit in four.
        let want: Vec<&Value> = single.iter().skip(k).step_by(4).collect();
        assert_eq!(recs.len(), want.len());
        for (r, w) in recs.iter().zip(want) {
            assert_eq!(r["source"], w["source"]);
        }
        let m: Value = serde_json::from_slice(&std::fs::read(d.join(format!("{name}.run.json"))).unwrap()).unwrap();
        assert_eq!(m["shard"], serde_json::json!({"index": k, "count": 4}));
        assert_eq!(m["finished"]["records"], recs.len());
        assert_eq!(m["finished"]["units"], single.len());
        assert!(m["models"]["summarize.model"]["files"].as_array().unwrap().len() >= 2);
        assert!(m["config_sha256"].as_str().unwrap().len() == 64);
    }

    // Merged in any order of arguments: the single run's records.
    let mut args = vec!["merge", "-o", "all.jsonl"];
    args.extend(names.iter().rev().map(String::as_str));
    let o = svodka(d, &args);
    assert_eq!(
        o.status.code(),
        Some(3),
        "error records in, exit 3 as for run: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("merged 4 shards"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{dups} duplicates")), "{}", stderr(&o));
    let merged = records(&d.join("all.jsonl"));
    assert!(merged.iter().all(|r| r.get("dedup_print").is_none()));
    assert_eq!(without_timings(&merged), without_timings(&single));
    // Copies across shards reuse their originals' summaries, with no model time.
    let crossing = merged
        .iter()
        .enumerate()
        .filter(|(n, r)| {
            r.get("duplicate_of").is_some_and(|id| {
                let o = merged.iter().position(|x| x.get("id") == Some(id)).unwrap();
                o % 4 != n % 4
            })
        })
        .count();
    assert!(crossing >= 5, "copies in other shards than their originals: {crossing}");
    for r in merged.iter().filter(|r| r.get("duplicate_of").is_some()) {
        assert!(r["timings_ms"].get("summarize").is_none(), "{r}");
    }

    // `svodka merge -o bad.jsonl SHARDS…` must fail, saying `want`, writing nothing.
    let refused = |shards: &[&str], want: &[&str]| {
        let _ = std::fs::remove_file(d.join("bad.jsonl"));
        let args: Vec<&str> = ["merge", "-o", "bad.jsonl"].iter().chain(shards).copied().collect();
        let o = svodka(d, &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        for w in want {
            assert!(e.contains(w), "{args:?}: wanted {w:?} in: {e}");
        }
        assert!(!d.join("bad.jsonl").exists(), "nothing written: {args:?}");
        assert!(!d.join("bad.jsonl.merging").exists());
        assert!(!d.join("bad.jsonl.run.json").exists());
    };

    // A missing shard.
    refused(
        &[&names[0], &names[1], &names[3]],
        &["shard 2/4 is missing", "--shard K/4"],
    );
    // The same shard twice.
    refused(
        &[&names[0], &names[1], &names[2], &names[3], &names[1]],
        &["given twice"],
    );
    // A shard of another configuration.
    let o = svodka(
        d,
        &run_args(
            &inputs,
            "other-2.jsonl",
            &bart,
            &["--shard", "2/4", "--set", "dedup.threshold=0.9"],
        ),
    );
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 3), "{}", stderr(&o));
    refused(
        &[&names[0], &names[1], "other-2.jsonl", &names[3]],
        &["not shards of one run", "dedup.threshold", "0.8", "0.9"],
    );
    // A finished shard cut short afterwards (a partial copy).
    let cut = d.join("cut-1.jsonl");
    let bytes = std::fs::read(d.join(&names[1])).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(d.join(format!("{}.run.json", names[1])), d.join("cut-1.jsonl.run.json")).unwrap();
    refused(
        &[&names[0], "cut-1.jsonl", &names[2], &names[3]],
        &["shard 1/4", "cut-1.jsonl", "--resume"],
    );
    // A shard whose job was killed: records cut at a line, no `finished` in its manifest. The
    // message gives the command that resumes it; run, the merge goes through.
    let killed = d.join("killed-3.jsonl");
    let text = std::fs::read_to_string(d.join(&names[3])).unwrap();
    let half: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&killed, half).unwrap();
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(d.join(format!("{}.run.json", names[3]))).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("finished");
    let cmd = m["command"].as_array().unwrap().clone();
    let out_at = cmd.iter().position(|w| w == "-o").unwrap() + 1;
    m["command"][out_at] = "killed-3.jsonl".into();
    std::fs::write(d.join("killed-3.jsonl.run.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    refused(
        &[&names[0], &names[1], &names[2], "killed-3.jsonl"],
        &[
            "shard 3/4",
            "incomplete",
            "2 records",
            "-o killed-3.jsonl",
            "--shard 3/4",
            "--resume",
        ],
    );
    // Resumed as a shard of another number: refused, the output kept.
    let o = svodka(
        d,
        &run_args(&inputs, "killed-3.jsonl", &bart, &["--shard", "2/4", "--resume"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("shard 3/4") && stderr(&o).contains("shard 2/4"),
        "{}",
        stderr(&o)
    );
    let o = svodka(
        d,
        &run_args(&inputs, "killed-3.jsonl", &bart, &["--shard", "3/4", "--resume"]),
    );
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 3), "{}", stderr(&o));
    let o = svodka(
        d,
        &[
            "merge",
            "-q",
            "-o",
            "again.jsonl",
            &names[0],
            &names[1],
            &names[2],
            "killed-3.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        without_timings(&records(&d.join("again.jsonl"))),
        without_timings(&single)
    );

    // Not a shard at all.
    refused(&["single.jsonl"], &["not a shard"]);
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_and_bad_values_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let articles = fixtures().join("articles");
    let a = articles.to_str().unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(["run", "-q"]).args(args).arg(a).current_dir(d);
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_COUNT",
            "JOB_COMPLETION_INDEX",
        ] {
            c.env_remove(v);
        }
        c.envs(env.iter().copied()).output().unwrap()
    };
    let sources = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["source"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let all = sources(&run(&[], &[]));
    assert_eq!(all.len(), 9);
    let slurm = run(
        &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &["--shard", "auto"],
    );
    assert!(slurm.status.success(), "{}", stderr(&slurm));
    assert_eq!(
        sources(&slurm),
        all.iter().skip(1).step_by(3).cloned().collect::<Vec<_>>()
    );
    let k8s = run(
        &[("JOB_COMPLETION_INDEX", "0")],
        &["--shard", "auto", "--shard-count", "4"],
    );
    assert_eq!(sources(&k8s), all.iter().step_by(4).cloned().collect::<Vec<_>>());

    for (env, args, want) in [
        (vec![], vec!["--shard", "auto"], "SLURM_ARRAY_TASK_ID"),
        (
            vec![("JOB_COMPLETION_INDEX", "1")],
            vec!["--shard", "auto"],
            "--shard-count",
        ),
        (vec![], vec!["--shard", "4/4"], "does not exist"),
        (vec![], vec!["--shard", "half"], "K/N"),
    ] {
        let o = run(&env, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}
