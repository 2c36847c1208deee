"""End-to-end digest benchmark: `svodka run` over the real corpus with one GGUF model, against
llama.cpp answering the same chat prompts one at a time and with parallel sequences.

svodka runs `../shared/real-corpus/*.md` (15 real articles; a Russian and an English summary of
each: the model's summary in the article's language, then its translation) with
`--set llm.model=MODEL`, and logs every prompt it gives the model (`SVODKA_PROMPT_LOG`: the
ids, rendered from the file's chat template, and the decoding settings). llama.cpp (llama-cpp-
python's low-level API) is then given the same prompts in the same calls (a run's summaries
come before the translations of those summaries), decoding the same way: greedy, repetition
penalty over the last 64 tokens, and as many tokens per answer as svodka's answer took (its own
end-of-generation ignored), so that both engines do the same work whatever their last bits make
of an argmax (--own-lengths: stop where llama.cpp's answer stops instead). "one at a time" is
one sequence at a time; "parallel" keeps up to P sequences decoding together in one context
(sequence ids 0..P-1, one llama_decode per step, a waiting prompt joining when an answer ends:
llama.cpp's server slots). Each engine runs in its own process, for its peak RSS; its time
counts from the first prompt to the last answer (svodka: the whole `svodka run`, model load
and reading included).

  python digest.py MODEL.gguf [--threads 2] [--parallel 8] [--svodka-batch 8] [--own-lengths]
                   [--corpus ../shared/real-corpus] [--svodka target/release/svodka]

Prints one JSON line per engine and mode, then a table with svodka's ratios.
"""
import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def run_svodka(a, log):
    # The articles: every Markdown file but the corpus's own notes (SOURCES.md, README.md).
    files = sorted(f for f in glob.glob(os.path.join(a.corpus, "*.md"))
                   if os.path.basename(f) not in ("SOURCES.md", "README.md"))
    out = log + ".out.jsonl"
    cmd = [a.svodka, "run", *files, "-o", out, "-q", "--threads", str(a.threads),
           "--set", f"llm.model={a.model}", "--set", f"llm.batch={a.svodka_batch}"]
    env = dict(os.environ, SVODKA_PROMPT_LOG=log, RAYON_NUM_THREADS=str(a.threads))
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"svodka run failed ({status}): {' '.join(cmd)}")
    records = [json.loads(l) for l in open(out)]
    prompts = [json.loads(l) for l in open(log)]
    return {"engine": "svodka", "mode": f"batch {a.svodka_batch}", "articles": len(records),
            "errors": sum(1 for r in records if r.get("error")), "wall_s": wall,
            "prompts": len(prompts), "prompt_tokens": sum(len(p["ids"]) for p in prompts),
            "generated_tokens": sum(p["generated"] for p in prompts),
            "peak_rss_mb": usage.ru_maxrss / 1024}


