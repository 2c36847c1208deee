#!/bin/bash
# A real Slurm run of deploy/slurm on this machine, end to end:
#  1. installs Slurm and MUNGE from Debian's packages (if missing) and starts a one-node
#     cluster (munged, slurmctld, slurmd) on loopback, with its own configuration in a work
#     directory (SLURM_CONF; /etc/slurm is not touched);
#  2. makes a 2,000-article tar.gz from the project's fixture articles (sentences of the
#     fixtures recombined, so that articles differ; every 25th is a near-copy of the article
#     7 before it, which lies in another shard);
#  3. submits the array job (4 shards, the tiny BART fixture as summariser) and the merge as a
#     dependent job with submit.sh, kills one task mid-run with `scontrol requeue`, lets Slurm
#     run it again (it resumes), and waits for the merge;
#  4. checks the merged output against one run of svodka over the same archive (records
#     equal, timings aside) and stops the cluster.
# Needs root (Slurm's daemons) and a release build (built here if missing). Not run in CI:
# it installs system packages and starts daemons. Its output is quoted in deploy/README.md.
#
#   deploy/slurm/test.sh [WORK_DIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d /tmp/svodka-slurm.XXXXXX)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
SVODKA="${SVODKA:-$repo/target/release/svodka}"
say() { echo "[$(date +%T)] $*"; }

if [ ! -x "$SVODKA" ]; then
    say "building svodka"
    (cd "$repo" && cargo build --release --locked --bin svodka)
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
say "$(slurmctld -V), munge $(munged -V 2>&1 | awk '{print $2}')"

# --- MUNGE: the key and the daemon, as the munge user.
if ! pgrep -x munged >/dev/null; then
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged
fi
munge -n | unmunge >/dev/null && say "munge works"

# --- Slurm: one node, on loopback, everything under $work.
mkdir -p "$work/state" "$work/spool" "$work/out"
mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
cat >"$work/slurm.conf" <<EOF
ClusterName=svodkatest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
stop() {
    scontrol shutdown >/dev/null 2>&1 || true
    sleep 1
    pkill -f "slurmd -N localhost" 2>/dev/null || true
}
trap stop EXIT
slurmctld -c
slurmd -N localhost
for _ in $(seq 60); do
    state=$(sinfo -h -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 1
done
say "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %t')"

# --- The archive: 2,000 articles from the fixtures' sentences.
python3 - "$repo/tests/fixtures/articles" "$work/news-2000.tar.gz" <<'PY'
import io, random, re, sys, tarfile, pathlib
src, dest = pathlib.Path(sys.argv[1]), sys.argv[2]
pools = {"en": [], "ru": []}
heads = {"en": [], "ru": []}
for p in sorted(src.glob("*.md")):
    lang = p.name[:2]
    text = p.read_text()
    heads[lang].append(text.splitlines()[0].lstrip("# ").strip())
    for para in text.split("\n\n")[1:]:
        if para[:1] in "#!*|>" or len(para) < 80:
            continue
        pools[lang] += [s.strip() for s in re.split(r"(?<=[.!?])\s+", para) if len(s.split()) >= 5]
rng = random.Random(2025)
docs = []
with tarfile.open(dest, "w:gz") as tar:
    for i in range(2000):
        lang = "ru" if i % 3 == 0 else "en"
        body = rng.sample(pools[lang], rng.randint(6, 12))
        paras = ["\n".join(body[k:k + 3]) for k in range(0, len(body), 3)]
        doc = f"# {rng.choice(heads[lang])} ({i})\n\n" + "\n\n".join(paras) + "\n"
        if i % 25 == 24:
            # A syndicated copy of the article 7 before (in another shard): another headline
            # and a trailer.
            lang, prev = docs[i - 7]
            doc = f"# Copy {i}\n" + prev.split("\n", 1)[1] + "\nRead more on our site.\n"
        docs.append((lang, doc))
        data = doc.encode()
        info = tarfile.TarInfo(f"news/{i // 100:02d}/{i:05d}-{lang}.md")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
PY
say "archive: $(tar tzf "$work/news-2000.tar.gz" | wc -l) articles, $(du -h "$work/news-2000.tar.gz" | cut -f1)"

# --- The array job and the merge, through submit.sh, as a user would.
export SVODKA SVODKA_INPUTS="$work/news-2000.tar.gz" SVODKA_OUT="$work/out"
export SVODKA_SET="summarize.model=$repo/tests/fixtures/seq2seq/bart translate.models={}"
ids=$(SHARDS=4 CPUS=1 MEM=1G "$repo/deploy/slurm/submit.sh")
say "submitted: $ids"
array=$(echo "$ids" | sed -E 's/.*shards: job ([0-9]+).*/\1/')
merge=$(echo "$ids" | sed -E 's/.*merge: job ([0-9]+).*/\1/')

# Kill task 1 mid-run (once it has written 100 records) and requeue it.
victim="$SVODKA_OUT/shard-1.jsonl"
for _ in $(seq 600); do
    n=$( [ -f "$victim" ] && wc -l <"$victim" || echo 0)
    [ "$n" -ge 100 ] && break
    sleep 0.2
done
say "task ${array}_1 has written $n records: requeueing it (the task is killed)"
scontrol requeue "${array}_1"
sleep 1
say "after the kill: shard-1.jsonl has $(wc -l <"$victim") records; its manifest says finished: $(grep -c '"finished"' "$victim.run.json" || true)"

for _ in $(seq 1800); do
    left=$(squeue -h -j "$array,$merge" 2>/dev/null | wc -l)
    [ "$left" -eq 0 ] && break
    sleep 1
done
say "jobs done; task ${array}_1: $(scontrol show job "${array}_1" 2>/dev/null | grep -oE 'JobState=[A-Z]+|Restarts=[0-9]+' | tr '\n' ' ')"
for log in "$SVODKA_OUT"/svodka-shard-*_1.log; do
    echo "--- $(basename "$log")"
    grep -E "svodka-shard|svodka:" "$log" | sed "s|$work|\$WORK|g; s|$repo|\$REPO|g"
done
echo "--- $(basename "$SVODKA_OUT"/svodka-merge-*.log)"
sed "s|$work|\$WORK|g" "$SVODKA_OUT"/svodka-merge-*.log
[ -s "$SVODKA_OUT/all.jsonl" ] || { say "FAILED: no merged output"; exit 1; }

# --- One run over the same archive, and the comparison.
say "one run of svodka over the same archive"
"$SVODKA" run -o "$work/single.jsonl" --set "summarize.model=$repo/tests/fixtures/seq2seq/bart" \
    --set 'translate.models={}' "$work/news-2000.tar.gz" 2>&1 | sed "s|$work|\$WORK|g"
python3 - "$work/single.jsonl" "$SVODKA_OUT/all.jsonl" <<'PY'
import json, sys
def load(p):
    out = []
    for line in open(p):
        r = json.loads(line)
        r.pop("timings_ms", None)
        out.append(r)
    return out
single, merged = load(sys.argv[1]), load(sys.argv[2])
same = sum(a == b for a, b in zip(single, merged))
dups = sum("duplicate_of" in r for r in merged)
print(f"single run: {len(single)} records; merged shards: {len(merged)} records; equal (timings aside): {same}; duplicates: {dups}")
if len(single) != len(merged) or same != len(single):
    sys.exit("FAILED: the merged shards differ from one run")
print("OK: the merged output of the 4 shards is the single run's, record for record")
PY
