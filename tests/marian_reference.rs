//! MarianTokenizer parity against transformers' `MarianTokenizer` on OPUS-MT-layout repos built from this
//! crate's own spm models (references recorded by tests/fixtures/spm/make.py in tests/fixtures/spm/marian_cases.json).

mod common;

use common::{assemble_repo, data_dir, ids, read_json};
use svodka::tokenizer::{MarianTokenizer, TokenizerError};

fn check_repo(name: &str) {
    let refs = read_json(&data_dir().join("marian_cases.json"));
    let data = &refs["repos"][name];
    let dir = assemble_repo(name);
    let tok = MarianTokenizer::from_dir(&dir).unwrap();
    assert_eq!(u64::from(tok.eos_id()), data["eos_id"].as_u64().unwrap());
    assert_eq!(u64::from(tok.pad_id()), data["pad_id"].as_u64().unwrap());
    assert_eq!(u64::from(tok.unk_id()), data["unk_id"].as_u64().unwrap());
    assert_eq!(tok.vocab_size() as u64, data["vocab_size"].as_u64().unwrap());

    let mut checks = 0;
    let mut failures = Vec::new();
    let mut check = |what: &str, text: &str, got: String, want: &serde_json::Value| {
        checks += 1;
        if want.is_null() {
            return; // MarianTokenizer raised; nothing to compare
        }
        let want = if let Some(s) = want.as_str() {
            format!("{s:?}")
        } else {
            want.to_string()
        };
        if got != want {
            failures.push(format!("{name} {what} {text:?}: got {got} want {want}"));
        }
    };
    let cases = data["cases"].as_array().unwrap();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let src = tok.encode(text);
        let tgt = tok.encode_target(text);
        check("ids", text, format!("{src:?}").replace(' ', ""), &case["ids"]);
        check(
            "target_ids",
            text,
            format!("{tgt:?}").replace(' ', ""),
            &case["target_ids"],
        );
        let src_want = ids(&case["ids"]);
        let tgt_want = ids(&case["target_ids"]);
        check(
            "decoded",
            text,
            format!("{:?}", tok.decode(&src_want, false)),
            &case["decoded"],
        );
        check(
            "decoded_skip",
            text,
            format!("{:?}", tok.decode(&src_want, true)),
            &case["decoded_skip"],
        );
        check(
            "target_decoded",
            text,
            format!("{:?}", tok.decode(&tgt_want, false)),
            &case["target_decoded"],
        );
        check(
            "target_decoded_skip",
            text,
            format!("{:?}", tok.decode(&tgt_want, true)),
            &case["target_decoded_skip"],
        );
    }
    let decodes = data["decode"].as_array().unwrap();
    for case in decodes {
        let seq = ids(&case["ids"]);
        let label = format!("{seq:?}");
        check(
            "decode",
            &label,
            format!("{:?}", tok.decode(&seq, false)),
            &case["decoded"],
        );
        check(
            "decode_skip",
            &label,
            format!("{:?}", tok.decode(&seq, true)),
            &case["decoded_skip"],
        );
    }
    println!(
        "{name}: {} / {checks} checks match MarianTokenizer ({} texts, {} id sequences)",
        checks - failures.len(),
        cases.len(),
        decodes.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn shared_vocab_repo_matches_marian_tokenizer() {
    check_repo("marian_shared");
}

#[test]
fn separate_vocab_repo_matches_marian_tokenizer() {
    check_repo("marian_separate");
}

#[test]
fn lookups_and_language_codes() {
    let tok = MarianTokenizer::from_dir(&assemble_repo("marian_shared")).unwrap();
    assert_eq!(tok.token_to_id("</s>"), Some(0));
    assert_eq!(tok.token_to_id("<unk>"), Some(1));
    assert_eq!(tok.token_to_id(">>rus<<"), Some(2));
    assert_eq!(tok.id_to_token(2), Some(">>rus<<"));
    assert_eq!(tok.id_to_token(tok.pad_id()), Some("<pad>"));
    assert_eq!(tok.token_to_id("no such token"), None);
    assert_eq!(tok.id_to_token(1_000_000), None);
    assert_eq!(tok.language_codes(), vec![">>rus<<", ">>eng<<", ">>ukr<<"]);
    assert_eq!(tok.source_lang(), Some("ru"));
    assert_eq!(tok.target_lang(), Some("en"));
    assert!(!tok.separate_vocabs());
    // the language code is one id, then the pieces, then </s>
    let ids = tok.encode(">>rus<< Привет");
    assert_eq!(ids[0], 2);
    assert_eq!(*ids.last().unwrap(), tok.eos_id());
}

#[test]
fn missing_files_are_named() {
    let dir = assemble_repo("marian_shared");
    std::fs::remove_file(dir.join("vocab.json")).unwrap();
    let err = MarianTokenizer::from_dir(&dir).unwrap_err();
    assert!(matches!(err, TokenizerError::Io { .. }));
    assert!(err.to_string().contains("vocab.json"), "{err}");

    std::fs::write(dir.join("vocab.json"), "{not json").unwrap();
    let err = MarianTokenizer::from_dir(&dir).unwrap_err();
    assert!(matches!(err, TokenizerError::Json { .. }));
    assert!(err.to_string().contains("vocab.json"), "{err}");

    std::fs::write(dir.join("vocab.json"), r#"{"</s>": 0, "<pad>": 1}"#).unwrap();
    let err = MarianTokenizer::from_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("<unk>"), "{err}");
}

#[test]
fn usable_from_many_threads() {
    let tok = std::sync::Arc::new(MarianTokenizer::from_dir(&assemble_repo("marian_shared")).unwrap());
    let expected = tok.encode("Москва — столица России.");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let tok = tok.clone();
            std::thread::spawn(move || tok.encode("Москва — столица России."))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}
