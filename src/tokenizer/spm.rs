//! SentencePiece models: load a `.model`/`.spm` file, encode and decode exactly as the `sentencepiece`
//! library does, and convert the model to a `tokenizers::Tokenizer`.
//!
//! Why hand-written: the `tokenizers` crate has no reader for SentencePiece's protobuf model; Python gets a
//! fast tokenizer from transformers' `convert_slow_tokenizer` (`SpmConverter`), which has no Rust
//! counterpart. [`SpmModel::to_tokenizer`] performs that conversion.
//!
//! Why there is also a native encoder: a `tokenizers` pipeline built that way is *almost* `sentencepiece`,
//! but not exactly, and the Marian tokenizer must reproduce ids exactly:
//! * `tokenizers`' Unigram sums path scores in f64; `sentencepiece` rounds them to f32 (comparing in double).
//!   Segmentations that tie exactly in real arithmetic, common with digit runs ("000" = "00"+"0" or
//!   "0"+"00"), are then broken differently: 4 of the 240 texts of svodka's Marian fixtures.
//! * `tokenizers`' `Precompiled` normaliser maps grapheme by grapheme, trying the whole grapheme only when
//!   it is under 6 bytes and then taking the *shortest* charsmap match (dropping the rest of the grapheme);
//!   `sentencepiece` takes the *longest* match at each position. Only combining sequences are affected:
//!   "ﬁ\u{301}" loses its accent, "e\u{301}\u{301}" its second accent, conjoining jamo are not composed.
//! * user-defined pieces are normalised by `Precompiled` (sentencepiece protects them); control pieces are
//!   not added as special tokens, so `"</s>"` in text is split like any other text, as sentencepiece does.
//!
//! The native code below follows sentencepiece's `normalizer.cc` (`Normalize`, `NormalizePrefix`),
//! `unigram_model.cc` (`EncodeOptimized`) and `sentencepiece_processor.cc` (`PopulateSentencePieceText`,
//! `Decode`) step by step; the comments name the C++ behaviour each branch mirrors.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::TokenizerError;
use super::proto::{ModelProto, NormalizerSpec, PieceType};

/// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
pub(crate) const SPACE_SYMBOL: &str = "\u{2581}";
/// sentencepiece's `kUnkPenalty`: an unknown character scores `min_score - 10`.
const UNK_PENALTY: f32 = 10.0;

/// A parsed SentencePiece model (unigram), ready to encode and decode.
#[derive(Debug, Clone)]
pub struct SpmModel {
    name: PathBuf,
    proto: ModelProto,
    piece_to_id: HashMap<String, u32>,
    /// Pieces that can match text: NORMAL, USER_DEFINED and UNUSED (the last are skipped while scoring),
    /// as in sentencepiece's `pieces_` map from which the unigram trie is built.
    trie: ByteTrie,
    normalizer: Normalizer,
    denormalizer: Option<Normalizer>,
    unk_id: u32,
    /// min/max over NORMAL pieces only, starting from FLT_MAX / FLT_MIN exactly as sentencepiece does.
    min_score: f32,
    max_score: f32,
    /// ids of `<0x00>`..`<0xFF>` (unk where the model lacks one), for byte fallback.
    byte_ids: Vec<u32>,
}

