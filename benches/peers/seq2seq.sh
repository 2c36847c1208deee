#!/usr/bin/env bash
# svodka (float32 and int8) vs Hugging Face transformers (PyTorch CPU) vs CTranslate2 (float32,
# int8) on seq2seq models of real shapes with random weights, measured one after another in one
# run: the same model files, the same source ids, exactly STEPS generated tokens per sequence
# (EOS disabled until then in every engine), the same number of threads. Each engine also
# reports its load time and memory; svodka's int8 quality against its float32 is measured
# once per shape.
#
#   benches/peers/seq2seq.sh [--quick] [--shapes marian,distilbart,t5] [--runs 5] [--steps 32]
#                            [--threads 2] [--warmup 1]
#
# --quick: marian only (unless --shapes says otherwise), greedy batch 1 and 32, beam 4 batch 8.
# Otherwise each shape × greedy and beam 4 × batch 1, 8, 32.
# Creates benches/peers/.venv-seq2seq from requirements-seq2seq.txt (about 7 GB: PyPI's torch
# brings the CUDA libraries) unless PEERS_SEQ2SEQ_PYTHON names a python that has them; builds
# the models into benches/peers/.models (once); writes every engine's JSON line to
# benches/peers/.results/seq2seq-<time>.jsonl and prints the table
# (again later: python benches/peers/seq2seq_peers.py table FILE.jsonl).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=0 shapes="" runs=5 steps=32 threads=2 warmup=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --shapes) shapes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "seq2seq.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$shapes" ]; then
  if [ $quick = 1 ]; then shapes=marian; else shapes=marian,distilbart,t5; fi
fi
if [ $quick = 1 ]; then
  configs="1:1 1:32 4:8"                    # beams:batch
else
  configs="1:1 1:8 1:32 4:1 4:8 4:32"
fi

py=${PEERS_SEQ2SEQ_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x "$here/.venv-seq2seq/bin/python" ]; then
    python3 -m venv "$here/.venv-seq2seq"
    "$here/.venv-seq2seq/bin/pip" install --quiet -r "$here/requirements-seq2seq.txt"
  fi
  py="$here/.venv-seq2seq/bin/python"
fi
peers="$here/seq2seq_peers.py"
models="$here/.models"
"$py" "$peers" build --out "$models" --shapes "$shapes"
(cd "$root" && cargo bench --bench seq2seq --no-run)

mkdir -p "$here/.results"
results=${PEERS_RESULTS:-"$here/.results/seq2seq-$(date +%Y%m%d-%H%M%S).jsonl"}
: > "$results"
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
common=(--batch 0 --beams 0 --steps "$steps" --runs "$runs" --threads "$threads" --warmup "$warmup")

# Runs one engine; keeps its JSON line (a failure is reported and leaves a gap in the table).
measure() {
  local name=$1; shift
  local out
  if out=$("$@"); then
    out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
    if [ -n "$out" ]; then
      printf '%s\n' "$out" >> "$results"
      printf '  %-18s %s\n' "$name" "$(printf '%s' "$out" | sed 's/.*"gen_tps": *\([0-9]*\.\{0,1\}[0-9]\{0,1\}\).*/\1 tok\/s/')" >&2
      return
    fi
  fi
  echo "  $name: FAILED (no result)" >&2
}

IFS=, read -ra shape_list <<< "$shapes"
for shape in "${shape_list[@]}"; do
  dir="$models/$shape"
  # int8's quality cost on this shape: greedy outputs and logits against float32.
  q=$(cd "$root" && RAYON_NUM_THREADS="$threads" cargo bench --quiet --bench seq2seq -- --model "$dir/hf" \
      --inputs "$dir/inputs.json" --batch 32 --steps "$steps" --threads "$threads" --quality 1 | grep '^{' | tail -n 1) \
    && printf '%s\n' "$q" | sed 's/^{/{"kind": "quality", /' >> "$results" \
    || echo "  int8 quality on $shape: FAILED" >&2
  for c in $configs; do
    beams=${c%:*} batch=${c#*:}
    common[1]=$batch common[3]=$beams
    echo "$shape beams $beams batch $batch" >&2
    measure svodka bash -c 'cd "$0" && RAYON_NUM_THREADS="$1" cargo bench --quiet --bench seq2seq -- "${@:2}"' \
      "$root" "$threads" --model "$dir/hf" --inputs "$dir/inputs.json" "${common[@]}"
    measure svodka-int8 bash -c 'cd "$0" && RAYON_NUM_THREADS="$1" cargo bench --quiet --bench seq2seq -- "${@:2}"' \
      "$root" "$threads" --model "$dir/hf" --inputs "$dir/inputs.json" "${common[@]}" --dtype int8
    measure transformers "$py" "$peers" run --engine transformers --model "$dir/hf" --inputs "$dir/inputs.json" "${common[@]}"
    measure ct2-fp32 "$py" "$peers" run --engine ct2 --model "$dir/ct2-fp32" --inputs "$dir/inputs.json" "${common[@]}"
    measure ct2-int8 "$py" "$peers" run --engine ct2 --model "$dir/ct2-int8" --inputs "$dir/inputs.json" "${common[@]}"
  done
done
echo "results: $results" >&2
# run.sh prints one table for every engine at the end instead.
[ -n "${PEERS_NO_TABLE:-}" ] || "$py" "$peers" table "$results"
