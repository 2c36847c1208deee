//! Generation settings with Hugging Face semantics and names, for seq2seq and GGUF models
//! alike.
//!
//! A model's settings are layered: its `generation_config.json` (then `config.json` for the
//! token ids), its card, `[generate]` of `pipeline.toml` (every model), then the task's
//! `[summarize.generate]` or `[translate.generate]`; what no layer sets takes transformers'
//! default for seq2seq models and the GGUF default for GGUF models
//! ([`crate::generate::sample::SamplingConfig::from_settings`]). Field names are transformers',
//! so a value can be copied across.

use serde::{Deserialize, Serialize};

/// `early_stopping`: `true`, `false` or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarlyStopping {
    /// Stop a batch item as soon as `num_beams` hypotheses are finished.
    True,
    /// Stop when the best running beam cannot beat the worst finished one (heuristic).
    #[default]
    False,
    /// Stop only when no better hypothesis is possible at all (canonical beam search).
    Never,
}

impl Serialize for EarlyStopping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EarlyStopping::True => s.serialize_bool(true),
            EarlyStopping::False => s.serialize_bool(false),
            EarlyStopping::Never => s.serialize_str("never"),
        }
    }
}

impl<'de> Deserialize<'de> for EarlyStopping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            B(bool),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::B(true) => Ok(EarlyStopping::True),
            Raw::B(false) => Ok(EarlyStopping::False),
            Raw::S(s) if s == "never" => Ok(EarlyStopping::Never),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "early_stopping must be true, false or \"never\", not \"{s}\""
            ))),
        }
    }
}

/// One token id or several (`eos_token_id` may be either in Hugging Face files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(t) => vec![*t],
            TokenIds::Many(v) => v.clone(),
        }
    }
}

/// Every setting svodka honours; `None` means "not set here" so layers can be merged.
/// Unknown keys are errors in svodka's own files (`pipeline.toml`, cards); Hugging Face's
/// `generation_config.json` goes through [`GenerationConfig::from_hf_json`], which keeps only
/// these keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationConfig {
    /// Longest decoder sequence, the start token included. transformers' default: 20.
    pub max_length: Option<usize>,
    /// Most new tokens; takes precedence over `max_length`.
    pub max_new_tokens: Option<usize>,
    /// Shortest decoder sequence (start token included) before EOS is allowed. Default: 0.
    pub min_length: Option<usize>,
    /// Fewest new tokens before EOS is allowed; takes precedence over `min_length`.
    pub min_new_tokens: Option<usize>,
    /// 1 = greedy. Default: 1.
    pub num_beams: Option<usize>,
    /// Exponent on the length a beam's score is divided by. Default: 1.0.
    pub length_penalty: Option<f32>,
    /// Default: false.
    pub early_stopping: Option<EarlyStopping>,
    /// Ban any n-gram of this size from repeating; 0 = off. Default: 0.
    pub no_repeat_ngram_size: Option<usize>,
    /// > 1 discourages tokens already generated; 1.0 = off. Default: 1.0 (GGUF models: 1.1).
    pub repetition_penalty: Option<f32>,
    /// Token sequences never to generate.
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    /// Token forced as the first generated one (mBART, NLLB target language).
    pub forced_bos_token_id: Option<u32>,
    /// Token forced when `max_length` is reached.
    pub forced_eos_token_id: Option<TokenIds>,
    pub decoder_start_token_id: Option<u32>,
    pub eos_token_id: Option<TokenIds>,
    pub pad_token_id: Option<u32>,
    /// Apply log-softmax after the logits processors. Default: false.
    pub renormalize_logits: Option<bool>,
    /// Replace NaN/inf logits. Default: false.
    pub remove_invalid_values: Option<bool>,
    /// Sample the next token instead of taking the most likely one (greedy): GGUF models only,
    /// seq2seq models refuse `true` (their decoding is greedy or beam search). Default: false.
    pub do_sample: Option<bool>,
    /// Divides the logits before sampling; only with `do_sample`, and then more than 0.
    /// Default: 1.0.
    pub temperature: Option<f64>,
    /// Nucleus sampling: the smallest set of tokens whose probabilities add up to `top_p`;
    /// only with `do_sample`; 1.0 = off. Default: 1.0.
    pub top_p: Option<f64>,
    /// Sample among the `top_k` most likely tokens; only with `do_sample`; 0 = off.
    /// Default: 50.
    pub top_k: Option<usize>,
    /// Whether `max_length` came from a layer merged on top of the model's files (a card,
    /// `pipeline.toml`, `--set`: what transformers receives as `generate()` kwargs). transformers
    /// reads a `max_length` of 20 from the model's files as its own default, "20 new tokens",
    /// but a 20 passed to `generate()` as 20 in all, start token included.
    #[serde(skip)]
    pub max_length_from_call: bool,
}

/// The keys of [`GenerationConfig`], for filtering Hugging Face files and checking `--set`.
pub(crate) const KEYS: &[&str] = &[
    "max_length",
    "max_new_tokens",
    "min_length",
    "min_new_tokens",
    "num_beams",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "bad_words_ids",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "decoder_start_token_id",
    "eos_token_id",
    "pad_token_id",
    "renormalize_logits",
    "remove_invalid_values",
    "do_sample",
    "temperature",
    "top_p",
    "top_k",
];

