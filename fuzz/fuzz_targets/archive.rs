//! The input walker on one file of arbitrary bytes, under each name whose extension picks a
//! reader (`.tar`, `.tar.gz`, `.tgz`, `.zip`, `.gz`, `.jsonl`, `.md`). Invariant: it returns,
//! never panics. Run with `-max_len=65536`.
#![no_main]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = ["in.tar", "in.tar.gz", "in.tgz", "in.zip", "in.gz", "in.jsonl", "in.md"];

static DIR: OnceLock<PathBuf> = OnceLock::new();

fn dir() -> &'static PathBuf {
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("svodka-fuzz-archive-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the name (so the reader); the rest is the file.
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let path = dir().join(NAMES[sel as usize % NAMES.len()]);
    std::fs::write(&path, bytes).expect("write temp file");
    let cfg = svodka::config::InputConfig {
        max_bytes: 1 << 20,
        ..Default::default()
    };
    let mut units = 0usize;
    let _ = svodka::ingest::walk(&[path.to_string_lossy().into_owned()], &cfg, &mut |_unit| {
        units += 1;
        ControlFlow::Continue(())
    });
    let _ = std::fs::remove_file(&path);
});
