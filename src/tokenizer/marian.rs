//! The OPUS-MT (Marian) tokenizer, reproducing Hugging Face transformers' `MarianTokenizer` id for id.
//!
//! Why hand-written: Marian repos ship `source.spm`, `target.spm` and `vocab.json` (plus
//! `target_vocab.json` for separate vocabularies) but no `tokenizer.json`, and `MarianTokenizer` is a
//! "slow" Python tokenizer with its own id mapping: SentencePiece pieces are looked up by *string* in
//! `vocab.json` (whose ids differ from the spm ids), so no `tokenizers` pipeline loads it.
//!
//! What `MarianTokenizer` does — transformers **4.57.6**, the version the project's fixtures were made with
//! (`models/marian/tokenization_marian.py` and `tokenization_utils.py`) — and what this module mirrors:
//! * `tokenize`: the text is first split on the added tokens (`</s>`, `<unk>`, `<pad>` and any additional
//!   special tokens), longest match first; those become single ids. Each remaining chunk goes to `_tokenize`:
//!   a language code at its very start (`>>rus<<`: the chunk starts with `>>` and contains `<<`; everything
//!   up to the first `<<` is the code) is kept whole, the rest is encoded by the source spm model
//!   (`encode(out_type=str)`, with the model's own normalisation — no Moses normalisation:
//!   `MarianTokenizer.normalize` exists but nothing calls it, see `moses.rs`).
//! * ids: each token is looked up in the added tokens (ids from `vocab.json`), then in `vocab.json`
//!   (`target_vocab.json` on the target side when `separate_vocabs`); anything else is `<unk>`. `</s>` is
//!   appended.
//! * decode: ids → tokens through the added tokens, then the decoding vocab (`target_vocab.json` if
//!   `separate_vocabs`, else `vocab.json`), else `<unk>`; with `skip_special_tokens` special ids *and* tokens
//!   spelled like a special token are dropped. `convert_tokens_to_string` copies special tokens verbatim
//!   followed by a space and sends runs of other tokens through the **target** spm model's `decode_pieces`;
//!   `▁` becomes a space, the result is `str.strip()`ped, then `clean_up_tokenization` if the config asks.
//!
//! transformers 5.x differs in decoding only: it decodes with the *source* spm model unless
//! `separate_vocabs` (`use_source_tokenizer` defaults to `not separate_vocabs`), and maps ids missing from
//! the vocab through the spm model's pieces instead of `<unk>` (raising for ids beyond it). Encoding is the
//! same. Older 4.x releases (before `find("<<")`) removed language codes with the regex `>>.+<<`, matched at
//! the start but substituted everywhere in the chunk.
//!
//! Encoding uses [`SpmModel::encode_with`], the exact native SentencePiece encoder, rather than a
//! `tokenizers::Tokenizer` (see `spm.rs` for where the two differ); everything is prepared in
//! [`MarianTokenizer::from_dir`] so `encode` only allocates its output.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::spm::{SPACE_SYMBOL, SpmModel};
use super::{TokenizerError, py_isspace, py_strip};

/// transformers' `SPECIAL_TOKENS_ATTRIBUTES` order, which fixes the order (and so the ids of tokens missing
/// from the vocab) in which special tokens are added.
const SPECIAL_TOKEN_KEYS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

#[derive(Debug, Clone)]
/// An entry of `_added_tokens_decoder`. Whether it is "special" is decided by `all_special_tokens`
/// (named + extra special tokens), not by the entry's own `special` flag, as in transformers 5.
struct AddedToken {
    content: String,
    lstrip: bool,
    rstrip: bool,
    single_word: bool,
}

