//! `svodka inspect`: what the parser and the chunker make of the inputs, without models.
//!
//! One JSON line per unit, in input order: the article's metadata, its body and its chunks
//! (text, token count, sentence count), or the error record a run would write. It runs the
//! same ingest, parse and chunk code as `svodka run`, so what it shows is what the models get,
//! except that it loads no model: chunks are counted with the estimate, not a model's tokenizer.

use std::io::Write;
use std::ops::ControlFlow;

use serde::Serialize;

use crate::backends::Backends;
use crate::config::PipelineConfig;
use crate::error::Error;
use crate::ingest::{self, Unit};
use crate::output::{Counts, Record, Status};
use crate::pipeline::{Prepared, prepare};

#[derive(Serialize)]
struct ChunkView<'a> {
    index: usize,
    tokens: usize,
    sentences: usize,
    text: &'a str,
}

#[derive(Serialize)]
struct ArticleView<'a> {
    source: &'a str,
    status: Status,
    id: &'a str,
    title: Option<&'a str>,
    date: Option<&'a str>,
    url: Option<&'a str>,
    lang: Option<&'a str>,
    lang_confidence: Option<f64>,
    encoding: &'a str,
    format: &'a str,
    body: &'a str,
    chunks: Vec<ChunkView<'a>>,
}

/// Print every unit of `inputs` to `out`; returns the status counts.
pub fn inspect(
    cfg: &PipelineConfig,
    inputs: &[String],
    limit: Option<usize>,
    out: &mut dyn Write,
) -> Result<Counts, Error> {
    // Never a model: inspect must work where the run's models are not (yet) there, and must
    // not download them. Chunks are therefore counted with svodka's token estimate and
    // `chunk.max_tokens`; a run with a model tokenizer counts with it and may cut elsewhere.
    let backends = Backends::without_models(cfg);
    let chunking = backends.chunking(cfg);
    let mut counts = Counts::default();
    let mut seen = 0usize;
    let mut result = Ok(());
    let mut sink = |unit: Unit| {
        if limit.is_some_and(|l| seen >= l) {
            return ControlFlow::Break(());
        }
        seen += 1;
        let line = match prepare(unit, cfg, Some(chunking)) {
            Prepared::Job(job) => {
                counts.add(Status::Ok);
                let a = &job.article;
                let view = ArticleView {
                    source: &a.source,
                    status: Status::Ok,
                    id: &a.id,
                    title: a.title.as_deref(),
                    date: a.date.as_deref(),
                    url: a.url.as_deref(),
                    lang: a.lang.as_deref(),
                    lang_confidence: a.lang_confidence,
                    encoding: &a.encoding,
                    format: a.format,
                    body: &a.body,
                    chunks: job
                        .chunks
                        .iter()
                        .enumerate()
                        .map(|(index, c)| ChunkView {
                            index,
                            tokens: c.tokens,
                            sentences: c.sentences,
                            text: &a.body[c.start..c.end],
                        })
                        .collect(),
                };
                serde_json::to_string(&view).expect("views serialise")
            }
            Prepared::Done(rec) => {
                counts.add(rec.status);
                let rec: Record = *rec;
                serde_json::to_string(&rec).expect("records serialise")
            }
        };
        if let Err(source) = writeln!(out, "{line}") {
            result = Err(Error::Output {
                path: "<stdout>".into(),
                source,
            });
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    };
    let _ = ingest::walk(inputs, &cfg.input, &mut sink);
    result.map(|()| counts)
}