macro_rules! merge_fields {
    ($self:ident, $other:ident, $($f:ident),*) => {
        $( if $other.$f.is_some() { $self.$f = $other.$f.clone(); } )*
    };
}

impl GenerationConfig {
    /// The keys set here that only encoder-decoder decoding reads (beam search, length
    /// limits in `max_length` terms, n-gram bans, special token ids): a GGUF model's sampler
    /// takes `max_new_tokens`, `repetition_penalty`, `do_sample`, `temperature`, `top_p` and
    /// `top_k` only.
    pub fn seq2seq_only_keys(&self) -> Vec<&'static str> {
        let set = [
            ("max_length", self.max_length.is_some()),
            ("min_length", self.min_length.is_some()),
            ("min_new_tokens", self.min_new_tokens.is_some()),
            ("num_beams", self.num_beams.is_some_and(|n| n > 1)),
            ("length_penalty", self.length_penalty.is_some()),
            ("early_stopping", self.early_stopping.is_some()),
            ("no_repeat_ngram_size", self.no_repeat_ngram_size.is_some_and(|n| n > 0)),
            ("bad_words_ids", self.bad_words_ids.is_some()),
            ("forced_bos_token_id", self.forced_bos_token_id.is_some()),
            ("forced_eos_token_id", self.forced_eos_token_id.is_some()),
            ("decoder_start_token_id", self.decoder_start_token_id.is_some()),
        ];
        set.into_iter().filter(|(_, on)| *on).map(|(k, _)| k).collect()
    }

    /// Layer `other` on top: every field it sets wins.
    pub fn merge(&mut self, other: &GenerationConfig) {
        if other.max_length.is_some() {
            self.max_length_from_call = true;
        }
        merge_fields!(
            self,
            other,
            max_length,
            max_new_tokens,
            min_length,
            min_new_tokens,
            num_beams,
            length_penalty,
            early_stopping,
            no_repeat_ngram_size,
            repetition_penalty,
            bad_words_ids,
            forced_bos_token_id,
            forced_eos_token_id,
            decoder_start_token_id,
            eos_token_id,
            pad_token_id,
            renormalize_logits,
            remove_invalid_values,
            do_sample,
            temperature,
            top_p,
            top_k
        );
    }

    /// A Hugging Face `generation_config.json` (or any JSON object): the keys svodka knows,
    /// the rest (`transformers_version`, sampling knobs at their defaults, …) ignored; JSON
    /// `null` means unset.
    pub fn from_hf_json(v: &serde_json::Value) -> Result<GenerationConfig, serde_json::Error> {
        let known: serde_json::Map<String, serde_json::Value> = v
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| KEYS.contains(&k.as_str()) && !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        serde_json::from_value(serde_json::Value::Object(known))
    }

    /// Token ids that `config.json` carries and `generation_config.json` may lack.
    pub fn fill_from_model_config(&mut self, raw: &serde_json::Value) {
        let id = |k: &str| raw.get(k).and_then(|v| v.as_u64()).map(|v| v as u32);
        if self.decoder_start_token_id.is_none() {
            self.decoder_start_token_id = id("decoder_start_token_id");
        }
        if self.pad_token_id.is_none() {
            self.pad_token_id = id("pad_token_id");
        }
        if self.eos_token_id.is_none() {
            self.eos_token_id = id("eos_token_id").map(TokenIds::One);
        }
        if self.forced_eos_token_id.is_none() {
            self.forced_eos_token_id = id("forced_eos_token_id").map(TokenIds::One);
        }
        if self.forced_bos_token_id.is_none() {
            self.forced_bos_token_id = id("forced_bos_token_id");
        }
    }
}

/// The settings resolved for one call: lengths in absolute decoder positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub max_length: usize,
    pub min_length: usize,
    pub num_beams: usize,
    pub length_penalty: f32,
    pub early_stopping: EarlyStopping,
    pub no_repeat_ngram_size: usize,
    pub repetition_penalty: f32,
    pub bad_words_ids: Vec<Vec<u32>>,
    pub forced_bos_token_id: Option<u32>,
    pub forced_eos_token_id: Vec<u32>,
    pub decoder_start_token_id: u32,
    pub eos_token_id: Vec<u32>,
    pub pad_token_id: u32,
    pub renormalize_logits: bool,
    pub remove_invalid_values: bool,
}

/// Why a generation configuration cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("generation setting `{key}`: {message}")]
pub struct GenerationConfigError {
    pub key: &'static str,
    pub message: String,
}

