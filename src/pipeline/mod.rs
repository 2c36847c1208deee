//! The run: stream units through parsing, chunking and the model stage to one ordered writer.
//!
//! ```text
//! reader thread ──units──▶ rayon pool (decode, parse, language, chunk) ──articles──▶ model stage
//!       ▲                          │ error / skipped records                       │ records
//!       │ tickets                  ▼                                               ▼
//!       └──────────────────── writer (reorder buffer, input order) ◀───────────────┘
//! ```
//!
//! Memory is bounded by tickets: the reader takes one before it hands on a unit and the
//! writer returns it once that unit's record is written, so at most `run.window` articles are
//! anywhere between the two, whatever the size of the archive, and the reorder buffer never
//! holds more. Their bytes are bounded the same way (`run.window_bytes`), because a window of
//! 256 articles of 60 MB each would be 16 GB. Nothing downstream of the reader ever blocks on the window, so a slow article
//! cannot deadlock the pool. The model stage takes every article that is ready and runs
//! them as one wave, so batches fill up exactly when the models are the bottleneck.
//!
//! Parsing runs on its own rayon pool, models on rayon's global pool (both from
//! [`crate::runtime`]): parse workers block on the unit channel while they wait for input, and
//! must never occupy the threads that the model stage's batches (and candle's kernels inside
//! them) need.
//!
//! Units are numbered in input order; record n is unit n. That is what makes `--resume`
//! simple: skip the units already written, and check the last one written is the same input.
//!
//! Duplicates (`dedup.mode`) are decided in the model stage, in input order, so that a copy
//! always points at the earliest article of its story, whatever order parsing finished in:
//! with dedup on, every parsed unit (an article, or a marker for a unit that became an error
//! or skipped record) passes through the stage, which takes them in unit order (`copies.rs`).
//! A copy gets the summaries of its original when the stage still holds them (the last
//! [`RECENT`] originals, or one of the wave at hand): syndicated copies sit close together in
//! archives. Holding every original's summaries would make memory grow with the archive; an
//! older (or failed) original's copy is summarised itself, and still says `duplicate_of`. A
//! resumed run rebuilds the index by parsing the units it skips (no model runs for them).
//!
//! A shard (`--shard K/N`, [`crate::shard`]) takes only its units from the reader, numbered
//! among its own (its record j is its j-th unit). It cannot see the other shards' articles,
//! so it decides no duplicates: it runs every article and writes each one's
//! [`dedup::Print`] into its record, and `svodka merge` decides the copies across all shards
//! in input order, as one run would have, giving each copy its original's summaries.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::article::{self, Article};
use crate::backends::{Backends, Chunking, LoadError};
use crate::chunk::Chunk;
use crate::config::{PipelineConfig, UnsupportedLanguage};
use crate::dedup;
use crate::error::Error;
use crate::execute::{Checking, Input, Outcome, execute};
use crate::ingest::{self, Payload, Unit};
use crate::manifest::Manifest;
use crate::output::{Counts, Record, Status, Writer, resume_point};
use crate::plan::Plan;
use crate::shard::Shard;

mod copies;
use copies::{CopyOf, Dedup, RECENT, Staged, WaveItem, last_originals};

/// What the command line adds to the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub inputs: Vec<String>,
    /// Continue the run that wrote `output.path`.
    pub resume: bool,
    /// Stop after this many articles (counting those a resumed run already wrote).
    pub limit: Option<usize>,
    /// Show a progress bar (the caller decides: terminal and not quiet).
    pub progress: bool,
    /// Say on stderr, once before any work, what the run will not do (a translator that
    /// "auto" could not have); off with `-q`.
    pub notices: bool,
    /// Run only this shard's units (`--shard K/N`).
    pub shard: Option<Shard>,
    /// The command line, for the run manifest.
    pub command: Vec<String>,
}

