//! `svodka merge`: the outputs of the shards of one run (`svodka run --shard K/N`) back into
//! the one output a single run would have written.
//!
//! Nothing is written unless the shards are provably the whole of one run: every shard's
//! manifest ([`crate::manifest`]) must name the same settings, inputs and model files; every
//! shard 0..N-1 must be there exactly once; and every shard must have finished, with exactly
//! the records its share of the units calls for. A shard cut off by a killed job is named with
//! the command that resumes it. Then the records are dealt back in input order (unit n is
//! shard n mod N's record n div N, [`crate::shard`]) into a temporary file renamed over the
//! output at the end, so a failed merge leaves nothing behind.
//!
//! Duplicates: shards cannot see each other's articles, so they decide none and write each
//! article's print instead (`dedup_print`). The merge replays the index over the prints in
//! input order, exactly as one run's model stage does (`pipeline::copies`): a copy points at
//! the first article of its story and takes its summaries while that original is among the
//! last [`RECENT`] successful originals; otherwise it keeps the summaries its shard made.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::dedup::{self, Print, RECENT, Seen};
use crate::error::Error;
use crate::manifest::{Finished, Manifest};
use crate::output::{Counts, Record, Status};

/// How the merge went.
#[derive(Debug, Clone)]
pub struct MergeSummary {
    pub counts: Counts,
    pub shards: usize,
}

/// A word for the shell: quoted when it needs to be.
fn shell_word(w: &str) -> String {
    let plain = !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The command that runs the shard `m` describes again, into `path` (where the merge found its
/// output, which may have moved since): resuming it (`resume`), or afresh.
fn rerun_command(m: &Manifest, resume: bool, path: &Path) -> String {
    if m.command.is_empty() {
        let how = if resume { "with" } else { "without" };
        return format!("the shard's `svodka run` command again, {how} --resume");
    }
    let out = path.display().to_string();
    let mut words: Vec<String> = Vec::new();
    let mut after_o = false;
    for w in m.command.iter().filter(|w| *w != "--resume") {
        let w = if after_o {
            out.as_str()
        } else if w.starts_with("--output=") {
            words.push(shell_word(&format!("--output={out}")));
            continue;
        } else {
            w.as_str()
        };
        after_o = w == "-o" || w == "--output";
        words.push(shell_word(w));
    }
    if resume {
        words.push("--resume".into());
    }
    words.join(" ")
}

/// A setting of a manifest as a TOML value.
fn setting(m: &Manifest, key: &str) -> Option<toml::Value> {
    let v = m.settings.get(key)?;
    toml::from_str::<toml::Table>(&format!("v = {v}")).ok()?.remove("v")
}

/// The complete records of `path`, and what is wrong with the first line that is not one. A
/// last line without its newline is a write cut off (what `--resume` cuts away), not damage.
fn count_records(path: &Path) -> Result<(usize, Option<String>), std::io::Error> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut n = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok((n, None));
        }
        if let Err(e) = serde_json::from_slice::<Record>(&line) {
            if line.last() != Some(&b'\n') {
                return Ok((n, None));
            }
            return Ok((n, Some(format!("line {} is not a whole record ({e})", n + 1))));
        }
        n += 1;
    }
}

