//! svodka's BLEU, chrF and chrF++ against sacrebleu 2.5.1, and its ROUGE-1/2/L against
//! rouge-score 0.1.2 (`tests/fixtures/metrics/generate.py`), on English and Russian news
//! sentences: corpus scores, precisions and lengths, and every segment alone (short segments
//! exercise the smoothing and missing n-gram orders), to two decimals as sacrebleu prints them
//! (checked here to 1e-6). ROUGE with both tokenisers: rouge-score's default and the Unicode one
//! (rouge-score given a tokenizer object with the same rules), per segment, as corpus means, and
//! token by token, plus edge pairs and tokeniser probes in other scripts.

use serde_json::Value;
use svodka::metrics::rouge::{Rouge, RougeScore, RougeTokenizer, rouge, rouge_segment, tokenize};
use svodka::metrics::{bleu, chrf, chrf_pp};

fn expected() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

/// 1e-6 although the computations follow the references' operation order and agree bit for bit:
/// serde_json without its `float_roundtrip` feature parses some decimals one ulp off.
fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "{what}: {got} vs reference {want}");
}

const TOKENIZERS: [(&str, RougeTokenizer); 2] = [
    ("default", RougeTokenizer::Default),
    ("unicode", RougeTokenizer::Unicode),
];

/// `got` against rouge-score's `{"rouge1": {"precision", "recall", "fmeasure"}, "rouge2", "rougeL"}`.
fn close_rouge(got: &Rouge, want: &Value, what: &str) {
    let parts: [(&str, &RougeScore); 3] = [
        ("rouge1", &got.rouge1),
        ("rouge2", &got.rouge2),
        ("rougeL", &got.rouge_l),
    ];
    for (name, score) in parts {
        let w = &want[name];
        close(score.precision, &w["precision"], &format!("{what} {name} P"));
        close(score.recall, &w["recall"], &format!("{what} {name} R"));
        close(score.f1, &w["fmeasure"], &format!("{what} {name} F"));
    }
}

fn joined(text: &str, tok: RougeTokenizer) -> String {
    tokenize(text, tok).join(" ")
}

#[test]
fn bleu_and_chrf_equal_sacrebleu() {
    let e = expected();
    for (lang, set) in e["sets"].as_object().unwrap() {
        let (hyps, refs) = (strings(&set["hyps"]), strings(&set["refs"]));
        let b = bleu(&hyps, &refs);
        close(b.score, &set["bleu"], &format!("{lang} BLEU"));
        for (n, p) in b.precisions.iter().enumerate() {
            close(
                *p,
                &set["bleu_precisions"][n],
                &format!("{lang} {}-gram precision", n + 1),
            );
        }
        close(b.brevity_penalty, &set["bleu_bp"], &format!("{lang} brevity penalty"));
        assert_eq!(b.sys_len as u64, set["bleu_sys_len"].as_u64().unwrap());
        assert_eq!(b.ref_len as u64, set["bleu_ref_len"].as_u64().unwrap());
        close(chrf(&hyps, &refs), &set["chrf"], &format!("{lang} chrF"));
        for (i, seg) in set["segments"].as_array().unwrap().iter().enumerate() {
            let (h, r) = ([hyps[i]], [refs[i]]);
            close(bleu(&h, &r).score, &seg["bleu"], &format!("{lang} segment {i} BLEU"));
            close(chrf(&h, &r), &seg["chrf"], &format!("{lang} segment {i} chrF"));
        }
    }
}

#[test]
fn chrf_pp_equals_sacrebleu() {
    let e = expected();
    for (lang, set) in e["sets"].as_object().unwrap() {
        let (hyps, refs) = (strings(&set["hyps"]), strings(&set["refs"]));
        close(chrf_pp(&hyps, &refs), &set["chrf_pp"], &format!("{lang} chrF++"));
        for (i, seg) in set["segments"].as_array().unwrap().iter().enumerate() {
            let (h, r) = ([hyps[i]], [refs[i]]);
            close(chrf_pp(&h, &r), &seg["chrf_pp"], &format!("{lang} segment {i} chrF++"));
        }
    }
    for (i, edge) in e["edge"].as_array().unwrap().iter().enumerate() {
        let (h, r) = ([edge["hyp"].as_str().unwrap()], [edge["ref"].as_str().unwrap()]);
        close(chrf(&h, &r), &edge["chrf"], &format!("edge {i} {h:?} chrF"));
        close(chrf_pp(&h, &r), &edge["chrf_pp"], &format!("edge {i} {h:?} chrF++"));
    }
}

#[test]
fn rouge_equals_rouge_score() {
    let e = expected();
    for (lang, set) in e["sets"].as_object().unwrap() {
        let (hyps, refs) = (strings(&set["hyps"]), strings(&set["refs"]));
        for (name, tok) in TOKENIZERS {
            let want = &set["rouge"][name];
            close_rouge(
                &rouge(&hyps, &refs, tok),
                &want["corpus"],
                &format!("{lang} {name} corpus"),
            );
            for (i, seg) in want["segments"].as_array().unwrap().iter().enumerate() {
                let what = format!("{lang} {name} segment {i}");
                close_rouge(&rouge_segment(hyps[i], refs[i], tok), seg, &what);
                let tokens = &want["tokens"][i];
                assert_eq!(
                    joined(hyps[i], tok),
                    tokens[0].as_str().unwrap(),
                    "{what} hypothesis tokens"
                );
                assert_eq!(
                    joined(refs[i], tok),
                    tokens[1].as_str().unwrap(),
                    "{what} reference tokens"
                );
            }
        }
    }
    for (i, edge) in e["edge"].as_array().unwrap().iter().enumerate() {
        let (h, r) = (edge["hyp"].as_str().unwrap(), edge["ref"].as_str().unwrap());
        for (name, tok) in TOKENIZERS {
            close_rouge(
                &rouge_segment(h, r, tok),
                &edge["rouge"][name],
                &format!("edge {i} {h:?} {name}"),
            );
        }
    }
}

#[test]
fn rouge_tokenisers_equal_rouge_score() {
    for probe in expected()["tokenizer_probes"].as_array().unwrap() {
        let text = probe["text"].as_str().unwrap();
        for (name, tok) in TOKENIZERS {
            assert_eq!(
                joined(text, tok),
                probe[name].as_str().unwrap(),
                "{name} tokens of {text:?}"
            );
        }
    }
}