/// How the run went; `main` picks the exit status from it.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub counts: Counts,
    /// Records written by this invocation (a resumed run's earlier ones excluded).
    pub written: usize,
    pub elapsed: Duration,
    /// Pairs that "auto" left untranslated because their models could not be had.
    pub untranslated: Vec<String>,
    /// Whether any translator ran at all.
    pub translating: bool,
}

/// An article ready for the model stage.
pub(crate) struct Job {
    pub article: Article,
    pub chunks: Vec<Chunk>,
    pub timings: BTreeMap<String, f64>,
}

/// The outcome of parsing one unit.
pub(crate) enum Prepared {
    Job(Box<Job>),
    Done(Box<Record>),
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1000.0
}

/// Decode, parse, detect the language, apply the language policy, chunk (with the token
/// counter of the model that will read the article, if there is one). `chunking` is `None`
/// for a unit a resumed run only indexes for duplicates: its chunks would go unused.
pub(crate) fn prepare(unit: Unit, cfg: &PipelineConfig, chunking: Option<Chunking<'_>>) -> Prepared {
    let t = Instant::now();
    let article = match article::parse(&unit.source, unit.payload, &cfg.language.served) {
        Ok(a) => a,
        Err(e) => return Prepared::Done(Box::new(Record::failed(unit.source, e))),
    };
    let parse_ms = ms(t);
    let served = article.lang.as_ref().is_some_and(|l| cfg.language.served.contains(l));
    if !served && cfg.language.unsupported == UnsupportedLanguage::Skip {
        let reason = match &article.lang {
            Some(l) => format!(
                "language `{l}` is not served (language.served = {:?})",
                cfg.language.served
            ),
            None => "the language could not be detected".to_string(),
        };
        let mut rec = base_record(&article, None);
        rec.status = Status::Skipped;
        rec.skip_reason = Some(reason);
        rec.timings_ms.insert("parse".into(), parse_ms);
        return Prepared::Done(Box::new(rec));
    }
    let t = Instant::now();
    let lang = article.lang.as_deref().unwrap_or("en");
    let chunks = chunking.map_or_else(Vec::new, |c| c.chunk(&article.body, lang));
    let mut timings = BTreeMap::new();
    timings.insert("parse".into(), parse_ms);
    timings.insert("chunk".into(), ms(t));
    Prepared::Job(Box::new(Job {
        article,
        chunks,
        timings,
    }))
}

/// The metadata part of a record.
fn base_record(a: &Article, chunks: Option<usize>) -> Record {
    Record {
        id: Some(a.id.clone()),
        source: a.source.clone(),
        status: Status::Ok,
        title: a.title.clone(),
        date: a.date.clone(),
        url: a.url.clone(),
        lang: a.lang.clone(),
        lang_confidence: a.lang_confidence,
        encoding: Some(a.encoding.clone()),
        summary: BTreeMap::new(),
        summary_path: BTreeMap::new(),
        checks: BTreeMap::new(),
        retried: Vec::new(),
        duplicate_of: None,
        missing: Vec::new(),
        chunks,
        models: BTreeMap::new(),
        timings_ms: BTreeMap::new(),
        translation: BTreeMap::new(),
        skip_reason: None,
        error: None,
        dedup_print: None,
    }
}

/// A fault-injection hook for the crash test: slow the writer down so a run can be killed
/// part-way at a predictable point. Not a setting; unset in normal use.
fn write_delay() -> Option<Duration> {
    std::env::var("SVODKA_TEST_WRITE_DELAY_MS")
        .ok()?
        .parse()
        .ok()
        .map(Duration::from_millis)
}

