//! The tokenizer of a single-file GGUF model, built from the file's `tokenizer.ggml.*` metadata so that it
//! encodes exactly as llama.cpp does for the same file.
//!
//! Why llama.cpp, not transformers, is the reference: a `.gguf` is a llama.cpp artefact, converted for and
//! run by llama.cpp's tokenizer wherever it is used. transformers' GGUF loader rebuilds
//! a *different* tokenizer (Qwen gets an NFC normaliser llama.cpp never applies, Gemma a Unigram model where
//! llama.cpp merges by score), so its ids can disagree with the ones the model expects. So each piece
//! here mirrors llama.cpp's `llama-vocab.cpp` as of the llama-cpp-python build the references come from:
//!
//! * `gpt2` files (byte-level BPE: Qwen2.5/3, Llama 3.x, SmolLM2) split text with the regexes llama.cpp
//!   picks by `tokenizer.ggml.pre`, not with the model's original `tokenizer.json` ones: llama.cpp's are
//!   adapted (no `(?i:…)`, several families share one) and some families chain several regexes, each
//!   splitting the pieces of the previous one (SmolLM2: digits first, then GPT-2's regex). Every regex is
//!   one `Split` (Isolated) and the chain a `Sequence`, then `ByteLevel` maps bytes to the vocabulary's
//!   alphabet. A `pre` we have no regexes for is an error rather than a silently different split: the
//!   families whose llama.cpp splitting is not a plain regex (deepseek's literal ranges, gpt-4o/tekken
//!   lookaheads run on llama.cpp's category-collapsed text, kimi-k2, afmoe, gemma4's `▁` BPE…) are left out.
//! * `llama` files (SentencePiece-style: Gemma 3, Llama 2) get llama.cpp's SPM algorithm: spaces become
//!   `▁` (with a leading `▁` per text fragment when `add_space_prefix`), then adjacent symbols merge while
//!   their concatenation is a token, highest score first, unknown characters falling back to `<0xXX>`
//!   bytes. That is a BPE whose merge ranks are the token scores, which is what we build. (llama.cpp
//!   breaks a tie between equal scores by position, a BPE by rank; we rank equal scores by token id.
//!   Distinct tokens with equal scores that compete for overlapping symbols could then merge in a
//!   different order; SentencePiece's BPE trainer scores pieces by rank, so ordinary pieces do not tie —
//!   not verified on a real Gemma 3 file, which we do not have.)
//! * Tokens typed CONTROL, USER_DEFINED or UNKNOWN are added tokens matched on the raw text before any
//!   splitting, as llama.cpp's `tokenizer_st_partition` does with `parse_special = true`: `<|im_start|>`
//!   in a rendered chat prompt is one id. CONTROL and UNKNOWN ones are "special" (skipped when decoding
//!   with `skip_special`), as llama.cpp's `token_to_piece(special = false)` drops them.
//! * Special ids, `add_bos`/`add_eos` defaults, and the end-of-generation set follow llama.cpp's loader,
//!   including its fix-ups by token text (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`… are end-of-generation
//!   and control even when the converter forgot to say so).
//!
//! Decoding concatenates pieces as the `tokenizers` decoders do; it does not apply llama.cpp's
//! `clean_spaces` (Llama 3's " ." → "." clean-up), so decoding reproduces the encoded text exactly.
//!
//! A `tokenizer.json` next to the model (`<stem>.tokenizer.json` or `tokenizer.json`) replaces the text
//! → ids part; special ids, BOS/EOS policy and stop ids still come from the GGUF metadata.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Vocab as BpeVocab};
use tokenizers::normalizers::{Prepend, Replace};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior};

use super::TokenizerError;

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
mod token_type {
    pub const UNKNOWN: i32 = 2;
    pub(crate) const CONTROL: i32 = 3;
    pub(crate) const USER_DEFINED: i32 = 4;
    pub(crate) const UNUSED: i32 = 5;
    pub(crate) const BYTE: i32 = 6;
}

/// llama.cpp's token attributes, reduced to the ones that change encoding or decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl Kind {
    fn from_type(t: i32) -> Kind {
        match t {
            token_type::UNKNOWN => Kind::Unknown,
            token_type::CONTROL => Kind::Control,
            token_type::USER_DEFINED => Kind::UserDefined,
            token_type::UNUSED => Kind::Unused,
            token_type::BYTE => Kind::Byte,
            // NORMAL (1) and UNDEFINED (0) and anything newer.
            _ => Kind::Normal,
        }
    }
}

// The regexes of llama.cpp's `llm_tokenizer_bpe` constructor, by pre-tokenizer type.

