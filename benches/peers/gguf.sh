#!/usr/bin/env bash
# svodka vs llama.cpp on one GGUF file, side by side in one run: same file, same prompt ids,
# same number of generated tokens, the same number of threads for both.
#
#   benches/peers/gguf.sh MODEL.gguf [THREADS=2] [NEW_TOKENS=64]
#
# Creates a venv for llama-cpp-python (benches/peers/.venv, built from source on first use,
# several minutes) unless PEERS_PYTHON names a python that has it. Prints both engines'
# medians (of 5 rounds after a warm-up) and svodka's ratios.
set -euo pipefail
model=${1:?usage: gguf.sh MODEL.gguf [THREADS] [NEW_TOKENS]}
threads=${2:-2}
new=${3:-64}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PEERS_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$here/.venv/bin/pip" install --quiet -r "$here/requirements-gguf.txt"
  fi
  py="$here/.venv/bin/python"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && cargo build --release --bench gguf --quiet 2>/dev/null || cargo bench --bench gguf --no-run)
OMP_NUM_THREADS=$threads "$py" "$here/llama_cpp_gguf.py" "$model" "$tmp/prompt.json" --threads "$threads" --new "$new" > "$tmp/llama.json"
(cd "$root" && RAYON_NUM_THREADS=$threads cargo bench --quiet --bench gguf -- "$model" "$tmp/prompt.json") > "$tmp/svodka.json"
# run.sh collects every engine's lines into one results file for one table.
if [ -n "${PEERS_RESULTS:-}" ]; then
  "$py" - "$tmp/llama.json" "$tmp/svodka.json" "$model" >> "$PEERS_RESULTS" <<'PY'
import json, os, sys
for p in sys.argv[1:3]:
    r = json.loads(open(p).read().strip().splitlines()[-1])
    r.update(kind="gguf", model=os.path.basename(sys.argv[3]))
    print(json.dumps(r))
PY
fi
"$py" - "$tmp/llama.json" "$tmp/svodka.json" "$model" <<'PY'
import json, statistics, sys, os
llama, svodka = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
print(f"model: {os.path.basename(sys.argv[3])}; prompt {svodka['prompt_tokens']} tokens, {svodka['new_tokens']} generated, "
      f"{svodka['threads']} threads; medians of {len(svodka['gen_tps'])} rounds")
print(f"{'':28} {'prompt tok/s':>12} {'generated tok/s':>16}")
rows = []
for r in (svodka, llama):
    p, g = statistics.median(r["prompt_tps"]), statistics.median(r["gen_tps"])
    rows.append((p, g))
    print(f"{r['engine']:28} {p:12.1f} {g:16.2f}")
print(f"{'svodka / llama.cpp':28} {rows[0][0] / rows[1][0]:12.2f} {rows[0][1] / rows[1][1]:16.2f}")
PY