pub fn run(cfg: &PipelineConfig, opts: &RunOptions) -> Result<RunSummary, Error> {
    let start = Instant::now();
    crate::output::check_not_input(&cfg.output.path, &opts.inputs)?;
    let backends = Backends::from_config(cfg)?;
    let plan = Plan::new(cfg, &backends).map_err(LoadError::from)?;
    let chunking = backends.chunking(cfg);
    if opts.notices
        && let Some(notice) = backends.translation_notice()
    {
        eprintln!("svodka: {notice}");
    }

    let out_path = Path::new(&cfg.output.path);
    let manifest = if cfg.output.path == "-" {
        None
    } else {
        let skipped: Vec<String> = backends.unavailable().iter().map(|u| u.pair.clone()).collect();
        let mut m = Manifest::of(cfg, &opts.inputs).with_models(cfg, &skipped)?;
        m.shard = opts.shard;
        m.command = opts.command.clone();
        Some(m)
    };
    let mut keep_manifest = false;
    let point = if opts.resume {
        if cfg.output.path == "-" {
            return Err(Error::Resume {
                path: "-".into(),
                reason: "--resume needs an output file (-o FILE)".into(),
            });
        }
        let written = std::fs::metadata(out_path).is_ok_and(|m| m.len() > 0);
        if written && let Some(now) = &manifest {
            match Manifest::read(out_path)? {
                Some(before) => {
                    let changed = before.differences(now);
                    if !changed.is_empty() {
                        return Err(Error::Resume {
                            path: out_path.to_path_buf(),
                            reason: format!(
                                "it was written by another run ({}); run without --resume to start again",
                                changed.join("; ")
                            ),
                        });
                    }
                    keep_manifest = true;
                }
                None => tracing::warn!(
                    "{}: no run manifest beside it ({}): cannot check that the settings and inputs are the same",
                    out_path.display(),
                    crate::manifest::path_for(out_path).display()
                ),
            }
        }
        resume_point(out_path)?
    } else {
        Default::default()
    };
    // A resumed run with dedup holds the outcomes of the last originals already written, as
    // the interrupted run did, so their copies after the cut reuse them too.
    // A shard decides no duplicates (it sees only its own articles): it writes prints.
    let prints = cfg.dedup.mode != dedup::Mode::Off && opts.shard.is_some();
    let dedup_on = cfg.dedup.mode != dedup::Mode::Off && !prints;
    let written_originals = if opts.resume && dedup_on && point.done > 0 {
        last_originals(out_path, RECENT)
    } else {
        BTreeMap::new()
    };
    let mut writer = Writer::open(&cfg.output.path, opts.resume, cfg.output.fsync)?;
    // Before the first record: an output without its manifest is never from this version.
    if let Some(m) = &manifest
        && !keep_manifest
    {
        m.write(out_path)?;
    }
    let pool = crate::runtime::parse_pool(&cfg.run)?;

    let progress = opts.progress.then(|| {
        let total = ingest::count_documents(&opts.inputs, &cfg.input).map(|n| {
            let n = opts.limit.map_or(n, |l| n.min(l as u64));
            opts.shard.map_or(n, |s| s.share(n as usize) as u64)
        });
        progress_bar(total, point.done as u64)
    });

    let window = cfg.run.window;
    let budget = ByteBudget::new(cfg.run.window_bytes);
    let sizes: Mutex<BTreeMap<usize, u64>> = Mutex::new(BTreeMap::new());
    let (ticket_tx, ticket_rx) = bounded::<()>(window);
    let (unit_tx, unit_rx) = bounded::<(usize, Unit, bool)>(window);
    let (job_tx, job_rx) = unbounded::<Staged>();
    let (rec_tx, rec_rx) = unbounded::<(usize, Record)>();
    let reader_error: Mutex<Option<Error>> = Mutex::new(None);

    let mut counts = point.counts;
    let mut written = 0usize;
    // Units the inputs held, once the reader has seen them all (for the manifest's `finished`).
    let units_seen: Mutex<Option<usize>> = Mutex::new(None);
    let mut write_result: Result<(), Error> = Ok(());
    let delay = write_delay();

    std::thread::scope(|s| {
        // Reader: the only sequential stage, because archives are streams.
        let reader_error = &reader_error;
        let units_seen = &units_seen;
        let point = &point;
        let (budget, sizes) = (&budget, &sizes);
        s.spawn(move || {
            // Every unit of the inputs, and this shard's (all of them without --shard): record
            // n of the output is this shard's unit n.
            let all = std::cell::Cell::new(0usize);
            let mut own = 0usize;
            let mut limited = false;
            let skip = |k: usize| opts.shard.is_some_and(|s| !s.owns(k));
            let next_is_elsewhere = || skip(all.get());
            let mut sink = |unit: Unit| {
                let k = all.get();
                all.set(k + 1);
                if opts.limit.is_some_and(|l| k >= l) {
                    limited = true;
                    return ControlFlow::Break(());
                }
                if skip(k) {
                    return ControlFlow::Continue(());
                }
                let n = own;
                own += 1;
                if n < point.done {
                    let last = n + 1 == point.done;
                    if last && point.last_source.as_deref() != Some(unit.source.as_str()) {
                        *reader_error.lock().unwrap() = Some(Error::Resume {
                            path: cfg.output.path.clone().into(),
                            reason: format!(
                                "its record {} is for `{}`, but the inputs give `{}` there: these are not the inputs of the interrupted run",
                                point.done,
                                point.last_source.as_deref().unwrap_or(""),
                                unit.source
                            ),
                        });
                        return ControlFlow::Break(());
                    }
                    // Written already: parsed again only to rebuild the duplicate index. No
                    // ticket (no record will return one); the bounded channel paces it.
                    if dedup_on && unit_tx.send((n, unit, true)).is_err() {
                        return ControlFlow::Break(());
                    }
                    return ControlFlow::Continue(());
                }
                let size = payload_size(&unit.payload);
                if !budget.acquire(size) {
                    return ControlFlow::Break(());
                }
                sizes.lock().unwrap_or_else(|e| e.into_inner()).insert(n, size);
                if ticket_tx.send(()).is_err() || unit_tx.send((n, unit, false)).is_err() {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            };
            let flow = ingest::walk_skipping(
                &opts.inputs,
                &cfg.input,
                opts.shard.is_some().then_some(&next_is_elsewhere as &dyn Fn() -> bool),
                &mut sink,
            );
            let seen = own;
            if flow.is_continue() || limited {
                let total = if limited { all.get() - 1 } else { all.get() };
                *units_seen.lock().unwrap() = Some(total);
            }
            let mut err = reader_error.lock().unwrap();
            if err.is_none() && seen < point.done && !limited {
                *err = Some(Error::Resume {
                    path: cfg.output.path.clone().into(),
                    reason: format!(
                        "it holds {} records but the inputs give only {seen} articles: these are not the inputs of the interrupted run",
                        point.done
                    ),
                });
            }
        });

        // Parse pool: decode, parse, chunk in parallel; results leave in any order.
        let rec_tx_parse = rec_tx.clone();
        s.spawn(move || {
            pool.install(|| {
                unit_rx.into_iter().par_bridge().for_each(|(n, unit, index_only)| {
                    match prepare(unit, cfg, (!index_only).then_some(chunking)) {
                        Prepared::Job(job) => {
                            let _ = job_tx.send(Staged {
                                n,
                                job: Some(job),
                                index_only,
                            });
                        }
                        Prepared::Done(rec) => {
                            if !index_only {
                                let _ = rec_tx_parse.send((n, *rec));
                            }
                            if dedup_on {
                                let _ = job_tx.send(Staged {
                                    n,
                                    job: None,
                                    index_only,
                                });
                            }
                        }
                    }
                });
            });
        });

        // Model stage: everything ready forms one wave, batched across articles.
        let (backends, plan) = (&backends, &plan);
        let checking = Checking::of(cfg);
        let first_unit = if dedup_on { 0 } else { point.done };
        s.spawn(move || {
            let mut stage = Dedup::new(cfg, first_unit);
            stage.written = written_originals;
            loop {
                let mut staged = Vec::new();
                // Block for input unless units taken in order are waiting already (a full
                // wave left some).
                if !(dedup_on && stage.ready()) {
                    match job_rx.recv() {
                        Ok(j) => staged.push(j),
                        Err(_) => break,
                    }
                }
                while staged.len() < window {
                    match job_rx.try_recv() {
                        Ok(j) => staged.push(j),
                        Err(_) => break,
                    }
                }
                let (wave, copies) = if dedup_on {
                    stage.take(staged, window)
                } else {
                    let wave = staged
                        .into_iter()
                        .filter_map(|st| st.job.map(|j| (st.n, j, None)))
                        .collect();
                    (wave, Vec::new())
                };
                // The articles of a wave through the models, as records; originals are held
                // for their copies.
                let run_wave = |wave: Vec<WaveItem>, stage: &mut Dedup, records: &mut Vec<(usize, Record)>| {
                    let inputs: Vec<Input<'_>> = wave
                        .iter()
                        .map(|(_, j, _)| Input {
                            body: &j.article.body,
                            lang: j.article.lang.as_deref(),
                            chunks: &j.chunks,
                        })
                        .collect();
                    if inputs.is_empty() {
                        return;
                    }
                    let outcomes = execute(backends, plan, chunking, checking, &inputs);
                    for ((n, job, dup_of), o) in wave.into_iter().zip(outcomes) {
                        if dedup_on && dup_of.is_none() {
                            stage.keep(n, &job.article.id, &o);
                        }
                        let mut rec = model_record(&job, o);
                        rec.duplicate_of = dup_of;
                        if prints {
                            rec.dedup_print = dedup::Print::of(cfg.dedup.mode, &job.article.body).map(|p| p.encode());
                        }
                        records.push((n, rec));
                    }
                };
                let mut records = Vec::with_capacity(wave.len() + copies.len());
                run_wave(wave, &mut stage, &mut records);
                // Copies whose originals were held, or were in this wave. A copy of an
                // original that failed is run itself: its own text may go through.
                let mut again = Vec::new();
                for (n, job, of) in copies {
                    let reuse = match of {
                        CopyOf::Held(r) => *r,
                        CopyOf::InWave(number, id) => match stage.recent.get(&number) {
                            Some(r) => r.clone(),
                            None => {
                                again.push((n, job, Some(id)));
                                continue;
                            }
                        },
                    };
                    let mut rec = model_record(&job, reuse.outcome);
                    // No model ran for it: only parsing and chunking are its own.
                    rec.timings_ms.remove("summarize");
                    rec.timings_ms.remove("translate");
                    rec.duplicate_of = Some(reuse.id.clone());
                    records.push((n, rec));
                }
                run_wave(again, &mut stage, &mut records);
                for r in records {
                    if rec_tx.send(r).is_err() {
                        return;
                    }
                }
            }
        });

        // Writer (this thread): input order through a reorder buffer bounded by the window.
        let mut next = point.done;
        let mut pending: BTreeMap<usize, Record> = BTreeMap::new();
        'recv: for (n, rec) in rec_rx.iter() {
            pending.insert(n, rec);
            while let Some(rec) = pending.remove(&next) {
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                if let Err(e) = writer.write(&rec) {
                    write_result = Err(e);
                    break 'recv;
                }
                counts.record(&rec);
                written += 1;
                if let Some(size) = sizes.lock().unwrap_or_else(|e| e.into_inner()).remove(&next) {
                    budget.release(size);
                }
                next += 1;
                let _ = ticket_rx.recv();
                if let Some(pb) = &progress {
                    pb.inc(1);
                }
            }
        }
        // On a write error, dropping the receivers makes every stage stop at its next send,
        // and closing the budget wakes a reader waiting for room.
        drop(rec_rx);
        drop(ticket_rx);
        budget.close();
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if let Some(e) = reader_error.into_inner().unwrap() {
        return Err(e);
    }
    write_result?;
    writer.finish()?;
    // The end of the inputs reached and every record written: the manifest says so, which is
    // how `svodka merge` tells a finished shard from one cut off.
    if let (Some(mut m), Some(units)) = (manifest, units_seen.into_inner().unwrap()) {
        if keep_manifest && let Ok(Some(before)) = Manifest::read(out_path) {
            m.command = before.command;
        }
        m.finished = Some(crate::manifest::Finished {
            units,
            records: point.done + written,
        });
        m.write(out_path)?;
    }
    Ok(RunSummary {
        counts,
        written,
        elapsed: start.elapsed(),
        untranslated: backends.unavailable().iter().map(|u| u.pair.clone()).collect(),
        translating: !backends.translators().is_empty(),
    })
}

/// The record of an article from what the models made of it.
fn model_record(job: &Job, o: Outcome) -> Record {
    let mut rec = base_record(&job.article, Some(job.chunks.len()));
    rec.timings_ms = job.timings.clone();
    rec.timings_ms
        .insert("summarize".into(), (o.summarize_ms * 1000.0).round() / 1000.0);
    if o.translate_ms > 0.0 {
        rec.timings_ms
            .insert("translate".into(), (o.translate_ms * 1000.0).round() / 1000.0);
    }
    rec.summary = o.summary;
    rec.summary_path = o.summary_path;
    rec.translation = o.translation;
    rec.missing = o.missing;
    rec.models = o.models;
    rec.checks = o
        .checks
        .into_iter()
        .map(|(lang, flags)| (lang, flags.into_iter().collect()))
        .collect();
    rec.retried = o.retried.into_iter().collect();
    if let Some(e) = o.error {
        rec.status = Status::Error;
        rec.error = Some(e);
    }
    rec
}

/// The bytes a unit holds while it is in flight.
fn payload_size(p: &Payload) -> u64 {
    match p {
        Payload::Document { bytes, .. } | Payload::JsonlLine { bytes } => bytes.len() as u64,
        Payload::Failed(_) => 0,
    }
}

/// Input bytes in flight, bounded: the reader takes a unit's size before handing it on and the
/// writer gives it back once the unit's record is written. A unit larger than the whole budget
/// still goes, but only when nothing else is in flight, so it can neither starve nor deadlock.
struct ByteBudget {
    cap: u64,
    state: Mutex<(u64, bool)>,
    room: std::sync::Condvar,
}

impl ByteBudget {
    fn new(cap: u64) -> Self {
        ByteBudget {
            cap,
            state: Mutex::new((0, false)),
            room: std::sync::Condvar::new(),
        }
    }

    /// Wait until `n` bytes fit; false once the run is stopping.
    fn acquire(&self, n: u64) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.0 > 0 && st.0.saturating_add(n) > self.cap {
            if st.1 {
                return false;
            }
            st = self.room.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.1 {
            return false;
        }
        st.0 += n;
        true
    }

    fn release(&self, n: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.saturating_sub(n);
        self.room.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.room.notify_all();
    }
}

fn progress_bar(total: Option<u64>, done: u64) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
    let template = match total {
        Some(_) => "{bar:30} {pos}/{len} articles  {rate}  ETA {eta}",
        None => "{spinner} {pos} articles  {rate}  {elapsed}",
    };
    let style = ProgressStyle::with_template(template)
        .expect("valid template")
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} articles/s", s.per_sec());
        });
    let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr()).with_style(style);
    pb.set_position(done);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_budget_bounds_what_is_in_flight_and_lets_a_big_unit_go_alone() {
        let b = std::sync::Arc::new(ByteBudget::new(100));
        assert!(b.acquire(60));
        assert!(b.acquire(40));
        // Full: the next acquire waits until something is released.
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let b = std::sync::Arc::clone(&b);
            std::thread::spawn(move || tx.send(b.acquire(30)).unwrap())
        };
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "waits while full");
        b.release(60);
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        waiter.join().unwrap();
        b.release(40);
        b.release(30);
        // Larger than the whole budget: goes when nothing else is in flight.
        assert!(b.acquire(1000));
        b.release(1000);
        // Closing wakes a waiter with `false`.
        assert!(b.acquire(100));
        let waiter = {
            let b = std::sync::Arc::clone(&b);
            std::thread::spawn(move || b.acquire(1))
        };
        std::thread::sleep(Duration::from_millis(50));
        b.close();
        assert!(!waiter.join().unwrap());
    }
}
