#!/usr/bin/env bash
# The bad-input campaign of issue 12, at full size, against a release build: each case is built
# in a scratch directory, run once through `svodka`, and reported as one line — exit status,
# what the records or stderr say, wall time and peak RSS (from /usr/bin/time). It asserts
# nothing: the CLI tests in tests/hostile_inputs.rs pin the behaviour on small inputs; this
# script shows the time and memory of the big ones, which must not be timed tests.
#
#   cargo build --release && benches/hostile/run.sh [SVODKA_BIN]
#
# Needs python3, zip, mkfifo and GNU time. About 3 minutes and 2 GB of scratch disk.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
bin=$(realpath "${1:-$root/target/release/svodka}")
fx="$root/tests/fixtures/articles"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
article=$(ls "$fx"/*.md | head -1)
NOTR=(--set 'translate.models={}')

# run NAME CMD...: time CMD, then print the outcome line.
run() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o time.txt "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  read -r secs kib < <(tail -1 time.txt) || { secs=?; kib=0; }
  local what
  what=$(outcome)
  printf '%-44s rc=%-3s %7.2fs %7.1f MB  %s\n' "$name" "$rc" "$secs" "$(echo "$kib/1024" | bc -l)" "$what"
}

# What came out: the record kinds of out.jsonl (error kinds counted), else stderr's last line.
outcome() {
  if [ -s out.jsonl ]; then
    python3 - <<'EOF'
import json, collections
c, first = collections.Counter(), ""
for line in open("out.jsonl", encoding="utf-8"):
    r = json.loads(line)
    e = r.get("error") or {}
    c[e.get("kind", "ok")] += 1
    if e and not first:
        first = f' — {r["source"]}: {e["message"]}'[:100]
print(", ".join(f"{k}×{n}" for k, n in sorted(c.items())) + first)
EOF
  else
    tail -1 stderr.txt | cut -c1-110
  fi
  rm -f out.jsonl
}

echo "svodka: $bin"
echo "cpu: $(nproc) cores; $(date -u +%FT%TZ)"
echo

# --- Crash: nesting --------------------------------------------------------------------------
python3 - "$article" <<'EOF'
import gzip, io, sys, zipfile
body = open(sys.argv[1], "rb").read()
g = body
for _ in range(1000):
    g = gzip.compress(g, 1)
open("deep.md.gz", "wb").write(g)
z = body
name = "a.md"
for i in range(2000):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as f:
        f.writestr(name, z)
    z, name = b.getvalue(), f"l{i}.zip"
open("deep.zip", "wb").write(z)
EOF
run "gzip nested 1000 deep ($(du -k deep.md.gz | cut -f1) KB)" "$bin" run -q "${NOTR[@]}" deep.md.gz -o out.jsonl
run "zip nested 2000 deep" "$bin" run -q "${NOTR[@]}" deep.zip -o out.jsonl
"$bin" run -q "${NOTR[@]}" deep.md.gz -o r.jsonl >/dev/null 2>&1
run "  --resume over it" "$bin" run -q "${NOTR[@]}" deep.md.gz -o r.jsonl --resume
echo "  records after resume: $(wc -l <r.jsonl)"
rm -f deep.* r.jsonl*

# --- Data loss: output = input ---------------------------------------------------------------
python3 - <<'EOF'
import json
with open("in.jsonl", "w") as f:
    for i in range(20):
        f.write(json.dumps({"id": str(i), "title": f"T{i}", "text": "One sentence here. Another one follows. And a third."}) + "\n")
EOF
before=$(sha256sum in.jsonl)
run "output = input (in.jsonl -o in.jsonl)" "$bin" run -q "${NOTR[@]}" in.jsonl -o in.jsonl
[ "$before" = "$(sha256sum in.jsonl)" ] && echo "  input unchanged" || echo "  INPUT CHANGED"
mkdir -p d && cp in.jsonl d/
run "output inside an input dir, --resume" "$bin" run -q "${NOTR[@]}" d -o d/out.jsonl --resume
run "--resume after --set change" sh -c "'$bin' run -q --set 'translate.models={}' d -o o2.jsonl && '$bin' run -q --set 'translate.models={}' --set summarize.lead_sentences=1 d -o o2.jsonl --resume"
python3 - "$article" <<'EOF'
import tarfile, io, sys
def tar(text):
    with tarfile.open("a.tar", "w") as t:
        for i in range(3):
            b = (text + f"\n\nMember {i}.\n").encode()
            ti = tarfile.TarInfo(f"m{i}.md"); ti.size = len(b); ti.mtime = 0
            t.addfile(ti, io.BytesIO(b))
tar(open(sys.argv[1]).read())
EOF
"$bin" run -q "${NOTR[@]}" a.tar -o o3.jsonl 2>/dev/null
python3 -c "
import tarfile,io
t=tarfile.open('a.tar'); ms=[(m,t.extractfile(m).read()) for m in t.getmembers()]; t.close()
with tarfile.open('a.tar','w') as o:
    for m,b in ms:
        b=b.replace(b'Member',b'Changed member'); m.size=len(b); o.addfile(m,io.BytesIO(b))
"
run "--resume after archive members changed" "$bin" run -q "${NOTR[@]}" a.tar -o o3.jsonl --resume
rm -rf d in.jsonl o2.jsonl* o3.jsonl* a.tar

# --- Inputs silently ignored -----------------------------------------------------------------
run "process substitution <(cat a.md)" bash -c "'$bin' run -q --set 'translate.models={}' <(cat '$article') -o out.jsonl"
run "/dev/stdin" bash -c "cat '$article' | '$bin' run -q --set 'translate.models={}' /dev/stdin -o out.jsonl"
mkfifo f.md
(cat "$article" >f.md &)
run "named FIFO" "$bin" run -q "${NOTR[@]}" f.md -o out.jsonl
rm -f f.md
run "/dev/zero" "$bin" run -q "${NOTR[@]}" /dev/zero -o out.jsonl
mkdir -p s && cp "$article" s/ && mkfifo s/fifo.md && ln -s missing.md s/dangling.md
run "FIFO + dangling symlink in a directory" "$bin" run -q "${NOTR[@]}" s -o out.jsonl
rm -rf s

# --- Quadratic time: nested HTML -------------------------------------------------------------
for n in 10000 25000 50000 100000 1000000; do
  python3 -c "
n=$n
open('deep.html','w').write('<html><head><title>Deep</title></head><body>'+'<div>'*n+'<p>A sentence at the bottom. And another one.</p>'+'</div>'*n+'</body></html>')"
  run "HTML, $n nested divs ($(du -k deep.html | cut -f1) KB)" "$bin" run -q "${NOTR[@]}" deep.html -o out.jsonl
done
rm -f deep.html

# --- Unbounded memory ------------------------------------------------------------------------
python3 - <<'EOF'
import gzip
with gzip.open("line.jsonl.gz", "wb", compresslevel=9) as f:
    f.write(b'{"id":"small","title":"T","text":"One sentence. Two sentences. Three."}\n')
    f.write(b'{"id":"huge","title":"T","text":"')
    chunk = b"a" * (1 << 20)
    for _ in range(1024):
        f.write(chunk)
    f.write(b'"}\n')
    f.write(b'{"id":"after","title":"T","text":"One sentence. Two sentences. Three."}\n')
EOF
run "1 GiB JSONL line in a $(du -m line.jsonl.gz | cut -f1) MB .gz" "$bin" run -q "${NOTR[@]}" line.jsonl.gz -o out.jsonl
rm -f line.jsonl.gz
python3 - "$article" <<'EOF'
import io, sys, tarfile
base = open(sys.argv[1], encoding="utf-8").read().split("\n\n", 1)[1]
para = "\n\n".join([base] * (60_000_000 // len(base.encode()) + 1))
with tarfile.open("big.tar", "w") as t:
    for i in range(12):
        b = f"# Big {i}\n\n{para}\n".encode()[:60_000_000]
        ti = tarfile.TarInfo(f"big{i}.md"); ti.size = len(b)
        t.addfile(ti, io.BytesIO(b))
EOF
run "twelve 60 MB tar members" "$bin" run -q "${NOTR[@]}" big.tar -o out.jsonl
run "  same, run.window_bytes=1" "$bin" run -q "${NOTR[@]}" --set run.window_bytes=1 big.tar -o out.jsonl
rm -f big.tar
mkdir -p fifty && for i in $(seq 50); do cp "$article" "fifty/a$i.md"; done
run "--threads 100000, 50 articles" "$bin" run -q "${NOTR[@]}" --threads 100000 fifty -o out.jsonl
grep -i thread stderr.txt | head -1 | sed 's/^/  /'
rm -rf fifty

# --- Wrong or unclear ------------------------------------------------------------------------
printf '%s\n' '{"id":"g","title":"T","date":"garbage","text":"One. Two. Three."}' \
  '{"id":"m","title":"T","date":"2025-13-45","text":"One. Two. Three."}' >dates.jsonl
"$bin" run -q "${NOTR[@]}" dates.jsonl -o out.jsonl 2>/dev/null
echo "JSONL dates garbage / 2025-13-45 → date: $(python3 -c "import json;print([json.loads(l)['date'] for l in open('out.jsonl')])")"
rm -f out.jsonl dates.jsonl
cp "$article" plain.md && zip -q -P secret enc.zip plain.md && rm plain.md
run "encrypted zip member" "$bin" run -q "${NOTR[@]}" enc.zip -o out.jsonl
python3 -c "
import zipfile;z=zipfile.ZipFile('ok.zip','w');z.writestr('a.md','# T\n\nOne. Two. Three.\n');z.writestr('b.md','# U\n\nOne. Two. Three.\n');z.close()
b=open('ok.zip','rb').read();cd=b.find(b'PK\x01\x02');e=bytearray(b[b.rfind(b'PK\x05\x06'):])
e[12:16]=(len(b)-len(e)-cd).to_bytes(4,'little');open('bad.zip','wb').write(b[:cd+20]+bytes(e))"
run "damaged zip directory" "$bin" run -q "${NOTR[@]}" bad.zip -o out.jsonl
python3 -c "
import tarfile,io
b=b'# T\n\nOne. Two. Three.\n';ti=tarfile.TarInfo('a.md');ti.size=len(b)
t=io.BytesIO();tf=tarfile.open(fileobj=t,mode='w');tf.addfile(ti,io.BytesIO(b));tf.close()
d=bytearray(t.getvalue());d[124:136]=b'77777777777\0';s=sum(d[:148])+8*32+sum(d[156:512]);d[148:156]=('%06o\0 '%s).encode();open('lie.tar','wb').write(d)"
run "tar member declaring 8 GB" "$bin" run -q "${NOTR[@]}" lie.tar -o out.jsonl
printf '{"id":"c","title":"\xcf\xf0\xe8\xe2\xe5\xf2","text":"One. Two. Three."}\n' >legacy.jsonl
run "cp1251 JSONL line" "$bin" run -q "${NOTR[@]}" legacy.jsonl -o out.jsonl
printf '{"id":"c","title":"T","text":"One. Two\n{"id":"d","title":"T","text":"One. Two. Three."}\n' >cut.jsonl
run "JSONL line cut inside a string" "$bin" run -q "${NOTR[@]}" cut.jsonl -o out.jsonl
echo "Один абзац без заголовка, и в нём всего одно предложение." >one.txt
run "one-line plain text" "$bin" run -q "${NOTR[@]}" one.txt -o out.jsonl
run "summarize.dtype=f8" "$bin" run -q --set summarize.dtype=f8 one.txt -o out.jsonl
run "language.served=[]" "$bin" run -q --set 'language.served=[]' one.txt -o out.jsonl
run "summarize.languages=[\"de\"]" "$bin" run -q --set 'summarize.languages=["de"]' one.txt -o out.jsonl
run "chunk.max_tokens=99999999999999999999" "$bin" run -q --set chunk.max_tokens=99999999999999999999 one.txt -o out.jsonl
mkdir -p marian && cp -r "$root"/tests/fixtures/marian/base/* marian/ && rm marian/source.spm
run "Marian dir without source.spm" bash -c "echo hi | '$bin' translate --model marian --from en --to ru"
touch "$(printf 'a\xff.md')" "$(printf 'a\xfe.md')"
mkdir -p n && mv a*.md n/ 2>/dev/null
run "two non-UTF-8 names" "$bin" run -q "${NOTR[@]}" n -o out.jsonl
"$bin" run -q "${NOTR[@]}" n -o names.jsonl 2>/dev/null
echo "  sources: $(python3 -c "import json;print(sorted(json.loads(l)['source'] for l in open('names.jsonl')))")"