impl SpmModel {
    pub fn from_file(path: &Path) -> Result<SpmModel, TokenizerError> {
        let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.to_string_lossy())
    }

    /// `name` is used in error messages (usually the file path).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<SpmModel, TokenizerError> {
        let path = PathBuf::from(name);
        let proto_err = |message: String| TokenizerError::Proto {
            path: path.clone(),
            message,
        };
        let proto = ModelProto::decode(bytes).map_err(proto_err)?;

        let mut piece_to_id = HashMap::with_capacity(proto.pieces.len());
        let mut trie = ByteTrie::default();
        let mut user_defined = ByteTrie::default();
        let mut unk_id = None;
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        for (id, p) in proto.pieces.iter().enumerate() {
            let id = id as u32;
            if p.piece.is_empty() {
                return Err(proto_err(format!("piece {id} is empty")));
            }
            if piece_to_id.insert(p.piece.clone(), id).is_some() {
                return Err(proto_err(format!("piece {:?} is defined twice", p.piece)));
            }
            match p.kind {
                PieceType::Normal => {
                    min_score = min_score.min(p.score);
                    max_score = max_score.max(p.score);
                    trie.insert(p.piece.as_bytes(), id);
                }
                PieceType::UserDefined => {
                    trie.insert(p.piece.as_bytes(), id);
                    user_defined.insert(p.piece.as_bytes(), id);
                }
                PieceType::Unused => trie.insert(p.piece.as_bytes(), id),
                PieceType::Unknown => {
                    if unk_id.replace(id).is_some() {
                        return Err(proto_err("more than one <unk> piece".into()));
                    }
                }
                PieceType::Byte => {
                    if !proto.trainer_spec.byte_fallback {
                        return Err(proto_err("byte pieces without byte_fallback".into()));
                    }
                }
                PieceType::Control => {}
            }
        }
        let unk_id = unk_id.ok_or_else(|| proto_err("the model has no <unk> piece".into()))?;
        let byte_ids = (0..=255u8)
            .map(|b| piece_to_id.get(&byte_piece(b)).copied().unwrap_or(unk_id))
            .collect();

        let normalizer = Normalizer::new(
            &proto.normalizer_spec,
            proto.trainer_spec.treat_whitespace_as_suffix,
            (!user_defined.is_empty()).then_some(user_defined),
        )
        .map_err(proto_err)?;
        // sentencepiece only builds a denormalizer when the spec carries rules.
        let denormalizer = match &proto.denormalizer_spec {
            Some(spec) if !spec.precompiled_charsmap.is_empty() => {
                Some(Normalizer::new(spec, false, None).map_err(proto_err)?)
            }
            _ => None,
        };

        Ok(SpmModel {
            name: path,
            proto,
            piece_to_id,
            trie,
            normalizer,
            denormalizer,
            unk_id,
            min_score,
            max_score,
            byte_ids,
        })
    }

    /// The file (or name) the model was loaded from.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// `(piece, score)` in id order.
    pub fn pieces(&self) -> impl Iterator<Item = (&str, f32)> {
        self.proto.pieces.iter().map(|p| (p.piece.as_str(), p.score))
    }

    pub fn piece_size(&self) -> usize {
        self.proto.pieces.len()
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// `SentencePieceProcessor.id_to_piece`; `None` when out of range (Python raises IndexError).
    pub fn id_to_piece(&self, id: u32) -> Option<&str> {
        self.proto.pieces.get(id as usize).map(|p| p.piece.as_str())
    }

    /// `SentencePieceProcessor.piece_to_id`: unknown pieces map to the unk id.
    pub(crate) fn piece_to_id(&self, piece: &str) -> u32 {
        self.piece_to_id.get(piece).copied().unwrap_or(self.unk_id)
    }

    /// True for unigram models, the only kind this module encodes.
    pub fn is_unigram(&self) -> bool {
        self.proto.trainer_spec.model_type == 1
    }

    pub(crate) fn ensure_unigram(&self) -> Result<(), TokenizerError> {
        if self.is_unigram() {
            Ok(())
        } else {
            let kind = match self.proto.trainer_spec.model_type {
                2 => "BPE",
                3 => "word",
                4 => "char",
                _ => "unknown-type",
            };
            Err(TokenizerError::Unsupported(format!(
                "{}: {kind} SentencePiece model; only unigram models are supported",
                self.name.display()
            )))
        }
    }

    /// The normalised form sentencepiece segments (with `▁` for spaces and the dummy prefix).
    pub fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    /// `SentencePieceProcessor.encode(text, out_type=str)`.
    pub fn encode_pieces(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.encode_with(text, |piece, _| out.push(piece.to_string()));
        out
    }

    /// `SentencePieceProcessor.encode(text)` (ids).
    pub fn encode_ids(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.encode_with(text, |_, id| out.push(id));
        out
    }

    /// Encodes `text` and calls `emit(piece, id)` for each piece in order, without collecting them. Pieces
    /// are what `encode(out_type=str)` returns: the normalised surface, so a run of unknown characters is one
    /// piece spelled as the text (with the unk id), and with byte fallback it becomes `<0xXX>` pieces.
    /// Assumes a unigram model (see [`SpmModel::is_unigram`]).
    pub(crate) fn encode_with(&self, text: &str, mut emit: impl FnMut(&str, u32)) {
        let normalized = self.normalizer.normalize(text);
        let path = self.viterbi(&normalized);
        // PopulateSentencePieceText: runs of unknown pieces are merged, unless byte fallback decomposes each
        // unknown piece into its UTF-8 bytes.
        let byte_fallback = self.proto.trainer_spec.byte_fallback;
        let mut pending_unk: Option<(usize, usize)> = None;
        for (start, end, id) in path {
            let is_unk = id == self.unk_id;
            if is_unk && byte_fallback {
                for &b in &normalized.as_bytes()[start..end] {
                    emit(BYTE_PIECES[b as usize], self.byte_ids[b as usize]);
                }
            } else if is_unk {
                pending_unk = match pending_unk {
                    Some((s, _)) => Some((s, end)),
                    None => Some((start, end)),
                };
            } else {
                if let Some((s, e)) = pending_unk.take() {
                    emit(&normalized[s..e], self.unk_id);
                }
                emit(&normalized[start..end], id);
            }
        }
        if let Some((s, e)) = pending_unk {
            emit(&normalized[s..e], self.unk_id);
        }
    }

    /// `unigram::Model::EncodeOptimized`: the best segmentation as `(start, end, id)` byte ranges.
    fn viterbi(&self, normalized: &str) -> Vec<(usize, usize, u32)> {
        const NONE: usize = usize::MAX;
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f32,
            starts_at: usize,
        }
        let bytes = normalized.as_bytes();
        let size = bytes.len();
        if size == 0 {
            return Vec::new();
        }
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Best {
                id: self.unk_id,
                score: 0.0,
                starts_at: NONE
            };
            size + 1
        ];
        let mut starts_at = 0;
        while starts_at < size {
            let till_here = best[starts_at].score;
            let mblen = utf8_len(bytes[starts_at]).min(size - starts_at);
            let mut has_single_node = false;
            self.trie.for_each_prefix(&bytes[starts_at..], |length, id| {
                let piece = &self.proto.pieces[id as usize];
                if piece.kind == PieceType::Unused {
                    return;
                }
                // C++ computes the candidate in double (`score` is a double expression because of the
                // user-defined branch), compares it with the stored float, then stores it as float.
                let score = if piece.kind == PieceType::UserDefined {
                    f64::from(length as f32 * self.max_score) - 0.1
                } else {
                    f64::from(piece.score)
                };
                let candidate = score + f64::from(till_here);
                let target = &mut best[starts_at + length];
                if target.starts_at == NONE || candidate > f64::from(target.score) {
                    *target = Best {
                        id,
                        score: candidate as f32,
                        starts_at,
                    };
                }
                if length == mblen {
                    has_single_node = true;
                }
            });
            if !has_single_node {
                // float + float in C++
                let candidate = unk_score + till_here;
                let target = &mut best[starts_at + mblen];
                if target.starts_at == NONE || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        starts_at,
                    };
                }
            }
            starts_at += mblen;
        }
        let mut path = Vec::new();
        let mut ends_at = size;
        while ends_at > 0 {
            let node = best[ends_at];
            path.push((node.starts_at, ends_at, node.id));
            ends_at = node.starts_at;
        }
        path.reverse();
        path
    }

    /// `SentencePieceProcessor.decode_pieces(pieces)`.
    pub fn decode_pieces<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut is_bos_ws = true;
        let mut bos_ws_seen = false;
        for piece in pieces {
            let piece = piece.as_ref();
            let id = self.piece_to_id(piece);
            let kind = self.proto.pieces[id as usize].kind;
            if kind == PieceType::Byte {
                bytes.push(byte_of_piece(piece).unwrap_or(0));
                continue;
            }
            flush_bytes(&mut bytes, &mut text);
            // "if we have seen a bos_ws token or any non-empty token"
            if bos_ws_seen || !text.is_empty() {
                is_bos_ws = false;
            }
            let (decoded, seen) = self.decode_piece(piece, id, kind, is_bos_ws);
            bos_ws_seen = seen;
            text.push_str(&decoded);
        }
        flush_bytes(&mut bytes, &mut text);
        match &self.denormalizer {
            Some(d) => d.normalize(&text),
            None => text,
        }
    }

    /// The `DecodeSentencePiece` lambda of `SentencePieceProcessor::Decode`.
    fn decode_piece<'a>(&self, piece: &'a str, id: u32, kind: PieceType, is_bos_ws: bool) -> (Cow<'a, str>, bool) {
        let spec = &self.proto.normalizer_spec;
        match kind {
            PieceType::Control => return (Cow::Borrowed(""), false),
            PieceType::Unknown => {
                return if self.proto.pieces[id as usize].piece == piece {
                    (Cow::Owned(self.proto.trainer_spec.unk_surface.clone()), false)
                } else {
                    // a piece the model does not know is returned as is (▁ not replaced)
                    (Cow::Borrowed(piece), false)
                };
            }
            _ => {}
        }
        let mut piece = piece;
        let mut has_bos_ws = false;
        if is_bos_ws && (spec.add_dummy_prefix || spec.remove_extra_whitespaces) {
            if let Some(rest) = piece.strip_prefix(SPACE_SYMBOL) {
                piece = rest;
                has_bos_ws = true;
            }
            // "if we are removing extra whitespace, we remove all leading whitespace"
            if spec.remove_extra_whitespaces {
                has_bos_ws = false;
            }
        }
        let decoded = if piece.contains(SPACE_SYMBOL) {
            Cow::Owned(piece.replace(SPACE_SYMBOL, " "))
        } else {
            Cow::Borrowed(piece)
        };
        (decoded, has_bos_ws)
    }

    /// A `tokenizers::Tokenizer` that splits text into the pieces `sentencepiece` would
    /// (`SentencePieceProcessor.encode(text, out_type=str)`), built as transformers' `SpmConverter` /
    /// `build_tokenizer_from_spm_proto` does:
    ///
    /// * model: Unigram over all pieces with their scores, `unk_id`, `byte_fallback`;
    /// * normaliser: `Precompiled(charsmap)`, then per `normalizer_spec` the removal of leading and repeated
    ///   spaces, the escape of spaces to `▁`, the removal of trailing `▁` (after escaping, as sentencepiece
    ///   does, so literal trailing `▁` go too — the Python converter strips spaces before escaping), and a
    ///   doubled `▁` when the text itself starts with one (Metaspace would otherwise swallow the dummy prefix);
    /// * pre-tokeniser: `Metaspace(▁, prepend_scheme=always, split=false)` when `add_dummy_prefix`, and a
    ///   `Split` that isolates user-defined pieces (sentencepiece always emits those whole);
    /// * decoder: `▁`→space, byte fallback, and stripping the dummy-prefix space.
    ///
    /// One deviation from the Python converter, to match sentencepiece: CONTROL, UNKNOWN, UNUSED and BYTE
    /// pieces get a score of -1e30 (keeping their ids) so the Viterbi search never picks them for text such as
    /// `"<s>"` (sentencepiece never matches them), while the unknown-character penalty stays
    /// `min(NORMAL score) - 10`. Remaining differences from `sentencepiece` (score ties, combining sequences)
    /// are listed in the module docs; [`SpmModel::encode_pieces`] is exact.
    ///
    /// Unigram only: any other model type is an `Unsupported` error naming the file.
    pub fn to_tokenizer(&self) -> Result<tokenizers::Tokenizer, TokenizerError> {
        use tokenizers::decoders::{
            DecoderWrapper, byte_fallback::ByteFallback, fuse::Fuse, sequence::Sequence as DecoderSequence,
            strip::Strip,
        };
        use tokenizers::models::unigram::Unigram;
        use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Replace, Sequence as NormalizerSequence};
        use tokenizers::pre_tokenizers::PreTokenizerWrapper;
        use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
        use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
        use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
        use tokenizers::{SplitDelimiterBehavior, Tokenizer};

        self.ensure_unigram()?;
        let spec = &self.proto.normalizer_spec;
        let unsupported = |what: &str| {
            TokenizerError::Unsupported(format!(
                "{}: {what} cannot be expressed as a tokenizers pipeline",
                self.name.display()
            ))
        };
        if self.proto.trainer_spec.treat_whitespace_as_suffix {
            return Err(unsupported("treat_whitespace_as_suffix"));
        }
        if !spec.escape_whitespaces {
            // Metaspace always turns spaces into ▁
            return Err(unsupported("escape_whitespaces=false"));
        }
        let tk = |e: Box<dyn std::error::Error + Send + Sync>| {
            TokenizerError::Tokenizers(format!("{}: {e}", self.name.display()))
        };

        let vocab: Vec<(String, f64)> = self
            .proto
            .pieces
            .iter()
            .map(|p| {
                let score = match p.kind {
                    PieceType::Normal | PieceType::UserDefined => f64::from(p.score),
                    _ => -1e30,
                };
                (p.piece.clone(), score)
            })
            .collect();
        let mut unigram =
            Unigram::from(vocab, Some(self.unk_id as usize), self.proto.trainer_spec.byte_fallback).map_err(tk)?;
        unigram.min_score = f64::from(self.min_score);
        let mut tokenizer = Tokenizer::new(unigram);

        let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
        if !spec.precompiled_charsmap.is_empty() {
            let precompiled = Precompiled::from(&spec.precompiled_charsmap).map_err(|e| TokenizerError::Proto {
                path: self.name.clone(),
                message: format!("charsmap: {e}"),
            })?;
            normalizers.push(precompiled.into());
        }
        let replace = |pattern: &str, regex: bool, content: &str| -> Result<NormalizerWrapper, TokenizerError> {
            let r = if regex {
                Replace::new(
                    tokenizers::normalizers::replace::ReplacePattern::Regex(pattern.to_string()),
                    content,
                )
            } else {
                Replace::new(pattern, content)
            };
            Ok(r.map_err(tk)?.into())
        };
        if spec.remove_extra_whitespaces {
            // Leading spaces and runs of spaces: only U+0020 counts (sentencepiece leaves other whitespace to
            // the charsmap) and a literal ▁ in the text is not a space here.
            normalizers.push(replace(r"\A +", true, "")?);
            normalizers.push(replace(" {2,}", true, " ")?);
        }
        normalizers.push(replace(" ", false, SPACE_SYMBOL)?);
        if spec.remove_extra_whitespaces {
            // Trailing spaces are removed *after* escaping, so a literal ▁ at the end goes too.
            normalizers.push(replace(r"▁+\z", true, "")?);
        }
        if spec.add_dummy_prefix {
            // sentencepiece adds the dummy ▁ even before a literal ▁; Metaspace would not
            normalizers.push(replace(r"\A▁", true, "▁▁")?);
        }
        tokenizer
            .with_normalizer(Some(NormalizerSequence::new(normalizers)))
            .map_err(tk)?;

        let mut pre_tokenizers: Vec<PreTokenizerWrapper> = Vec::new();
        if spec.add_dummy_prefix {
            pre_tokenizers.push(Metaspace::new('▁', PrependScheme::Always, false).into());
        }
        let mut user_defined: Vec<&str> = self
            .proto
            .pieces
            .iter()
            .filter(|p| p.kind == PieceType::UserDefined)
            .map(|p| p.piece.as_str())
            .collect();
        if !user_defined.is_empty() {
            user_defined.sort_by_key(|p| std::cmp::Reverse(p.len()));
            let pattern = user_defined
                .iter()
                .map(|p| regex::escape(p))
                .collect::<Vec<_>>()
                .join("|");
            let split =
                Split::new(SplitPattern::Regex(pattern), SplitDelimiterBehavior::Isolated, false).map_err(tk)?;
            pre_tokenizers.push(split.into());
        }
        if !pre_tokenizers.is_empty() {
            tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(pre_tokenizers)));
        }

        let mut decoders: Vec<DecoderWrapper> = vec![Replace::new(SPACE_SYMBOL, " ").map_err(tk)?.into()];
        if self.proto.trainer_spec.byte_fallback {
            decoders.push(ByteFallback::new().into());
        }
        if spec.add_dummy_prefix {
            decoders.push(Fuse::new().into());
            decoders.push(Strip::new(' ', 1, 0).into());
        } else if self.proto.trainer_spec.byte_fallback {
            decoders.push(Fuse::new().into());
        }
        tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
        Ok(tokenizer)
    }
}

