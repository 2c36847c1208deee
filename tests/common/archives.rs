//! Archives built in memory for the CLI, hostile-input and fuzz-regression tests.

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

/// A tar.gz of `files`, each named `prefix` + its file name.
pub fn tar_gz_of(files: &[std::path::PathBuf], prefix: &str) -> Vec<u8> {
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for f in files {
        let name = format!("{prefix}{}", f.file_name().unwrap().to_string_lossy());
        tar.append_path_with_name(f, name).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}