/// GPT-2's regex. llama.cpp's custom splitter for it also takes a lone trailing whitespace run (`\s+`),
/// which the regex leaves to the gap between matches; spelling it out changes nothing but says so.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Llama 3's regex with the case-insensitive contractions spelt out, as llama.cpp adapts it.
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's: Llama 3's with single digits.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen3.5's: Qwen2's with combining marks kept with letters.
const QWEN35: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// llama.cpp's `default` type (and a file without `pre`): four regexes in a row.
const DEFAULT: &[&str] = &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"];

/// How llama.cpp tokenizes a `gpt2` file with a given `tokenizer.ggml.pre`.
struct PreTokenizerSpec {
    regexes: &'static [&'static str],
    /// A piece that is itself a token is emitted whole, without merging (`tokenizer_ignore_merges`).
    ignore_merges: bool,
    /// llama.cpp's default for `add_bos` when the file has no `tokenizer.ggml.add_bos_token`.
    add_bos: bool,
}

/// The `pre` names llama.cpp maps to each regex family we implement, as in its `llama_vocab::impl::load`.
const PRE_TYPES: &[(&[&str], PreTokenizerSpec)] = &[
    (
        &[
            "llama3",
            "llama-v3",
            "llama-bpe",
            "falcon3",
            "falcon-h1",
            "pixtral",
            "midm-2.0",
            "lfm2",
            "jina-v5-nano",
        ],
        PreTokenizerSpec {
            regexes: &[LLAMA3],
            ignore_merges: true,
            add_bos: true,
        },
    ),
    (
        &["dbrx", "smaug-bpe"],
        PreTokenizerSpec {
            regexes: &[LLAMA3],
            ignore_merges: false,
            add_bos: false,
        },
    ),
    (
        &[
            "qwen2",
            "deepseek-r1-qwen",
            "kormo",
            "f2llmv2",
            "megrez",
            "stablelm2",
            "hunyuan",
            "solar-open",
        ],
        PreTokenizerSpec {
            regexes: &[QWEN2],
            ignore_merges: false,
            add_bos: false,
        },
    ),
    (
        &["qwen35"],
        PreTokenizerSpec {
            regexes: &[QWEN35],
            ignore_merges: false,
            add_bos: false,
        },
    ),
    (
        &[
            "smollm",
            "starcoder",
            "refact",
            "command-r",
            "codeshell",
            "exaone",
            "minerva-7b",
            "mellum2",
        ],
        PreTokenizerSpec {
            regexes: &[r"\p{N}", GPT2],
            ignore_merges: false,
            add_bos: false,
        },
    ),
    (
        &[
            "gpt-2",
            "phi-2",
            "jina-es",
            "jina-de",
            "gigachat",
            "jina-v2-es",
            "jina-v2-de",
            "a.x-4.0",
            "mellum",
            "modern-bert",
            "mpt",
            "olmo",
            "jais",
            "trillion",
            "granite-docling",
            "exaone4",
        ],
        PreTokenizerSpec {
            regexes: &[GPT2],
            ignore_merges: false,
            add_bos: false,
        },
    ),
    (
        &["default", ""],
        PreTokenizerSpec {
            regexes: DEFAULT,
            ignore_merges: false,
            add_bos: false,
        },
    ),
];

fn pre_tokenizer_spec(pre: &str) -> Option<&'static PreTokenizerSpec> {
    PRE_TYPES
        .iter()
        .find(|(names, _)| names.contains(&pre))
        .map(|(_, spec)| spec)
}

/// The `pre` names this module implements, for error messages.
pub(crate) fn supported_pre_tokenizers() -> Vec<&'static str> {
    PRE_TYPES
        .iter()
        .flat_map(|(names, _)| names.iter().copied())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Token texts llama.cpp treats as end of generation (`special_eog_ids`), whatever the metadata says.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];
/// Texts llama.cpp takes for the end-of-turn token when `tokenizer.ggml.eot_token_id` is absent.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// Typed access to the metadata of one file, with errors that name the file and the key.
struct Metadata<'a> {
    content: &'a Content,
    path: &'a Path,
}