// --------------------------------------------------------------------------------------------------------
// Normaliser (normalizer.cc)
// --------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Normalizer {
    charsmap: Option<CharsMap>,
    /// User-defined pieces are matched before the charsmap and never normalised (`PrefixMatcher`).
    user_defined: Option<ByteTrie>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    treat_whitespace_as_suffix: bool,
}

impl Normalizer {
    fn new(
        spec: &NormalizerSpec,
        treat_whitespace_as_suffix: bool,
        user_defined: Option<ByteTrie>,
    ) -> Result<Self, String> {
        let charsmap = if spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(CharsMap::parse(&spec.precompiled_charsmap)?)
        };
        Ok(Self {
            charsmap,
            user_defined,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            treat_whitespace_as_suffix,
        })
    }

    /// `NormalizePrefix`: the normalised form of the longest rule matching at the start of `input`, and how
    /// many bytes of `input` it consumes.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(ud) = &self.user_defined {
            let mut longest = 0;
            ud.for_each_prefix(input.as_bytes(), |len, _| longest = len);
            if longest > 0 && input.is_char_boundary(longest) {
                return (&input[..longest], longest);
            }
        }
        if let Some(map) = &self.charsmap
            && let Some((len, replacement)) = map.longest_match(input)
        {
            return (replacement, len);
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }

    /// `Normalizer::Normalize`.
    fn normalize(&self, input: &str) -> String {
        let mut input = input;
        if self.remove_extra_whitespaces {
            // ignore leading spaces (after normalisation: a character that maps to " " counts)
            while !input.is_empty() {
                let (out, consumed) = self.normalize_prefix(input);
                if out != " " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        if input.is_empty() {
            return String::new();
        }
        let space: &str = if self.escape_whitespaces { SPACE_SYMBOL } else { " " };
        let mut normalized = String::with_capacity(input.len() * 3);
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            normalized.push_str(space);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut sp, consumed) = self.normalize_prefix(input);
            // drop spaces at the start of this chunk when the previous chunk ended with one
            while is_prev_space && let Some(rest) = sp.strip_prefix(' ') {
                sp = rest;
            }
            if !sp.is_empty() {
                if self.escape_whitespaces {
                    for (i, part) in sp.split(' ').enumerate() {
                        if i > 0 {
                            normalized.push_str(SPACE_SYMBOL);
                        }
                        normalized.push_str(part);
                    }
                } else {
                    normalized.push_str(sp);
                }
                is_prev_space = sp.ends_with(' ');
            }
            input = &input[consumed..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while normalized.ends_with(space) {
                normalized.truncate(normalized.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            normalized.push_str(space);
        }
        normalized
    }
}

/// A `precompiled_charsmap`: a little-endian u32 byte length, a Darts-clone double-array trie of that many
/// bytes, then NUL-terminated replacement strings the trie values point into.
#[derive(Debug, Clone)]
struct CharsMap {
    units: Vec<u32>,
    normalized: Vec<u8>,
}

impl CharsMap {
    fn parse(blob: &[u8]) -> Result<Self, String> {
        let header: [u8; 4] = blob
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or("charsmap is truncated")?;
        let trie_size = u32::from_le_bytes(header) as usize;
        if !trie_size.is_multiple_of(4) || blob.len() < 4 + trie_size || trie_size == 0 {
            return Err("charsmap trie size is invalid".into());
        }
        let units = blob[4..4 + trie_size]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Self {
            units,
            normalized: blob[4 + trie_size..].to_vec(),
        })
    }

    /// Darts-clone `commonPrefixSearch` keeping the longest match (as `NormalizePrefix` does). Matches that
    /// would end inside a UTF-8 character are ignored (none exist in sentencepiece's rule sets).
    fn longest_match(&self, input: &str) -> Option<(usize, &str)> {
        let unit = |i: usize| self.units.get(i).copied();
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let has_leaf = |u: u32| (u >> 8) & 1 == 1;
        let label = |u: u32| u & ((1 << 31) | 0xff);
        let value = |u: u32| (u & ((1 << 31) - 1)) as usize;

        let mut best: Option<(usize, usize)> = None;
        let mut node = offset(unit(0)?);
        for (i, &b) in input.as_bytes().iter().enumerate() {
            node ^= b as usize;
            // an index outside the array (a corrupt charsmap) ends the search like a label mismatch
            let Some(u) = unit(node).filter(|&u| label(u) == u32::from(b)) else {
                break;
            };
            node ^= offset(u);
            if has_leaf(u) {
                let Some(leaf) = unit(node) else { break };
                if input.is_char_boundary(i + 1) {
                    best = Some((i + 1, value(leaf)));
                }
            }
        }
        let (len, start) = best?;
        let tail = self.normalized.get(start..)?;
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let replacement = std::str::from_utf8(&tail[..end]).unwrap_or("\u{FFFD}");
        Some((len, replacement))
    }
}

// --------------------------------------------------------------------------------------------------------
// Helpers
// --------------------------------------------------------------------------------------------------------

/// A byte trie for piece lookup (sentencepiece uses a Darts double array; any trie gives the same matches).
#[derive(Debug, Clone, Default)]
struct ByteTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// sorted by byte
    children: Vec<(u8, u32)>,
    value: Option<u32>,
}

