#!/usr/bin/env bash
# svodka vs llama.cpp on one GGUF file, side by side in one run: same file, same prompt ids,
# same number of generated tokens, the same number of threads for both.
#
#   benches/peers/gguf.sh MODEL.gguf [THREADS=2] [NEW_TOKENS=64] [PARALLEL=8]
#
# PARALLEL sequences over the same prompt are also decoded together by each engine (svodka's
# batched step; llama.cpp's batch of PARALLEL sequence ids), 0 = not measured.
# Creates a venv for llama-cpp-python (benches/peers/.venv, built from source on first use,
# several minutes, for this machine's CPU: AVX-512 with VNNI/VBMI/BF16 where /proc/cpuinfo has
# them, else AVX2; not GGML_NATIVE, which also compiles AMX in where the CPU has it, and AMX
# dies with SIGILL in VMs that do not grant it, as here) unless PEERS_PYTHON names a python
# that has it. Prints both engines' medians (of 5 rounds after a
# warm-up) and svodka's ratios.
set -euo pipefail
model=${1:?usage: gguf.sh MODEL.gguf [THREADS] [NEW_TOKENS]}
threads=${2:-2}
new=${3:-64}
parallel=${4:-8}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PEERS_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
    flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    if grep -q avx512_vnni /proc/cpuinfo 2>/dev/null; then
      flags="$flags -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON"
      grep -q avx512vbmi /proc/cpuinfo && flags="$flags -DGGML_AVX512_VBMI=ON"
      grep -q avx512_bf16 /proc/cpuinfo && flags="$flags -DGGML_AVX512_BF16=ON"
    fi
    CMAKE_ARGS="$flags" "$here/.venv/bin/pip" install --quiet -r "$here/requirements-gguf.txt"
  fi
  py="$here/.venv/bin/python"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && cargo build --release --bench gguf --quiet 2>/dev/null || cargo bench --bench gguf --no-run)
OMP_NUM_THREADS=$threads "$py" "$here/llama_cpp_gguf.py" "$model" "$tmp/prompt.json" --threads "$threads" --new "$new" --parallel "$parallel" > "$tmp/llama.json"
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
par = svodka.get("parallel", 0)
head = f"{par} parallel, tok/s" if par else ""
print(f"{'':28} {'prompt tok/s':>12} {'generated tok/s':>16} {head:>22}")
rows = []
for r in (svodka, llama):
    p, g = statistics.median(r["prompt_tps"]), statistics.median(r["gen_tps"])
    b = statistics.median(r["parallel_gen_tps"]) if par else float("nan")
    rows.append((p, g, b))
    print(f"{r['engine']:28} {p:12.1f} {g:16.2f} {(f'{b:.2f}' if par else ''):>22}")
ratio = [a / b for a, b in zip(rows[0], rows[1])]
print(f"{'svodka / llama.cpp':28} {ratio[0]:12.2f} {ratio[1]:16.2f} {(f'{ratio[2]:.2f}' if par else ''):>22}")
PY
