//! Regression tests for what fuzzing `fuzz/` (and reviewing the code its targets reach) found,
//! driven through the public API, with small inputs built inline. A finding whose fix is pending
//! is `#[ignore = "fuzz finding: …, fix pending"]`, so the suite stays green until the fix lands;
//! then the `ignore` goes.

mod common;

use common::archives::nested_gzip;
use std::ops::ControlFlow;

use svodka::config::InputConfig;
use svodka::ingest::{Payload, Unit, walk};

/// Walk one file named `name` holding `bytes`; the units' (source, what) in order.
fn walk_file(name: &str, bytes: &[u8]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut units = Vec::new();
    let _ = walk(
        &[path.to_string_lossy().into_owned()],
        &InputConfig::default(),
        &mut |u: Unit| {
            let what = match u.payload {
                Payload::Document { bytes, .. } => format!("doc:{}", String::from_utf8_lossy(&bytes)),
                Payload::JsonlLine { bytes } => format!("line:{}", String::from_utf8_lossy(&bytes)),
                Payload::Failed(e) => format!("failed:{:?}", e.kind),
            };
            units.push((u.source, what));
            ControlFlow::Continue(())
        },
    );
    units
}

/// What a depth limit must keep working: a gzip inside a gzip is read through.
#[test]
fn doubly_gzipped_article_is_read() {
    let bytes = nested_gzip(b"# Title\n\nBody.\n", 2);
    let units = walk_file("a.md.gz", &bytes);
    assert_eq!(units.len(), 1, "{units:?}");
    assert_eq!(units[0].1, "doc:# Title\n\nBody.\n");
}

/// `ingest::Walker::stream_inner` (src/ingest/mod.rs) recursed once per gzip layer (and per
/// nested tar or zip, via src/ingest/archive.rs) with no depth limit, so an input gzipped a few
/// thousand times over overflowed the stack: the process aborted ("thread … has overflowed its
/// stack") and no error record was written. Each layer costs ~25 bytes: 3000 layers overflowed
/// the 8 MiB main thread (`svodka inspect`) in a debug build, 10000 in release; `svodka run`
/// walks on a spawned thread with the default 2 MiB stack, where fewer than 4000 did it in
/// release too. A gzip quine (a .gz that decompresses to itself) would have made the recursion
/// infinite in a few hundred bytes. Fixed by `ingest::MAX_NESTING` (c46e617): past it, one
/// `too_deep` error record.
///
/// This walks on a thread with the 2 MiB stack of `svodka run`'s reader, 4000 layers deep
/// (~100 KB; overflowed in debug and release alike before the fix).
#[test]
fn deeply_nested_gzip_is_one_error_record_not_a_stack_overflow() {
    let bytes = nested_gzip(b"# Title\n\nBody.\n", 4000);
    let units = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || walk_file("deep.md.gz", &bytes))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(units.len(), 1, "{units:?}");
    assert_eq!(units[0].1, "failed:TooDeep", "{units:?}");
}
