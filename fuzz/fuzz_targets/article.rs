//! The whole document path: encoding detection + decoding, Markdown/HTML parsing, date
//! reading, language detection. The first byte picks the format (so both are reachable).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use svodka::ingest::{Format, Payload};

static SERVED: OnceLock<Vec<String>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let served = SERVED.get_or_init(svodka::article::lang::default_served);
    let format = if data.first() == Some(&b'<') {
        Format::Html
    } else {
        Format::Text
    };
    let payload = Payload::Document {
        bytes: data.to_vec(),
        format,
    };
    if let Ok(a) = svodka::article::parse("fuzz", payload, served) {
        if let Some(d) = &a.date {
            assert_eq!(d.len(), 10, "date {d:?}");
        }
    }
});
