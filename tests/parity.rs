//! Token-exact parity with Hugging Face transformers on tiny random-weight models.
//!
//! The fixtures under `tests/fixtures/marian/` (and `tests/fixtures/seq2seq/` for the other
//! families) were written by the `generate.py` beside them (pinned torch + transformers, see
//! their READMEs): models in each config variant, the Marian base model also as sharded
//! safetensors and as `pytorch_model.bin`, and transformers' outputs for a padded batch:
//! encoder states, first-step logits, and `generate()` results for greedy, several beam
//! settings and the saved generation config. CI needs no Python: it only reads these files.
//!
//! On the CPU in float32 by default; `SVODKA_TEST_DEVICE=cuda` (a `--features cuda` build)
//! runs them on a GPU, where float32 must still be token-exact, and `SVODKA_TEST_DTYPE=f16|bf16`
//! loads the weights in half precision, where the tensors must be within
//! [`common::tolerance`] and the generations are counted and reported, not required equal:
//! half precision rounds the logits, and on random weights near-ties are common, so a flipped
//! argmax is the expected consequence of the dtype, not a fault (benches/gpu/check.sh).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use svodka::generate::{GenerationConfig, Seq2Seq, generate};
use svodka::models::load_seq2seq;

mod common;
use common::{id_rows as ids, read_python_json as json, test_device, test_dtype, tolerance};

/// `family/variant` under tests/fixtures, e.g. `marian/base`.
fn dir(variant: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(variant)
}

fn load(variant: &str) -> Box<dyn Seq2Seq> {
    load_seq2seq(&dir(variant), test_dtype(), &test_device()).unwrap_or_else(|e| panic!("{variant}: {e:?}"))
}

/// The largest magnitude in `t`.
fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let a = a.to_device(&Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
    max_abs(&(&a - b).unwrap())
}

/// The generation config `generate()` used: the model's files, then the call's kwargs.
fn generation_config(variant: &str, kwargs: &Value) -> svodka::generate::Resolved {
    let d = dir(variant);
    let mut g = GenerationConfig::from_hf_json(&json(&d.join("generation_config.json"))).unwrap();
    g.fill_from_model_config(&json(&d.join("config.json")));
    let over = GenerationConfig::from_hf_json(kwargs).unwrap();
    g.merge(&over);
    let max_pos = json(&d.join("config.json"))["max_position_embeddings"]
        .as_u64()
        .map(|v| v as usize);
    g.resolve(max_pos).unwrap()
}

fn check_tensors(variant: &str) {
    let d = dir(variant);
    let model = load(variant);
    let inputs = json(&d.join("reference/inputs.json"));
    let (input_ids, mask) = (ids(&inputs["input_ids"]), ids(&inputs["attention_mask"]));
    let (b, s) = (input_ids.len(), input_ids[0].len());
    let dev = test_device();
    let ids_t = Tensor::from_vec(input_ids.concat(), (b, s), &dev).unwrap();
    let mask_t = Tensor::from_vec(mask.concat(), (b, s), &dev).unwrap();
    let reference = candle_core::safetensors::load(d.join("reference/tensors.safetensors"), &Device::Cpu).unwrap();

    let enc = model.encode(&ids_t, &mask_t).unwrap();
    let want = &reference["encoder_last_hidden_state"];
    let (diff, tol) = (max_abs_diff(&enc, want), tolerance(test_dtype(), max_abs(want)));
    println!("{variant}: encoder states within {diff:.2e} of transformers' (allowed {tol:.2e})");
    assert!(diff < tol, "{variant}: encoder states differ by {diff} (allowed {tol})");

    let mut cache = model.new_cache(&enc, &mask_t).unwrap();
    let start = json(&d.join("reference/outputs.json"))["decoder_start_token_id"]
        .as_u64()
        .unwrap() as u32;
    let tokens = Tensor::from_vec(vec![start; b], (b, 1), &dev).unwrap();
    let logits = model.decode_step(&mut cache, &tokens).unwrap();
    let want = &reference["first_step_logits"];
    let (diff, tol) = (max_abs_diff(&logits, want), tolerance(test_dtype(), max_abs(want)));
    println!("{variant}: first-step logits within {diff:.2e} of transformers' (allowed {tol:.2e})");
    assert!(
        diff < tol,
        "{variant}: first-step logits differ by {diff} (allowed {tol})"
    );
}