/// transformers' `MarianTokenizer`, loaded from an OPUS-MT model directory.
#[derive(Debug, Clone)]
pub struct MarianTokenizer {
    source: SpmModel,
    target: SpmModel,
    encoder: HashMap<String, u32>,
    /// `target_vocab.json` when `separate_vocabs`.
    target_encoder: Option<HashMap<String, u32>>,
    /// id → token of the decoding vocabulary (`self.decoder`: target vocab if separate, else source vocab).
    decoder: HashMap<u32, String>,
    /// id → token of the source vocabulary, for [`MarianTokenizer::id_to_token`].
    source_decoder: HashMap<u32, String>,
    added_by_content: HashMap<String, u32>,
    added_by_id: HashMap<u32, AddedToken>,
    /// added-token contents grouped by first byte, longest first, for the text split; indexed by the byte
    /// so that scanning text costs one array lookup per byte.
    added_by_first_byte: Vec<Vec<String>>,
    special_tokens: HashSet<String>,
    special_ids: HashSet<u32>,
    /// `legacy_added_tokens` of `_decode`: added tokens that are not special, plus additional special tokens
    /// with ids past the vocab; decode emits them as separate space-joined parts.
    legacy_added_tokens: HashSet<String>,
    eos_id: u32,
    pad_id: u32,
    unk_id: u32,
    /// `current_encoder[unk_token]` on the target side.
    target_unk_id: u32,
    unk_token: String,
    separate_vocabs: bool,
    source_lang: Option<String>,
    target_lang: Option<String>,
    clean_up_tokenization_spaces: bool,
}

