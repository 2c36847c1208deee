//! Near-duplicate articles within a run: the same wire story syndicated under another headline,
//! with a changed first line or a "Read more" appended, is summarised once; its copies point at
//! it (`duplicate_of`) and reuse its summaries.
//!
//! MinHash over word shingles of the normalised body, with LSH banding: [`HASHES`] min-hashes
//! in [`BANDS`] bands of [`ROWS`]; an article that shares a whole band with an earlier one is a
//! candidate, and the candidate is kept when the signatures' estimated Jaccard similarity
//! reaches the threshold. With 20 bands of 5, a pair at similarity 0.7 becomes a candidate with
//! probability 1 − (1 − 0.7⁵)²⁰ ≈ 0.975, at 0.8 ≈ 0.9996.
//!
//! Written here rather than taken from a crate because of memory: the index lives for the whole
//! run and must stay under 500 bytes per article (a few million articles in an archive).
//! gaoya, the maintained MinHash-LSH crate, keeps every signature at full width and a hash set
//! of ids per band bucket; here the index keeps per article only a one-byte-per-hash
//! signature (b-bit MinHash, with the estimate corrected for the chance that two bytes agree),
//! one 32-bit key per band in a table that maps it to the first article that had it, and the
//! article's id. Signatures are kept in fixed-size chunks, so the store never doubles.

use std::collections::HashMap;

/// Min-hashes per article.
pub const HASHES: usize = BANDS * ROWS;
/// LSH bands.
pub const BANDS: usize = 20;
/// Min-hashes per band.
pub const ROWS: usize = 5;
/// Words per shingle.
pub const SHINGLE: usize = 4;
/// Originals whose summaries a run holds for their copies: the last this many (a bound, not a
/// share of the archive, so memory stays flat). The model stage (`pipeline::copies`) and
/// `svodka merge` both keep it, so that a merge of shards decides like one run.
pub const RECENT: usize = 4096;
/// Signatures per chunk of the store.
const CHUNK: usize = 4096;

/// What counts as a duplicate (`dedup` in the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every article is summarised.
    Off,
    /// The same normalised body (case, spacing and punctuation aside).
    Exact,
    /// Estimated Jaccard similarity of word shingles at or above the threshold.
    #[default]
    Near,
}

/// What [`Index::see`] made of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// Indexed as original number n.
    New(u32),
    /// A copy of original `of`, whose id is `id`; not indexed itself.
    Duplicate { of: u32, id: &'a str },
    /// Not indexed: dedup is off, or the body has no words.
    Unindexed,
}

/// What the index keeps of an article's body: the key of its normalised words (`exact`), or
/// its band keys and one-byte signature (`near`). Sharded runs write it into their records
/// (`dedup_print`) so that `svodka merge` can find the copies across shards exactly as one run
/// would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Print {
    Exact(u64),
    Near { keys: [u32; BANDS], small: [u8; HASHES] },
}

impl Print {
    /// The print of `body` under `mode`; `None` when dedup is off or the body has no words.
    pub fn of(mode: Mode, body: &str) -> Option<Print> {
        match mode {
            Mode::Off => None,
            Mode::Exact => {
                let w: Vec<String> = words(body).collect();
                (!w.is_empty()).then(|| Print::Exact(fnv(w.join(" ").as_bytes(), 0)))
            }
            Mode::Near => {
                let sig = signature(body)?;
                let keys: [u32; BANDS] = std::array::from_fn(|b| {
                    let bytes: Vec<u8> = sig[b * ROWS..(b + 1) * ROWS]
                        .iter()
                        .flat_map(|r| r.to_le_bytes())
                        .collect();
                    fnv(&bytes, b as u64) as u32
                });
                let small: [u8; HASHES] = std::array::from_fn(|i| sig[i] as u8);
                Some(Print::Near { keys, small })
            }
        }
    }

    /// Hex: `x` and 16 digits, or `n` and the band keys then the signature (360 digits).
    pub fn encode(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        match self {
            Print::Exact(k) => {
                let _ = write!(s, "x{k:016x}");
            }
            Print::Near { keys, small } => {
                s.push('n');
                for k in keys {
                    let _ = write!(s, "{k:08x}");
                }
                for b in small {
                    let _ = write!(s, "{b:02x}");
                }
            }
        }
        s
    }

