//! `tokenizer.json` tokenizers against transformers' fast tokenizers, on the cases the
//! seq2seq fixture generator recorded (ids with special tokens, decoding without them).

use std::path::Path;

use svodka::tokenizer::hf::HfTokenizer;

fn check(cases_file: &str, model_dir: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seq2seq");
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join(cases_file)).unwrap()).unwrap();
    let tok = HfTokenizer::from_dir(&root.join(model_dir)).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 100, "{cases_file}: {} cases", cases.len());
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let want: Vec<u32> = c["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tok.encode(text).unwrap(), want, "{cases_file}: ids of {text:?}");
        assert_eq!(
            tok.decode(&want, true).unwrap(),
            c["decoded"].as_str().unwrap(),
            "{cases_file}: decoding {text:?}"
        );
    }
}

#[test]
fn bart_byte_level_bpe() {
    check("tokenizer_cases_bart.json", "bart");
}

#[test]
fn t5_unigram() {
    check("tokenizer_cases_t5.json", "t5");
}

#[test]
fn mbart_unigram_with_language_codes() {
    check("tokenizer_cases_mbart.json", "mbart");
}

#[test]
fn nllb_unigram_with_language_codes() {
    check("tokenizer_cases_nllb.json", "m2m100");
}
