//! Greedy and beam search over a [`Seq2Seq`] model, with transformers' semantics (4.5x's
//! vectorised beam search: top `2 × num_beams` continuations per item, finished hypotheses
//! scored by `sum_logprobs / generated_len^length_penalty`, the same early-stopping rules).
//!
//! Rows that are done leave the batch (their cache rows are dropped), so a long straggler
//! does not make every finished row pay for each further step; the result of each row is
//! what it would be alone. Outputs are decoder sequences with the start token, without
//! padding, as `generate()` returns them row by row.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

use super::cache::DecoderCache;
use super::config::{EarlyStopping, Resolved};
use super::decoder::Seq2Seq;
use super::logits::{log_softmax, process};

/// Pad a batch on the right; returns ids and the 0/1 mask, both `[B, S]` u32.
pub(crate) fn pad_batch(inputs: &[Vec<u32>], pad: u32, device: &candle_core::Device) -> Result<(Tensor, Tensor)> {
    let s = inputs.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(inputs.len() * s);
    let mut mask = Vec::with_capacity(inputs.len() * s);
    for row in inputs {
        ids.extend(row.iter().copied().chain(std::iter::repeat(pad)).take(s));
        mask.extend((0..s).map(|i| u32::from(i < row.len())));
    }
    Ok((
        Tensor::from_vec(ids, (inputs.len(), s), device)?,
        Tensor::from_vec(mask, (inputs.len(), s), device)?,
    ))
}

/// Generate for a batch of tokenised inputs; one output sequence per input.
pub fn generate(model: &dyn Seq2Seq, inputs: &[Vec<u32>], cfg: &Resolved) -> Result<Vec<Vec<u32>>> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, mask) = pad_batch(inputs, cfg.pad_token_id, model.device())?;
    let encoded = model.encode(&ids, &mask)?;
    let mut cache = model.new_cache(&encoded, &mask)?;
    if cfg.num_beams <= 1 {
        greedy(model, &mut cache, inputs.len(), cfg)
    } else {
        beam(model, &mut cache, inputs.len(), cfg)
    }
}

fn step(model: &dyn Seq2Seq, cache: &mut DecoderCache, last: Vec<u32>) -> Result<Vec<Vec<f32>>> {
    let n = last.len();
    let tokens = Tensor::from_vec(last, (n, 1), model.device())?;
    model.decode_step(cache, &tokens)?.to_vec2::<f32>()
}

/// First index of the maximum, as `torch.argmax`.
fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] || (xs[best].is_nan() && !x.is_nan()) {
            best = i;
        }
    }
    best as u32
}

fn greedy(model: &dyn Seq2Seq, cache: &mut DecoderCache, n: usize, cfg: &Resolved) -> Result<Vec<Vec<u32>>> {
    let mut seqs: Vec<Vec<u32>> = vec![vec![cfg.decoder_start_token_id]; n];
    // Row r of the cache holds item active[r].
    let mut active: Vec<usize> = (0..n).collect();
    while !active.is_empty() {
        let last = active.iter().map(|&i| *seqs[i].last().expect("non-empty")).collect();
        let logits = step(model, cache, last)?;
        let mut keep = Vec::with_capacity(active.len());
        for (r, (&i, mut scores)) in active.iter().zip(logits).enumerate() {
            process(cfg, &seqs[i], &mut scores);
            let t = argmax(&scores);
            seqs[i].push(t);
            if !cfg.eos_token_id.contains(&t) && seqs[i].len() < cfg.max_length {
                keep.push(r);
            }
        }
        if keep.len() < active.len() {
            active = keep.iter().map(|&r| active[r]).collect();
            if !active.is_empty() {
                cache.select_rows(&keep.iter().map(|&r| r as u32).collect::<Vec<_>>())?;
            }
        }
    }
    Ok(seqs)
}

/// A finished-hypothesis slot.
#[derive(Debug, Clone)]
struct Slot {
    seq: Vec<u32>,
    score: f32,
    finished: bool,
}

/// One batch item's beam state.
#[derive(Debug, Clone)]
struct Item {
    running: Vec<Vec<u32>>,
    running_scores: Vec<f32>,
    slots: Vec<Slot>,
    unsatisfied: bool,
}

