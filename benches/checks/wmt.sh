#!/usr/bin/env bash
# Output checks on real text: the WMT newstest2019 ru->en and en->ru sentences of
# ../shared/real-corpus translated by a GGUF model through `svodka bench`, which reports the
# share of flagged lines per check and the mean segment chrF of flagged and unflagged lines
# (results.md, "Output checks"; each line's flags in outputs/*.checks.txt).
#
#   benches/checks/wmt.sh GGUF_FILE [OUT_DIR] [extra --set ...]
#
# One timed pass (the figures are about quality, not speed); TASKS='"wmt19-en-ru"' runs one
# direction only. Build first:
# cargo build --release --bin svodka.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gguf="$(realpath "${1:?usage: wmt.sh GGUF_FILE [OUT_DIR]}")"
out="${2:-bench-checks}"
shift $(( $# >= 2 ? 2 : 1 ))
corpus="${SVODKA_REAL_CORPUS:-$(cd "$root/.." && pwd)/shared/real-corpus}"
[ -f "$corpus/ru-en.tsv" ] || { echo "no real corpus at $corpus" >&2; exit 1; }
suite="$(mktemp -d)/wmt.toml"
cat > "$suite" <<TOML
[settings]
repeats = 1
warmup = 0
threads = ${THREADS:-2}

[[task]]
name = "wmt19-ru-en"
kind = "translate"
data = "$corpus/ru-en.tsv"
from = "ru"
to = "en"

[[task]]
name = "wmt19-en-ru"
kind = "translate"
data = "$corpus/en-ru.tsv"
from = "en"
to = "ru"

[[model]]
name = "$(basename "$gguf" .gguf)"
model = "$gguf"
tasks = [${TASKS:-"wmt19-ru-en", "wmt19-en-ru"}]
TOML
sets=()
for s in "$@"; do sets+=(--set "$s"); done
"$root/target/release/svodka" bench --suite "$suite" --out "$out" "${sets[@]}"
sed -n '/## Output checks/,/## Models/p' "$out/results.md"
