#!/usr/bin/env bash
# svodka on an NVIDIA GPU, checked and measured in one run (issue 20): builds with the `cuda`
# feature, runs the transformers parity fixtures on the GPU, then measures generated tokens/s
# on the real-shaped random-weight seq2seq models (opus-mt, distilbart, t5) at batch 1, 32 and
# 128 beside CTranslate2's CUDA build (PyPI's ctranslate2 wheel), and on the packaged Qwen GGUFs.
#
#   benches/gpu/check.sh [--build-only] [--skip-build] [--steps 32] [--runs 3]
#                        [--batches 1,32,128] [--dtypes bf16,f32] [--shapes marian,distilbart,t5]
#
# Prerequisites (none of them downloads during the timed part):
#   - a GPU and its driver (nvidia-smi); CUDA 13 needs driver 580 or newer;
#   - a CUDA 13.0 toolkit: nvcc on PATH (CUDA_ROOT set), else target/cuda-toolkit/env.sh, made
#     by `deploy/cuda/toolkit.sh target/cuda-toolkit` (PyPI wheels, with the runtime libraries);
#   - the peers' Python (PEERS_SEQ2SEQ_PYTHON, else benches/peers/.venv-seq2seq from
#     benches/peers/requirements-seq2seq.txt: torch with CUDA, transformers, ctranslate2) and
#     the models it builds into benches/peers/.models (built here when missing, ~1 min);
#   - SVODKA_GGUF_DIR: ../shared/tools/fetch-packaged-models.sh's directory (GGUF speed; skipped
#     without it).
# --build-only builds and stops (run it first where the 8-minute budget counts, as on the lent
# GPU machine); --skip-build uses what is built. The timed part (parity, then speed) is sized for
# under 8 minutes on one GPU. Everything printed also goes to benches/gpu/.results/check-TIME.txt;
# the parity lines and the tables are what benches/gpu/README.md quotes.
#
# Rehearsal without a GPU: SVODKA_GPU_CHECK_DEVICE=cpu runs the same steps on the CPU (no
# feature, float32 only, the peers on the CPU), to check the script itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
build=1 only_build=0 steps=32 runs=3 batches=1,32,128 dtypes=bf16,f32 shapes=marian,distilbart,t5
while [ $# -gt 0 ]; do
  case $1 in
    --build-only) only_build=1; shift ;;
    --skip-build) build=0; shift ;;
    --steps) steps=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --dtypes) dtypes=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
device=${SVODKA_GPU_CHECK_DEVICE:-cuda}
mkdir -p "$here/.results"
log="$here/.results/check-$(date +%Y%m%d-%H%M%S).txt"
exec > >(tee "$log") 2>&1
t_start=$(date +%s)
stamp() { echo "== [$(($(date +%s) - t_start)) s] $*"; }

if [ "$device" = cuda ]; then
  features=(--features cuda)
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -1) ||
    gpu=""
  [ -n "$gpu" ] || { echo "check.sh: no NVIDIA GPU here (nvidia-smi found none): nothing to check" >&2; exit 1; }
  if ! command -v nvcc >/dev/null; then
    [ -f target/cuda-toolkit/env.sh ] || bash deploy/cuda/toolkit.sh target/cuda-toolkit
    # shellcheck disable=SC1091
    source target/cuda-toolkit/env.sh
  fi
  export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-$(echo "${gpu##*, }" | tr -d .)}
  stamp "GPU: $gpu; $(nvcc --version | tail -1); kernels for sm_$CUDA_COMPUTE_CAP"
else
  features=() dtypes=f32
  stamp "rehearsal on the CPU (SVODKA_GPU_CHECK_DEVICE=$device): no GPU is used"
fi
echo "svodka $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPU threads"

if [ $build = 1 ]; then
  stamp "build (release${features:+, ${features[*]}})"
  cargo build --release --locked "${features[@]}" --bins --bench seq2seq --bench gguf
  cargo test --release --locked "${features[@]}" --no-run --test parity
fi
[ $only_build = 1 ] && { stamp "built"; exit 0; }

