//! One JSONL line: any bytes give a line or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = svodka::article::jsonl::parse(data);
});
