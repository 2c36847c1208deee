#!/bin/bash
# Queue a sharded svodka run on Slurm: an array job of SHARDS tasks, then the merge as a job
# that starts when all of them have succeeded. Prints the two job ids.
#
#   SHARDS=8 SVODKA_INPUTS="/data/news.tar.gz" SVODKA_OUT=/scratch/run1 deploy/slurm/submit.sh [sbatch options]
#
# SHARDS defaults to 4; MEM (per task, default 2G) and CPUS (default 2) size the tasks (see
# deploy/README.md for the memory each model card needs); extra arguments go to both sbatch
# calls (a partition, an account). SVODKA, SVODKA_CONFIG and SVODKA_SET as in svodka-shard.sbatch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SHARDS:=4}" "${MEM:=2G}" "${CPUS:=2}" "${SVODKA_INPUTS:?set SVODKA_INPUTS}" "${SVODKA_OUT:?set SVODKA_OUT}"
export SVODKA_INPUTS SVODKA_OUT
mkdir -p "$SVODKA_OUT"
shards=$(sbatch --parsable --array="0-$((SHARDS - 1))" --mem="$MEM" --cpus-per-task="$CPUS" \
    --chdir="$SVODKA_OUT" "$@" "$here/svodka-shard.sbatch")
merge=$(sbatch --parsable --dependency="afterok:${shards%%;*}" --kill-on-invalid-dep=yes \
    --chdir="$SVODKA_OUT" "$@" "$here/svodka-merge.sbatch")
echo "shards: job ${shards%%;*} (array 0-$((SHARDS - 1))), merge: job $merge"
