#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with seeds built from tests/fixtures/. Corpora are not committed
# (fuzz/corpus is git-ignored); run this once before `cargo +nightly fuzz run <target>`.
# Needs tar, gzip and zip; python3 (optional) trims the .gguf seeds to their header.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fx="$here/../tests/fixtures"
c="$here/corpus"
mkdir -p "$c"/{markdown,html,jsonl,date,article,archive,spm,gguf}

# Articles: Markdown/text for `markdown`, HTML for `html`, both for `article` (whose first byte
# picks the format: `<` → HTML).
for f in "$fx"/articles/*.md; do
  cp "$f" "$c/markdown/"
  cp "$f" "$c/article/"
done
for f in "$fx"/articles/*.html; do
  cp "$f" "$c/html/"
  cp "$f" "$c/article/"
done
# A legacy-encoded copy of a Russian article, for the charset detector.
if command -v iconv >/dev/null; then
  for f in "$fx"/articles/ru-*.md; do
    b=$(basename "$f" .md)
    iconv -f UTF-8 -t WINDOWS-1251 "$f" >"$c/article/$b.cp1251" 2>/dev/null || true
    iconv -f UTF-8 -t KOI8-R "$f" >"$c/article/$b.koi8r" 2>/dev/null || true
  done
fi

# JSONL: one line per seed.
i=0
while IFS= read -r line || [ -n "$line" ]; do
  i=$((i + 1))
  printf '%s' "$line" >"$c/jsonl/line-$i"
done <"$fx/feed.jsonl"

# Dates: the date lines of the articles plus a few value shapes.
n=0
for f in "$fx"/articles/*.md; do
  head -n 12 "$f" | while IFS= read -r line; do
    printf '%s' "$line" >"$c/date/$(basename "$f")-$((n++))"
  done
done
printf '%s' '2025-09-03' >"$c/date/iso"
printf '%s' '2024-02-29T10:00:00Z' >"$c/date/iso-time"
printf '%s' 'Date: 3 September 2025' >"$c/date/line-en"
printf '%s' 'Дата: 3 сентября 2025 г.' >"$c/date/line-ru"
printf '%s' '03.09.2025' >"$c/date/dotted"
printf '%s' 'Wed, 03 Sep 2025 10:00:00 +0000' >"$c/date/rfc2822"

# Archives: the walker's first input byte picks the file name (see fuzz_targets/archive.rs):
# 0 .tar, 1 .tar.gz, 2 .tgz, 3 .zip, 4 .gz, 5 .jsonl, 6 .md.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/news/sub"
cp "$fx/articles/en-summit.md" "$fx/articles/en-page.html" "$tmp/news/"
cp "$fx/articles/ru-metro.md" "$tmp/news/sub/"
head -n 2 "$fx/feed.jsonl" >"$tmp/news/sub/feed.jsonl"
(cd "$tmp" && tar -cf news.tar news && gzip -kc news.tar >news.tar.gz && zip -qr news.zip news)
gzip -c "$fx/articles/ru-flood.md" >"$tmp/one.md.gz"
seed() { { printf "\\x$(printf %02x "$1")"; cat "$2"; } >"$c/archive/$3"; }
seed 0 "$tmp/news.tar" tar
seed 1 "$tmp/news.tar.gz" tar-gz
seed 2 "$tmp/news.tar.gz" tgz
seed 3 "$tmp/news.zip" zip
seed 4 "$tmp/one.md.gz" gz
head -n 2 "$fx/feed.jsonl" >"$tmp/two.jsonl"
seed 5 "$tmp/two.jsonl" jsonl
seed 6 "$fx/articles/en-space-launch.md" md

# SentencePiece models (protobuf ModelProto), the test models and the Marian ones.
for f in "$fx"/spm/models/*.model; do cp "$f" "$c/spm/spm-$(basename "$f")"; done
for d in base tcbig; do
  for f in "$fx"/marian/$d/*.spm; do cp "$f" "$c/spm/marian-$d-$(basename "$f")"; done
done
for f in "$fx"/seq2seq/*/*.model; do
  [ -e "$f" ] && cp "$f" "$c/spm/seq2seq-$(basename "$(dirname "$f")")-$(basename "$f")"
done

# GGUF: only the header (metadata + tensor infos) is read, so the tensor data is cut off.
for f in "$fx"/gguf/*.gguf; do
  out="$c/gguf/$(basename "$f")"
  if command -v python3 >/dev/null; then
    python3 - "$f" "$out" <<'PY'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
p = 0
def take(fmt):
    global p
    v = struct.unpack_from("<" + fmt, b, p)
    p += struct.calcsize(fmt)
    return v[0]
def string():
    global p
    n = take("Q")
    p += n
sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def value(t):
    global p
    if t == 8:
        string()
    elif t == 9:
        et = take("I")
        n = take("Q")
        for _ in range(n):
            value(et)
    else:
        p += struct.calcsize(sizes[t])
assert b[:4] == b"GGUF"
p = 4
take("I")
nt, nkv = take("Q"), take("Q")
for _ in range(nkv):
    string()
    value(take("I"))
for _ in range(nt):
    string()
    nd = take("I")
    p += 8 * nd + 4 + 8
open(dst, "wb").write(b[:p])
PY
  else
    cp "$f" "$out"
  fi
done

for t in "$c"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
