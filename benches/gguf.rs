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
//! prints one JSON line with the tokens/s of every round.
//! Without arguments (as `cargo bench` runs every bench) it says what it needs and exits.

use std::time::Instant;

use svodka::models::llm::Llm;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [model, prompt] = args.as_slice() else {
        eprintln!("gguf bench: needs MODEL.gguf PROMPT_JSON (see benches/peers/gguf.sh); skipped");
        return;
    };
    let (llm, _) = Llm::load(std::path::Path::new(model)).expect("load the model");
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(prompt).unwrap()).unwrap();
    let ids: Vec<u32> = spec["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let new = spec["new"].as_u64().unwrap() as usize;
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
        let t_prompt = t.elapsed().as_secs_f64();
        let mut next = argmax(&logits.unwrap());
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
    let parallel = spec["parallel"].as_u64().unwrap_or(0) as usize;
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
            "engine": "svodka",
            "prompt_tokens": ids.len(),
            "new_tokens": new,
            "threads": rayon::current_num_threads(),
            "prompt_tps": prompt_tps,
            "gen_tps": gen_tps,
            "parallel": parallel,
            "parallel_gen_tps": par_gen_tps,
        })
    );
}
