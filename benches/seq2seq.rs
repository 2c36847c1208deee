//! svodka's side of the seq2seq speed comparison with transformers and CTranslate2
//! (`benches/peers/seq2seq.sh` runs every engine on the same model files, the same source ids
//! and the same number of decode steps, one after another in one run).
//!
//! ```text
//! cargo bench --bench seq2seq -- --model HF_DIR --inputs INPUTS_JSON --batch B --beams K \
//!     --steps S --runs R --threads T [--warmup 1] [--dtype f32|int8|f16|bf16|auto] [--device cpu|cuda]
//! ```
//! `--device cuda` (a `--features cuda` build, benches/gpu/check.sh) runs the model on a GPU;
//! the engine is then named `svodka-cuda-DTYPE`. Each step's logits come back to the host for
//! the search, so the time is the whole step's, as the peers' is.
//! INPUTS_JSON: `{"ids": [[...], ...]}` from `benches/peers/seq2seq_peers.py build`; the first B
//! rows form the batch. Each run generates exactly S tokens per sequence: `min_new_tokens` =
//! `max_new_tokens` = S, so EOS cannot end it early (as `min_new_tokens` in transformers and
//! `min_decoding_length` in CTranslate2). Loading is not timed; `warmup` runs are dropped.
//! Threads: rayon's global pool and candle's (`T`). Prints one JSON line, as the Python peers do,
//! with the load time, the resident memory once loaded and while generating (`rss_mb`, VmRSS
//! after the last run: the weights and the working buffers, not the transient load) and the
//! peak (`peak_rss_mb`, VmHWM: includes the mapped checkpoint while loading).
//! Without arguments (as a plain `cargo bench` runs every bench) it says what it needs and exits.
//!
//! `--quality 1` times nothing: it loads the model in float32 and in int8 and prints how
//! closely int8 follows (`svodka::bench::agreement`) on the first B rows, greedy, S steps.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use svodka::backends::generation_settings;
use svodka::generate::GenerationConfig;
use svodka::generate::search::generate;
use svodka::models::{load_seq2seq, precision_for, precision_name};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut opts = HashMap::new();
    for pair in args.chunks(2) {
        if let [k, v] = pair {
            opts.insert(k.trim_start_matches("--").to_string(), v.clone());
        }
    }
    let Some(model) = opts.get("model").map(PathBuf::from) else {
        eprintln!("seq2seq bench: needs --model DIR --inputs FILE ... (see benches/peers/seq2seq.sh); skipped");
        return;
    };
    let num = |k: &str, default: usize| -> usize {
        opts.get(k).map_or(default, |v| {
            v.parse().unwrap_or_else(|_| panic!("--{k}: not a number: {v}"))
        })
    };
    let (batch, beams, steps, runs, warmup) = (
        num("batch", 1),
        num("beams", 1),
        num("steps", 32),
        num("runs", 5),
        num("warmup", 1),
    );
    let threads = num("threads", 2);
    // The pools as the svodka binary sizes them (rayon's and candle's), before any model runs.
    svodka::runtime::init(&svodka::config::RunConfig {
        threads,
        ..Default::default()
    });

    let inputs_path = opts.get("inputs").expect("--inputs FILE");
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(inputs_path).unwrap()).unwrap();
    let rows: Vec<Vec<u32>> = spec["ids"]
        .as_array()
        .expect("inputs: ids")
        .iter()
        .take(batch)
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), batch, "inputs hold fewer than {batch} rows");

    if num("quality", 0) == 1 {
        return quality(&model, &rows, steps);
    }
    let device = svodka::device::resolve(opts.get("device").map_or("cpu", String::as_str))
        .unwrap_or_else(|e| panic!("--device: {e}"));
    let precision = precision_for(opts.get("dtype").map_or("f32", String::as_str), &device)
        .unwrap_or_else(|e| panic!("--dtype: {e}"));
    let dtype = precision_name(precision);
    let t = Instant::now();
    let model_box = load_seq2seq(&model, precision, &device).expect("load the model");
    let load_s = t.elapsed().as_secs_f64();
    let loaded_rss = status_mb("VmRSS:");
    let overrides = GenerationConfig {
        num_beams: Some(beams),
        max_new_tokens: Some(steps),
        min_new_tokens: Some(steps),
        ..Default::default()
    };
    let cfg = generation_settings(&model, None, &overrides, "bench").expect("generation settings");
    let mut secs = Vec::new();
    for round in 0..warmup + runs {
        let t = Instant::now();
        let out = generate(model_box.as_ref(), &rows, &cfg).expect("generate");
        let dt = t.elapsed().as_secs_f64();
        for o in &out {
            // The output holds the decoder start token, then the generated ones.
            assert_eq!(o.len(), steps + 1, "a sequence ended early: {} tokens", o.len() - 1);
        }
        if round >= warmup {
            secs.push(dt);
        }
    }
    let mut sorted = secs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 {
        sorted[runs / 2]
    } else {
        (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2.0
    };
    let shape = shape_of(&model);
    println!(
        "{}",
        serde_json::json!({
            "engine": match (device.is_cpu(), dtype) {
                (true, "f32") => "svodka".to_string(),
                (true, _) => format!("svodka-{dtype}"),
                (false, _) => format!("svodka-cuda-{dtype}"),
            },
            "device": svodka::device::name(&device),
            "shape": shape, "batch": batch, "beams": beams, "steps": steps,
            "threads": threads, "secs": secs, "median_s": median,
            "gen_tps": (batch * steps) as f64 / median, "load_s": load_s,
            "loaded_rss_mb": loaded_rss, "rss_mb": status_mb("VmRSS:"), "peak_rss_mb": status_mb("VmHWM:"),
            "gpu_used_mb": svodka::device::gpu_used_mb(&device),
        })
    );
}

/// int8 against float32 on `rows`, greedy, exactly `steps` tokens: one JSON line.
fn quality(model: &std::path::Path, rows: &[Vec<u32>], steps: usize) {
    use svodka::models::Precision;
    let f32 = load_seq2seq(model, Precision::Float(candle_core::DType::F32), &Device::Cpu).expect("load f32");
    let int8 = load_seq2seq(model, Precision::Int8, &Device::Cpu).expect("load int8");
    let overrides = GenerationConfig {
        num_beams: Some(1),
        max_new_tokens: Some(steps),
        min_new_tokens: Some(steps),
        ..Default::default()
    };
    let cfg = generation_settings(model, None, &overrides, "bench").expect("generation settings");
    let a = svodka::bench::agreement::agreement(f32.as_ref(), int8.as_ref(), rows, &cfg).expect("compare");
    let shape = shape_of(model);
    println!(
        "{}",
        serde_json::json!({"shape": shape, "steps": steps, "int8_vs_f32": a, "equal_share": a.equal_share()})
    );
}

/// The shape a model directory belongs to: `.models/<shape>/hf` → `<shape>`.
fn shape_of(model: &std::path::Path) -> String {
    model
        .parent()
        .and_then(|p| p.file_name())
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

/// A `/proc/self/status` memory line (`VmRSS:`, `VmHWM:`) in MiB; 0 where there is none.
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