def serve(a, log, parallel):
    """llama.cpp's side, in this process: every logged call in order, `parallel` at a time."""
    import numpy as np
    import llama_cpp as C

    prompts = [json.loads(l) for l in open(log)]
    calls = {}
    for p in prompts:
        calls.setdefault(p["call"], []).append(p)
    C.llama_backend_init()
    mp = C.llama_model_default_params()
    model = C.llama_model_load_from_file(a.model.encode(), mp)
    longest = max(len(p["ids"]) + p["max_new_tokens"] for p in prompts)
    cp = C.llama_context_default_params()
    cp.n_seq_max = parallel
    cp.n_ctx = parallel * (longest + 16)
    cp.n_batch = cp.n_ubatch = 512
    cp.n_threads = cp.n_threads_batch = a.threads
    ctx = C.llama_init_from_model(model, cp)
    mem = C.llama_get_memory(ctx)
    n_vocab = C.llama_vocab_n_tokens(C.llama_model_get_vocab(model))
    batch = C.llama_batch_init(512, 0, 1)

    from llama_cpp_gguf import batch_decoder
    decode = batch_decoder(ctx, batch)

    def choose(i, s):
        logits = np.ctypeslib.as_array(C.llama_get_logits_ith(ctx, i), shape=(n_vocab,)).copy()
        if s["p"]["repetition_penalty"] != 1.0:
            # As svodka, transformers and llama.cpp's sampler apply it: once per distinct token.
            seen = np.unique(np.array(s["history"][-s["p"]["repeat_last_n"]:], dtype=np.int64))
            v = logits[seen]
            r = s["p"]["repetition_penalty"]
            logits[seen] = np.where(v >= 0, v / r, v * r)
        return int(logits.argmax())

    def done(p, nxt, out):
        if a.own_lengths:
            return nxt in p["stop"] or out >= p["max_new_tokens"]
        return out >= p["generated"]

    generated = prompt_tokens = 0
    t = time.perf_counter()
    for call in sorted(calls):
        waiting = list(calls[call])
        active = {}  # seq id -> state
        free = list(range(parallel))
        while waiting or active:
            while waiting and free:
                p = waiting.pop(0)
                seq = free.pop(0)
                C.llama_memory_seq_rm(mem, seq, -1, -1)
                ids = p["ids"]
                for b in range(0, len(ids), 512):
                    block = ids[b:b + 512]
                    decode([(tok, b + j, seq, b + j == len(ids) - 1) for j, tok in enumerate(block)])
                prompt_tokens += len(ids)
                s = {"p": p, "history": list(ids), "out": 0, "pos": len(ids)}
                nxt = choose(len(ids) - 1 - (len(ids) - 1) // 512 * 512, s)
                if done(p, nxt, 0):
                    free.append(seq)
                    continue
                s["next"] = nxt
                active[seq] = s
            order = sorted(active)
            decode([(active[q]["next"], active[q]["pos"], q, True) for q in order])
            for i, q in enumerate(order):
                s = active[q]
                s["history"].append(s["next"])
                s["out"] += 1
                s["pos"] += 1
                generated += 1
                nxt = choose(i, s)
                if done(s["p"], nxt, s["out"]):
                    del active[q]
                    free.append(q)
                else:
                    s["next"] = nxt
    wall = time.perf_counter() - t
    print(json.dumps({"engine": "llama.cpp", "mode": "one at a time" if parallel == 1 else f"{parallel} parallel",
                      "wall_s": wall, "prompts": len(prompts), "prompt_tokens": prompt_tokens,
                      "generated_tokens": generated,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--svodka-batch", type=int, default=8)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "real-corpus"))
    ap.add_argument("--svodka", default=os.path.join(ROOT, "target", "release", "svodka"))
    ap.add_argument("--own-lengths", action="store_true")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.model = os.path.abspath(a.model)
    if a.serve:
        serve(a, a.log, int(a.serve))
        return
    tmp = tempfile.mkdtemp()
    log = os.path.join(tmp, "prompts.jsonl")
    rows = [run_svodka(a, log)]
    print(json.dumps(rows[0]), flush=True)
    articles = rows[0]["articles"]
    for p in (1, a.parallel):
        own = ["--own-lengths"] if a.own_lengths else []
        out = subprocess.run([sys.executable, __file__, a.model, "--threads", str(a.threads), "--serve", str(p),
                              "--log", log, *own], env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)),
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        r["articles"] = articles
        rows.append(r)
        print(json.dumps(r), flush=True)
    results = os.environ.get("PEERS_RESULTS")
    if results:
        with open(results, "a") as f:
            for r in rows:
                f.write(json.dumps(dict(r, kind="digest", model=os.path.basename(a.model), threads=a.threads)) + "\n")
    print(f"\ndigest of {articles} real articles, {os.path.basename(a.model)}, {a.threads} threads; "
          f"{rows[0]['prompts']} prompts, the same for every engine")
    print(f"{'':30} {'articles/h':>10} {'wall s':>8} {'prompt tok':>10} {'gen tok':>8} {'gen tok/s':>9} {'peak RSS MB':>11}")
    for r in rows:
        r["per_hour"] = r["articles"] * 3600 / r["wall_s"]
        print(f"{r['engine'] + ', ' + r['mode']:30} {r['per_hour']:10.1f} {r['wall_s']:8.1f} {r['prompt_tokens']:10} "
              f"{r['generated_tokens']:8} {r['generated_tokens'] / r['wall_s']:9.2f} {r['peak_rss_mb']:11.0f}")
    for r in rows[1:]:
        print(f"{'svodka / llama.cpp, ' + r['mode']:30} {rows[0]['per_hour'] / r['per_hour']:10.2f}")


if __name__ == "__main__":
    main()