impl ByteTrie {
    fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    fn insert(&mut self, key: &[u8], value: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0usize;
        for &b in key {
            node = match self.nodes[node].children.binary_search_by_key(&b, |&(c, _)| c) {
                Ok(i) => self.nodes[node].children[i].1 as usize,
                Err(i) => {
                    let next = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.insert(i, (b, next as u32));
                    next
                }
            };
        }
        self.nodes[node].value = Some(value);
    }

    /// Calls `f(length, value)` for every key that is a prefix of `s`, shortest first.
    fn for_each_prefix(&self, s: &[u8], mut f: impl FnMut(usize, u32)) {
        let Some(mut node) = self.nodes.first() else { return };
        for (i, &b) in s.iter().enumerate() {
            match node.children.binary_search_by_key(&b, |&(c, _)| c) {
                Ok(j) => node = &self.nodes[node.children[j].1 as usize],
                Err(_) => return,
            }
            if let Some(v) = node.value {
                f(i + 1, v);
            }
        }
    }
}

/// `string_util::OneCharLen`: the UTF-8 sequence length announced by a lead byte.
fn utf8_len(lead: u8) -> usize {
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][(lead >> 4) as usize]
}

fn byte_piece(b: u8) -> String {
    format!("<0x{b:02X}>")
}

