//! Encoder and per-step decoder throughput of an opus-mt-ru-en-shaped Marian model (d_model
//! 512, 6+6 layers, 8 heads, ffn 2048, vocab 62518) with random weights, at batch 1, 8 and
//! 32: the numbers that decide translation speed. Random weights cost the same as real ones.
//! Run with `cargo bench --bench marian`; throughput is in tokens (encoder: source tokens,
//! decoder: rows advanced by one token).

use std::hint::black_box;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use svodka::generate::Seq2Seq;
use svodka::models::bart::{Bart, Config, Flavour};

const SRC_LEN: usize = 48;
const PAST: usize = 16;

fn opus_mt_shape() -> Config {
    let mut cfg: Config = serde_json::from_value(serde_json::json!({
        "model_type": "marian", "vocab_size": 62518, "decoder_vocab_size": 62518, "d_model": 512,
        "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8,
        "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "activation_function": "swish",
        "max_position_embeddings": 512, "scale_embedding": true, "pad_token_id": 62517, "eos_token_id": 0,
        "decoder_start_token_id": 62517, "share_encoder_decoder_embeddings": true, "tie_word_embeddings": true
    }))
    .expect("valid config");
    cfg.flavour = Flavour::Marian;
    cfg
}

fn batch(b: usize, dev: &Device) -> (Tensor, Tensor) {
    // Deterministic pseudo-random ids, away from the special tokens.
    let ids: Vec<u32> = (0..b * SRC_LEN).map(|i| 1 + (i as u32 * 7919 + 13) % 62000).collect();
    (
        Tensor::from_vec(ids, (b, SRC_LEN), dev).unwrap(),
        Tensor::ones((b, SRC_LEN), DType::U32, dev).unwrap(),
    )
}

fn benches(c: &mut Criterion) {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let model = Bart::new(&opus_mt_shape(), VarBuilder::from_varmap(&varmap, DType::F32, &dev)).unwrap();
    let mut g = c.benchmark_group("opus-mt-shape");
    g.sample_size(10);
    for b in [1usize, 8, 32] {
        let (ids, mask) = batch(b, &dev);
        g.throughput(Throughput::Elements((b * SRC_LEN) as u64));
        g.bench_function(format!("encoder/batch {b}"), |bench| {
            bench.iter(|| black_box(model.encode(&ids, &mask).unwrap()))
        });

        let encoded = model.encode(&ids, &mask).unwrap();
        let mut cache = model.new_cache(&encoded, &mask).unwrap();
        let start = Tensor::from_vec(vec![62517u32; b], (b, 1), &dev).unwrap();
        for _ in 0..PAST {
            model.decode_step(&mut cache, &start).unwrap();
        }
        g.throughput(Throughput::Elements(b as u64));
        // Each iteration advances a copy of a cache that already holds PAST positions.
        g.bench_function(format!("decode step/batch {b}"), |bench| {
            bench.iter_batched(
                || cache.clone(),
                |mut c| black_box(model.decode_step(&mut c, &start).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(marian, benches);
criterion_main!(marian);
