#!/usr/bin/env bash
# Peak RSS of long lead-3 runs (no models) with the duplicate index on and off: how many bytes
# per article the index keeps (`dedup.mode = "near"` must stay under 500 bytes per article).
#
#   benches/dedup/memory.sh [ARTICLES (default 200000)] [WORK_DIR]
#
# The articles are generated (distinct texts of ~150 pseudo-words, language given, so that
# every one is indexed and none is a duplicate: the index's worst case). Each run is one
# process under /usr/bin/time -v; the records go to a file and are counted. Build first:
# cargo build --release --bin svodka.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-200000}"
work="${2:-$(mktemp -d)}"
small=$(( n / 10 ))
mkdir -p "$work"
gen() { # gen COUNT FILE
python3 - "$1" "$2" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(17)
syll = ["ka", "to", "ri", "men", "sa", "lo", "ve", "dan", "pi", "ru", "ne", "gor", "li", "ba", "ost", "er"]
words = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(20000)})
with open(path, "w") as f:
    for i in range(n):
        sents = []
        for _ in range(10):
            w = [rng.choice(words) for _ in range(15)]
            sents.append(" ".join(w).capitalize() + ".")
        f.write(json.dumps({"id": f"a{i}", "lang": "en", "title": f"Story {i}", "text": " ".join(sents)}) + "\n")
PY
}
[ -f "$work/big.jsonl" ] || gen "$n" "$work/big.jsonl"
head -n "$small" "$work/big.jsonl" > "$work/small.jsonl"
run() { # run LABEL FILE DEDUP
  /usr/bin/time -v "$root/target/release/svodka" -q run "$2" -o "$work/out.jsonl" \
    --set translate.models={} --set "dedup.mode=\"$3\"" 2> "$work/time.txt" || true
  local kb recs
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  recs=$(wc -l < "$work/out.jsonl")
  echo "$1 $recs $kb"
}
echo "label records peak_rss_kb"
a=$(run "near-$small" "$work/small.jsonl" near); echo "$a"
b=$(run "near-$n" "$work/big.jsonl" near); echo "$b"
c=$(run "off-$n" "$work/big.jsonl" off); echo "$c"
python3 - "$a" "$b" "$c" <<'PY'
import sys
(_, ra, ka), (_, rb, kb), (_, rc, kc) = (s.split() for s in sys.argv[1:])
ra, rb, ka, kb, kc = int(ra), int(rb), int(ka), int(kb), int(kc)
print(f"growth near {ra}->{rb} articles: {(kb - ka) * 1024 / (rb - ra):.0f} bytes/article")
print(f"near vs off at {rb} articles: {(kb - kc) * 1024 / rb:.0f} bytes/article")
PY