impl<'a> Metadata<'a> {
    fn invalid(&self, message: String) -> TokenizerError {
        TokenizerError::Invalid {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.content.metadata.get(key)
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, TokenizerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.invalid(format!("`{key}` is a {:?}, not a string", v.value_type()))),
        }
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, TokenizerError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_to_i64(v)
                .map(Some)
                .ok_or_else(|| self.invalid(format!("`{key}` is a {:?}, not an integer", v.value_type()))),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, TokenizerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.invalid(format!("`{key}` is a {:?}, not a boolean", v.value_type()))),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&'a [Value]>, TokenizerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.invalid(format!("`{key}` is a {:?}, not an array", v.value_type()))),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, TokenizerError> {
        let Some(values) = self.array(key)? else {
            return Ok(None);
        };
        values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                v => Err(self.invalid(format!("`{key}`[{i}] is a {:?}, not a string", v.value_type()))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn integers(&self, key: &str) -> Result<Option<Vec<i64>>, TokenizerError> {
        let Some(values) = self.array(key)? else {
            return Ok(None);
        };
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                value_to_i64(v)
                    .ok_or_else(|| self.invalid(format!("`{key}`[{i}] is a {:?}, not an integer", v.value_type())))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn floats(&self, key: &str) -> Result<Option<Vec<f32>>, TokenizerError> {
        let Some(values) = self.array(key)? else {
            return Ok(None);
        };
        values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::F32(f) => Ok(*f),
                Value::F64(f) => Ok(*f as f32),
                v => value_to_i64(v)
                    .map(|n| n as f32)
                    .ok_or_else(|| self.invalid(format!("`{key}`[{i}] is a {:?}, not a number", v.value_type()))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn value_to_i64(v: &Value) -> Option<i64> {
    Some(match v {
        Value::U8(n) => *n as i64,
        Value::I8(n) => *n as i64,
        Value::U16(n) => *n as i64,
        Value::I16(n) => *n as i64,
        Value::U32(n) => *n as i64,
        Value::I32(n) => *n as i64,
        Value::U64(n) => i64::try_from(*n).ok()?,
        Value::I64(n) => *n,
        _ => return None,
    })
}

/// The vocabulary as llama.cpp's loader leaves it: token kinds after its fix-ups by text, special ids,
/// BOS/EOS policy and the end-of-generation set.
struct Vocab<'a> {
    tokens: Vec<&'a str>,
    kinds: Vec<Kind>,
    bos: Option<u32>,
    eos: Option<u32>,
    pad: Option<u32>,
    unk: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    eog: BTreeSet<u32>,
}

/// The model families of `tokenizer.ggml.model` we build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `gpt2`: byte-level BPE.
    Gpt2,
    /// `llama`: SentencePiece-style BPE over `▁`-escaped text with byte fallback.
    Spm,
}

impl<'a> Vocab<'a> {
    fn read(meta: &Metadata<'a>, family: Family, default_add_bos: bool) -> Result<Vocab<'a>, TokenizerError> {
        let tokens = meta
            .strings("tokenizer.ggml.tokens")?
            .ok_or_else(|| meta.invalid("no `tokenizer.ggml.tokens` in the metadata".into()))?;
        if tokens.is_empty() {
            return Err(meta.invalid("`tokenizer.ggml.tokens` is empty".into()));
        }
        let n = tokens.len();
        let mut kinds = match meta.integers("tokenizer.ggml.token_type")? {
            None => vec![Kind::Normal; n],
            Some(types) if types.len() < n => {
                return Err(meta.invalid(format!(
                    "`tokenizer.ggml.token_type` has {} entries for {n} tokens",
                    types.len()
                )));
            }
            Some(types) => types[..n].iter().map(|&t| Kind::from_type(t as i32)).collect(),
        };
        let in_range = |id: Option<i64>| id.filter(|&i| i >= 0 && (i as usize) < n).map(|i| i as u32);
        // llama.cpp's per-model defaults, replaced by the metadata when that names a token in range.
        let (default_bos, default_eos, default_unk) = match family {
            Family::Spm => (Some(1), Some(2), Some(0)),
            Family::Gpt2 => (Some(11), Some(11), None),
        };
        let special = |key: &str, default: Option<i64>| -> Result<Option<u32>, TokenizerError> {
            let default = in_range(default);
            Ok(match meta.integer(&format!("tokenizer.ggml.{key}"))? {
                Some(id) => in_range(Some(id)).or(default),
                None => default,
            })
        };
        let bos = special("bos_token_id", default_bos)?;
        let eos = special("eos_token_id", default_eos)?;
        let unk = special("unknown_token_id", default_unk)?;
        let pad = special("padding_token_id", None)?;
        let mut eot = special("eot_token_id", None)?;
        let mut eom = special("eom_token_id", None)?;
        let mut fim_pre = special("fim_pre_token_id", None)?.or(special("prefix_token_id", None)?);
        let mut fim_suf = special("fim_suf_token_id", None)?.or(special("suffix_token_id", None)?);
        let mut fim_mid = special("fim_mid_token_id", None)?.or(special("middle_token_id", None)?);
        let mut fim_pad = special("fim_pad_token_id", None)?;
        let mut fim_rep = special("fim_rep_token_id", None)?;
        let mut fim_sep = special("fim_sep_token_id", None)?;

        let add_bos = meta.bool("tokenizer.ggml.add_bos_token")?.unwrap_or(default_add_bos);
        let add_eos = meta.bool("tokenizer.ggml.add_eos_token")?.unwrap_or(false);

        // Fix-ups by text: the first token (in id order) with a known text fills each missing role and
        // becomes a control token.
        for (id, text) in tokens.iter().enumerate() {
            let id = id as u32;
            for (slot, texts) in [
                (&mut eot, EOT_TEXTS),
                (&mut eom, EOM_TEXTS),
                (&mut fim_pre, FIM_PRE_TEXTS),
                (&mut fim_suf, FIM_SUF_TEXTS),
                (&mut fim_mid, FIM_MID_TEXTS),
                (&mut fim_pad, FIM_PAD_TEXTS),
                (&mut fim_rep, FIM_REP_TEXTS),
                (&mut fim_sep, FIM_SEP_TEXTS),
            ] {
                if slot.is_none() && texts.contains(text) {
                    *slot = Some(id);
                    kinds[id as usize] = Kind::Control;
                }
            }
        }

        let mut eog: BTreeSet<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for (id, text) in tokens.iter().enumerate() {
            if EOG_TEXTS.contains(text) {
                eog.insert(id as u32);
                kinds[id] = Kind::Control;
            }
            // llama.cpp's gpt-oss hack: these are always rendered.
            if matches!(*text, "<|channel|>" | "<|message|>" | "<|start|>" | "<|constrain|>") {
                kinds[id] = Kind::UserDefined;
            }
        }
        eog.extend([eos, eot, eom].into_iter().flatten());
        // o200k_harmony / solar-open: `<|end|>` ends a message, not the generation.
        let find = |eog: &BTreeSet<u32>, t: &str| eog.iter().copied().find(|&id| tokens[id as usize] == t);
        let has = |eog: &BTreeSet<u32>, t: &str| find(eog, t).is_some();
        if (has(&eog, "<|return|>") && has(&eog, "<|call|>") || has(&eog, "<|calls|>") && has(&eog, "<|flush|>"))
            && let Some(end) = find(&eog, "<|end|>")
        {
            eog.remove(&end);
            kinds[end as usize] = Kind::UserDefined;
        }
        // gemma4 and plamo have a normal `</s>`.
        if (has(&eog, "<|tool_response>") || has(&eog, "<|plamo:eos|>"))
            && let Some(s) = find(&eog, "</s>")
        {
            eog.remove(&s);
            kinds[s as usize] = Kind::Normal;
        }

        Ok(Vocab {
            tokens,
            kinds,
            bos,
            eos,
            pad,
            unk,
            add_bos,
            add_eos,
            eog,
        })
    }

    /// The tokens llama.cpp splits out of the raw text before tokenizing (its special tokens cache), as
    /// added tokens: matched on the raw text, special unless user-defined.
    fn added_tokens(&self) -> Vec<AddedToken> {
        self.tokens
            .iter()
            .zip(&self.kinds)
            .filter_map(|(text, kind)| {
                let special = match kind {
                    Kind::Control | Kind::Unknown => true,
                    Kind::UserDefined => false,
                    _ => return None,
                };
                Some(AddedToken::from(*text, special).normalized(false))
            })
            .collect()
    }

    /// token → id, the last of equal texts winning as in llama.cpp's `token_to_id`.
    fn ids(&self) -> BpeVocab {
        self.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect()
    }
}

/// A GGUF model's tokenizer: text ↔ ids as llama.cpp, plus the special ids generation needs.
pub struct GgufTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
    bos: Option<u32>,
    eos: Option<u32>,
    pad: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    stop: Vec<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("path", &self.path)
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("add_bos", &self.add_bos)
            .field("add_eos", &self.add_eos)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl GgufTokenizer {
    /// The tokenizer of the model at `path`, whose header is `content`. A `tokenizer.json` beside the
    /// `.gguf` (`<stem>.tokenizer.json`, else `tokenizer.json` in the same directory) takes precedence for
    /// the text ↔ ids mapping.
    pub fn from_gguf(content: &Content, path: &Path) -> Result<GgufTokenizer, TokenizerError> {
        let meta = Metadata { content, path };
        let model = meta
            .string("tokenizer.ggml.model")?
            .ok_or_else(|| meta.invalid("no `tokenizer.ggml.model` in the metadata".into()))?;
        let family = match model {
            "gpt2" => Family::Gpt2,
            "llama" => Family::Spm,
            other => {
                return Err(TokenizerError::Unsupported(format!(
                    "{}: tokenizer model `{other}` (svodka reads `gpt2` (byte-level BPE) and `llama` \
                     (SentencePiece) GGUF tokenizers)",
                    path.display()
                )));
            }
        };
        let pre = meta.string("tokenizer.ggml.pre")?.unwrap_or("");
        if family == Family::Gpt2 && pre.is_empty() {
            // llama.cpp warns the same way and falls back to its `default` regexes.
            tracing::warn!(
                "{}: no `tokenizer.ggml.pre`, splitting text with llama.cpp's `default` regexes; \
                 generation quality may suffer, a newer conversion of the model would say which to use",
                path.display()
            );
        }
        let spec = match family {
            Family::Gpt2 => Some(pre_tokenizer_spec(pre).ok_or_else(|| {
                TokenizerError::Unsupported(format!(
                    "{}: pre-tokenizer `{pre}` (`tokenizer.ggml.pre`); svodka knows: {}",
                    path.display(),
                    supported_pre_tokenizers().join(", ")
                ))
            })?),
            Family::Spm => None,
        };
        let default_add_bos = match family {
            Family::Spm => true,
            Family::Gpt2 => spec.is_some_and(|s| s.add_bos),
        };
        let vocab = Vocab::read(&meta, family, default_add_bos)?;

        let mut inner = match sibling_tokenizer_json(path) {
            Some(json) => tokenizers::Tokenizer::from_file(&json).map_err(|e| TokenizerError::Invalid {
                path: json.clone(),
                message: e.to_string(),
            })?,
            None => match (family, spec) {
                (Family::Gpt2, Some(spec)) => build_gpt2(&meta, &vocab, spec)?,
                _ => build_spm(&meta, &vocab)?,
            },
        };
        let mut special: Vec<(String, u32)> = Vec::new();
        let mut single: Vec<String> = Vec::new();
        if vocab.add_bos {
            let bos = vocab
                .bos
                .ok_or_else(|| meta.invalid("`add_bos_token` is set but there is no BOS token".into()))?;
            special.push((vocab.tokens[bos as usize].to_string(), bos));
            single.push(vocab.tokens[bos as usize].to_string());
        }
        single.push("$A".into());
        if vocab.add_eos {
            let eos = vocab
                .eos
                .ok_or_else(|| meta.invalid("`add_eos_token` is set but there is no EOS token".into()))?;
            special.push((vocab.tokens[eos as usize].to_string(), eos));
            single.push(vocab.tokens[eos as usize].to_string());
        }
        // `inner()` users get the same BOS/EOS policy through the post-processor; `encode` adds them itself.
        let template = TemplateProcessing::builder()
            .try_single(single)
            .map_err(|e| meta.invalid(format!("cannot place BOS/EOS: {e}")))?
            .special_tokens(special)
            .build()
            .map_err(|e| meta.invalid(format!("cannot place BOS/EOS: {e}")))?;
        inner.with_post_processor(Some(template));

        Ok(GgufTokenizer {
            inner,
            path: path.to_path_buf(),
            bos: vocab.bos,
            eos: vocab.eos,
            pad: vocab.pad,
            add_bos: vocab.add_bos,
            add_eos: vocab.add_eos,
            stop: vocab.eog.into_iter().collect(),
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> TokenizerError {
        TokenizerError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Ids of `text`, special tokens written in the text taken as such (llama.cpp's `parse_special =
    /// true`), with BOS (and EOS) when `add_special` and the file asks for them (llama.cpp's
    /// `add_special`).
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self.inner.encode(text, false).map_err(|e| self.error(e))?;
        let mut ids = Vec::with_capacity(encoding.len() + 2);
        if add_special && self.add_bos {
            ids.extend(self.bos);
        }
        ids.extend_from_slice(encoding.get_ids());
        if add_special && self.add_eos {
            ids.extend(self.eos);
        }
        Ok(ids)
    }

    /// The text of `ids`; control tokens (`<|im_end|>`, BOS…) are left out when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        if let Some(&bad) = ids.iter().find(|&&id| self.inner.id_to_token(id).is_none()) {
            return Err(self.error(format!("token id {bad} is not in the vocabulary")));
        }
        self.inner.decode(ids, skip_special).map_err(|e| self.error(e))
    }

    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    pub fn pad(&self) -> Option<u32> {
        self.pad
    }

    /// Whether `encode(…, true)` starts with BOS (llama.cpp's `add_bos`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos && self.bos.is_some()
    }

    /// Every id generation must stop at (llama.cpp's `llama_vocab_is_eog`): EOS, end-of-turn,
    /// end-of-message, and the tokens llama.cpp recognises by text (`<|im_end|>`, `<|endoftext|>`,
    /// `<|eot_id|>`, `<end_of_turn>`, FIM padding/separators…), ascending.
    pub fn stop_ids(&self) -> Vec<u32> {
        self.stop.clone()
    }

    /// The token's text as the vocabulary stores it (raw for special tokens, so templates can use
    /// `bos_token`/`eos_token`; byte-level or `▁`-escaped for ordinary ones).
    pub fn token_str(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<stem>.tokenizer.json`, else `tokenizer.json`, in the model's directory.
fn sibling_tokenizer_json(path: &Path) -> Option<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path.file_stem()?.to_string_lossy();
    [dir.join(format!("{stem}.tokenizer.json")), dir.join("tokenizer.json")]
        .into_iter()
        .find(|p| p.is_file())
}

fn tokenizers_error(meta: &Metadata, what: &str, e: impl std::fmt::Display) -> TokenizerError {
    meta.invalid(format!("{what}: {e}"))
}

/// Byte-level BPE: merges as written, llama.cpp's split regexes, then bytes to the GPT-2 alphabet.
fn build_gpt2(
    meta: &Metadata,
    vocab: &Vocab,
    spec: &PreTokenizerSpec,
) -> Result<tokenizers::Tokenizer, TokenizerError> {
    let merges_raw = meta
        .strings("tokenizer.ggml.merges")?
        .ok_or_else(|| meta.invalid("no `tokenizer.ggml.merges` for a `gpt2` tokenizer".into()))?;
    let ids = vocab.ids();
    let mut seen = std::collections::HashSet::new();
    let mut merges = Vec::with_capacity(merges_raw.len());
    for (i, merge) in merges_raw.iter().enumerate() {
        // llama.cpp splits at the first space after the first byte (a merge may start with a space).
        let space = merge.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1);
        let Some(pos) = space else {
            return Err(meta.invalid(format!("`tokenizer.ggml.merges`[{i}] `{merge}` is not two tokens")));
        };
        let (a, b) = (&merge[..pos], &merge[pos + 1..]);
        // A merge whose parts or result are not tokens can never yield a token: llama.cpp would fall
        // back to bytes after it, we skip it (the `tokenizers` BPE refuses such merges).
        if !ids.contains_key(a) || !ids.contains_key(b) || !ids.contains_key(&format!("{a}{b}")) {
            continue;
        }
        // The first occurrence of a pair keeps its rank, as with llama.cpp's `bpe_ranks.emplace`.
        if seen.insert((a, b)) {
            merges.push((a.to_string(), b.to_string()));
        }
    }
    let bpe = BPE::builder()
        .vocab_and_merges(ids, merges)
        .ignore_merges(spec.ignore_merges)
        .build()
        .map_err(|e| tokenizers_error(meta, "cannot build the BPE model", e))?;
    let mut tokenizer = tokenizers::Tokenizer::new(bpe);
    let mut pre: Vec<PreTokenizerWrapper> = Vec::with_capacity(spec.regexes.len() + 1);
    for regex in spec.regexes {
        let split = Split::new(
            SplitPattern::Regex((*regex).to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| tokenizers_error(meta, &format!("pre-tokenizer regex `{regex}`"), e))?;
        pre.push(split.into());
    }
    pre.push(ByteLevel::new(false, false, false).into());
    tokenizer.with_pre_tokenizer(Some(PreSequence::new(pre)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    tokenizer
        .add_special_tokens(vocab.added_tokens())
        .map_err(|e| tokenizers_error(meta, "cannot add the special tokens", e))?;
    Ok(tokenizer)
}

/// llama.cpp's SPM tokenizer as a BPE: each token is the merge of any two tokens that spell it, ranked by
/// the token's score (higher first; ties by id, as a stable sort leaves them), over text whose spaces
/// are `▁`, with a leading `▁` on every fragment between special tokens when `add_space_prefix`.
fn build_spm(meta: &Metadata, vocab: &Vocab) -> Result<tokenizers::Tokenizer, TokenizerError> {
    let n = vocab.tokens.len();
    let scores = match meta.floats("tokenizer.ggml.scores")? {
        Some(s) if s.len() < n => {
            return Err(meta.invalid(format!(
                "`tokenizer.ggml.scores` has {} entries for {n} tokens",
                s.len()
            )));
        }
        Some(s) => s,
        None => vec![0.0; n],
    };
    let add_space_prefix = meta.bool("tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
    let ids = vocab.ids();
    // (score, id of the merged token, left, right)
    let mut merges: Vec<(f32, u32, &str, &str)> = Vec::new();
    for (id, token) in vocab.tokens.iter().enumerate() {
        // Only the id a text resolves to can be produced by a merge.
        if ids.get(*token) != Some(&(id as u32)) {
            continue;
        }
        for (split, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(split);
            if ids.contains_key(left) && ids.contains_key(right) {
                merges.push((scores[id], id as u32, left, right));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let merges = merges
        .into_iter()
        .map(|(_, _, l, r)| (l.to_string(), r.to_string()))
        .collect();
    let mut builder = BPE::builder()
        .vocab_and_merges(ids, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unk) = vocab.unk {
        builder = builder.unk_token(vocab.tokens[unk as usize].to_string());
    }
    let bpe = builder
        .build()
        .map_err(|e| tokenizers_error(meta, "cannot build the SentencePiece model", e))?;
    let mut tokenizer = tokenizers::Tokenizer::new(bpe);
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if add_space_prefix {
        normalizers.push(Prepend::new("▁".into()).into());
    }
    normalizers.push(
        Replace::new(" ", "▁")
            .map_err(|e| tokenizers_error(meta, "normalizer", e))?
            .into(),
    );
    tokenizer
        .with_normalizer(Some(tokenizers::normalizers::Sequence::new(normalizers)))
        .map_err(|e| tokenizers_error(meta, "normalizer", e))?;
    let mut decoders: Vec<DecoderWrapper> = vec![
        Replace::new("▁", " ")
            .map_err(|e| tokenizers_error(meta, "decoder", e))?
            .into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if add_space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
    tokenizer
        .add_special_tokens(vocab.added_tokens())
        .map_err(|e| tokenizers_error(meta, "cannot add the special tokens", e))?;
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::VersionedMagic;

    /// A GGUF header with the given metadata (no tensors).
    fn content(metadata: Vec<(&str, Value)>) -> Content {
        Content {
            magic: VersionedMagic::GgufV3,
            metadata: metadata.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            tensor_infos: std::collections::HashMap::new(),
            tensor_data_offset: 0,
        }
    }

    fn strings(v: &[&str]) -> Value {
        Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect())
    }

    fn ints(v: &[i32]) -> Value {
        Value::Array(v.iter().map(|&i| Value::I32(i)).collect())
    }

    /// A byte-level vocabulary: the 256 byte symbols, a few merges, chat specials.
    fn gpt2_content(pre: &str, extra: Vec<(&str, Value)>) -> Content {
        let mut tokens: Vec<String> = byte_symbols();
        let merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "1 2", "12 3"];
        for m in merges {
            tokens.push(m.replace(' ', ""));
        }
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>"];
        tokens.extend(specials.iter().map(|s| s.to_string()));
        let mut types = vec![1; tokens.len()];
        let n = types.len();
        types[n - 4..n - 1].fill(3);
        types[n - 1] = 4;
        let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let mut md = vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String(pre.into())),
            ("tokenizer.ggml.tokens", strings(&token_refs)),
            ("tokenizer.ggml.token_type", ints(&types)),
            ("tokenizer.ggml.merges", strings(&merges)),
            ("tokenizer.ggml.eos_token_id", Value::U32((n - 4) as u32)),
        ];
        md.extend(extra);
        content(md)
    }

    /// GPT-2's printable alphabet for bytes, in byte order.
    fn byte_symbols() -> Vec<String> {
        let mut out = Vec::new();
        let mut n = 0u32;
        for b in 0u32..256 {
            let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
            let c = if printable {
                char::from_u32(b).unwrap()
            } else {
                n += 1;
                char::from_u32(255 + n).unwrap()
            };
            out.push(c.to_string());
        }
        out
    }

    fn tok(content: &Content) -> GgufTokenizer {
        GgufTokenizer::from_gguf(content, Path::new("/nonexistent/model.gguf")).unwrap()
    }

    #[test]
    fn gpt2_merges_specials_and_stop_ids() {
        let c = gpt2_content("qwen2", vec![]);
        let t = tok(&c);
        let the = t.inner().token_to_id("Ġthe").unwrap();
        let im_start = t.inner().token_to_id("<|im_start|>").unwrap();
        let im_end = t.inner().token_to_id("<|im_end|>").unwrap();
        let eot = t.inner().token_to_id("<|endoftext|>").unwrap();
        // Control tokens in the text are one id each and never split.
        let ids = t.encode("<|im_start|> the<|im_end|>", true).unwrap();
        assert_eq!(ids, vec![im_start, the, im_end]);
        // qwen2 splits digits one by one, so the `1 2` merge never applies.
        let one = t.inner().token_to_id("1").unwrap();
        let two = t.inner().token_to_id("2").unwrap();
        assert_eq!(t.encode("12", true).unwrap(), vec![one, two]);
        // No BOS by default for a qwen2 pre-tokenizer.
        assert_eq!(t.bos(), Some(11));
        assert!(!t.adds_bos());
        assert_eq!(t.eos(), Some(eot));
        assert_eq!(t.stop_ids(), vec![eot, im_end]);
        // Decoding keeps or skips the control tokens; user-defined ones always stay.
        let with_tool = t.encode("<tool_call> the<|im_end|>", false).unwrap();
        assert_eq!(t.decode(&with_tool, false).unwrap(), "<tool_call> the<|im_end|>");
        assert_eq!(t.decode(&with_tool, true).unwrap(), "<tool_call> the");
        assert!(t.decode(&[100_000], false).is_err());
    }

    #[test]
    fn gpt2_families_split_digits_differently() {
        let gpt2 = tok(&gpt2_content("gpt-2", vec![]));
        let id = |t: &GgufTokenizer, s: &str| t.inner().token_to_id(s).unwrap();
        assert_eq!(gpt2.encode("123", false).unwrap(), vec![id(&gpt2, "123")]);
        let llama3 = tok(&gpt2_content(
            "llama-bpe",
            vec![("tokenizer.ggml.bos_token_id", Value::U32(0))],
        ));
        assert_eq!(llama3.encode("123", false).unwrap(), vec![id(&llama3, "123")]);
        // Llama 3 adds BOS unless the file says otherwise.
        assert_eq!(llama3.encode("123", true).unwrap(), vec![0, id(&llama3, "123")]);
        let no_bos = tok(&gpt2_content(
            "llama-bpe",
            vec![
                ("tokenizer.ggml.bos_token_id", Value::U32(0)),
                ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
            ],
        ));
        assert_eq!(no_bos.encode("123", true).unwrap(), vec![id(&no_bos, "123")]);
        // smollm splits digits first, then GPT-2's regex.
        let smollm = tok(&gpt2_content("smollm", vec![]));
        let digits: Vec<u32> = ["1", "2", "3"].iter().map(|d| id(&smollm, d)).collect();
        assert_eq!(smollm.encode("123", false).unwrap(), digits);
        // `default` (also for a file without `pre`) chains four regexes, the last cutting digits in threes.
        let ids = |t: &GgufTokenizer, pieces: &[&str]| pieces.iter().map(|p| id(t, p)).collect::<Vec<_>>();
        assert_eq!(gpt2.encode("51234", false).unwrap(), ids(&gpt2, &["5", "123", "4"]));
        for pre in ["default", ""] {
            let default = tok(&gpt2_content(pre, vec![]));
            assert_eq!(
                default.encode("51234", false).unwrap(),
                ids(&default, &["5", "12", "3", "4"]),
                "{pre:?}"
            );
        }
    }

    #[test]
    fn unknown_pre_tokenizer_is_named() {
        let c = gpt2_content("klingon-bpe", vec![]);
        let err = GgufTokenizer::from_gguf(&c, Path::new("m.gguf"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.gguf") && err.contains("`klingon-bpe`"), "{err}");
        assert!(
            err.contains("qwen2") && err.contains("llama-bpe") && err.contains("smollm"),
            "{err}"
        );
        let c = content(vec![("tokenizer.ggml.model", Value::String("bert".into()))]);
        let err = GgufTokenizer::from_gguf(&c, Path::new("m.gguf"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`bert`"), "{err}");
        let c = content(vec![("tokenizer.ggml.model", Value::U32(3))]);
        let err = GgufTokenizer::from_gguf(&c, Path::new("m.gguf"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tokenizer.ggml.model") && err.contains("not a string"),
            "{err}"
        );
    }

    /// A SentencePiece vocabulary: `<unk> <s> </s>`, bytes, pieces with scores.
    fn spm_content(extra: Vec<(&str, Value)>) -> Content {
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        let mut types = vec![2, 3, 3];
        let mut scores = vec![0.0f32; 3];
        for b in 0..256 {
            tokens.push(format!("<0x{b:02X}>"));
            types.push(6);
            scores.push(0.0);
        }
        for (piece, score) in [
            ("▁", -1.0),
            ("h", -2.0),
            ("e", -3.0),
            ("l", -4.0),
            ("o", -5.0),
            ("he", -6.0),
            ("ll", -7.0),
            ("▁he", -8.0),
            ("llo", -9.0),
            ("▁hello", -10.0),
            ("<start_of_turn>", 0.0),
        ] {
            tokens.push(piece.into());
            types.push(if piece.starts_with('<') { 3 } else { 1 });
            scores.push(score);
        }
        let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let mut md = vec![
            ("tokenizer.ggml.model", Value::String("llama".into())),
            ("tokenizer.ggml.tokens", strings(&token_refs)),
            ("tokenizer.ggml.token_type", ints(&types)),
            (
                "tokenizer.ggml.scores",
                Value::Array(scores.into_iter().map(Value::F32).collect()),
            ),
        ];
        md.extend(extra);
        content(md)
    }

    #[test]
    fn spm_merges_by_score_with_space_prefix_and_byte_fallback() {
        let t = tok(&spm_content(vec![]));
        let id = |s: &str| t.inner().token_to_id(s).unwrap();
        // BOS by default; a `▁` before the text and after each special token.
        assert_eq!(t.encode("hello", true).unwrap(), vec![1, id("▁hello")]);
        assert_eq!(
            t.encode("hello<start_of_turn>hello", false).unwrap(),
            vec![id("▁hello"), id("<start_of_turn>"), id("▁hello")]
        );
        // `é` is not a piece: its two UTF-8 bytes.
        assert_eq!(
            t.encode("hé", false).unwrap(),
            vec![id("▁"), id("h"), id("<0xC3>"), id("<0xA9>")]
        );
        assert_eq!(
            t.decode(&t.encode("hello hé", true).unwrap(), true).unwrap(),
            "hello hé"
        );
        assert_eq!(t.stop_ids(), vec![2]);

        let t = tok(&spm_content(vec![
            ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
            ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
        ]));
        let id = |s: &str| t.inner().token_to_id(s).unwrap();
        // "he" (-6) merges before "ll" (-7), then "llo" (-9); without the prefix there is no `▁hello`.
        assert_eq!(t.encode("hello", true).unwrap(), vec![id("he"), id("llo")]);
        assert_eq!(t.decode(&t.encode(" hello", true).unwrap(), false).unwrap(), " hello");
    }
}
