//! The model stage's side of near-duplicates (`[dedup]`): units taken in input order, the
//! index ([`crate::dedup`]), and the outcomes of recent originals held for their copies.
//!
//! In its own file because it is the one part of the run with state across waves: which
//! articles were seen, and what the last [`RECENT`] originals were summarised as. The index
//! keeps a few hundred bytes per article; the outcomes are a fixed number, so memory does not
//! grow with the archive by more than the index.

use std::collections::BTreeMap;
use std::path::Path;

use super::Job;
use crate::config::PipelineConfig;
use crate::dedup::{self, Seen};
use crate::execute::Outcome;
use crate::output::{Record, Status};

/// What the parse pool hands the model stage for unit n: an article to summarise, `None` for
/// a unit whose record went straight to the writer (so that the stage can take units in
/// order when it deduplicates), and whether the unit is one a resumed run only indexes.
pub(super) struct Staged {
    pub n: usize,
    pub job: Option<Box<Job>>,
    pub index_only: bool,
}

pub(super) use crate::dedup::RECENT;

/// What a copy takes from its original.
#[derive(Clone)]
pub(super) struct Reuse {
    pub id: String,
    pub outcome: Outcome,
}

/// An article of a wave: unit number, the job, and for a copy whose original's summaries are
/// gone, the original's id.
pub(super) type WaveItem = (usize, Box<Job>, Option<String>);

/// Where a copy's summaries come from.
pub(super) enum CopyOf {
    /// Held from an earlier wave (taken when the copy was: later waves may drop it).
    Held(Box<Reuse>),
    /// An original of the same wave, by its number in the index, and its id.
    InWave(u32, String),
}

/// The model stage's side of deduplication: units in input order, the index, and the
/// originals' outcomes still held for their copies.
pub(super) struct Dedup {
    index: dedup::Index,
    /// The next unit to take, and those that came early.
    next: usize,
    early: BTreeMap<usize, Staged>,
    /// Outcomes of the last [`RECENT`] originals, by their number in the index.
    pub recent: std::collections::HashMap<u32, Reuse>,
    order: std::collections::VecDeque<u32>,
    /// Index numbers of the articles of the wave being made, by unit.
    numbers: BTreeMap<usize, u32>,
    /// A resumed run's last originals already written, by unit: held again as the index is
    /// rebuilt.
    pub written: BTreeMap<usize, Reuse>,
}

impl Dedup {
    pub(super) fn new(cfg: &PipelineConfig, first_unit: usize) -> Dedup {
        Dedup {
            index: dedup::Index::new(cfg.dedup.mode, cfg.dedup.threshold),
            next: first_unit,
            early: BTreeMap::new(),
            recent: Default::default(),
            order: Default::default(),
            numbers: BTreeMap::new(),
            written: BTreeMap::new(),
        }
    }

    /// Take `staged` in unit order, as far as the units are there: the articles to run (at
    /// most `window`; the rest wait for the next wave), and the copies whose originals'
    /// outcomes are held or in this wave (unit, job, original's number).
    #[allow(clippy::type_complexity)]
    pub(super) fn take(
        &mut self,
        staged: Vec<Staged>,
        window: usize,
    ) -> (Vec<WaveItem>, Vec<(usize, Box<Job>, CopyOf)>) {
        for st in staged {
            self.early.insert(st.n, st);
        }
        let mut wave: Vec<WaveItem> = Vec::new();
        let mut copies = Vec::new();
        let mut in_wave: std::collections::HashSet<u32> = Default::default();
        while wave.len() < window {
            let Some(st) = self.early.remove(&self.next) else { break };
            self.next += 1;
            let Some(job) = st.job else { continue };
            match self.index.see(&job.article.id, &job.article.body) {
                Seen::Duplicate { .. } | Seen::Unindexed if st.index_only => {}
                Seen::New(number) if st.index_only => {
                    if let Some(r) = self.written.remove(&st.n) {
                        self.hold(number, r);
                    }
                }
                Seen::Duplicate { of, id } => {
                    if let Some(r) = self.recent.get(&of) {
                        copies.push((st.n, job, CopyOf::Held(Box::new(r.clone()))));
                    } else if in_wave.contains(&of) {
                        copies.push((st.n, job, CopyOf::InWave(of, id.to_string())));
                    } else {
                        let id = id.to_string();
                        wave.push((st.n, job, Some(id)));
                    }
                }
                Seen::New(number) => {
                    in_wave.insert(number);
                    self.numbers.insert(st.n, number);
                    wave.push((st.n, job, None));
                }
                Seen::Unindexed => wave.push((st.n, job, None)),
            }
        }
        (wave, copies)
    }

    /// Whether the next unit in order is waiting.
    pub(super) fn ready(&self) -> bool {
        self.early.contains_key(&self.next)
    }

    /// Hold the outcome of unit `n` (an original) for its copies, unless it failed (its
    /// copies then run themselves).
    pub(super) fn keep(&mut self, n: usize, id: &str, o: &Outcome) {
        let Some(number) = self.numbers.remove(&n) else { return };
        if o.error.is_some() {
            return;
        }
        self.hold(
            number,
            Reuse {
                id: id.to_string(),
                outcome: o.clone(),
            },
        );
    }

    fn hold(&mut self, number: u32, r: Reuse) {
        self.recent.insert(number, r);
        self.order.push_back(number);
        if self.order.len() > RECENT
            && let Some(old) = self.order.pop_front()
        {
            self.recent.remove(&old);
        }
    }
}

/// The last `n` records of `path` that are not copies, by unit number, as the outcomes their
/// copies reuse (best effort: an unreadable file was refused by the resume check already).
pub(super) fn last_originals(path: &Path, n: usize) -> BTreeMap<usize, Reuse> {
    use std::io::BufRead;
    let mut held = BTreeMap::new();
    let Ok(f) = std::fs::File::open(path) else { return held };
    for (unit, line) in std::io::BufReader::new(f).lines().enumerate() {
        let Ok(line) = line else { break };
        let Ok(rec) = serde_json::from_str::<Record>(&line) else {
            break;
        };
        if rec.duplicate_of.is_some() || rec.status != Status::Ok {
            continue;
        }
        let Some(id) = rec.id.clone() else { continue };
        held.insert(
            unit,
            Reuse {
                id,
                outcome: Outcome {
                    summary: rec.summary,
                    models: rec.models,
                    missing: rec.missing,
                    summary_path: rec.summary_path,
                    translation: rec.translation,
                    error: rec.error,
                    checks: rec
                        .checks
                        .into_iter()
                        .map(|(l, f)| (l, f.into_iter().collect()))
                        .collect(),
                    retried: rec.retried.into_iter().collect(),
                    summarize_ms: 0.0,
                    translate_ms: 0.0,
                },
            },
        );
        if held.len() > n {
            held.pop_first();
        }
    }
    held
}
