//! The SentencePiece model reader (`ModelProto` decoding and model setup) on arbitrary bytes;
//! a model that loads then encodes and decodes a short mixed-script string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svodka::tokenizer::SpmModel;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = SpmModel::from_bytes(data, "fuzz.model") else {
        return;
    };
    let text = "Hello, мир! 2026 — ▁x\u{0}é";
    let _ = model.normalize(text);
    let pieces = model.encode_pieces(text);
    let ids = model.encode_ids(text);
    for id in &ids {
        let _ = model.id_to_piece(*id);
    }
    let _ = model.decode_pieces(&pieces);
});
