#!/usr/bin/env bash
# Peak RSS of PARALLEL sequences of POSITIONS tokens each through svodka's GGUF engine (the
# continuous batching a run uses), once per `llm.kv_cache_mb` value given: the setting that
# bounds it. Each value runs in a process of its own (the peak is the process's, measured
# from after the load).
#
#   benches/peers/memory.sh MODEL.gguf [POSITIONS=4096] [PARALLEL=8] [THREADS=2] [MB...=2048 256]
#
# The prompt is POSITIONS-16 ordinary token ids, 16 generated after it: its content does not
# change memory, every sequence is reserved and filled to the same length. Slow on purpose: 8
# prompts of 4,080 tokens take several minutes per value on 2 cores.
set -euo pipefail
model=${1:?usage: memory.sh MODEL.gguf [POSITIONS] [PARALLEL] [THREADS] [MB...]}
positions=${2:-4096}
parallel=${3:-8}
threads=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
mbs=("$@")
[ ${#mbs[@]} -gt 0 ] || mbs=(2048 256)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$positions" "$parallel" > "$tmp/spec.json" <<'PY'
import json, sys
positions, parallel = int(sys.argv[1]), int(sys.argv[2])
new = 16
print(json.dumps({"ids": [1000 + i % 5000 for i in range(positions - new)], "new": new, "parallel": parallel}))
PY
(cd "$root" && cargo build --release --bench gguf --quiet 2>/dev/null || cargo bench --bench gguf --no-run)
for mb in "${mbs[@]}"; do
  (cd "$root" && SVODKA_BENCH_KV_MB=$mb RAYON_NUM_THREADS=$threads cargo bench --quiet --bench gguf -- "$model" "$tmp/spec.json") \
    | tail -n 1
done
