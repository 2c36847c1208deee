//! Stamps the binary with the git commit it was built from (`SVODKA_GIT_COMMIT`), so that a
//! benchmark result names the code that produced it. Outside a git checkout: "unknown".
//!
//! Also finds the real news corpus that the real-text tests read (it is not ours, so it never
//! enters the repository): `SVODKA_REAL_CORPUS`, else `../shared/real-corpus` beside the
//! checkout. When it is there the tests see `cfg(real_corpus)` and its absolute path in
//! `SVODKA_REAL_CORPUS_DIR`; when it is not they show as ignored, never as passed.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn real_corpus() {
    println!("cargo::rustc-check-cfg=cfg(real_corpus)");
    println!("cargo:rerun-if-env-changed=SVODKA_REAL_CORPUS");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = match std::env::var_os("SVODKA_REAL_CORPUS").filter(|v| !v.is_empty()) {
        Some(v) => std::path::PathBuf::from(v),
        None => std::path::Path::new(&manifest).join("../shared/real-corpus"),
    };
    // Watch it when it is there (a missing path would re-run this script on every build).
    if dir.exists() {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    if let Ok(abs) = dir.canonicalize()
        && abs.join("ru-en.tsv").is_file()
    {
        println!("cargo:rustc-cfg=real_corpus");
        println!("cargo:rustc-env=SVODKA_REAL_CORPUS_DIR={}", abs.display());
    }
}

fn main() {
    real_corpus();
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SVODKA_GIT_COMMIT={commit}");
    // Re-run when HEAD moves: a checkout changes HEAD, a commit changes the branch's ref.
    // Only files that exist: cargo re-runs a script on every build for a missing one.
    let watch = |p: String| {
        if std::path::Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        watch(format!("{dir}/HEAD"));
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(format!("{common}/{r}"));
        }
        watch(format!("{common}/packed-refs"));
    }
}
