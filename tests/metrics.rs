//! svodka's BLEU and chrF against sacrebleu 2.5.1 (`tests/fixtures/metrics/generate.py`) on
//! English and Russian news sentences: corpus scores, precisions and lengths, and every
//! segment alone (short segments exercise the smoothing and missing n-gram orders), to two
//! decimals as sacrebleu prints them (checked here to 1e-6).

use serde_json::Value;
use svodka::metrics::{bleu, chrf};

fn expected() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "{what}: {got} vs sacrebleu {want}");
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