impl GenerationConfig {
    /// Resolve lengths as transformers' `_prepare_generated_length` does for an
    /// encoder-decoder model, whose decoder prompt is the start token alone.
    pub fn resolve(&self, max_position_embeddings: Option<usize>) -> Result<Resolved, GenerationConfigError> {
        let err = |key, message: &str| GenerationConfigError {
            key,
            message: message.to_string(),
        };
        if self.do_sample == Some(true) {
            return Err(err(
                "do_sample",
                "is true, but seq2seq models decode greedily or with beam search (`num_beams`), never by \
                 sampling; sampling is for GGUF models: set do_sample = false for this task",
            ));
        }
        let prompt = 1;
        let max_length = match (self.max_new_tokens, self.max_length) {
            (Some(n), _) => n + prompt,
            // transformers turns its own default of 20 into "20 new tokens", unless the call
            // passed it.
            (None, None) => {
                let m = 20 + prompt;
                max_position_embeddings.map_or(m, |p| m.min(p))
            }
            (None, Some(20)) if !self.max_length_from_call => {
                let m = 20 + prompt;
                max_position_embeddings.map_or(m, |p| m.min(p))
            }
            (None, Some(m)) => m,
        };
        let min_length = match self.min_new_tokens {
            Some(n) => n + prompt,
            None => self.min_length.unwrap_or(0),
        };
        let num_beams = self.num_beams.unwrap_or(1);
        if num_beams == 0 {
            return Err(err("num_beams", "must be at least 1"));
        }
        if max_length <= prompt {
            return Err(err("max_length", "leaves no room for a generated token"));
        }
        let decoder_start_token_id = self
            .decoder_start_token_id
            .ok_or_else(|| err("decoder_start_token_id", "not set by the model or the configuration"))?;
        let eos = self.eos_token_id.as_ref().map(TokenIds::to_vec).unwrap_or_default();
        let pad = self.pad_token_id.or(eos.first().copied()).unwrap_or(0);
        let bad = self
            .bad_words_ids
            .clone()
            .unwrap_or_default()
            .into_iter()
            // transformers never bans EOS this way.
            .filter(|s| !(s.is_empty() || s.len() == 1 && eos.contains(&s[0])))
            .collect();
        Ok(Resolved {
            max_length,
            min_length,
            num_beams,
            length_penalty: self.length_penalty.unwrap_or(1.0),
            early_stopping: self.early_stopping.unwrap_or_default(),
            no_repeat_ngram_size: self.no_repeat_ngram_size.unwrap_or(0),
            repetition_penalty: self.repetition_penalty.unwrap_or(1.0),
            bad_words_ids: bad,
            forced_bos_token_id: self.forced_bos_token_id,
            forced_eos_token_id: self
                .forced_eos_token_id
                .as_ref()
                .map(TokenIds::to_vec)
                .unwrap_or_default(),
            decoder_start_token_id,
            eos_token_id: eos,
            pad_token_id: pad,
            renormalize_logits: self.renormalize_logits.unwrap_or(false),
            remove_invalid_values: self.remove_invalid_values.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hf_files_and_resolves_lengths() {
        let g = GenerationConfig::from_hf_json(
            &serde_json::from_str(
                r#"{"bad_words_ids": [[5]], "decoder_start_token_id": 5, "eos_token_id": 0, "forced_eos_token_id": 0,
                "max_length": 512, "num_beams": 4, "pad_token_id": 5, "early_stopping": "never", "transformers_version": "x"}"#,
            )
            .unwrap(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            serde_json::from_str::<GenerationConfig>(r#"{"num_beam": 4}"#).is_err(),
            "typos are caught"
        );
        let r = g.resolve(Some(512)).unwrap();
        assert_eq!((r.max_length, r.num_beams, r.pad_token_id), (512, 4, 5));
        assert_eq!(r.early_stopping, EarlyStopping::Never);
        assert_eq!(r.bad_words_ids, vec![vec![5]]);

        let mut g2 = g.clone();
        g2.merge(&GenerationConfig {
            max_new_tokens: Some(7),
            min_new_tokens: Some(3),
            ..Default::default()
        });
        let r = g2.resolve(None).unwrap();
        assert_eq!((r.max_length, r.min_length), (8, 4));
        // 20 in the model's files is transformers' default, "20 new tokens"; 20 passed on top
        // is 20 in all.
        let files = GenerationConfig {
            decoder_start_token_id: Some(1),
            max_length: Some(20),
            ..Default::default()
        };
        assert_eq!(files.resolve(None).unwrap().max_length, 21);
        let mut call = files.clone();
        call.merge(&GenerationConfig {
            max_length: Some(20),
            ..Default::default()
        });
        assert_eq!(call.resolve(None).unwrap().max_length, 20);
        let d = GenerationConfig {
            decoder_start_token_id: Some(1),
            ..Default::default()
        }
        .resolve(Some(10))
        .unwrap();
        assert_eq!(d.max_length, 10, "the default 20 new tokens, capped by the positions");
    }

    #[test]
    fn bad_values_are_named() {
        let g = GenerationConfig {
            do_sample: Some(true),
            decoder_start_token_id: Some(0),
            ..Default::default()
        };
        assert_eq!(g.resolve(None).unwrap_err().key, "do_sample");
        assert_eq!(
            GenerationConfig::default().resolve(None).unwrap_err().key,
            "decoder_start_token_id"
        );
        assert!(serde_json::from_str::<GenerationConfig>(r#"{"early_stopping": "sometimes"}"#).is_err());
    }
}