impl MarianTokenizer {
    /// Load from a repo dir: `source.spm`, `target.spm`, `vocab.json`, and `target_vocab.json` when
    /// `tokenizer_config.json` says `separate_vocabs`; `source_lang`/`target_lang`, special tokens and
    /// `clean_up_tokenization_spaces` from `tokenizer_config.json` (absent file = defaults).
    pub fn from_dir(dir: &Path) -> Result<MarianTokenizer, TokenizerError> {
        let config = read_json_opt(&dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
        let separate_vocabs = config.get("separate_vocabs").and_then(Value::as_bool).unwrap_or(false);
        let lang = |key: &str| config.get(key).and_then(Value::as_str).map(str::to_string);

        let source = SpmModel::from_file(&dir.join("source.spm"))?;
        let target = SpmModel::from_file(&dir.join("target.spm"))?;
        source.ensure_unigram()?;
        target.ensure_unigram()?;

        let vocab_path = dir.join("vocab.json");
        let vocab = read_vocab(&vocab_path)?;
        let encoder: HashMap<String, u32> = vocab.iter().cloned().collect();
        let target_vocab = if separate_vocabs {
            // the repo's own file name (vocab_files_names), whatever a config entry says
            Some(read_vocab(&dir.join("target_vocab.json"))?)
        } else {
            None
        };
        // `{v: k for k, v in encoder.items()}`: the last key wins for a repeated id
        let source_decoder: HashMap<u32, String> = vocab.iter().map(|(k, v)| (*v, k.clone())).collect();
        let decoder = match &target_vocab {
            Some(tv) => tv.iter().map(|(k, v)| (*v, k.clone())).collect(),
            None => source_decoder.clone(),
        };
        let target_encoder: Option<HashMap<String, u32>> = target_vocab.map(|tv| tv.into_iter().collect());

        // ---- special and added tokens (PreTrainedTokenizerBase / PythonBackend __init__) ----
        let special_map = if config.get("added_tokens_decoder").is_none() {
            read_json_opt(&dir.join("special_tokens_map.json"))?
        } else {
            None
        };
        let setting = |key: &str| -> Option<Value> {
            special_map
                .as_ref()
                .and_then(|m| m.get(key))
                .or_else(|| config.get(key))
                .cloned()
        };
        let mut named: Vec<(String, String)> = Vec::new();
        for key in SPECIAL_TOKEN_KEYS {
            let default = match key {
                "eos_token" => Some("</s>"),
                "unk_token" => Some("<unk>"),
                "pad_token" => Some("<pad>"),
                _ => None,
            };
            let value = setting(key)
                .as_ref()
                .and_then(token_content)
                .or(default.map(str::to_string));
            if let Some(v) = value {
                named.push((key.to_string(), v));
            }
        }
        // `additional_special_tokens` (a list); `extra_special_tokens` is, in 4.57, a dict of extra *named*
        // tokens (appended to SPECIAL_TOKENS_ATTRIBUTES), and in 5.x-saved configs a list like the former.
        let mut extra: Vec<String> = Vec::new();
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            match setting(key) {
                Some(Value::Array(items)) => extra.extend(items.iter().filter_map(token_content)),
                Some(Value::Object(map)) => {
                    named.extend(map.iter().filter_map(|(k, v)| Some((k.clone(), token_content(v)?))));
                }
                _ => {}
            }
        }
        let token = |key: &str| named.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let unk_token = token("unk_token").unwrap_or_else(|| "<unk>".into());
        let eos_token = token("eos_token").unwrap_or_else(|| "</s>".into());
        let pad_token = token("pad_token").unwrap_or_else(|| "<pad>".into());

        let mut all_special: Vec<String> = Vec::new();
        // all_special_tokens order: the named tokens, then the additional ones
        let is_standard = |k: &str| SPECIAL_TOKEN_KEYS.contains(&k);
        let ordered = (named.iter().filter(|(k, _)| is_standard(k)).map(|(_, v)| v))
            .chain(extra.iter())
            .chain(named.iter().filter(|(k, _)| !is_standard(k)).map(|(_, v)| v));
        for t in ordered {
            if !all_special.contains(t) {
                all_special.push(t.clone());
            }
        }

        let config_path = dir.join("tokenizer_config.json");
        let mut added_by_id: HashMap<u32, AddedToken> = HashMap::new();
        if let Some(Value::Object(map)) = config.get("added_tokens_decoder") {
            for (id, tok) in map {
                let id: u32 = id.parse().map_err(|_| TokenizerError::Invalid {
                    path: config_path.clone(),
                    message: format!("added_tokens_decoder key {id:?} is not an id"),
                })?;
                let content = token_content(tok).ok_or_else(|| TokenizerError::Invalid {
                    path: config_path.clone(),
                    message: format!("added_tokens_decoder[{id}] has no content"),
                })?;
                let flag = |k: &str| tok.get(k).and_then(Value::as_bool).unwrap_or(false);
                let added = AddedToken {
                    content,
                    lstrip: flag("lstrip"),
                    rstrip: flag("rstrip"),
                    single_word: flag("single_word"),
                };
                added_by_id.insert(id, added);
            }
        } else if let Some(Value::Object(map)) = read_json_opt(&dir.join("added_tokens.json"))? {
            // legacy added_tokens.json: {"token": id}
            for (content, id) in map {
                if let Some(id) = id.as_u64().and_then(|v| u32::try_from(v).ok()) {
                    added_by_id.insert(
                        id,
                        AddedToken {
                            content,
                            lstrip: false,
                            rstrip: false,
                            single_word: false,
                        },
                    );
                }
            }
        }
        let mut added_by_content: HashMap<String, u32> =
            added_by_id.iter().map(|(id, t)| (t.content.clone(), *id)).collect();

        // `_add_tokens(all_special_tokens not yet added, special_tokens=True)`: a token already in vocab.json
        // keeps that id, a new one is appended after `len(get_vocab())`.
        let mut current_vocab: HashMap<String, u32> = encoder.clone();
        current_vocab.extend(added_by_content.iter().map(|(k, v)| (k.clone(), *v)));
        let new_base = current_vocab.len() as u32;
        let mut n_new = 0;
        for t in &all_special {
            if added_by_content.contains_key(t) {
                continue;
            }
            let id = match current_vocab.get(t) {
                Some(&id) => id,
                None => {
                    let id = new_base + n_new;
                    n_new += 1;
                    current_vocab.insert(t.clone(), id);
                    id
                }
            };
            added_by_id.insert(
                id,
                AddedToken {
                    content: t.clone(),
                    lstrip: false,
                    rstrip: false,
                    single_word: false,
                },
            );
            added_by_content.insert(t.clone(), id);
        }

        // `if str(unk_token) not in self.encoder: raise KeyError`, `assert str(pad_token) in self.encoder`
        for t in [&unk_token, &pad_token] {
            if !encoder.contains_key(t) {
                return Err(TokenizerError::Invalid {
                    path: vocab_path,
                    message: format!("{t} must be in the vocab"),
                });
            }
        }
        let id_of = |t: &str| added_by_content.get(t).copied().or_else(|| encoder.get(t).copied());
        let eos_id = id_of(&eos_token).unwrap_or(0);
        let pad_id = id_of(&pad_token).unwrap_or(0);
        let unk_id = id_of(&unk_token).unwrap_or(0);
        let target_unk_id = target_encoder
            .as_ref()
            .and_then(|te| te.get(&unk_token).copied())
            .unwrap_or(unk_id);
        let special_ids: HashSet<u32> = all_special.iter().filter_map(|t| id_of(t)).collect();
        let vocab_size = encoder.len() as u32;
        let legacy_added_tokens: HashSet<String> = added_by_content
            .keys()
            .filter(|t| !all_special.contains(t))
            .chain(extra.iter().filter(|t| id_of(t).is_some_and(|id| id >= vocab_size)))
            .cloned()
            .collect();

        let mut added_by_first_byte: Vec<Vec<String>> = vec![Vec::new(); 256];
        for content in added_by_content.keys().filter(|c| !c.is_empty()) {
            added_by_first_byte[content.as_bytes()[0] as usize].push(content.clone());
        }
        for list in &mut added_by_first_byte {
            list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }

        Ok(MarianTokenizer {
            source,
            target,
            encoder,
            target_encoder,
            decoder,
            source_decoder,
            added_by_content,
            added_by_id,
            added_by_first_byte,
            special_tokens: all_special.into_iter().collect(),
            special_ids,
            legacy_added_tokens,
            eos_id,
            pad_id,
            unk_id,
            target_unk_id,
            unk_token,
            separate_vocabs,
            source_lang: lang("source_lang"),
            target_lang: lang("target_lang"),
            clean_up_tokenization_spaces: config
                .get("clean_up_tokenization_spaces")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// Source side, exactly `MarianTokenizer(text).input_ids`: language-code prefix tokens like `>>rus<<`
    /// kept as single ids, spm pieces mapped through vocab.json (unknown pieces → unk id), eos appended.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_side(text, &self.source, &self.encoder, self.unk_id)
    }

    /// Target side: `MarianTokenizer(text_target=text).input_ids` (target spm model, and target_vocab.json
    /// when the vocabularies are separate).
    pub fn encode_target(&self, text: &str) -> Vec<u32> {
        match &self.target_encoder {
            Some(te) => self.encode_side(text, &self.target, te, self.target_unk_id),
            None => self.encode_side(text, &self.target, &self.encoder, self.unk_id),
        }
    }

    /// `MarianTokenizer.tokenize(text)`: the tokens before the vocab lookup (added tokens, language code,
    /// source spm pieces; no `</s>`).
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.tokenize_with(text, &self.source, |t| out.push(t.to_string()));
        out
    }

    /// `tokenize()` in target mode (target spm model).
    pub fn tokenize_target(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.tokenize_with(text, &self.target, |t| out.push(t.to_string()));
        out
    }

    /// `convert_ids_to_tokens(ids)`: added tokens, then the decoding vocab (the *target* vocab when
    /// `separate_vocabs`), else the unk token.
    pub fn ids_to_tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&id| self.decode_token(id).to_string()).collect()
    }

    fn decode_token(&self, id: u32) -> &str {
        match self.added_by_id.get(&id) {
            Some(t) => &t.content,
            None => self.decoder.get(&id).map_or(self.unk_token.as_str(), String::as_str),
        }
    }

    fn encode_side(&self, text: &str, spm: &SpmModel, encoder: &HashMap<String, u32>, unk: u32) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        // `_convert_token_to_id_with_added_voc`: added tokens first, then the vocab, else <unk>
        self.tokenize_with(text, spm, |token| {
            ids.push(
                self.added_by_content
                    .get(token)
                    .or_else(|| encoder.get(token))
                    .copied()
                    .unwrap_or(unk),
            )
        });
        ids.push(self.eos_id);
        ids
    }

    /// `PreTrainedTokenizer.tokenize` + `MarianTokenizer._tokenize`, calling `emit` for each token.
    fn tokenize_with(&self, text: &str, spm: &SpmModel, mut emit: impl FnMut(&str)) {
        // `_tokenize`: remove_language_code, then spm
        let tokenize_chunk = |chunk: &str, emit: &mut dyn FnMut(&str)| {
            let (code, rest) = split_language_code(chunk);
            if let Some(code) = code {
                emit(code);
            }
            spm.encode_with(rest, |piece, _| emit(piece));
        };
        match self.split_added(text) {
            None => {
                if !text.is_empty() {
                    tokenize_chunk(text, &mut emit);
                }
            }
            Some(chunks) => {
                // empty (fully stripped) chunks are skipped; added tokens pass through whole
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    if self.added_by_content.contains_key(chunk.as_str()) {
                        emit(chunk);
                    } else {
                        tokenize_chunk(chunk, &mut emit);
                    }
                }
            }
        }
    }

    /// `tokens_trie.split(text)` followed by the lstrip/rstrip/single_word handling of
    /// `PythonBackend.tokenize`. `None` when no added token occurs (the common case, no allocation).
    fn split_added(&self, text: &str) -> Option<Vec<String>> {
        let bytes = text.as_bytes();
        let mut pieces: Vec<String> = Vec::new();
        let mut last = 0;
        let mut i = 0;
        while i < bytes.len() {
            let found = self.added_by_first_byte[bytes[i] as usize]
                .iter()
                .find(|c| bytes[i..].starts_with(c.as_bytes()));
            match found {
                Some(tok) => {
                    if i > last {
                        pieces.push(text[last..i].to_string());
                    }
                    pieces.push(tok.clone());
                    i += tok.len();
                    last = i;
                }
                None => i += 1,
            }
        }
        if pieces.is_empty() {
            return None;
        }
        if last < bytes.len() {
            pieces.push(text[last..].to_string());
        }
        for i in 0..pieces.len() {
            let Some(&id) = self.added_by_content.get(pieces[i].as_str()) else {
                continue;
            };
            let Some(tok) = self.added_by_id.get(&id) else { continue };
            if tok.rstrip && i + 1 < pieces.len() && !pieces[i + 1].is_empty() {
                pieces[i + 1] = pieces[i + 1].trim_start_matches(py_isspace).to_string();
            }
            if tok.lstrip && i > 0 && !pieces[i - 1].is_empty() {
                pieces[i - 1] = pieces[i - 1].trim_end_matches(py_isspace).to_string();
            }
            if tok.single_word {
                let token = pieces[i].clone();
                if i > 0 && !pieces[i - 1].is_empty() && !pieces[i - 1].ends_with(' ') {
                    pieces[i - 1].push_str(&token);
                    pieces[i].clear();
                } else if i + 1 < pieces.len() && !pieces[i + 1].is_empty() && !pieces[i + 1].starts_with(' ') {
                    pieces[i + 1] = token + &pieces[i + 1];
                    pieces[i].clear();
                }
            }
        }
        Some(pieces)
    }

    /// `MarianTokenizer.decode(ids, skip_special_tokens)` — target side vocab, spm-style detokenisation
    /// exactly as `MarianTokenizer.convert_tokens_to_string` does (`PreTrainedTokenizer._decode` of
    /// transformers 4.57.6 around it).
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> String {
        let mut sub_texts: Vec<String> = Vec::new();
        let mut run: Vec<&str> = Vec::new();
        for &id in ids {
            // convert_ids_to_tokens: skip special ids, added tokens first, then `decoder.get(id, unk_token)`
            if skip_special_tokens && self.special_ids.contains(&id) {
                continue;
            }
            let token = self.decode_token(id);
            // _decode: a token spelled like a special token is skipped as well
            if skip_special_tokens && self.special_tokens.contains(token) {
                continue;
            }
            if self.legacy_added_tokens.contains(token) {
                if !run.is_empty() {
                    let s = self.convert_tokens_to_string(&run);
                    if !s.is_empty() {
                        sub_texts.push(s);
                    }
                    run.clear();
                }
                sub_texts.push(token.to_string());
            } else {
                run.push(token);
            }
        }
        if !run.is_empty() {
            sub_texts.push(self.convert_tokens_to_string(&run));
        }
        // spaces_between_special_tokens=True
        let text = sub_texts.join(" ");
        if self.clean_up_tokenization_spaces {
            clean_up_tokenization(&text)
        } else {
            text
        }
    }

    /// `MarianTokenizer.convert_tokens_to_string` with the target spm model (4.57.6's default,
    /// `use_source_tokenizer=False`).
    fn convert_tokens_to_string(&self, tokens: &[&str]) -> String {
        let spm = &self.target;
        let mut out = String::new();
        let mut run: Vec<&str> = Vec::new();
        for &token in tokens {
            if self.special_tokens.contains(token) {
                out.push_str(&spm.decode_pieces(&run));
                out.push_str(token);
                out.push(' ');
                run.clear();
            } else {
                run.push(token);
            }
        }
        out.push_str(&spm.decode_pieces(&run));
        py_strip(&out.replace(SPACE_SYMBOL, " ")).to_string()
    }

    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// Source vocab size (`MarianTokenizer.vocab_size == len(vocab.json)`).
    pub fn vocab_size(&self) -> usize {
        self.encoder.len()
    }

    /// Source-side lookup (`convert_tokens_to_ids`): added tokens, then vocab.json; `None` if absent.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.added_by_content
            .get(token)
            .or_else(|| self.encoder.get(token))
            .copied()
    }

    /// Source-side reverse lookup: added tokens, then vocab.json.
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        match self.added_by_id.get(&id) {
            Some(t) => Some(&t.content),
            None => self.source_decoder.get(&id).map(String::as_str),
        }
    }

    /// `source_lang` from tokenizer_config.json.
    pub fn source_lang(&self) -> Option<&str> {
        self.source_lang.as_deref()
    }

    /// `target_lang` from tokenizer_config.json.
    pub fn target_lang(&self) -> Option<&str> {
        self.target_lang.as_deref()
    }

    pub fn separate_vocabs(&self) -> bool {
        self.separate_vocabs
    }

    /// The `>>xxx<<` tokens of the source vocab (`supported_language_codes`; empty with separate vocabs).
    pub fn language_codes(&self) -> Vec<&str> {
        if self.separate_vocabs {
            return Vec::new();
        }
        let mut codes: Vec<(u32, &str)> = self
            .encoder
            .iter()
            .filter(|(k, _)| k.starts_with(">>") && k.ends_with("<<"))
            .map(|(k, v)| (*v, k.as_str()))
            .collect();
        codes.sort();
        codes.into_iter().map(|(_, k)| k).collect()
    }

    pub fn source_spm(&self) -> &SpmModel {
        &self.source
    }

    pub fn target_spm(&self) -> &SpmModel {
        &self.target
    }
}

