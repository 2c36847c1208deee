//! Which units of a run are this shard's (`svodka run --shard K/N`): the split every shard
//! computes alone, with no coordinator, so that svodka can be the unit of work of a Slurm
//! array or a Kubernetes Indexed Job.
//!
//! Unit n (input order, counted over every input, archive members and JSONL lines included)
//! belongs to shard n mod N. Dealing units out one by one, rather than giving each shard a run
//! of files, balances many small files and a few large archives alike (the members of one
//! archive are spread over all shards), and it needs nothing but the count: every shard walks
//! the same inputs in the same order. A shard reads past the others' units without parsing
//! them (a file on disk that is not its own is not even read past its first bytes), and
//! `svodka merge` puts the records back in input order by dealing them back the same way.

use std::fmt;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Why a `--shard` value could not be used.
#[derive(Debug, thiserror::Error)]
#[error("--shard {given}: {reason}")]
pub struct ShardError {
    pub given: String,
    pub reason: String,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The environment variables `--shard auto` reads, as a lookup (the process environment in
/// use, a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Shard {
    /// Whether unit `n` is this shard's.
    pub fn owns(&self, n: usize) -> bool {
        n % self.count == self.index
    }

    /// How many of `units` units are this shard's.
    pub fn share(&self, units: usize) -> usize {
        units / self.count + usize::from(units % self.count > self.index)
    }

    /// `K/N` (0 ≤ K < N), or `auto`: the task of a Slurm array job (`SLURM_ARRAY_TASK_ID`
    /// counted from `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`) or of a Kubernetes
    /// Indexed Job (`JOB_COMPLETION_INDEX`, of `count`: `--shard-count`, else
    /// `SVODKA_SHARD_COUNT`).
    pub fn parse(given: &str, count: Option<usize>, env: Env<'_>) -> Result<Shard, ShardError> {
        let err = |reason: String| ShardError {
            given: given.to_string(),
            reason,
        };
        let number = |name: &str, v: &str| -> Result<usize, ShardError> {
            v.trim()
                .parse::<usize>()
                .map_err(|_| err(format!("{name} is `{v}`, not a whole number")))
        };
        let shard = if given == "auto" {
            let env_count = match env("SVODKA_SHARD_COUNT") {
                Some(v) => Some(number("SVODKA_SHARD_COUNT", &v)?),
                None => None,
            };
            if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
                let id = number("SLURM_ARRAY_TASK_ID", &id)?;
                let min = match env("SLURM_ARRAY_TASK_MIN") {
                    Some(v) => number("SLURM_ARRAY_TASK_MIN", &v)?,
                    None => 0,
                };
                let n = match (count.or(env_count), env("SLURM_ARRAY_TASK_COUNT")) {
                    (Some(n), _) => n,
                    (None, Some(v)) => number("SLURM_ARRAY_TASK_COUNT", &v)?,
                    (None, None) => {
                        return Err(err(
                            "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shard-count".into(),
                        ));
                    }
                };
                let index = id
                    .checked_sub(min)
                    .ok_or_else(|| err(format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")))?;
                Shard { index, count: n }
            } else if let Some(i) = env("JOB_COMPLETION_INDEX") {
                let index = number("JOB_COMPLETION_INDEX", &i)?;
                let n = count.or(env_count).ok_or_else(|| {
                    err("JOB_COMPLETION_INDEX is set, but not the number of shards: give --shard-count N (the Job's `completions`) or SVODKA_SHARD_COUNT".into())
                })?;
                Shard { index, count: n }
            } else {
                return Err(err(
                    "neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX): give --shard K/N".into(),
                ));
            }
        } else {
            let (k, n) = given
                .split_once('/')
                .ok_or_else(|| err("expected K/N (shard K of N, counted from 0, e.g. 0/4) or `auto`".into()))?;
            let shard = Shard {
                index: number("K", k)?,
                count: number("N", n)?,
            };
            if count.is_some_and(|c| c != shard.count) {
                return Err(err(format!(
                    "--shard-count {} disagrees with N = {}",
                    count.unwrap_or(0),
                    shard.count
                )));
            }
            shard
        };
        if shard.count == 0 {
            return Err(err("the number of shards must be at least 1".into()));
        }
        if shard.index >= shard.count {
            return Err(err(format!(
                "shard {} of {} does not exist: shards are numbered 0 to {}",
                shard.index,
                shard.count,
                shard.count - 1
            )));
        }
        Ok(shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn every_unit_has_exactly_one_shard_and_shares_differ_by_at_most_one() {
        for count in 1..6 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for n in 0..50 {
                assert_eq!(shards.iter().filter(|s| s.owns(n)).count(), 1);
            }
            for units in 0..23 {
                let shares: Vec<usize> = shards.iter().map(|s| s.share(units)).collect();
                assert_eq!(shares.iter().sum::<usize>(), units);
                for s in &shards {
                    assert_eq!(s.share(units), (0..units).filter(|&n| s.owns(n)).count());
                }
            }
        }
    }

    #[test]
    fn explicit_and_auto() {
        let none = env(&[]);
        assert_eq!(Shard::parse("2/4", None, &none).unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", "auto"] {
            assert!(Shard::parse(bad, None, &none).is_err(), "{bad}");
        }
        assert!(Shard::parse("1/4", Some(3), &none).is_err());

        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::parse("auto", None, &slurm).unwrap(),
            Shard { index: 2, count: 4 }
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert_eq!(
            Shard::parse("auto", Some(3), &k8s).unwrap(),
            Shard { index: 1, count: 3 }
        );
        let e = Shard::parse("auto", None, &k8s).unwrap_err().to_string();
        assert!(e.contains("--shard-count"), "{e}");
        let k8s_env = env(&[("JOB_COMPLETION_INDEX", "1"), ("SVODKA_SHARD_COUNT", "2")]);
        assert_eq!(
            Shard::parse("auto", None, &k8s_env).unwrap(),
            Shard { index: 1, count: 2 }
        );
        let over = env(&[("JOB_COMPLETION_INDEX", "5"), ("SVODKA_SHARD_COUNT", "2")]);
        assert!(
            Shard::parse("auto", None, &over)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }
}