/// A continuation: accumulated log-prob, source beam, token.
#[derive(Debug, Clone, Copy)]
struct Cand {
    score: f32,
    beam: usize,
    token: u32,
}

/// Indices of the `k` largest values, largest first; ties keep the lower index first.
fn top_k_indices(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// The `k` best (value, index) of one row, largest first, ties by lower index.
fn row_top_k(xs: &[f32], k: usize) -> Vec<(f32, usize)> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, &x) in xs.iter().enumerate() {
        if best.len() == k && x.total_cmp(&best[k - 1].0).is_le() {
            continue;
        }
        let pos = best.partition_point(|&(v, _)| v.total_cmp(&x).is_ge());
        best.insert(pos, (x, i));
        best.truncate(k);
    }
    best
}

/// Divide like torch divides an f32 tensor by a Python float: the divisor is computed in
/// double precision and rounded to f32.
fn len_norm(len: usize, penalty: f32) -> f32 {
    (len as f64).powf(f64::from(penalty)) as f32
}

fn beam(model: &dyn Seq2Seq, cache: &mut DecoderCache, n: usize, cfg: &Resolved) -> Result<Vec<Vec<u32>>> {
    let nb = cfg.num_beams;
    let k = (1 + cfg.eos_token_id.len()).max(2) * nb;
    let start = vec![cfg.decoder_start_token_id];
    let mut items: Vec<Item> = (0..n)
        .map(|_| Item {
            running: vec![start.clone(); nb],
            running_scores: (0..nb).map(|b| if b == 0 { 0.0 } else { -1e9 }).collect(),
            slots: vec![
                Slot {
                    seq: start.clone(),
                    score: -1e9,
                    finished: false
                };
                nb
            ],
            unsatisfied: true,
        })
        .collect();
    // Each item starts as one encoder row; give it one cache row per beam.
    let expand: Vec<u32> = (0..n as u32).flat_map(|i| std::iter::repeat_n(i, nb)).collect();
    cache.select_rows(&expand)?;
    let mut active: Vec<usize> = (0..n).collect();
    let mut cur_len = 1usize;
    while !active.is_empty() {
        let last: Vec<u32> = active
            .iter()
            .flat_map(|&i| items[i].running.iter().map(|s| *s.last().expect("non-empty")))
            .collect();
        let logits = step(model, cache, last)?;
        // Each active item's rows of logits, moved out (no copy), in the order of `active`.
        let mut rows_of = logits.into_iter();
        let per_item: Vec<Vec<Vec<f32>>> = active.iter().map(|_| rows_of.by_ref().take(nb).collect()).collect();
        // Items are independent: their bookkeeping (log-softmax and top-k over the vocabulary
        // for every beam) runs on rayon's threads; each returns whether it goes on and which
        // beams its next rows come from.
        let mut is_active = vec![false; n];
        for &i in &active {
            is_active[i] = true;
        }
        let work: Vec<(&mut Item, Vec<Vec<f32>>)> = items
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| is_active[*i])
            .map(|(_, item)| item)
            .zip(per_item)
            .collect();
        let outcomes: Vec<Option<Vec<usize>>> = work
            .into_par_iter()
            .map(|(item, mut item_logits)| {
                // Continuations of each beam; only a beam's own top k can reach the item's top k.
                let mut cands: Vec<Cand> = Vec::with_capacity(nb * k);
                for (b, s) in item_logits.iter_mut().enumerate() {
                    log_softmax(s);
                    process(cfg, &item.running[b], s);
                    let add = item.running_scores[b];
                    for v in s.iter_mut() {
                        *v += add;
                    }
                    cands.extend(row_top_k(s, k).into_iter().map(|(score, t)| Cand {
                        score,
                        beam: b,
                        token: t as u32,
                    }));
                }
                // Flattened order (beam-major, then token) breaks ties, as a flat topk would.
                cands.sort_by(|x, y| {
                    y.score
                        .total_cmp(&x.score)
                        .then((x.beam, x.token).cmp(&(y.beam, y.token)))
                });
                cands.truncate(k);
                let hits: Vec<bool> = cands
                    .iter()
                    .map(|c| cfg.eos_token_id.contains(&c.token) || cur_len + 1 >= cfg.max_length)
                    .collect();

                // Running beams for the next step: the best continuations that did not stop.
                let adjusted: Vec<f32> = cands
                    .iter()
                    .zip(&hits)
                    .map(|(c, &h)| c.score + if h { -1e9 } else { 0.0 })
                    .collect();
                let next = top_k_indices(&adjusted, nb);
                let old_running = std::mem::take(&mut item.running);
                item.running = next
                    .iter()
                    .map(|&j| {
                        let mut s = old_running[cands[j].beam].clone();
                        s.push(cands[j].token);
                        s
                    })
                    .collect();
                item.running_scores = next.iter().map(|&j| adjusted[j]).collect();
                let sources: Vec<usize> = next.iter().map(|&j| cands[j].beam).collect();

                // Finished hypotheses: merge the continuations that stopped among the top num_beams.
                let full = item.slots.iter().all(|s| s.finished) && cfg.early_stopping == EarlyStopping::True;
                let norm = len_norm(cur_len + 1 - 1, cfg.length_penalty);
                let mut merged: Vec<Slot> = std::mem::take(&mut item.slots);
                for (j, c) in cands.iter().enumerate() {
                    let just_finished = hits[j] && j < nb;
                    let mut score = c.score / norm;
                    if full {
                        score += -1e9;
                    }
                    if !item.unsatisfied {
                        score += -1e9;
                    }
                    if !just_finished {
                        score += -1e9;
                    }
                    let mut seq = old_running[c.beam].clone();
                    seq.push(c.token);
                    merged.push(Slot {
                        seq,
                        score,
                        finished: just_finished,
                    });
                }
                let scores: Vec<f32> = merged.iter().map(|s| s.score).collect();
                item.slots = top_k_indices(&scores, nb)
                    .into_iter()
                    .map(|j| merged[j].clone())
                    .collect();

                // Early-stop heuristic, evaluated at the new length.
                let best_len = if cfg.early_stopping == EarlyStopping::Never && cfg.length_penalty > 0.0 {
                    cfg.max_length - 1
                } else {
                    cur_len + 1 - 1
                };
                let best_possible = item.running_scores[0] / len_norm(best_len, cfg.length_penalty);
                let min_finished = item.slots.iter().map(|s| s.score).fold(f32::INFINITY, f32::min);
                let improvable = item
                    .slots
                    .iter()
                    .any(|s| best_possible > if s.finished { min_finished } else { -1e9 });
                item.unsatisfied &= improvable;

                let all_full = item.slots.iter().all(|s| s.finished) && cfg.early_stopping == EarlyStopping::True;
                let at_max = cur_len + 1 >= cfg.max_length;
                (item.unsatisfied && !all_full && !at_max).then_some(sources)
            })
            .collect();
        let mut rows: Vec<u32> = Vec::new();
        let mut still: Vec<usize> = Vec::new();
        for (a, (&i, o)) in active.iter().zip(outcomes).enumerate() {
            if let Some(sources) = o {
                still.push(i);
                rows.extend(sources.iter().map(|&b| (a * nb + b) as u32));
            }
        }
        cur_len += 1;
        active = still;
        if !active.is_empty() {
            cache.select_rows(&rows)?;
        }
    }
    Ok(items
        .into_iter()
        .map(|item| {
            let best = item.slots.into_iter().next().expect("num_beams ≥ 1");
            best.seq
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        assert_eq!(top_k_indices(&[1.0, 3.0, 3.0, 2.0], 3), vec![1, 2, 3]);
        assert_eq!(
            row_top_k(&[1.0, 3.0, f32::NEG_INFINITY, 3.0, 2.0], 3),
            vec![(3.0, 1), (3.0, 3), (2.0, 4)]
        );
        assert_eq!(argmax(&[1.0, 5.0, 5.0]), 1);
    }

    #[test]
    fn padding_is_on_the_right() {
        let dev = candle_core::Device::Cpu;
        let (ids, mask) = pad_batch(&[vec![3, 4, 5], vec![6]], 9, &dev).unwrap();
        assert_eq!(ids.to_vec2::<u32>().unwrap(), vec![vec![3, 4, 5], vec![6, 9, 9]]);
        assert_eq!(mask.to_vec2::<u32>().unwrap(), vec![vec![1, 1, 1], vec![1, 0, 0]]);
    }
}
