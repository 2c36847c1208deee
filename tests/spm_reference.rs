//! SentencePiece parity: the native encoder/decoder and `to_tokenizer()` against Python `sentencepiece`
//! (references recorded by tests/fixtures/spm/make.py in tests/fixtures/spm/spm_cases.json).

mod common;

use common::{data_dir, ids, read_json, strings};
use svodka::tokenizer::{SpmModel, TokenizerError};

fn models() -> Vec<(String, SpmModel, serde_json::Value)> {
    let refs = read_json(&data_dir().join("spm_cases.json"));
    refs["models"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, data)| {
            let model = SpmModel::from_file(&data_dir().join("models").join(name)).unwrap();
            (name.clone(), model, data.clone())
        })
        .collect()
}

#[test]
fn native_encode_matches_sentencepiece() {
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, model, data) in models() {
        assert_eq!(model.piece_size() as u64, data["piece_size"].as_u64().unwrap());
        for case in data["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            total += 1;
            let pieces = model.encode_pieces(text);
            let got_ids = model.encode_ids(text);
            let decoded = model.decode_pieces(&pieces);
            if pieces != strings(&case["pieces"]) || got_ids != ids(&case["ids"]) || decoded != case["decoded"] {
                failures.push(format!(
                    "{name} {text:?}: pieces {pieces:?} vs {:?}, ids {got_ids:?} vs {:?}, decoded {decoded:?} vs {:?}",
                    case["pieces"], case["ids"], case["decoded"]
                ));
            }
        }
    }
    println!(
        "native encode: {} / {total} cases match sentencepiece",
        total - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn native_decode_pieces_matches_sentencepiece() {
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, model, data) in models() {
        for case in data["decode_pieces"].as_array().unwrap() {
            total += 1;
            let pieces = strings(&case["pieces"]);
            let decoded = model.decode_pieces(&pieces);
            if decoded != case["decoded"] {
                failures.push(format!("{name} {pieces:?}: {decoded:?} vs {:?}", case["decoded"]));
            }
        }
    }
    println!(
        "decode_pieces: {} / {total} sequences match sentencepiece",
        total - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Inputs on which `tokenizers`' `Precompiled` normaliser is known to differ from sentencepiece's: it maps
/// grapheme by grapheme, trying the whole grapheme only when it is shorter than 6 bytes and then taking the
/// *shortest* charsmap match (dropping the rest of the grapheme), where sentencepiece takes the longest match
/// at each position. Only combining sequences are affected.
const KNOWN_TOKENIZERS_DIFFERENCES: &[(&str, &str)] = &[
    // ﬁ + U+0301: the ligature rule wins and the accent is dropped
    ("source.model", "Ligature with accent: ﬁ\u{301}"),
    // e + two accents: "é" is taken for the grapheme, the second accent dropped
    ("source.model", "e\u{301}\u{301}"),
    // a + five accents: the grapheme is >= 6 bytes, so no composition at all
    ("source.model", "a\u{301}\u{301}\u{301}\u{301}\u{301}"),
    // conjoining jamo L+V+T (9 bytes): not composed to 각
    ("source.model", "\u{1100}\u{1161}\u{11a8}"),
];

#[test]
fn to_tokenizer_matches_sentencepiece() {
    let mut total = 0;
    let mut known = 0;
    let mut failures = Vec::new();
    for (name, model, data) in models() {
        let tokenizer = model.to_tokenizer().unwrap();
        for case in data["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            total += 1;
            let enc = tokenizer.encode(text, false).unwrap();
            let (tokens, got_ids) = (enc.get_tokens().to_vec(), enc.get_ids().to_vec());
            if tokens != strings(&case["pieces"]) || got_ids != ids(&case["ids"]) {
                if KNOWN_TOKENIZERS_DIFFERENCES.contains(&(name.as_str(), text)) {
                    known += 1;
                    continue;
                }
                failures.push(format!(
                    "{name} {text:?}: tokens {tokens:?} vs {:?}, ids {got_ids:?} vs {:?}",
                    case["pieces"], case["ids"]
                ));
            }
        }
    }
    println!(
        "to_tokenizer: {} / {total} cases match sentencepiece ({known} known Precompiled differences)",
        total - failures.len() - known
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn to_tokenizer_decodes_its_encoding() {
    let (_, model, _) = models().into_iter().find(|(n, _, _)| n == "source.model").unwrap();
    let tokenizer = model.to_tokenizer().unwrap();
    let text = "Правительство выделило миллиард рублей на строительство больниц.";
    let enc = tokenizer.encode(text, false).unwrap();
    assert!(!enc.get_ids().contains(&model.unk_id()));
    assert_eq!(tokenizer.decode(enc.get_ids(), false).unwrap(), text);
}

#[test]
fn pieces_in_id_order() {
    let model = SpmModel::from_file(&data_dir().join("models/source.model")).unwrap();
    let pieces: Vec<(&str, f32)> = model.pieces().collect();
    assert_eq!(pieces.len(), model.piece_size());
    assert_eq!(pieces[0], ("<unk>", 0.0));
    assert_eq!(pieces[1].0, "<s>");
    assert_eq!(pieces[2].0, "</s>");
    assert!(pieces[3..].iter().all(|(_, score)| *score < 0.0));
}

#[test]
fn errors_name_the_file() {
    let missing = data_dir().join("models/nope.model");
    let err = SpmModel::from_file(&missing).unwrap_err();
    assert!(matches!(err, TokenizerError::Io { .. }));
    assert!(err.to_string().contains("nope.model"), "{err}");

    let err = SpmModel::from_bytes(b"\x0a\x05garbage", "broken.spm").unwrap_err();
    assert!(matches!(err, TokenizerError::Proto { .. }));
    assert!(err.to_string().contains("broken.spm"), "{err}");
}

#[test]
fn bpe_model_is_unsupported() {
    // A hand-made BPE ModelProto: pieces <unk> (UNKNOWN), ▁a; trainer_spec.model_type = 2.
    let mut bytes = Vec::new();
    for (piece, kind) in [("<unk>", 2u8), ("\u{2581}a", 1u8)] {
        let mut p = vec![0x0a, piece.len() as u8];
        p.extend_from_slice(piece.as_bytes());
        p.extend_from_slice(&[0x15, 0, 0, 0, 0, 0x18, kind]);
        bytes.push(0x0a);
        bytes.push(p.len() as u8);
        bytes.extend_from_slice(&p);
    }
    bytes.extend_from_slice(&[0x12, 0x02, 0x18, 0x02]);
    let model = SpmModel::from_bytes(&bytes, "bpe.model").unwrap();
    assert!(!model.is_unigram());
    let err = model.to_tokenizer().unwrap_err();
    assert!(matches!(err, TokenizerError::Unsupported(_)));
    assert!(
        err.to_string().contains("bpe.model") && err.to_string().contains("BPE"),
        "{err}"
    );
}
