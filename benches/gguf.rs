//! svodka's side of the GGUF speed comparison with llama.cpp (`benches/peers/gguf.sh` runs
//! both on the same file, the same prompt ids and the same number of generated tokens).
//!
//! `cargo bench --bench gguf -- MODEL.gguf PROMPT_JSON` (PROMPT_JSON from
//! `benches/peers/llama_cpp_gguf.py`: `{"ids": [...], "new": N}`). Threads: rayon's
//! (`RAYON_NUM_THREADS`). Prompt processing runs the prompt in blocks of 512; generation
//! takes exactly N greedy tokens (end-of-generation ignored). With `"parallel": P` in the
//! JSON, also P sequences over the same prompt generating N tokens each, decoded together
//! (one batched step per token: `Llm::forward_batch`, as `llm.batch` runs them); their
//! generated tokens/s counts all P sequences' tokens. One warm-up round, then 5 measured;
//! prints one JSON line with the tokens/s of every round. With `SVODKA_BENCH_KV_MB=N` it
//! measures memory instead: P sequences through the run's engine with `llm.kv_cache_mb` = N.
//! Without arguments (as `cargo bench` runs every bench) it says what it needs and exits.
//! `SVODKA_DEVICE=cuda` (a `--features cuda` build, benches/gpu/check.sh) runs it on a GPU;
//! every timed span ends with a token back on the host, so the GPU's queue is drained in it.

use std::time::Instant;

use svodka::models::llm::Llm;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [model, prompt] = args.as_slice() else {
        eprintln!("gguf bench: needs MODEL.gguf PROMPT_JSON (see benches/peers/gguf.sh); skipped");
        return;
    };
    let device = svodka::device::resolve(&std::env::var("SVODKA_DEVICE").unwrap_or_else(|_| "cpu".into()))
        .unwrap_or_else(|e| panic!("SVODKA_DEVICE: {e}"));
    let (llm, _) = Llm::load(std::path::Path::new(model), &device).expect("load the model");
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(prompt).unwrap()).unwrap();
    let ids: Vec<u32> = spec["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let new = spec["new"].as_u64().unwrap() as usize;
    let parallel = spec["parallel"].as_u64().unwrap_or(0) as usize;
    // Memory alone, before any speed round: those would leave a cache of their own behind and
    // run the long prompt six more times.
    if let Ok(mb) = std::env::var("SVODKA_BENCH_KV_MB") {
        memory(
            &llm,
            &ids,
            new,
            parallel.max(1),
            mb.parse().expect("SVODKA_BENCH_KV_MB: MiB"),
        );
        return;
    }
    let argmax =
        |t: &candle_core::Tensor| -> u32 { t.squeeze(0).unwrap().argmax(0).unwrap().to_scalar::<u32>().unwrap() };
    let (mut prompt_tps, mut gen_tps) = (Vec::new(), Vec::new());
    let mut cache = llm.new_cache();
    for round in 0..6 {
        llm.reset_cache(&mut cache);
        let t = Instant::now();
        let mut logits = None;
        for block in ids.chunks(512) {
            logits = Some(llm.forward(block, &mut cache, false).unwrap());
        }
        let mut next = argmax(&logits.unwrap());
        let t_prompt = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..new {
            next = argmax(&llm.forward(&[next], &mut cache, false).unwrap());
        }
        let t_gen = t.elapsed().as_secs_f64();
        if round > 0 {
            prompt_tps.push(ids.len() as f64 / t_prompt);
            gen_tps.push(new as f64 / t_gen);
        }
    }
    let mut par_gen_tps = Vec::new();
    if parallel > 0 {
        let mut caches: Vec<_> = (0..parallel).map(|_| llm.new_cache()).collect();
        for round in 0..6 {
            let mut next = Vec::new();
            for c in caches.iter_mut() {
                llm.reset_cache(c);
                llm.reserve(c, ids.len() + new).unwrap();
                let mut logits = None;
                for block in ids.chunks(512) {
                    logits = Some(llm.forward(block, c, false).unwrap());
                }
                next.push(argmax(&logits.unwrap()));
            }
            let t = Instant::now();
            for _ in 0..new {
                let mut refs: Vec<_> = caches.iter_mut().collect();
                let logits = llm.forward_batch(&next, &mut refs).unwrap();
                next = logits.argmax(1).unwrap().to_vec1::<u32>().unwrap();
            }
            let t_gen = t.elapsed().as_secs_f64();
            if round > 0 {
                par_gen_tps.push((parallel * new) as f64 / t_gen);
            }
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "engine": if device.is_cpu() { "svodka" } else { "svodka-cuda" },
            "device": svodka::device::name(&device),
            "prompt_tokens": ids.len(),
            "new_tokens": new,
            "threads": rayon::current_num_threads(),
            "prompt_tps": prompt_tps,
            "gen_tps": gen_tps,
            "parallel": parallel,
            "parallel_gen_tps": par_gen_tps,
            "gpu_used_mb": svodka::device::gpu_used_mb(&device),
        })
    );
}

/// `SVODKA_BENCH_KV_MB=N`: `parallel` sequences over the prompt, `new` tokens each, through the engine a
/// run uses (`complete_all`, `llm.batch` = `parallel`, `llm.kv_cache_mb` = N); prints the
/// peak RSS and the time. Run it in a process of its own for each N: the peak is the process's.
fn memory(llm: &Llm, ids: &[u32], new: usize, parallel: usize, mb: usize) {
    use svodka::generate::continuous::{BatchLimits, Request, complete_all};
    use svodka::generate::sample::SamplingConfig;
    let cfg = SamplingConfig {
        max_new_tokens: new,
        ..SamplingConfig::default()
    };
    let requests: Vec<Request> = (0..parallel)
        .map(|_| Request {
            prompt: ids,
            stop: &[],
            cfg: &cfg,
        })
        .collect();
    // The peak from here on (Linux: "5" to clear_refs resets VmHWM to the current RSS), so that
    // the load's transient copies do not hide the caches.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_loaded = svodka::bench::run::peak_rss_mb();
    let t = Instant::now();
    let out = complete_all(
        llm,
        &requests,
        BatchLimits {
            batch: parallel,
            cache_budget: mb << 20,
        },
    );
    let wall = t.elapsed().as_secs_f64();
    assert!(out.iter().all(|r| r.is_ok()), "every sequence runs");
    println!(
        "{}",
        serde_json::json!({
            "engine": "svodka",
            "sequences": parallel,
            "positions": ids.len() + new,
            "kv_cache_mb": mb,
            "kv_mb_per_sequence": (llm.cache_bytes_per_position() * (ids.len() + new)) as f64 / (1u64 << 20) as f64,
            "rss_mb_loaded": rss_loaded,
            "peak_rss_mb": svodka::bench::run::peak_rss_mb(),
            "wall_s": wall,
        })
    );
}