/// `MarianTokenizer.remove_language_code`: `(Some(">>xx<<"), rest)` when `text` starts with `>>` and has a
/// `<<` (the first one, searched from the start of the text).
fn split_language_code(text: &str) -> (Option<&str>, &str) {
    if text.starts_with(">>")
        && let Some(end) = text.find("<<")
    {
        return (Some(&text[..end + 2]), &text[end + 2..]);
    }
    (None, text)
}

/// `PreTrainedTokenizerBase.clean_up_tokenization`.
fn clean_up_tokenization(text: &str) -> String {
    text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// A token given as a string or as a serialised `AddedToken` (`{"content": ...}`).
fn token_content(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn read_json_opt(path: &Path) -> Result<Option<Value>, TokenizerError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| TokenizerError::Json {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A vocab.json as `(token, id)` pairs in file order (so that, as with Python's `json.load` and dict
/// inversion, later entries win on duplicates).
fn read_vocab(path: &Path) -> Result<Vec<(String, u32)>, TokenizerError> {
    let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let OrderedVocab(pairs) = serde_json::from_slice(&bytes).map_err(|source| TokenizerError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(pairs)
}

struct OrderedVocab(Vec<(String, u32)>);

impl<'de> Deserialize<'de> for OrderedVocab {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedVocab;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping tokens to ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedVocab, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, u32>()? {
                    out.push((k, v));
                }
                Ok(OrderedVocab(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_code_split() {
        assert_eq!(split_language_code(">>rus<< Привет"), (Some(">>rus<<"), " Привет"));
        assert_eq!(split_language_code(">><<x"), (Some(">><<"), "x"));
        assert_eq!(split_language_code(">>rus"), (None, ">>rus"));
        assert_eq!(split_language_code(" >>rus<<"), (None, " >>rus<<"));
        assert_eq!(split_language_code(">>a<< >>b<<"), (Some(">>a<<"), " >>b<<"));
    }

    #[test]
    fn clean_up() {
        assert_eq!(clean_up_tokenization("a , b . I do n't"), "a, b. I don't");
    }

    #[test]
    fn send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MarianTokenizer>();
    }
}
