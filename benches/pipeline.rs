//! Micro-benchmarks of the stages before the models: parsing an article, sentence splitting,
//! chunking, lead-3. Speed targets live here, never in timed tests.
//! Run with `cargo bench --bench pipeline`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use svodka::article;
use svodka::chunk::{EstimateCounter, chunk_text, split_sentences};
use svodka::ingest::{Format, Payload};
use svodka::tasks::{Lead, Summarizer, SummaryInput};

fn sample(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/articles")
        .join(name);
    std::fs::read_to_string(p).expect("fixture")
}

fn benches(c: &mut Criterion) {
    let raw = sample("ru-metro.md");
    let parsed = article::parse(
        "ru-metro.md",
        Payload::Document {
            bytes: raw.clone().into_bytes(),
            format: Format::Text,
        },
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
            black_box(article::parse("ru-metro.md", payload).unwrap())
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
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
