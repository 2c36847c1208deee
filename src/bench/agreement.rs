//! How closely one seq2seq model follows another on the same inputs: the quality cost of
//! int8 weights against float32 (`cargo bench --bench seq2seq -- --quality`, and the
//! `tests/int8.rs` bounds on the parity fixtures).
//!
//! Two figures, as the peers README reports them: the share of greedy outputs that are the
//! same token for token, and the largest difference between the two models' logits when both
//! are fed the reference model's greedy tokens (teacher-forced, so that one early divergence
//! does not make every later logit incomparable), next to the largest logit itself for scale.

use candle_core::{Device, Result, Tensor};

use crate::generate::{Resolved, Seq2Seq, generate};

/// What [`agreement`] measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// Inputs compared.
    pub sequences: usize,
    /// Inputs whose greedy outputs are equal token for token.
    pub equal_sequences: usize,
    /// Generated tokens of the reference, and those the other model matched before its first
    /// difference.
    pub tokens: usize,
    pub equal_prefix_tokens: usize,
    /// Largest |logit_ref − logit_other| over every step and vocabulary entry.
    pub max_logit_diff: f32,
    /// Largest |logit_ref| over the same, for scale.
    pub max_abs_logit: f32,
}

impl Agreement {
    /// The share of equal greedy outputs, 0..=1.
    pub fn equal_share(&self) -> f64 {
        self.equal_sequences as f64 / self.sequences.max(1) as f64
    }
}

/// Compare `other` with `reference` on `inputs` under `cfg` (its beams are ignored: greedy).
pub fn agreement(
    reference: &dyn Seq2Seq,
    other: &dyn Seq2Seq,
    inputs: &[Vec<u32>],
    cfg: &Resolved,
) -> Result<Agreement> {
    let greedy = Resolved {
        num_beams: 1,
        ..cfg.clone()
    };
    let want = generate(reference, inputs, &greedy)?;
    let got = generate(other, inputs, &greedy)?;
    let mut a = Agreement {
        sequences: inputs.len(),
        equal_sequences: 0,
        tokens: 0,
        equal_prefix_tokens: 0,
        max_logit_diff: 0.0,
        max_abs_logit: 0.0,
    };
    for (w, g) in want.iter().zip(&got) {
        a.equal_sequences += usize::from(w == g);
        // Both start with the decoder start token.
        a.tokens += w.len().saturating_sub(1);
        a.equal_prefix_tokens += w.iter().zip(g).skip(1).take_while(|(x, y)| x == y).count();
    }
    for (input, w) in inputs.iter().zip(&want) {
        let (diff, scale) = teacher_forced(reference, other, input, w)?;
        a.max_logit_diff = a.max_logit_diff.max(diff);
        a.max_abs_logit = a.max_abs_logit.max(scale);
    }
    Ok(a)
}

/// Feed `tokens` (the reference's output, start token first) to both models for `input`;
/// the largest logit difference and the largest reference logit over the steps.
fn teacher_forced(reference: &dyn Seq2Seq, other: &dyn Seq2Seq, input: &[u32], tokens: &[u32]) -> Result<(f32, f32)> {
    let dev = Device::Cpu;
    let ids = Tensor::new(input, &dev)?.unsqueeze(0)?;
    let mask = ids.ones_like()?;
    let start = |m: &dyn Seq2Seq| -> Result<_> {
        let enc = m.encode(&ids, &mask)?;
        m.new_cache(&enc, &mask)
    };
    let (mut ca, mut cb) = (start(reference)?, start(other)?);
    let (mut diff, mut scale) = (0f32, 0f32);
    // The last token is fed nowhere: nothing is predicted after it.
    for &t in &tokens[..tokens.len().saturating_sub(1)] {
        let tok = Tensor::new(&[[t]], &dev)?;
        let la = reference.decode_step(&mut ca, &tok)?;
        let lb = other.decode_step(&mut cb, &tok)?;
        let d = (&la - &lb)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        let s = la.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        // Masked entries (-inf in both, or the dtype's minimum) are not differences.
        if d.is_finite() {
            diff = diff.max(d);
        }
        if s.is_finite() {
            scale = scale.max(s);
        }
    }
    Ok((diff, scale))
}
