//! The HTML article extractor on arbitrary (lossily decoded) markup.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let _ = svodka::article::html::extract(&html);
});