# 1. Parity: the fixtures of tests/parity.rs (transformers' float32 outputs) on the device.
# float32 must be token-exact, as on the CPU; f16/bf16 must keep the encoder states and the
# first-step logits within common::tolerance, and report how many generations still equal
# float32's (half precision moves near-ties).
parity_failed=0
for dt in f32 ${dtypes//,/ }; do
  [ "$dt" = f32 ] && [ -n "${seen_f32:-}" ] && continue
  [ "$dt" = f32 ] && seen_f32=1
  stamp "parity on $device in $dt"
  out=$(SVODKA_TEST_DEVICE=$device SVODKA_TEST_DTYPE=$dt cargo test --release --locked "${features[@]}" \
    --test parity -- --nocapture --test-threads 1 2>&1) || parity_failed=1
  printf '%s\n' "$out" | grep -E "within|sequences equal|test result|panicked|FAILED" || true
done

# 2. Speed: the peers' models, exactly STEPS generated tokens per sequence, greedy.
py=${PEERS_SEQ2SEQ_PYTHON:-$root/benches/peers/.venv-seq2seq/bin/python}
peers=$root/benches/peers/seq2seq_peers.py
models=$root/benches/peers/.models
results="$here/.results/speed-$(date +%Y%m%d-%H%M%S).jsonl"
: >"$results"
if [ ! -x "$py" ]; then
  echo "no peers' Python ($py): the speed part needs benches/peers/requirements-seq2seq.txt" >&2
  exit 1
fi
stamp "models (benches/peers/.models)"
"$py" "$peers" build --out "$models" --shapes "$shapes"
# Batch 128 from the 32 source rows, each repeated: the same work per row in every engine.
for shape in ${shapes//,/ }; do
  "$py" - "$models/$shape/inputs.json" "$models/$shape/inputs-128.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["ids"] = (spec["ids"] * 4)[:128]
json.dump(spec, open(sys.argv[2], "w"))
PY
done
# CTranslate2 finds cuBLAS 12 in torch's nvidia-* wheels.
nvlibs=$("$py" -c 'import glob, os, nvidia; print(":".join(sorted(glob.glob(os.path.join(nvidia.__path__[0], "*", "lib")))))' 2>/dev/null || true)
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$nvlibs"
threads=$(nproc)
errors="$here/.results/stderr-$(date +%Y%m%d-%H%M%S).txt"
measure() { # measure NAME CMD...: keep the engine's JSON line (its stderr goes to $errors)
  local name=$1 out
  shift
  echo "## $name: $*" >>"$errors"
  if out=$("$@" 2>>"$errors" | grep '^{' | tail -n 1) && [ -n "$out" ]; then
    printf '%s\n' "$out" >>"$results"
    printf '  %-28s %s tok/s\n' "$name" "$(printf '%s' "$out" | sed 's/.*"gen_tps": *\([0-9]*\.\{0,1\}[0-9]\{0,1\}\).*/\1/')"
  else
    echo "  $name: FAILED (no result; see $errors)"
  fi
}
for shape in ${shapes//,/ }; do
  dir=$models/$shape
  for batch in ${batches//,/ }; do
    inputs=$dir/inputs.json
    [ "$batch" -gt 32 ] && inputs=$dir/inputs-128.json
    common=(--inputs "$inputs" --batch "$batch" --beams 1 --steps "$steps" --runs "$runs" --threads "$threads" --warmup 1)
    stamp "$shape greedy batch $batch"
    for dt in ${dtypes//,/ }; do
      measure "svodka $device $dt" cargo bench --quiet --locked "${features[@]}" --bench seq2seq -- \
        --model "$dir/hf" "${common[@]}" --device "$device" --dtype "$dt"
      measure "ctranslate2 $device $dt" "$py" "$peers" run --engine ct2 --model "$dir/ct2-fp32" "${common[@]}" \
        --device "$device" --dtype "$dt"
    done
    # transformers once per shape, at batch 32, in the first dtype: the reference engine.
    if [ "$batch" = 32 ]; then
      measure "transformers $device ${dtypes%%,*}" "$py" "$peers" run --engine transformers \
        --model "$dir/hf" "${common[@]}" --device "$device" --dtype "${dtypes%%,*}"
    fi
  done
done
"$py" "$peers" table "$results" || true

# 3. GGUF: the packaged Qwen files, a 512-token prompt then 64 greedy tokens, one sequence
# and 8 decoded together (benches/gguf.rs); quantised weights stay quantised on the GPU.
if [ -n "${SVODKA_GGUF_DIR:-}" ]; then
  prompt=$(mktemp --suffix .json)
  python3 -c 'import json; print(json.dumps({"ids": [1000 + (i * 37) % 20000 for i in range(512)], "new": 64, "parallel": 8}))' >"$prompt"
  summary=$(mktemp --suffix .py)
  cat >"$summary" <<'PY'
import json, statistics, sys
r = json.loads(sys.stdin.read())
def m(k):
    return statistics.median(r[k]) if r.get(k) else float("nan")
print("  %s on %s: prompt %.0f tok/s, generated %.1f tok/s, %d parallel %.1f tok/s (medians of %d rounds)"
      % (r["engine"], r["device"], m("prompt_tps"), m("gen_tps"), r["parallel"], m("parallel_gen_tps"),
         len(r["gen_tps"])))
PY
  for f in qwen2.5-coder-0.5b-instruct-q4_k_m.gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf; do
    [ -f "$SVODKA_GGUF_DIR/$f" ] || { echo "  $f: not in $SVODKA_GGUF_DIR"; continue; }
    stamp "GGUF $f on $device"
    SVODKA_DEVICE=$device RAYON_NUM_THREADS=$threads cargo bench --quiet --locked "${features[@]}" --bench gguf -- \
      "$SVODKA_GGUF_DIR/$f" "$prompt" 2>>"$errors" | grep '^{' | tail -n 1 | python3 "$summary" ||
      echo "  $f: FAILED (see $errors)"
  done
  rm -f "$prompt" "$summary"
else
  echo "GGUF: SVODKA_GGUF_DIR not set, skipped"
fi
stamp "done; log in $log, speed results in $results"
[ $parity_failed = 0 ] || { echo "PARITY FAILED (see above)"; exit 1; }
