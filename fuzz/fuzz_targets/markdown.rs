//! The news-export Markdown / plain-text parser on arbitrary (lossily decoded) text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = svodka::article::markdown::parse(&text);
});