/// Merge `shards` into `output`.
pub fn merge(shards: &[PathBuf], output: &Path) -> Result<MergeSummary, Error> {
    let fail = |reason: String| Error::Merge {
        output: output.to_path_buf(),
        reason,
    };
    if shards.is_empty() {
        return Err(fail("no shard outputs given".into()));
    }
    // Every file must be a shard, with its manifest.
    let mut by_index: BTreeMap<usize, (PathBuf, Manifest)> = BTreeMap::new();
    let mut count = None;
    for p in shards {
        if !p.is_file() {
            return Err(fail(format!("`{}` does not exist or is not a file", p.display())));
        }
        let m = match Manifest::read(p) {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(fail(format!(
                    "`{}` has no run manifest beside it (`{}`): it is not the output of `svodka run --shard K/N -o FILE`",
                    p.display(),
                    crate::manifest::path_for(p).display()
                )));
            }
            Err(Error::Resume { reason, .. }) => return Err(fail(format!("`{}`: {reason}", p.display()))),
            Err(e) => return Err(e),
        };
        let Some(shard) = m.shard else {
            return Err(fail(format!(
                "`{}` is not a shard: its run had no --shard (a single run's output needs no merge)",
                p.display()
            )));
        };
        match count {
            None => count = Some((shard.count, p.clone())),
            Some((n, ref first)) if n != shard.count => {
                return Err(fail(format!(
                    "`{}` is shard {shard} but `{}` is one of {n} shards: these are not the shards of one run",
                    p.display(),
                    first.display()
                )));
            }
            Some(_) => {}
        }
        if let Some((other, _)) = by_index.get(&shard.index) {
            return Err(fail(format!(
                "shard {shard} is given twice: `{}` and `{}`",
                other.display(),
                p.display()
            )));
        }
        by_index.insert(shard.index, (p.clone(), m));
    }
    let (count, _) = count.expect("at least one shard");
    let names: Vec<String> = shards.iter().map(|p| p.display().to_string()).collect();
    crate::output::check_not_input(&output.display().to_string(), &names)?;
    let missing: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(fail(format!(
            "{} {} {} missing: give every shard's output (`svodka run --shard K/{count}` for K = 0..{})",
            if missing.len() == 1 { "shard" } else { "shards" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            count - 1
        )));
    }

    // One run: the same settings, inputs and models as shard 0.
    let (first_path, first) = &by_index[&0];
    for (path, m) in by_index.values().skip(1) {
        let mut as_first = m.clone();
        as_first.shard = first.shard;
        let mut changed = first.differences(&as_first);
        if m.svodka != first.svodka {
            changed.push(format!("made by svodka {} and {}", first.svodka, m.svodka));
        }
        if !changed.is_empty() {
            return Err(fail(format!(
                "`{}` and `{}` are not shards of one run: {}",
                first_path.display(),
                path.display(),
                changed.join("; ")
            )));
        }
    }

    // Every shard finished, with its share of the units, and every record whole.
    let mut units = None;
    for (path, m) in by_index.values() {
        let shard = m.shard.expect("checked above");
        let (have, broken) = count_records(path).map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
        let Some(Finished { units: u, records }) = m.finished else {
            return Err(fail(format!(
                "shard {shard} (`{}`) is incomplete: {have} records, and its run did not reach the end of its inputs (killed, or still running). Resume it with\n    {}\nthen merge again",
                path.display(),
                rerun_command(m, true, path)
            )));
        };
        if let Some(b) = broken {
            return Err(fail(format!(
                "shard {shard} (`{}`) is damaged: {b}; its run finished with {records} records. Run the shard again, afresh, with\n    {}",
                path.display(),
                rerun_command(m, false, path)
            )));
        }
        if have != records {
            return Err(fail(format!(
                "shard {shard} (`{}`) has {have} records, but its run finished with {records}: the file was {} since. {}\n    {}",
                path.display(),
                if have < records { "cut short" } else { "added to" },
                if have < records {
                    "Resume it with"
                } else {
                    "Run the shard again, afresh, with"
                },
                rerun_command(m, have < records, path)
            )));
        }
        match units {
            None => units = Some((u, path.clone())),
            Some((n, ref other)) if n != u => {
                return Err(fail(format!(
                    "`{}` counted {u} units in the inputs and `{}` {n}: these are not the shards of one run (another --limit, or inputs that changed)",
                    path.display(),
                    other.display()
                )));
            }
            Some(_) => {}
        }
        if records != shard.share(u) {
            return Err(fail(format!(
                "shard {shard} (`{}`) has {records} records, but {u} units give it {}: a unit is missing or doubled",
                path.display(),
                shard.share(u)
            )));
        }
    }
    let (units, _) = units.expect("at least one shard");

    // Deal the records back into input order, through a temporary file.
    let mut readers = Vec::with_capacity(count);
    for (path, _) in by_index.values() {
        let f = File::open(path).map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
        readers.push((path.clone(), BufReader::new(f).lines()));
    }
    let mode = match setting(first, "dedup.mode").as_ref().and_then(|v| v.as_str()) {
        Some("near") => dedup::Mode::Near,
        Some("exact") => dedup::Mode::Exact,
        _ => dedup::Mode::Off,
    };
    let threshold = setting(first, "dedup.threshold")
        .and_then(|v| v.as_float())
        .unwrap_or(0.8);
    let mut copies = Copies::new(mode, threshold);
    let tmp = {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(".merging");
        output.with_file_name(name)
    };
    let out_err = |source| Error::Output {
        path: output.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(&tmp).map_err(out_err)?);
    let mut counts = Counts::default();
    let result = (|| -> Result<(), Error> {
        for n in 0..units {
            let (path, lines) = &mut readers[n % count];
            let line = lines
                .next()
                .ok_or_else(|| fail(format!("`{}` ended early (it changed while merging)", path.display())))?
                .map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
            let mut rec: Record = serde_json::from_str(&line)
                .map_err(|e| fail(format!("`{}` changed while merging ({e})", path.display())))?;
            copies.resolve(&mut rec);
            counts.record(&rec);
            w.write_all(&rec.to_line()).map_err(out_err)?;
        }
        w.flush().map_err(out_err)?;
        w.get_ref().sync_all().map_err(out_err)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(w);
    // The merged output is a single run's: its manifest has no shard.
    let mut m = first.clone();
    m.shard = None;
    m.command = std::env::args().collect();
    m.finished = Some(Finished { units, records: units });
    m.write(output)?;
    std::fs::rename(&tmp, output).map_err(out_err)?;
    Ok(MergeSummary { counts, shards: count })
}

/// The merge's side of duplicates: the index over the prints, and the last [`RECENT`]
/// successful originals' records for their copies (as `pipeline::copies` holds their
/// outcomes).
struct Copies {
    index: dedup::Index,
    held: HashMap<u32, Record>,
    order: VecDeque<u32>,
}

impl Copies {
    fn new(mode: dedup::Mode, threshold: f64) -> Copies {
        Copies {
            index: dedup::Index::new(mode, threshold),
            held: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Decide `rec` as one run would have, and drop its print.
    fn resolve(&mut self, rec: &mut Record) {
        let Some(print) = rec.dedup_print.take() else { return };
        let id = rec.id.clone().unwrap_or_default();
        match self.index.see_print(&id, Print::decode(&print)) {
            Seen::Unindexed => {}
            Seen::New(number) => {
                if rec.status == Status::Ok && rec.error.is_none() {
                    self.held.insert(number, rec.clone());
                    self.order.push_back(number);
                    if self.order.len() > RECENT
                        && let Some(old) = self.order.pop_front()
                    {
                        self.held.remove(&old);
                    }
                }
            }
            Seen::Duplicate { of, id } => {
                rec.duplicate_of = Some(id.to_string());
                if let Some(o) = self.held.get(&of) {
                    // What the copy's own record takes from its original: the model's
                    // outcome. Its metadata, chunks and parse timings stay its own.
                    rec.summary = o.summary.clone();
                    rec.summary_path = o.summary_path.clone();
                    rec.translation = o.translation.clone();
                    rec.missing = o.missing.clone();
                    rec.models = o.models.clone();
                    rec.checks = o.checks.clone();
                    rec.retried = o.retried.clone();
                    rec.status = o.status;
                    rec.error = None;
                    rec.timings_ms.remove("summarize");
                    rec.timings_ms.remove("translate");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_commands_quote_what_the_shell_would_split() {
        let mut m = Manifest::of(&crate::config::PipelineConfig::default(), &[]);
        m.command = ["svodka", "run", "--shard", "1/4", "-o", "out 1.jsonl", "it's.tar.gz"]
            .map(String::from)
            .to_vec();
        let here = Path::new("out 1.jsonl");
        assert_eq!(
            rerun_command(&m, true, here),
            r"svodka run --shard 1/4 -o 'out 1.jsonl' 'it'\''s.tar.gz' --resume"
        );
        m.command.push("--resume".into());
        assert!(!rerun_command(&m, true, here).ends_with("--resume --resume"));
        assert!(!rerun_command(&m, false, here).contains("--resume"));
        // The output where the merge found it.
        assert!(rerun_command(&m, true, Path::new("/moved/o.jsonl")).contains("-o /moved/o.jsonl 'it"));
        m.command[4] = "--output=out 1.jsonl".into();
        m.command.remove(5);
        assert!(rerun_command(&m, true, Path::new("b.jsonl")).contains(" --output=b.jsonl "));
    }
}
