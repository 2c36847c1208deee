//! Archives built in memory for the hostile-input and fuzz-regression tests.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// `bytes` gzipped `depth` times over (stored blocks: each layer adds ~25 bytes).
pub fn nested_gzip(bytes: &[u8], depth: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..depth {
        let mut gz = GzEncoder::new(Vec::with_capacity(out.len() + 32), Compression::none());
        gz.write_all(&out).unwrap();
        out = gz.finish().unwrap();
    }
    out
}
