//! A GGUF header read by candle's reader, then svodka's GGUF tokenizer built from its
//! metadata and run on a short string. Panics inside `Content::read` are candle's.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::Content;
use libfuzzer_sys::fuzz_target;
use svodka::tokenizer::gguf::GgufTokenizer;

fuzz_target!(|data: &[u8]| {
    let mut cursor = Cursor::new(data);
    let Ok(content) = Content::read(&mut cursor) else {
        return;
    };
    // No file is there, so no `tokenizer.json` beside it takes over.
    let Ok(tok) = GgufTokenizer::from_gguf(&content, Path::new("/nonexistent/fuzz.gguf")) else {
        return;
    };
    if let Ok(ids) = tok.encode("Hello, мир! 2026", true) {
        let _ = tok.decode(&ids, false);
    }
    let _ = tok.stop_ids();
});
