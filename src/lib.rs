//! svodka: news archives in, one JSONL record per article out.
//!
//! The stages, each in a module of its name: [`ingest`] (inputs → units) → [`article`]
//! (units → articles) → [`chunk`] (sentences and token-budget chunks) → [`backends`] (the
//! models, loaded once; each packs its own batches) → [`plan`] (the configuration as routes)
//! → [`execute`] (a wave of articles through the plan) → [`output`] (records, crash-safe
//! writes), with [`manifest`] (the run's fingerprint for `--resume` and `merge`). [`pipeline`]
//! runs them on the threads [`runtime`] sets up, the models on the [`device`] `run.device` names; [`shard`] picks a shard's units and
//! [`merge`] puts shards' outputs back together; [`inspect`] shows the first three. Per-article errors
//! ([`record_error`]) and the [`task`] names sit at the bottom, the run-stopping [`error`]s at
//! the top.

// These docs are for the people who work on svodka: they link to crate-private items, and
// `cargo doc --document-private-items` shows them.
#![allow(rustdoc::private_intra_doc_links)]

/// mimalloc for every binary built on the library (svodka, its tests and benches). Decoding
/// allocates and frees the same large buffers at every step (logits: 8 MB at beam 4 × batch
/// 8 for opus-mt); glibc's malloc handed them back to the kernel and took them again, and
/// the page faults were 10% of a beam-search profile. mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod article;
pub mod backends;
pub(crate) mod batch;
pub mod bench;
pub mod checks;
pub mod chunk;
pub mod cli;
pub mod config;
pub mod dedup;
pub mod device;
pub mod error;
pub(crate) mod execute;
pub mod generate;
pub mod ingest;
pub mod inspect;
pub(crate) mod manifest;
pub mod merge;
pub mod metrics;
pub mod models;
pub mod oneoff;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod record_error;
pub mod runtime;
pub mod score;
pub mod shard;
pub mod task;
pub mod tokenizer;
