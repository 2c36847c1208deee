//! The project's MarianTokenizer fixtures (tests/fixtures/marian in the svodka repo, generated with
//! transformers 4.57.6 / sentencepiece 0.2.1 from tiny OPUS-MT-style models): ids, pieces and decoded text
//! must equal MarianTokenizer's for every case.

mod common;

use std::path::{Path, PathBuf};

use common::{ids, read_json, strings};
use svodka::tokenizer::MarianTokenizer;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/marian")
}

fn check(file: &str) {
    let path = fixture_dir().join(file);
    let fixture = read_json(&path);
    let model_dir = fixture_dir().join(fixture["meta"]["model_dir"].as_str().unwrap());
    let tok = MarianTokenizer::from_dir(Path::new(&model_dir)).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    let source_tk = tok.source_spm().to_tokenizer().unwrap();
    let target_tk = tok.target_spm().to_tokenizer().unwrap();
    let (mut tk_checks, mut tk_passed, mut tk_ties) = (0, 0, 0);
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want_ids = ids(&case["ids"]);
        let want_target = ids(&case["target_ids"]);
        let mut problems = Vec::new();
        let got = tok.encode(text);
        if got != want_ids {
            problems.push(format!("ids {got:?} want {want_ids:?}"));
        }
        let got = tok.encode_target(text);
        if got != want_target {
            problems.push(format!("target_ids {got:?} want {want_target:?}"));
        }
        let got = tok.tokenize(text);
        if got != strings(&case["tokens"]) {
            problems.push(format!("tokens {got:?} want {}", case["tokens"]));
        }
        let got = tok.tokenize_target(text);
        if got != strings(&case["target_tokens"]) {
            problems.push(format!("target_tokens {got:?} want {}", case["target_tokens"]));
        }
        let got = tok.ids_to_tokens(&want_ids);
        if got != strings(&case["pieces"]) {
            problems.push(format!("pieces {got:?} want {}", case["pieces"]));
        }
        let got = tok.decode(&want_ids, true);
        if got != case["decoded"].as_str().unwrap() {
            problems.push(format!("decoded {got:?} want {}", case["decoded"]));
        }
        let got = tok.decode(&want_target, true);
        if got != case["target_decoded"].as_str().unwrap() {
            problems.push(format!("target_decoded {got:?} want {}", case["target_decoded"]));
        }
        // The tokenizers pipeline of the same spm models must split the text as the native encoder does, except
        // on exact score ties: sentencepiece rounds path scores to f32 and tokenizers' Unigram sums in f64, so
        // "000" can come out as "00"+"0" in one and "0"+"00" in the other.
        for (spm, tk) in [(tok.source_spm(), &source_tk), (tok.target_spm(), &target_tk)] {
            tk_checks += 1;
            let enc = tk.encode(text, false).unwrap();
            let native_ids = spm.encode_ids(text);
            if enc.get_tokens() == spm.encode_pieces(text).as_slice() {
                tk_passed += 1;
            } else if (path_score(spm, enc.get_ids()) - path_score(spm, &native_ids)).abs() < 1e-4 {
                tk_ties += 1;
            } else {
                problems.push(format!(
                    "to_tokenizer {:?} want {:?}",
                    enc.get_tokens(),
                    spm.encode_pieces(text)
                ));
            }
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{text:?}: {}", problems.join("; ")));
        }
    }
    println!(
        "{file}: {passed} / {} cases exact (ids, target_ids, tokens, pieces, decoded)",
        cases.len()
    );
    println!(
        "{file}: to_tokenizer() pieces equal the native encoder's on {tk_passed} / {tk_checks} texts, \
         {tk_ties} differ only by an exact score tie"
    );
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The unigram score of a segmentation (unknown pieces score `min - 10`, as in the Viterbi search).
fn path_score(spm: &svodka::tokenizer::SpmModel, ids: &[u32]) -> f64 {
    let scores: Vec<f32> = spm.pieces().map(|(_, s)| s).collect();
    let min = scores.iter().copied().filter(|s| *s < 0.0).fold(f32::MAX, f32::min);
    ids.iter()
        .map(|&id| {
            if id == spm.unk_id() {
                f64::from(min) - 10.0
            } else {
                f64::from(scores[id as usize])
            }
        })
        .sum()
}

#[test]
fn base_fixture_cases() {
    check("tokenizer_cases.json");
}

#[test]
fn tcbig_fixture_cases() {
    check("tokenizer_cases_tcbig.json");
}
