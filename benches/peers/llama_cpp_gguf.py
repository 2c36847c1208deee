"""llama.cpp's side of the GGUF speed comparison (benches/peers/gguf.sh runs both engines).

Tokenises a news prompt with llama.cpp, writes the ids to PROMPT_JSON (svodka runs the same
ids), then measures with N threads: prompt processing (the whole prompt in one `eval`, batch
512) and generation of exactly NEW tokens (greedy, end-of-generation ignored), REPEATS times.
With --parallel P, also llama.cpp's batched decoding (what llama-batched-bench and its server's
parallel slots do): P sequences over the same prompt, each in its own KV cells (sequence ids
0..P-1 of one context), generating NEW tokens each, one llama_decode of P tokens per step;
their generated tokens/s counts all P sequences' tokens (batched-bench's S_TG).
Prints one JSON line: prompt and generated tokens/s of every repeat.

  python llama_cpp_gguf.py MODEL.gguf PROMPT_JSON [--threads 2] [--new 64] [--repeats 5] [--parallel 8]
"""
import argparse
import json
import time

import numpy as np
from llama_cpp import Llama

PROMPT = (
    "<|im_start|>system\nYou are a careful news editor. You answer with the requested text only.<|im_end|>\n"
    "<|im_start|>user\nSummarize the following news article in English, in at most 3 sentences.\n\n"
    + " ".join([
        "The European Central Bank kept its main interest rate at 4 percent on Thursday, as inflation in the",
        "euro area slowed to 2.9 percent in October. ECB President Christine Lagarde said the bank would keep",
        "rates high for as long as necessary. Economists expect the first cut in the second half of next year.",
        "Markets reacted calmly: the euro was little changed at 1.06 dollars, and European stocks closed",
        "slightly higher. The bank will publish new forecasts in December, when its staff will also extend",
        "the projections to 2026. Several members of the governing council warned that wage growth remained",
        "strong and that energy prices could rise again over the winter.",
    ]) * 2
    + "<|im_end|>\n<|im_start|>assistant\n"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("prompt_json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=0)
    a = ap.parse_args()
    llm = Llama(model_path=a.model, n_ctx=2048, n_batch=512, n_threads=a.threads,
                n_threads_batch=a.threads, verbose=False)
    ids = llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
    json.dump({"ids": ids, "new": a.new, "parallel": a.parallel}, open(a.prompt_json, "w"))
    prompt_tps, gen_tps = [], []
    for r in range(a.repeats + 1):  # the first round warms up and is not counted
        llm.reset()
        t = time.perf_counter()
        llm.eval(ids)
        t_prompt = time.perf_counter() - t
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        t = time.perf_counter()
        for _ in range(a.new):
            llm.eval([nxt])
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        t_gen = time.perf_counter() - t
        if r:
            prompt_tps.append(len(ids) / t_prompt)
            gen_tps.append(a.new / t_gen)
    par_gen_tps = batched(llm, ids, a) if a.parallel else []
    print(json.dumps({"engine": "llama.cpp (llama-cpp-python)", "prompt_tokens": len(ids), "new_tokens": a.new,
                      "threads": a.threads, "prompt_tps": prompt_tps, "gen_tps": gen_tps,
                      "parallel": a.parallel, "parallel_gen_tps": par_gen_tps}))


def batch_decoder(ctx, batch):
    """A function that runs (token, position, sequence id, wants logits) entries through
    llama_decode in `batch` (from llama_batch_init, one sequence id per token). digest.py uses it
    too."""
    import llama_cpp as C

    def decode(entries):
        batch.n_tokens = len(entries)
        for i, (tok, pos, seq, logits) in enumerate(entries):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, logits
        if C.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
    return decode


def batched(llm: Llama, ids: list, a) -> list:
    """Generated tokens/s of a.parallel sequences decoded together, per repeat (after a warm-up)."""
    import llama_cpp as C
    p, new = a.parallel, a.new
    model = llm.model
    cp = C.llama_context_default_params()
    cp.n_ctx = p * (len(ids) + new + 64)
    cp.n_batch = cp.n_ubatch = 512
    cp.n_seq_max = p
    cp.n_threads = cp.n_threads_batch = a.threads
    ctx = C.llama_init_from_model(model, cp)
    n_vocab = C.llama_vocab_n_tokens(C.llama_model_get_vocab(model))
    batch = C.llama_batch_init(512, 0, p)

    decode = batch_decoder(ctx, batch)

    def argmax(i):
        return int(np.ctypeslib.as_array(C.llama_get_logits_ith(ctx, i), shape=(n_vocab,)).argmax())

    out = []
    for r in range(a.repeats + 1):
        C.llama_memory_clear(C.llama_get_memory(ctx), True)
        nxt = []
        for s in range(p):
            for b in range(0, len(ids), 512):
                block = ids[b:b + 512]
                decode([(t, b + j, s, b + j == len(ids) - 1) for j, t in enumerate(block)])
            nxt.append(argmax(len(ids) - 1 - (len(ids) - 1) // 512 * 512))
        t = time.perf_counter()
        for step in range(new):
            decode([(nxt[s], len(ids) + step, s, True) for s in range(p)])
            nxt = [argmax(s) for s in range(p)]
        t_gen = time.perf_counter() - t
        if r:
            out.append(p * new / t_gen)
    C.llama_batch_free(batch)
    C.llama_free(ctx)
    return out


if __name__ == "__main__":
    main()
