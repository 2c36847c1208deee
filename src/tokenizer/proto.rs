//! A minimal decoder for SentencePiece's `ModelProto` (`sentencepiece_model.proto`).
//!
//! Hand-written because only a dozen fields are needed and a protobuf toolchain (prost + build script or
//! generated code) would be a heavy dependency for that. The wire format is simple: a sequence of
//! `(field_number << 3 | wire_type)` varint keys, each followed by a varint, a fixed 32/64-bit value or a
//! length-delimited payload. Unknown fields are skipped, as protobuf requires, so newer model files with
//! extra fields still load. Field numbers and defaults are those of `sentencepiece_model.proto`.

/// `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_i64(v: i64) -> Result<Self, String> {
        Ok(match v {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            other => return Err(format!("unknown piece type {other}")),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The `TrainerSpec` fields that affect encoding. `model_type`: 1 unigram, 2 BPE, 3 word, 4 char.
#[derive(Debug, Clone)]
pub struct TrainerSpec {
    pub model_type: i32,
    pub unk_id: i32,
    pub bos_id: i32,
    pub eos_id: i32,
    pub pad_id: i32,
    pub byte_fallback: bool,
    pub treat_whitespace_as_suffix: bool,
    pub unk_surface: String,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        // proto2 defaults from sentencepiece_model.proto
        Self {
            model_type: 1,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            byte_fallback: false,
            treat_whitespace_as_suffix: false,
            unk_surface: " \u{2047} ".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ModelProto {
    pub pieces: Vec<Piece>,
    pub trainer_spec: TrainerSpec,
    pub normalizer_spec: NormalizerSpec,
    /// `None` when the file has no `denormalizer_spec` (the usual case).
    pub denormalizer_spec: Option<NormalizerSpec>,
}

impl ModelProto {
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut model = ModelProto::default();
        let mut r = Reader::new(bytes);
        while let Some((field, value)) = r.next_field()? {
            match (field, value) {
                (1, Value::Len(b)) => model.pieces.push(decode_piece(b)?),
                (2, Value::Len(b)) => model.trainer_spec = decode_trainer_spec(b)?,
                (3, Value::Len(b)) => model.normalizer_spec = decode_normalizer_spec(b)?,
                (5, Value::Len(b)) => model.denormalizer_spec = Some(decode_normalizer_spec(b)?),
                (1 | 2 | 3 | 5, _) => return Err(format!("field {field} of ModelProto has the wrong wire type")),
                _ => {}
            }
        }
        if model.pieces.is_empty() {
            return Err("the model has no pieces".into());
        }
        Ok(model)
    }
}

fn decode_piece(bytes: &[u8]) -> Result<Piece, String> {
    let mut piece = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    let mut r = Reader::new(bytes);
    while let Some((field, value)) = r.next_field()? {
        match (field, value) {
            (1, Value::Len(b)) => piece.piece = utf8(b, "piece")?,
            (2, Value::Fixed32(v)) => piece.score = f32::from_bits(v),
            (3, Value::Varint(v)) => piece.kind = PieceType::from_i64(v as i64)?,
            (1..=3, _) => return Err(format!("field {field} of SentencePiece has the wrong wire type")),
            _ => {}
        }
    }
    Ok(piece)
}

fn decode_trainer_spec(bytes: &[u8]) -> Result<TrainerSpec, String> {
    let mut spec = TrainerSpec::default();
    let mut r = Reader::new(bytes);
    while let Some((field, value)) = r.next_field()? {
        match (field, value) {
            // int32 fields are varints; negative values are sign-extended to 64 bits on the wire
            (3, Value::Varint(v)) => spec.model_type = v as i64 as i32,
            (24, Value::Varint(v)) => spec.treat_whitespace_as_suffix = v != 0,
            (35, Value::Varint(v)) => spec.byte_fallback = v != 0,
            (40, Value::Varint(v)) => spec.unk_id = v as i64 as i32,
            (41, Value::Varint(v)) => spec.bos_id = v as i64 as i32,
            (42, Value::Varint(v)) => spec.eos_id = v as i64 as i32,
            (43, Value::Varint(v)) => spec.pad_id = v as i64 as i32,
            (44, Value::Len(b)) => spec.unk_surface = utf8(b, "unk_surface")?,
            _ => {}
        }
    }
    Ok(spec)
}

fn decode_normalizer_spec(bytes: &[u8]) -> Result<NormalizerSpec, String> {
    let mut spec = NormalizerSpec::default();
    let mut r = Reader::new(bytes);
    while let Some((field, value)) = r.next_field()? {
        match (field, value) {
            (1, Value::Len(b)) => spec.name = utf8(b, "normalizer name")?,
            (2, Value::Len(b)) => spec.precompiled_charsmap = b.to_vec(),
            (3, Value::Varint(v)) => spec.add_dummy_prefix = v != 0,
            (4, Value::Varint(v)) => spec.remove_extra_whitespaces = v != 0,
            (5, Value::Varint(v)) => spec.escape_whitespaces = v != 0,
            _ => {}
        }
    }
    Ok(spec)
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
}

enum Value<'a> {
    Varint(u64),
    Fixed64,
    Len(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or("truncated field")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length overflows")?;
                Value::Len(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            other => return Err(format!("unsupported wire type {other} (field {field})")),
        };
        Ok(Some((field, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn len_field(field: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    #[test]
    fn decodes_pieces_specs_and_skips_unknown_fields() {
        let mut piece = Vec::new();
        len_field(1, "▁a".as_bytes(), &mut piece);
        varint(2 << 3 | 5, &mut piece);
        piece.extend_from_slice(&(-1.5f32).to_le_bytes());
        varint(3 << 3, &mut piece);
        varint(4, &mut piece);
        let mut trainer = Vec::new();
        varint(43 << 3, &mut trainer);
        varint(-1i64 as u64, &mut trainer); // pad_id = -1, ten-byte varint
        varint(35 << 3, &mut trainer);
        varint(1, &mut trainer);
        varint(99 << 3 | 1, &mut trainer); // unknown fixed64 field
        trainer.extend_from_slice(&[0; 8]);
        let mut norm = Vec::new();
        len_field(2, &[1, 2, 3], &mut norm);
        varint(3 << 3, &mut norm);
        varint(0, &mut norm);
        let mut model = Vec::new();
        len_field(1, &piece, &mut model);
        len_field(2, &trainer, &mut model);
        len_field(3, &norm, &mut model);
        len_field(4, b"self test data is skipped", &mut model);

        let m = ModelProto::decode(&model).unwrap();
        assert_eq!(m.pieces.len(), 1);
        assert_eq!(m.pieces[0].piece, "▁a");
        assert_eq!(m.pieces[0].score, -1.5);
        assert_eq!(m.pieces[0].kind, PieceType::UserDefined);
        assert_eq!(m.trainer_spec.pad_id, -1);
        assert!(m.trainer_spec.byte_fallback);
        assert_eq!(m.trainer_spec.model_type, 1);
        assert_eq!(m.normalizer_spec.precompiled_charsmap, vec![1, 2, 3]);
        assert!(!m.normalizer_spec.add_dummy_prefix);
        assert!(m.normalizer_spec.remove_extra_whitespaces);
        assert!(m.denormalizer_spec.is_none());
    }

    #[test]
    fn rejects_truncated_input() {
        assert!(ModelProto::decode(&[0x0a, 0x05, 0x01]).is_err());
        assert!(ModelProto::decode(&[]).is_err());
        assert!(ModelProto::decode(&[0x0b]).is_err()); // wire type 3 (groups)
    }
}
