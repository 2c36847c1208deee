//! `normalize_punct` against sacremoses' `MosesPunctNormalizer(lang).normalize` (references recorded by
//! tests/fixtures/spm/make.py in tests/fixtures/spm/moses_cases.json).

mod common;

use common::{data_dir, read_json};
use svodka::tokenizer::normalize_punct;

#[test]
fn matches_sacremoses() {
    let refs = read_json(&data_dir().join("moses_cases.json"));
    let mut total = 0;
    let mut failures = Vec::new();
    for (lang, cases) in refs["langs"].as_object().unwrap() {
        for case in cases.as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let want = case["normalized"].as_str().unwrap();
            total += 1;
            let got = normalize_punct(text, lang);
            if got != want {
                failures.push(format!("{lang} {text:?}: got {got:?} want {want:?}"));
            }
        }
    }
    println!("moses: {} / {total} strings match sacremoses", total - failures.len());
    assert!(total >= 50);
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