    /// The inverse of [`Print::encode`]; `None` for anything else.
    pub fn decode(s: &str) -> Option<Print> {
        let hex = |t: &str| -> Option<u64> { u64::from_str_radix(t, 16).ok() };
        if !s.is_ascii() {
            return None;
        }
        if let Some(k) = s.strip_prefix('x') {
            return (k.len() == 16).then(|| hex(k)).flatten().map(Print::Exact);
        }
        let d = s.strip_prefix('n')?;
        if d.len() != BANDS * 8 + HASHES * 2 {
            return None;
        }
        let mut keys = [0u32; BANDS];
        for (i, k) in keys.iter_mut().enumerate() {
            *k = hex(&d[i * 8..i * 8 + 8])? as u32;
        }
        let rest = &d[BANDS * 8..];
        let mut small = [0u8; HASHES];
        for (i, b) in small.iter_mut().enumerate() {
            *b = hex(&rest[i * 2..i * 2 + 2])? as u8;
        }
        Some(Print::Near { keys, small })
    }
}

/// The articles of a run so far, by content.
pub struct Index {
    mode: Mode,
    threshold: f64,
    exact: HashMap<u64, u32>,
    bands: Vec<HashMap<u32, u32>>,
    signatures: Vec<Box<[[u8; HASHES]]>>,
    ids: Vec<Box<str>>,
}

/// The words of a body, lower-cased, punctuation and spacing dropped.
fn words(body: &str) -> impl Iterator<Item = String> + '_ {
    body.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// 64-bit FNV-1a: stable across Rust versions and runs (a resumed run rebuilds the index from
/// the same hashes), unlike `DefaultHasher`.
fn fnv(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64's finaliser: the i-th hash function is `mix(x ^ SEEDS[i])`.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn seed(i: usize) -> u64 {
    mix(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1))
}

/// The full-width MinHash signature of `body`, `None` when it has no words.
pub fn signature(body: &str) -> Option<[u64; HASHES]> {
    let w: Vec<String> = words(body).collect();
    if w.is_empty() {
        return None;
    }
    let shingles: Vec<u64> = if w.len() < SHINGLE {
        vec![fnv(w.join(" ").as_bytes(), 0)]
    } else {
        w.windows(SHINGLE).map(|s| fnv(s.join(" ").as_bytes(), 0)).collect()
    };
    let seeds: Vec<u64> = (0..HASHES).map(seed).collect();
    let mut sig = [u64::MAX; HASHES];
    for &s in &shingles {
        for (m, &k) in sig.iter_mut().zip(&seeds) {
            *m = (*m).min(mix(s ^ k));
        }
    }
    Some(sig)
}

/// Jaccard similarity estimated from two one-byte signatures: two bytes agree by chance
/// 1 time in 256, so the share p that agree is J + (1 − J)/256.
fn similarity(a: &[u8; HASHES], b: &[u8; HASHES]) -> f64 {
    let p = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / HASHES as f64;
    ((p - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)).max(0.0)
}

impl Index {
    /// `threshold`: the least estimated Jaccard similarity of a near duplicate (0–1].
    pub fn new(mode: Mode, threshold: f64) -> Self {
        Index {
            mode,
            threshold,
            exact: HashMap::new(),
            bands: (0..BANDS).map(|_| HashMap::new()).collect(),
            signatures: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// Articles indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of the earlier article that `body` duplicates; otherwise `body` is indexed as
    /// article `id` and `None` is returned. A duplicate is not indexed itself: its copies
    /// point at the same original.
    pub fn check_or_insert(&mut self, id: &str, body: &str) -> Option<&str> {
        match self.see(id, body) {
            Seen::Duplicate { id, .. } => Some(id),
            Seen::New(_) | Seen::Unindexed => None,
        }
    }

    /// [`Index::check_or_insert`], with the originals' numbers: the n-th article indexed is
    /// number n.
    pub fn see(&mut self, id: &str, body: &str) -> Seen<'_> {
        let print = Print::of(self.mode, body);
        self.see_print(id, print)
    }

    /// [`Index::see`] for an article known only by its [`Print`] (`svodka merge`, which has
    /// the records of shards and not the articles). `None` is an article with no words.
    pub fn see_print(&mut self, id: &str, print: Option<Print>) -> Seen<'_> {
        let next = self.ids.len() as u32;
        match (self.mode, print) {
            (Mode::Off, _) | (_, None) => Seen::Unindexed,
            (Mode::Exact, Some(Print::Exact(key))) => match self.exact.get(&key) {
                Some(&i) => Seen::Duplicate {
                    of: i,
                    id: &self.ids[i as usize],
                },
                None => {
                    self.exact.insert(key, next);
                    self.ids.push(id.into());
                    Seen::New(next)
                }
            },
            (Mode::Near, Some(Print::Near { keys, small })) => {
                let mut best: Option<(f64, u32)> = None;
                for (band, key) in self.bands.iter().zip(&keys) {
                    if let Some(&i) = band.get(key) {
                        let s = similarity(&small, self.signature(i));
                        if s >= self.threshold && best.is_none_or(|(b, _)| s > b) {
                            best = Some((s, i));
                        }
                    }
                }
                if let Some((_, i)) = best {
                    return Seen::Duplicate {
                        of: i,
                        id: &self.ids[i as usize],
                    };
                }
                for (band, key) in self.bands.iter_mut().zip(keys) {
                    band.entry(key).or_insert(next);
                }
                let at = self.ids.len() % CHUNK;
                if at == 0 {
                    self.signatures.push(vec![[0u8; HASHES]; CHUNK].into_boxed_slice());
                }
                self.signatures.last_mut().unwrap()[at] = small;
                self.ids.push(id.into());
                Seen::New(next)
            }
            // A print of the other mode: the caller mixed settings (merge checks they agree).
            (_, Some(_)) => Seen::Unindexed,
        }
    }

