//! Micro-benchmarks of the stages around the models: parsing an article, sentence splitting,
//! chunking, lead-3, tokenisation (Marian SentencePiece, BART byte-level BPE, a GGUF
//! vocabulary), and a small batch end to end (tokenise, generate, detokenise) on the fixture
//! models, whose tiny size leaves svodka's own per-call overhead in view. Model kernels at real
//! shapes are in `benches/marian.rs`. Speed targets live here, never in timed tests.
//! Run with `cargo bench --bench pipeline`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use svodka::article;
use svodka::backends::{Lead, Loader, Summarizer, SummaryInput};
use svodka::chunk::{EstimateCounter, chunk_text, split_sentences};
use svodka::config::PipelineConfig;
use svodka::ingest::{Format, Payload};

fn sample(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/articles")
        .join(name);
    std::fs::read_to_string(p).expect("fixture")
}

fn benches(c: &mut Criterion) {
    // The pools as the svodka binary sizes them at start-up (one thread per core): without
    // RAYON_NUM_THREADS candle counts the physical cores again, reading /proc/cpuinfo, at every
    // matrix product. Before any model runs; criterion has started no threads of its own yet.
    svodka::runtime::init(&svodka::config::RunConfig::default());
    let raw = sample("ru-metro.md");
    let served = svodka::article::lang::default_served();
    let parsed = article::parse(
        "ru-metro.md",
        Payload::Document {
            bytes: raw.clone().into_bytes(),
            format: Format::Text,
        },
        &served,
    )
    .expect("the fixture parses");
    let body = parsed.body.clone();

    let mut g = c.benchmark_group("long-ru-article");
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("parse (decode, markdown, language, id)", |b| {
        b.iter(|| {
            let payload = Payload::Document {
                bytes: raw.clone().into_bytes(),
                format: Format::Text,
            };
            black_box(article::parse("ru-metro.md", payload, &served).unwrap())
        })
    });
    g.bench_function("split_sentences", |b| {
        b.iter(|| black_box(split_sentences(black_box(&body), "ru")))
    });
    g.bench_function("chunk_text 400", |b| {
        b.iter(|| black_box(chunk_text(black_box(&body), "ru", 400, &EstimateCounter)))
    });
    g.bench_function("lead-3", |b| {
        let lead = Lead::new(3);
        let input = [SummaryInput {
            text: &body,
            source_lang: "ru",
            target_lang: "ru",
        }];
        b.iter(|| black_box(lead.summarize(black_box(&input))))
    });
    g.finish();

    let en = sample("en-page.html");
    let mut g = c.benchmark_group("html");
    g.throughput(Throughput::Bytes(en.len() as u64));
    g.bench_function("extract", |b| {
        b.iter(|| black_box(article::html::extract(black_box(&en))))
    });
    g.finish();

    // Tokenisation and a small batch end to end, through the same backends the pipeline uses.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let spec = |p: &str| fixtures.join(p).display().to_string();
    let mut cfg = PipelineConfig::default();
    cfg.translate.generate.max_new_tokens = Some(16);
    cfg.summarize.generate.max_new_tokens = Some(16);
    let loader = Loader::default();
    let marian = loader
        .translator(&cfg, &spec("marian/base"), "ru", "en")
        .expect("marian fixture");
    let bart = loader
        .summarizer(&cfg, &spec("seq2seq/bart"), Some("en"))
        .expect("bart fixture");
    let gguf = loader
        .translator(&cfg, &spec("gguf/tiny_qwen2.gguf"), "ru", "en")
        .expect("gguf fixture");
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (name, counter) in [
        ("marian spm (ru article)", marian.counter()),
        ("bart bpe (ru article)", bart.counter()),
        ("gguf qwen2 (ru article)", gguf.counter()),
    ] {
        let counter = counter.expect("models count tokens");
        g.bench_function(name, |b| b.iter(|| black_box(counter.count(black_box(&body)))));
    }
    g.finish();

    let sentences: Vec<&str> = split_sentences(&body, "ru")
        .into_iter()
        .take(8)
        .map(|r| &body[r])
        .collect();
    let mut g = c.benchmark_group("end-to-end");
    g.sample_size(20);
    g.throughput(Throughput::Elements(sentences.len() as u64));
    g.bench_function("translate 8 sentences, tiny marian, 16 new tokens", |b| {
        b.iter(|| black_box(marian.translate(black_box(&sentences))))
    });
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
