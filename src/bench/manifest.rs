//! What a benchmark result was measured on, so that two results can be told apart later: the
//! model (id, revision, SHA-256 of its files, dtype or quantisation), the settings of the run
//! and the machine and build (CPU model, threads, svodka version and git commit, time).

use serde::Serialize;

pub(crate) use crate::models::fingerprint::model_info;
pub use crate::models::fingerprint::{FileHash, ModelInfo};

/// The machine and the build; the same for every result of one `svodka bench`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Machine {
    pub svodka_version: String,
    pub git_commit: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub os: String,
    /// UTC, RFC 3339.
    pub time: String,
}

impl Machine {
    pub fn here() -> Machine {
        Machine {
            svodka_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("SVODKA_GIT_COMMIT").unwrap_or("unknown").to_string(),
            cpu_model: cpu_model(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            time: rfc3339_utc(std::time::SystemTime::now()),
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// UTC, RFC 3339 (through the chat templates' strftime, the one date formatter svodka has).
fn rfc3339_utc(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    crate::tokenizer::chat::strftime("%Y-%m-%dT%H:%M:%SZ", secs).expect("supported directives")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_869_296);
        assert_eq!(rfc3339_utc(t), "2026-11-28T12:34:56Z");
        assert_eq!(rfc3339_utc(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