    fn signature(&self, i: u32) -> &[u8; HASHES] {
        let i = i as usize;
        &self.signatures[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The central bank raised its key rate by two percentage points on Friday, \
        citing persistent inflation and a weaker currency. Analysts had expected a smaller \
        increase. The governor said further tightening was possible if prices kept rising. \
        The decision takes effect on Monday, and the next board meeting is scheduled for \
        October. Banks are expected to raise deposit and loan rates within days.";
    const OTHER: &str = "Heavy rain flooded several districts of the city overnight, and the \
        emergency services evacuated more than two hundred residents. Schools were closed and \
        three bus routes were suspended. Forecasters expect the rain to ease by Wednesday \
        afternoon, but warned of landslides in the hills north of the city.";

    #[test]
    fn copies_of_a_story_are_found_and_other_stories_are_not() {
        let mut ix = Index::new(Mode::Near, 0.7);
        assert_eq!(ix.check_or_insert("a", STORY), None);
        assert_eq!(ix.check_or_insert("b", OTHER), None);
        let appended = format!("{STORY} Read more on our website and follow us for updates.");
        assert_eq!(ix.check_or_insert("c", &appended), Some("a"));
        let cut = STORY.replace("Analysts had expected a smaller increase. ", "");
        assert_eq!(ix.check_or_insert("d", &cut), Some("a"));
        let spacing = STORY.to_uppercase().replace(", ", " , ");
        assert_eq!(ix.check_or_insert("e", &spacing), Some("a"));
        assert_eq!(ix.len(), 2);
    }

    #[test]
    fn exact_mode_takes_only_the_same_words() {
        let mut ix = Index::new(Mode::Exact, 0.7);
        assert_eq!(ix.check_or_insert("a", STORY), None);
        assert_eq!(ix.check_or_insert("b", &STORY.to_lowercase()), Some("a"));
        let appended = format!("{STORY} Read more.");
        assert_eq!(ix.check_or_insert("c", &appended), None);
    }

    #[test]
    fn prints_round_trip_and_decide_as_bodies_do() {
        for mode in [Mode::Exact, Mode::Near] {
            let p = Print::of(mode, STORY).unwrap();
            assert_eq!(Print::decode(&p.encode()), Some(p));
            let (mut by_body, mut by_print) = (Index::new(mode, 0.7), Index::new(mode, 0.7));
            let appended = format!("{STORY} Read more.");
            for (id, body) in [("a", STORY), ("b", OTHER), ("c", STORY), ("d", appended.as_str())] {
                let want = by_body.see(id, body);
                let want = format!("{want:?}");
                let got = by_print.see_print(id, Print::decode(&Print::of(mode, body).unwrap().encode()));
                assert_eq!(format!("{got:?}"), want, "{mode:?} {id}");
            }
        }
        assert_eq!(Print::of(Mode::Near, " ,. "), None);
        assert_eq!(Print::of(Mode::Off, STORY), None);
        for bad in ["", "x12", "n00", "xzzzzzzzzzzzzzzzz", "ы"] {
            assert_eq!(Print::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn off_finds_nothing() {
        let mut ix = Index::new(Mode::Off, 0.7);
        assert_eq!(ix.check_or_insert("a", STORY), None);
        assert_eq!(ix.check_or_insert("b", STORY), None);
    }

    #[test]
    fn the_estimate_tracks_the_true_similarity() {
        let a: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
        for keep in [400, 300, 200, 100] {
            let b: Vec<String> = a[..keep]
                .iter()
                .cloned()
                .chain((0..400 - keep).map(|i| format!("x{i}")))
                .collect();
            let (sa, sb) = (signature(&a.join(" ")).unwrap(), signature(&b.join(" ")).unwrap());
            let small = |s: [u64; HASHES]| -> [u8; HASHES] { std::array::from_fn(|i| s[i] as u8) };
            let est = similarity(&small(sa), &small(sb));
            // Shingles of 4 words: `keep` shared words give keep-3 shared shingles of 397 each.
            let shared = keep.saturating_sub(3) as f64;
            let truth = shared / (2.0 * 397.0 - shared);
            assert!((est - truth).abs() < 0.15, "keep {keep}: estimate {est}, truth {truth}");
        }
    }
}
