//! svodka: news archives in, one JSONL record per article out.
//!
//! The stages, each in a module of its name: [`ingest`] (inputs → units) → [`article`]
//! (units → articles) → [`chunk`] (sentences and token-budget chunks) → [`batch`] (chunks of
//! many articles → model batches) → [`tasks`] (summarisers and translators) → [`output`]
//! (records, crash-safe writes), with [`manifest`] (the run's fingerprint for `--resume`).
//! [`pipeline`] runs them; [`inspect`] shows the first three.

pub mod article;
pub mod batch;
pub mod bench;
pub mod chunk;
pub mod cli;
pub mod config;
pub mod error;
pub mod generate;
pub mod ingest;
pub mod inspect;
pub mod manifest;
pub mod metrics;
pub mod models;
pub mod oneoff;
pub mod output;
pub mod pipeline;
pub mod score;
pub mod tasks;
pub mod tokenizer;
