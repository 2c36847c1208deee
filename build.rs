//! Stamps the binary with the git commit it was built from (`SVODKA_GIT_COMMIT`), so that a
//! benchmark result names the code that produced it. Outside a git checkout: "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
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