/// Every recorded setting, batched and one at a time, token for token.
fn check_generation(variant: &str, weights_from: &str) {
    let d = dir(variant);
    let model = load(weights_from);
    let inputs = ids(&json(&d.join("reference/inputs.json"))["unpadded_input_ids"]);
    let outputs = json(&d.join("reference/outputs.json"));
    if test_dtype() != DType::F32 {
        return report_generation(model.as_ref(), &inputs, &outputs, variant, weights_from);
    }
    for (name, setting) in outputs["settings"].as_object().unwrap() {
        let cfg = generation_config(variant, &setting["kwargs"]);
        let want = ids(&setting["sequences"]);
        let got = generate(model.as_ref(), &inputs, &cfg).unwrap();
        let pad = cfg.pad_token_id;
        let want_stripped: Vec<Vec<u32>> = want.iter().map(|w| strip_padding(w, pad)).collect();
        assert_eq!(got, want_stripped, "{weights_from}: setting `{name}`, batched");
        for (i, input) in inputs.iter().enumerate() {
            let one = generate(model.as_ref(), std::slice::from_ref(input), &cfg).unwrap();
            assert_eq!(
                one[0], want_stripped[i],
                "{weights_from}: setting `{name}`, row {i} alone"
            );
        }
    }
}

/// In half precision: how many of transformers' float32 sequences come out the same, printed
/// (the run's output is the report; the tensors' tolerance is the test).
fn report_generation(model: &dyn Seq2Seq, inputs: &[Vec<u32>], outputs: &Value, variant: &str, weights_from: &str) {
    let (mut same, mut all) = (0, 0);
    for (_, setting) in outputs["settings"].as_object().unwrap() {
        let cfg = generation_config(variant, &setting["kwargs"]);
        let got = generate(model, inputs, &cfg).unwrap();
        for (g, w) in got.iter().zip(ids(&setting["sequences"])) {
            same += usize::from(*g == strip_padding(&w, cfg.pad_token_id));
            all += 1;
        }
    }
    println!(
        "{weights_from} in {:?}: {same} of {all} sequences equal to transformers' float32 ones",
        test_dtype()
    );
    assert!(all > 0, "{variant}: no recorded settings");
}

/// `generate()` pads shorter rows after their end; the start token is the pad id too, so only
/// trailing padding goes.
fn strip_padding(seq: &[u32], pad: u32) -> Vec<u32> {
    let mut end = seq.len();
    while end > 1 && seq[end - 1] == pad {
        end -= 1;
    }
    seq[..end].to_vec()
}

#[test]
fn marian_base_encoder_states_and_first_step_logits() {
    check_tensors("marian/base");
}

#[test]
fn marian_tcbig_encoder_states_and_first_step_logits() {
    check_tensors("marian/tcbig");
}

#[test]
fn marian_base_generation_is_token_exact() {
    check_generation("marian/base", "marian/base");
}

#[test]
fn marian_tcbig_generation_is_token_exact() {
    check_generation("marian/tcbig", "marian/tcbig");
}

#[test]
fn marian_sharded_and_pytorch_bin_weights_give_the_same_outputs() {
    check_generation("marian/base", "marian/base-sharded");
    check_generation("marian/base", "marian/base-bin");
}

#[test]
fn bart_encoder_states_and_first_step_logits() {
    check_tensors("seq2seq/bart");
}

#[test]
fn bart_generation_is_token_exact() {
    check_generation("seq2seq/bart", "seq2seq/bart");
}

#[test]
fn t5_encoder_states_and_first_step_logits() {
    check_tensors("seq2seq/t5");
}

#[test]
fn t5_generation_is_token_exact() {
    check_generation("seq2seq/t5", "seq2seq/t5");
}

#[test]
fn t5v1_encoder_states_and_first_step_logits() {
    check_tensors("seq2seq/t5v1");
}

#[test]
fn t5v1_generation_is_token_exact() {
    check_generation("seq2seq/t5v1", "seq2seq/t5v1");
}

#[test]
fn mbart_encoder_states_and_first_step_logits() {
    check_tensors("seq2seq/mbart");
}

#[test]
fn mbart_generation_is_token_exact() {
    check_generation("seq2seq/mbart", "seq2seq/mbart");
}

#[test]
fn m2m100_encoder_states_and_first_step_logits() {
    check_tensors("seq2seq/m2m100");
}

#[test]
fn m2m100_generation_is_token_exact() {
    check_generation("seq2seq/m2m100", "seq2seq/m2m100");
}