static BYTE_PIECES: [&str; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // "<0xXX>" for every byte, built at compile time so emitting a byte piece allocates nothing
    const fn piece(b: usize) -> [u8; 6] {
        [b'<', b'0', b'x', HEX[b >> 4], HEX[b & 15], b'>']
    }
    const TABLE: [[u8; 6]; 256] = {
        let mut t = [[0u8; 6]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = piece(i);
            i += 1;
        }
        t
    };
    let mut out = [""; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = match std::str::from_utf8(&TABLE[i]) {
            Ok(s) => s,
            Err(_) => panic!("byte piece is ASCII"),
        };
        i += 1;
    }
    out
};

/// `PieceToByte`: the byte of a `<0xXX>` piece.
fn byte_of_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// `ProcessBytePieces`: turns a run of byte pieces into text, one character at a time; a byte that does not
/// start a valid UTF-8 character becomes U+FFFD on its own (`DecodeUTF8` consumes one byte).
fn flush_bytes(bytes: &mut Vec<u8>, text: &mut String) {
    let mut rest = bytes.as_slice();
    while let Some(&lead) = rest.first() {
        let len = utf8_len(lead);
        match rest.get(..len).map(std::str::from_utf8) {
            Some(Ok(s)) => {
                text.push_str(s);
                rest = &rest[len..];
            }
            _ => {
                text.push('\u{FFFD}');
                rest = &rest[1..];
            }
        }
    }
    bytes.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_pieces_table() {
        assert_eq!(BYTE_PIECES[0x41], "<0x41>");
        assert_eq!(BYTE_PIECES[0xE2], "<0xE2>");
        assert_eq!(byte_piece(0x0A), "<0x0A>");
        assert_eq!(byte_of_piece("<0xFF>"), Some(0xFF));
        assert_eq!(byte_of_piece("<0x1>"), None);
    }

    #[test]
    fn flush_bytes_replaces_invalid_sequences() {
        let mut text = String::new();
        let mut bytes = vec![0xE2, 0x82, 0xAC, 0xFF, b'a', 0xE2, 0x82];
        flush_bytes(&mut bytes, &mut text);
        assert_eq!(text, "€\u{FFFD}a\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn trie_prefixes_shortest_first() {
        let mut t = ByteTrie::default();
        t.insert(b"a", 1);
        t.insert(b"abc", 2);
        t.insert(b"b", 3);
        let mut seen = Vec::new();
        t.for_each_prefix(b"abcd", |len, v| seen.push((len, v)));
        assert_eq!(seen, vec![(1, 1), (3, 2)]);
    }
}
