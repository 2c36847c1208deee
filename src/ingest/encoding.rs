//! Bytes → text: UTF-8 (with or without BOM), UTF-16 with a BOM, and the legacy single-byte
//! encodings that Russian archives still hold (windows-1251, KOI8-R, …).
//!
//! The legacy encoding is guessed by chardetng, the detector Firefox uses, and decoded by
//! encoding_rs. One judgement is ours: a file that is *almost* UTF-8 (most of its non-ASCII
//! bytes form valid UTF-8 sequences, a few do not) is corrupt UTF-8 and is reported as such,
//! not re-read as windows-1251 mojibake; a file whose non-ASCII bytes mostly do not form UTF-8
//! is a legacy file. Binary files are recognised first, as git and ripgrep do (a NUL byte), so
//! they are reported instead of decoded into garbage.

use encoding_rs::Encoding;

use crate::record_error::{ArticleError, ErrorKind, Stage};

/// Decoded text and the name of the encoding it was read in (encoding_rs's names:
/// "UTF-8", "windows-1251", "KOI8-R", …).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// How much of the start is inspected for binary content.
const SNIFF_LEN: usize = 8192;

/// Share of non-ASCII bytes that must belong to valid UTF-8 sequences for an invalid file to
/// count as damaged UTF-8 rather than a legacy encoding. Real windows-1251 or KOI8-R Russian
/// text reaches a few percent at most (a capital letter followed by `ё`, `«`, `—`).
const UTF8_SHARE: f64 = 0.5;

pub fn decode(bytes: &[u8]) -> Result<Decoded, ArticleError> {
    let err = |kind, msg: String| ArticleError::new(Stage::Decode, kind, msg);
    if bytes.is_empty() {
        return Err(err(ErrorKind::Empty, "empty: the input has no bytes".into()));
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        if enc == encoding_rs::UTF_8 {
            return std::str::from_utf8(body)
                .map(|t| Decoded {
                    text: t.to_string(),
                    encoding: "UTF-8",
                })
                .map_err(|e| invalid_utf8(bom_len + e.valid_up_to()));
        }
        return enc
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|t| Decoded {
                text: t.into_owned(),
                encoding: enc.name(),
            })
            .ok_or_else(|| err(ErrorKind::Encoding, format!("invalid {} text", enc.name())));
    }
    if looks_binary(bytes) {
        return Err(err(ErrorKind::Binary, "binary data: this is not a text article".into()));
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(Decoded {
            text: t.to_string(),
            encoding: "UTF-8",
        }),
        Err(e) if utf8_share(bytes) >= UTF8_SHARE => Err(invalid_utf8(e.valid_up_to())),
        Err(_) => {
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(bytes, true);
            let mut enc = det.guess(None, chardetng::Utf8Detection::Deny);
            // chardetng answers KOI8-U for any KOI8 text: KOI8-U is KOI8-R plus the four
            // Ukrainian letters. Without those letters the file is KOI8-R, and the record
            // should say what a Russian archive calls it.
            if enc == encoding_rs::KOI8_U {
                let has_ukrainian = |t: &str| t.chars().any(|c| "іїєґІЇЄҐ".contains(c));
                if enc
                    .decode_without_bom_handling_and_without_replacement(bytes)
                    .is_some_and(|t| !has_ukrainian(&t))
                {
                    enc = encoding_rs::KOI8_R;
                }
            }
            enc.decode_without_bom_handling_and_without_replacement(bytes)
                .map(|t| Decoded {
                    text: t.into_owned(),
                    encoding: enc.name(),
                })
                .ok_or_else(|| {
                    err(
                        ErrorKind::Encoding,
                        format!("not valid UTF-8, nor {} (the likeliest legacy encoding)", enc.name()),
                    )
                })
        }
    }
}

fn invalid_utf8(offset: usize) -> ArticleError {
    ArticleError::new(
        Stage::Decode,
        ErrorKind::Encoding,
        format!("invalid UTF-8 at byte {offset}"),
    )
}

/// A NUL byte, or many control characters, in the first few KiB.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    control * 10 > head.len()
}

/// Share of the non-ASCII bytes that are part of well-formed UTF-8 sequences.
fn utf8_share(bytes: &[u8]) -> f64 {
    let (mut high, mut valid) = (0usize, 0usize);
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid += s.bytes().filter(|b| *b >= 0x80).count();
                high += s.bytes().filter(|b| *b >= 0x80).count();
                break;
            }
            Err(e) => {
                let good = &rest[..e.valid_up_to()];
                let n = good.iter().filter(|b| **b >= 0x80).count();
                valid += n;
                high += n;
                let bad = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                high += rest[e.valid_up_to()..e.valid_up_to() + bad]
                    .iter()
                    .filter(|b| **b >= 0x80)
                    .count();
                rest = &rest[e.valid_up_to() + bad..];
            }
        }
    }
    if high == 0 { 1.0 } else { valid as f64 / high as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RU: &str = "Центральный банк России сохранил ключевую ставку на уровне 18%. \
        Председатель Эльвира Набиуллина заявила, что инфляция замедляется быстрее ожиданий, \
        однако риски остаются высокими. Фёдор Иванов, аналитик, считает решение взвешенным.";

    #[test]
    fn utf8_with_and_without_bom() {
        let d = decode(RU.as_bytes()).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (RU, "UTF-8"));
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(RU.as_bytes());
        let d = decode(&b).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (RU, "UTF-8"));
    }

    #[test]
    fn windows_1251_and_koi8_r_give_the_same_text() {
        for enc in [encoding_rs::WINDOWS_1251, encoding_rs::KOI8_R] {
            let (bytes, _, unmappable) = enc.encode(RU);
            assert!(!unmappable);
            let d = decode(&bytes).unwrap();
            assert_eq!(d.text, RU, "{}", enc.name());
            assert_eq!(d.encoding, enc.name());
        }
    }

    #[test]
    fn utf16_with_bom() {
        let mut b = vec![0xFF, 0xFE];
        for u in "Привет, мир".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode(&b).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("Привет, мир", "UTF-16LE"));
    }

    #[test]
    fn damaged_utf8_is_reported_with_its_offset() {
        let mut b = RU.as_bytes().to_vec();
        b.insert(20, 0xFF);
        b.insert(60, 0xC3);
        let e = decode(&b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Encoding);
        assert!(e.message.contains("invalid UTF-8 at byte 20"), "{}", e.message);
    }

    #[test]
    fn binary_and_empty() {
        assert_eq!(decode(b"").unwrap_err().kind, ErrorKind::Empty);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0";
        assert_eq!(decode(png).unwrap_err().kind, ErrorKind::Binary);
        let ctl: Vec<u8> = (0..200u8).map(|i| i % 8 + 1).collect();
        assert_eq!(decode(&ctl).unwrap_err().kind, ErrorKind::Binary);
    }
}
