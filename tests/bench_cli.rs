//! `svodka bench` end to end on the fixture suite (benches/suites/fixture.toml): the real
//! binary, every task kind and model kind, and the three files it writes, checked field by
//! field; plus a model that cannot load (an error result, the others still measured) and a
//! broken suite (a clear error naming the file).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn svodka(args: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_svodka"))
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` missing or not a number in {v}"))
}

#[test]
fn the_fixture_suite_writes_json_markdown_and_svg() {
    let out = tempfile::tempdir().unwrap();
    let o = svodka(&["bench", "--suite", "benches/suites/fixture.toml"], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("results.json") && stderr.contains("chart.svg"),
        "{stderr}"
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(report["repeats"], 3);
    let results = report["results"].as_array().unwrap();
    // 6 models: marian greedy on 2 tasks, marian beam 4, marian int8, bart, the GGUF on 2,
    // lead-3 on 2.
    assert_eq!(results.len(), 9, "{results:#?}");
    let int8 = results
        .iter()
        .find(|r| r["model"] == "marian-tiny int8")
        .expect("the int8 model");
    assert_eq!(int8["manifest"]["model"]["dtype"], "int8", "{int8}");
    let mut pairs: Vec<(String, String)> = results
        .iter()
        .map(|r| (r["model"].as_str().unwrap().into(), r["task"].as_str().unwrap().into()))
        .collect();
    pairs.sort();
    assert!(pairs.contains(&("qwen2-tiny (GGUF)".into(), "summaries-en".into())));
    assert!(pairs.contains(&("lead-3".into(), "summaries-ru".into())));

    for r in results {
        let what = format!("{} on {}", r["model"], r["task"]);
        assert_eq!(r["status"], "ok", "{what}: {r}");
        assert_eq!(r["failed_items"], 0, "{what}");
        let outputs = std::fs::read_to_string(out.path().join(r["outputs"].as_str().unwrap())).unwrap();
        assert_eq!(
            outputs.lines().count() as f64,
            num(&r["speed"], "items"),
            "{what}: one output a line"
        );
        let q = &r["quality"];
        let scores: &[&str] = match r["kind"].as_str().unwrap() {
            "translate" => &["bleu", "chrf", "chrf_pp"],
            "summarize" => &["rouge1", "rouge2", "rougeL"],
            k => panic!("kind {k}"),
        };
        for k in scores {
            let v = num(q, k);
            assert!((0.0..=100.0).contains(&v), "{what}: {k} = {v}");
        }
        let s = &r["speed"];
        assert!(num(s, "items") >= 3.0, "{what}");
        for k in ["source_tokens", "source_tokens_per_s", "items_per_min", "peak_rss_mb"] {
            assert!(num(s, k) > 0.0, "{what}: {k}");
        }
        for k in ["generated_tokens_per_s", "latency_p50_ms", "load_s"] {
            assert!(num(s, k) >= 0.0, "{what}: {k}");
        }
        assert!(num(s, "latency_p95_ms") >= num(s, "latency_p50_ms"), "{what}");
        assert_eq!(s["pass_s"].as_array().unwrap().len(), 3, "{what}");
        assert_eq!(s["warmup"], 1);

        let m = &r["manifest"];
        assert_eq!(m["threads"], 2, "{what}");
        let mach = &m["machine"];
        for k in ["svodka_version", "git_commit", "cpu_model", "os", "time"] {
            assert!(!mach[k].as_str().unwrap().is_empty(), "{what}: machine.{k}");
        }
        let time = mach["time"].as_str().unwrap();
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{time}"
        );
        let model = &m["model"];
        for k in ["spec", "id", "revision", "dtype"] {
            assert!(!model[k].as_str().unwrap().is_empty(), "{what}: model.{k}");
        }
        let files = model["files"].as_array().unwrap();
        if r["model"] == "lead-3" {
            assert!(files.is_empty());
        } else {
            assert!(!files.is_empty(), "{what}: no files hashed");
            for f in files {
                let h = f["sha256"].as_str().unwrap();
                assert!(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()), "{h}");
            }
            assert!(m["settings"]["batch_tokens"].as_u64().unwrap() > 0);
        }
        // The device a run's models ran on, `auto` resolved.
        let device = m["settings"]["device"].as_str().unwrap();
        assert!(
            device == "cpu" || device.starts_with("cuda:"),
            "{what}: device {device}"
        );
    }
    // The settings of each run are its own: beams and budget from the suite.
    let beam = results.iter().find(|r| r["model"] == "marian-tiny beam 4").unwrap();
    assert_eq!(beam["manifest"]["settings"]["generate"]["num_beams"], 4);
    let greedy = results.iter().find(|r| r["model"] == "marian-tiny greedy").unwrap();
    assert_eq!(greedy["manifest"]["settings"]["batch_tokens"], 256);
    // dtype auto, as it ran: float32 on the CPU.
    if greedy["manifest"]["settings"]["device"] == "cpu" {
        assert_eq!(greedy["manifest"]["settings"]["dtype"], "f32");
        assert_eq!(greedy["manifest"]["model"]["dtype"], "f32");
    }
    let gguf = results.iter().find(|r| r["model"] == "qwen2-tiny (GGUF)").unwrap();
    assert!(gguf["manifest"]["model"]["dtype"].as_str().unwrap().starts_with("gguf"));
    assert_eq!(gguf["manifest"]["settings"]["llm"]["max_new_tokens"], 16);
    // lead-3 copies sentences of the article, so it must overlap the references (the fixture
    // models have random weights and may not); Cyrillic counts for ROUGE.
    for task in ["summaries-en", "summaries-ru"] {
        let lead = results
            .iter()
            .find(|r| r["model"] == "lead-3" && r["task"] == task)
            .unwrap();
        assert!(num(&lead["quality"], "rouge1") > 20.0, "{lead}");
    }

    let md = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    for needle in [
        "## ru-en (translate)",
        "## summaries-ru (summarize)",
        "| marian-tiny beam 4 |",
        "Unicode-aware",
        "## Models",
    ] {
        assert!(md.contains(needle), "results.md lacks {needle}:\n{md}");
    }

    let svg = std::fs::read_to_string(out.path().join("chart.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("chart.svg is well-formed XML");
    let svg_root = doc.root_element();
    assert_eq!(svg_root.tag_name().name(), "svg");
    assert!(svg_root.attribute("width").is_some() && svg_root.attribute("height").is_some());
    let circles = doc.descendants().filter(|n| n.has_tag_name("circle")).count();
    assert_eq!(circles, results.len(), "one point per model and task");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for label in [
        "marian-tiny greedy",
        "lead-3",
        "ru-en: quality against speed",
        "BLEU",
        "ROUGE-L F1",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(label)),
            "no text `{label}` in the chart: {texts:?}"
        );
    }
}

#[test]
fn a_model_that_cannot_load_is_an_error_result_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("benches/suites/fixture/summaries-en.jsonl");
    let suite = dir.path().join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "[settings]\nrepeats = 1\n[[task]]\nname = \"s\"\nkind = \"summarize\"\ndata = {data:?}\nlang = \"en\"\n\
             [[model]]\nname = \"missing\"\nmodel = \"{}/no-such-model\"\n[[model]]\nmodel = \"lead-3\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = svodka(&["bench", "--suite", suite.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "error");
    assert!(
        results[0]["error"].as_str().unwrap().contains("no-such-model"),
        "{}",
        results[0]
    );
    assert_eq!(results[1]["status"], "ok");
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("Could not run") && md.contains("**missing**"), "{md}");
    roxmltree::Document::parse(&std::fs::read_to_string(out.join("chart.svg")).unwrap()).unwrap();
}

#[test]
fn a_broken_suite_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.toml");
    std::fs::write(
        &suite,
        "[[task]]\nname = \"t\"\nkind = \"translate\"\ndata = \"missing.tsv\"\nfrom = \"ru\"\nto = \"en\"\n[[model]]\nmodel = \"lead-3\"\n",
    )
    .unwrap();
    let o = svodka(&["bench", "--suite", suite.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing.tsv"), "{err}");
    assert!(
        !dir.path().join("out").exists(),
        "nothing is written for a suite that cannot run"
    );
}
