//! Differential generation test: svodka's `generate` against transformers' on hundreds of
//! random cases (family × config variant × generation settings × padded batch), written by
//! `tests/fixtures/differential/generate.py` from the committed tiny models. Every case must
//! come out token for token as transformers' batched output, both batched and each input alone.
//!
//! All cases run before the test fails, so one run lists every divergence with its settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use serde_json::Value;
use svodka::generate::{GenerationConfig, Resolved, Seq2Seq, generate};
use svodka::models::load_seq2seq;

mod common;
use common::{id_rows as ids, read_json as json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What `generate(**kwargs)` resolves to: the model's `generation_config.json`, the token ids
/// of its `config.json`, then the call's kwargs.
fn resolve(variant: &str, kwargs: &Value) -> Resolved {
    let d = fixtures().join(variant);
    let config = json(&d.join("config.json"));
    let mut g = GenerationConfig::from_hf_json(&json(&d.join("generation_config.json"))).unwrap();
    g.fill_from_model_config(&config);
    g.merge(&GenerationConfig::from_hf_json(kwargs).unwrap());
    let max_pos = config["max_position_embeddings"].as_u64().map(|v| v as usize);
    g.resolve(max_pos).unwrap_or_else(|e| panic!("{variant} {kwargs}: {e}"))
}

/// transformers' rows are cut after their first EOS by the generator; svodka returns each row
/// up to its EOS (or the length limit), so they compare as they are.
fn describe(case: &Value, what: &str, want: &[u32], got: &[u32]) -> String {
    let first = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    format!(
        "{} ({}) {what}: differs from token {first}\n  kwargs {}\n  want {want:?}\n  got  {got:?}",
        case["id"].as_str().unwrap(),
        case["variant"].as_str().unwrap(),
        case["kwargs"]
    )
}

#[test]
fn svodka_generates_what_transformers_generates_on_every_random_case() {
    // SVODKA_DIFFERENTIAL_CASES: a file the generator wrote with another seed or more cases
    // (`generate.py --out`), to explore beyond the committed draw.
    let explore = std::env::var_os("SVODKA_DIFFERENTIAL_CASES").map(PathBuf::from);
    let doc = json(
        &explore
            .clone()
            .unwrap_or_else(|| fixtures().join("differential/cases.json")),
    );
    let cases = doc["cases"].as_array().expect("cases");
    // Not vacuous: the generator's promise, checked here so a truncated file cannot pass.
    assert!(explore.is_some() || cases.len() >= 300, "only {} cases", cases.len());
    let mut per_variant: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for c in cases {
        per_variant.entry(c["variant"].as_str().unwrap()).or_default().push(c);
    }
    let families = [
        "marian/",
        "seq2seq/bart",
        "seq2seq/mbart",
        "seq2seq/t5",
        "seq2seq/t5v1",
        "seq2seq/m2m100",
    ];
    for family in families.iter().filter(|_| explore.is_none()) {
        assert!(
            per_variant.keys().any(|v| v.starts_with(family)),
            "no case for {family}"
        );
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for (variant, cases) in &per_variant {
        let model: Box<dyn Seq2Seq> = load_seq2seq(&fixtures().join(variant), DType::F32, &Device::Cpu)
            .unwrap_or_else(|e| panic!("{variant}: {e:?}"));
        for case in cases {
            let cfg = resolve(variant, &case["kwargs"]);
            let inputs = ids(&case["input_ids"]);
            let want = ids(&case["sequences"]);
            let got = generate(model.as_ref(), &inputs, &cfg).unwrap();
            for (r, (w, g)) in want.iter().zip(&got).enumerate() {
                if w != g {
                    failures.push(describe(case, &format!("row {r} batched"), w, g));
                }
            }
            if inputs.len() > 1 {
                for (r, input) in inputs.iter().enumerate() {
                    let one = generate(model.as_ref(), std::slice::from_ref(input), &cfg).unwrap();
                    if one[0] != want[r] {
                        failures.push(describe(case, &format!("row {r} alone"), &want[r], &one[0]));
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases.len());
    assert!(
        failures.is_empty(),
        "{} divergences from transformers in {} cases:\n{}",
        failures.len(),
        checked,
        failures.join("\n")
    );
}

/// The GGUF path against llama.cpp: greedy decoding with its `penalties` sampler (the prompt in
/// the window, as llama-cli and llama-server have it) and stop tokens, written by
/// `tests/fixtures/differential/generate_gguf.py` from the tiny models of `tests/fixtures/gguf`.
#[test]
fn gguf_greedy_with_repetition_penalty_and_stop_tokens_equals_llama_cpp() {
    use svodka::generate::sample::{SamplingConfig, complete};
    use svodka::models::llm::Llm;

    let doc = json(&fixtures().join("differential/gguf_cases.json"));
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let ids1 = |v: &Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    let mut models: BTreeMap<&str, Llm> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let model = case["model"].as_str().unwrap();
        let llm = models.entry(model).or_insert_with(|| {
            Llm::load(&fixtures().join(model), &candle_core::Device::Cpu)
                .unwrap_or_else(|e| panic!("{model}: {e}"))
                .0
        });
        let cfg = SamplingConfig {
            max_new_tokens: case["max_new_tokens"].as_u64().unwrap() as usize,
            repetition_penalty: case["repetition_penalty"].as_f64().unwrap() as f32,
            repeat_last_n: case["repeat_last_n"].as_u64().unwrap() as usize,
            ..SamplingConfig::default()
        };
        let got = complete(llm, &ids1(&case["prompt_ids"]), &ids1(&case["stop"]), &cfg).unwrap();
        let (want, stopped) = (ids1(&case["tokens"]), case["stopped"].as_bool().unwrap());
        if got.tokens != want || got.stopped != stopped {
            failures.push(format!(
                "{}: penalty {} last {} stop {:?}\n  want {want:?} stopped {stopped}\n  got  {:?} stopped {}",
                case["id"].as_str().unwrap(),
                case["repetition_penalty"],
                case["repeat_last_n"],
                case["stop"],
                got.tokens,
                got.stopped
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from llama.cpp:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
