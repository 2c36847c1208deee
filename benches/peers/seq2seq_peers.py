"""Peers' side of the seq2seq speed comparison (benches/peers/seq2seq.sh runs every engine).

Hugging Face transformers (PyTorch, CPU) and CTranslate2 (float32 and int8) on encoder-decoder
models of real shapes with random weights (no model hub is reachable), the same source ids and
the same number of decode steps as svodka's `benches/seq2seq.rs`.

  python seq2seq_peers.py build --out DIR [--shapes marian,distilbart,t5] [--force]
  python seq2seq_peers.py run --engine transformers|ct2 --model MODEL_DIR --inputs FILE \
      --batch B --beams K --steps S --runs R --threads T [--warmup 1] [--device cuda --dtype bf16]
  python seq2seq_peers.py table RESULTS.jsonl

build writes, for each shape, DIR/<shape>/hf (config.json, model.safetensors,
generation_config.json and tokenizer files whose vocabulary is the model's: token i <-> id i),
DIR/<shape>/ct2-fp32 and DIR/<shape>/ct2-int8 (CTranslate2 conversions), and
DIR/<shape>/inputs.json: {"ids": 32 rows of 48 ids, "pad", "eos", "decoder_start"}.

run generates exactly S new tokens for each of the first B rows (EOS is disabled until then:
min = max = S in both engines, and the outputs are checked), `warmup` untimed rounds then R
timed ones, and prints one JSON line:
{"engine", "shape", "batch", "beams", "steps", "threads", "secs", "median_s", "gen_tps"}.
--device cuda (benches/gpu/check.sh) runs the engine on GPU 0 in --dtype (f32, f16, bf16; the
CTranslate2 model is the float32 conversion, converted at load as CTranslate2 does); the engine
is then named ENGINE-cuda-DTYPE, and every timed round ends with the tokens on the host.
"""
import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

SHAPES = ("marian", "distilbart", "t5")
SHAPE_ORDER = {s: i for i, s in enumerate(SHAPES)}
ROWS, ROW_LEN = 32, 48


# ---------------------------------------------------------------------------------------------
# build


def marian_config():
    from transformers import MarianConfig

    # Helsinki-NLP/opus-mt-ru-en's config.json less its generation settings (bad_words_ids,
    # num_beams 4, max_length 512, forced_eos_token_id), so that every engine decodes plainly.
    return MarianConfig(
        vocab_size=62518, decoder_vocab_size=62518, d_model=512,
        encoder_layers=6, decoder_layers=6, encoder_attention_heads=8, decoder_attention_heads=8,
        encoder_ffn_dim=2048, decoder_ffn_dim=2048, activation_function="swish",
        max_position_embeddings=512, scale_embedding=True, static_position_embeddings=True,
        normalize_before=False, normalize_embedding=False, add_final_layer_norm=False,
        add_bias_logits=False, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
        dropout=0.1, attention_dropout=0.0, activation_dropout=0.0, init_std=0.02,
        pad_token_id=62517, eos_token_id=0, bos_token_id=0, decoder_start_token_id=62517,
        forced_eos_token_id=None, architectures=["MarianMTModel"],
    )


def distilbart_config():
    from transformers import BartConfig

    # sshleifer/distilbart-cnn-12-6's config.json less its generation settings (forced_bos,
    # task_specific_params: no_repeat_ngram_size 3, min_length 56, length_penalty 2, ...).
    return BartConfig(
        vocab_size=50264, d_model=1024, encoder_layers=12, decoder_layers=6,
        encoder_attention_heads=16, decoder_attention_heads=16,
        encoder_ffn_dim=4096, decoder_ffn_dim=4096, activation_function="gelu",
        max_position_embeddings=1024, scale_embedding=False, normalize_before=False,
        normalize_embedding=True, add_final_layer_norm=False, add_bias_logits=False,
        static_position_embeddings=False, extra_pos_embeddings=2,
        dropout=0.1, attention_dropout=0.0, activation_dropout=0.0, init_std=0.02,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        forced_bos_token_id=None, forced_eos_token_id=None,
        architectures=["BartForConditionalGeneration"],
    )


def t5_config():
    from transformers import T5Config

    # t5-small's config.json less task_specific_params.
    return T5Config(
        vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6,
        num_heads=8, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0,
        feed_forward_proj="relu", tie_word_embeddings=True, n_positions=512,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        architectures=["T5ForConditionalGeneration"],
    )


def spm_model(vocab_size=200):
    """A tiny SentencePiece model trained on made-up words (the Marian layout needs .spm files)."""
    import numpy as np
    import sentencepiece as spm

    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvxyz"))
    lines = [" ".join("".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(12))
             for _ in range(2000)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
        model_type="unigram", num_threads=1, minloglevel=2,
    )
    return buf.getvalue()


def filler_vocab(special, size, prefix, first_pieces=()):
    """token -> id for ids 0..size-1: `special` (id -> token) at their ids, then `first_pieces`,
    then made-up words `<prefix>w<id>` in the remaining slots."""
    tokens = [None] * size
    for i, t in special.items():
        tokens[i] = t
    used = set(special.values())
    pieces = iter(p for p in first_pieces if p not in used)
    for i in range(size):
        if tokens[i] is None:
            p = next(pieces, None)
            tokens[i] = p if p is not None else f"{prefix}w{i}"
    assert len(set(tokens)) == size, "duplicate tokens"
    return {t: i for i, t in enumerate(tokens)}


def write_marian_tokenizer(hf, cfg):
    import sentencepiece as spm

    blob = spm_model()
    (hf / "source.spm").write_bytes(blob)
    (hf / "target.spm").write_bytes(blob)
    sp = spm.SentencePieceProcessor(model_proto=blob)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    pieces = [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
    special = {cfg.eos_token_id: "</s>", 1: "<unk>", cfg.pad_token_id: "<pad>"}
    vocab = filler_vocab(special, cfg.vocab_size, "\u2581", pieces)
    (hf / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    json.dump({"tokenizer_class": "MarianTokenizer", "source_lang": "ru", "target_lang": "en",
               "separate_vocabs": False, "model_max_length": 512, "eos_token": "</s>",
               "unk_token": "<unk>", "pad_token": "<pad>"}, open(hf / "tokenizer_config.json", "w"))


def write_bart_tokenizer(hf, cfg):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    special = {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>"}
    vocab = filler_vocab(special, cfg.vocab_size, "\u0120", list(bytes_to_unicode().values()))
    (hf / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (hf / "merges.txt").write_text("#version: 0.2\n")
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    tok.add_special_tokens(list(special.values()))
    tok.save(str(hf / "tokenizer.json"))
    # BartTokenizerFast adds "<mask>" after the vocabulary (id 50264, as distilbart-cnn-12-6's
    # tokenizer does); CTranslate2's converter cuts the vocabulary to the model's 50264.
    json.dump({"tokenizer_class": "BartTokenizer", "model_max_length": 1024, "bos_token": "<s>",
               "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
               "mask_token": "<mask>"}, open(hf / "tokenizer_config.json", "w"))


def write_t5_tokenizer(hf, cfg):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    n_extra = 100
    n_pieces = cfg.vocab_size - n_extra  # 32028 pieces, then <extra_id_99> .. <extra_id_0>
    special = {0: "<pad>", 1: "</s>", 2: "<unk>"}
    vocab = filler_vocab(special, n_pieces, "\u2581")
    pieces = [(t, 0.0 if i < 3 else -10.0 - i * 1e-4) for t, i in vocab.items()]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    extras = [f"<extra_id_{n_extra - 1 - j}>" for j in range(n_extra)]
    tok.add_special_tokens(list(special.values()) + extras)
    tok.save(str(hf / "tokenizer.json"))
    json.dump({"tokenizer_class": "T5Tokenizer", "model_max_length": 512, "eos_token": "</s>",
               "unk_token": "<unk>", "pad_token": "<pad>", "extra_ids": n_extra,
               "additional_special_tokens": [f"<extra_id_{i}>" for i in range(n_extra)]},
              open(hf / "tokenizer_config.json", "w"))


BUILDERS = {
    "marian": ("MarianMTModel", marian_config, write_marian_tokenizer),
    "distilbart": ("BartForConditionalGeneration", distilbart_config, write_bart_tokenizer),
    "t5": ("T5ForConditionalGeneration", t5_config, write_t5_tokenizer),
}


def ct2_vocabulary(model_dir):
    """The converted model's source vocabulary: list of tokens by id."""
    model_dir = Path(model_dir)
    for name in ("shared_vocabulary", "source_vocabulary"):
        if (model_dir / f"{name}.json").is_file():
            return json.load(open(model_dir / f"{name}.json"))
        if (model_dir / f"{name}.txt").is_file():
            return (model_dir / f"{name}.txt").read_text().split("\n")[:-1]
    raise SystemExit(f"{model_dir}: no vocabulary file")


def build_one(shape, out, force):
    import numpy as np
    import torch
    import transformers
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer, GenerationConfig

    root = out / shape
    hf = root / "hf"
    done = [hf / "model.safetensors", root / "ct2-fp32" / "model.bin",
            root / "ct2-int8" / "model.bin", root / "inputs.json"]
    if not force and all(p.is_file() for p in done):
        print(f"{shape}: present in {root}", file=sys.stderr)
        return
    t0 = time.perf_counter()
    arch, make_config, write_tokenizer = BUILDERS[shape]
    cfg = make_config()
    torch.manual_seed(0)
    model = getattr(transformers, arch)(cfg).eval()
    if shape == "marian":
        # CTranslate2 starts Marian's decoder from a zero embedding; transformers from the <pad>
        # row, which is zero after init (padding_idx): keep it so.
        with torch.no_grad():
            model.get_input_embeddings().weight[cfg.pad_token_id].zero_()
    # A plain generation config: no forced BOS/EOS, no n-gram ban, no length penalty or limits.
    model.generation_config = GenerationConfig(
        bos_token_id=cfg.bos_token_id, eos_token_id=cfg.eos_token_id,
        pad_token_id=cfg.pad_token_id, decoder_start_token_id=cfg.decoder_start_token_id)
    hf.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf, safe_serialization=True)
    del model
    write_tokenizer(hf, cfg)

    # The tokenizer must give the model's vocabulary: token i <-> id i, no gap.
    tok = AutoTokenizer.from_pretrained(hf)
    by_id = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id[:cfg.vocab_size]] == list(range(cfg.vocab_size)), f"{shape}: vocab ids"
    for quant, name in (("float32", "ct2-fp32"), ("int8", "ct2-int8")):
        TransformersConverter(str(hf)).convert(str(root / name), quantization=quant, force=True)
        vocab = ct2_vocabulary(root / name)
        # Marian: CTranslate2 drops <pad> (the last id) and starts from a zero embedding instead.
        want = cfg.vocab_size - (1 if shape == "marian" else 0)
        assert len(vocab) == want, f"{shape}/{name}: {len(vocab)} tokens, expected {want}"
        assert vocab == [t for t, _ in by_id[:want]], f"{shape}/{name}: vocabulary differs"

    # Source ids: made-up text avoiding special tokens, ending with EOS (BART: <s> ... </s>).
    rng = np.random.default_rng(0)
    lo, hi = {"marian": (2, cfg.pad_token_id), "distilbart": (4, cfg.vocab_size),
              "t5": (3, cfg.vocab_size - 100)}[shape]
    head = [cfg.bos_token_id] if shape == "distilbart" else []
    body = rng.integers(lo, hi, size=(ROWS, ROW_LEN - 1 - len(head)))
    ids = [head + [int(x) for x in row] + [cfg.eos_token_id] for row in body]
    json.dump({"ids": ids, "pad": cfg.pad_token_id, "eos": cfg.eos_token_id,
               "decoder_start": cfg.decoder_start_token_id}, open(root / "inputs.json", "w"))
    print(f"{shape}: built in {time.perf_counter() - t0:.0f} s -> {root}", file=sys.stderr)


def cmd_build(a):
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for shape in a.shapes.split(","):
        if shape not in BUILDERS:
            raise SystemExit(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
        build_one(shape, out, a.force)


# ---------------------------------------------------------------------------------------------
# run


def shape_of(model_dir):
    return Path(model_dir).resolve().parent.name


def run_transformers(a, spec, rows):
    import torch
    from transformers import AutoModelForSeq2SeqLM

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    t = time.perf_counter()
    model = AutoModelForSeq2SeqLM.from_pretrained(a.model, dtype=dtype).to(a.device).eval()
    LOAD["s"] = time.perf_counter() - t
    input_ids = torch.tensor(rows, dtype=torch.long, device=a.device)
    mask = torch.ones_like(input_ids)
    start, eos = spec["decoder_start"], spec["eos"]

    def once():
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids, attention_mask=mask, num_beams=a.beams, do_sample=False,
                num_return_sequences=1, max_new_tokens=a.steps, min_new_tokens=a.steps,
                early_stopping=False, use_cache=True)
        # The output starts with the decoder start token, then exactly S generated tokens.
        assert tuple(out.shape) == (len(rows), a.steps + 1), f"output shape {tuple(out.shape)}"
        assert bool((out[:, 0] == start).all()), "output does not start with decoder_start"
        assert not bool((out[:, 1:] == eos).any()), "EOS generated before the last step"
        return out

    if a.device == "cpu":
        return ("transformers" if a.dtype == "f32" else f"transformers-{a.dtype}"), once
    return f"transformers-cuda-{a.dtype}", once


def run_ct2(a, spec, rows):
    import ctranslate2

    int8 = "int8" in Path(a.model).resolve().name
    compute = "int8" if int8 else {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype]
    t = time.perf_counter()
    translator = ctranslate2.Translator(
        a.model, device=a.device, compute_type=compute,
        inter_threads=1, intra_threads=a.threads)
    LOAD["s"] = time.perf_counter() - t
    vocab = ct2_vocabulary(a.model)
    source = [[vocab[i] for i in row] for row in rows]
    eos_token = vocab[spec["eos"]]

    def once():
        # CTranslate2 counts decoding steps without the start token (not part of its output):
        # min = max = S runs the decoder S times and EOS is disabled at every one of them.
        res = translator.translate_batch(
            source, beam_size=a.beams, num_hypotheses=1, max_decoding_length=a.steps,
            min_decoding_length=a.steps, return_scores=False, max_input_length=0)
        for r in res:
            hyp = r.hypotheses[0]
            assert len(hyp) == a.steps, f"{len(hyp)} tokens, expected {a.steps}"
            assert eos_token not in hyp, "EOS generated"
        return res

    if a.device != "cpu":
        return f"ctranslate2-cuda-{'int8' if int8 else a.dtype}", once
    return f"ctranslate2-{'int8' if int8 else {'f32': 'fp32'}.get(a.dtype, a.dtype)}", once


# Seconds the engine took to load the model (set by run_transformers / run_ct2).
LOAD = {"s": 0.0}


def status_mb(key):
    """A /proc/self/status memory line (VmRSS:, VmHWM:) in MiB; 0 where there is none."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cmd_run(a):
    spec = json.load(open(a.inputs))
    rows = spec["ids"][: a.batch]
    if len(rows) < a.batch:
        raise SystemExit(f"{a.inputs} holds {len(rows)} rows, fewer than --batch {a.batch}")
    engine, once = (run_transformers if a.engine == "transformers" else run_ct2)(a, spec, rows)
    for _ in range(a.warmup):
        once()
    secs = []
    for _ in range(a.runs):
        t = time.perf_counter()
        once()
        secs.append(time.perf_counter() - t)
    median = statistics.median(secs)
    # Memory as svodka's bench reports it: resident after the runs, and the peak. A Python
    # engine's figures include the interpreter and its libraries (torch alone is ~300 MB).
    print(json.dumps({"engine": engine, "shape": shape_of(a.model), "batch": a.batch,
                      "beams": a.beams, "steps": a.steps, "threads": a.threads, "secs": secs,
                      "median_s": median, "gen_tps": a.batch * a.steps / median,
                      "load_s": LOAD["s"], "rss_mb": status_mb("VmRSS:"),
                      "peak_rss_mb": status_mb("VmHWM:")}), flush=True)


# ---------------------------------------------------------------------------------------------
# table

ENGINES = ("svodka", "svodka-int8", "transformers", "ctranslate2-fp32", "ctranslate2-int8")
# The ratios printed per row: (ours, theirs, column title).
RATIOS = (("svodka", "ctranslate2-fp32", "f32/ct2"), ("svodka-int8", "ctranslate2-int8", "i8/ct2i8"),
          ("svodka", "transformers", "f32/hf"))
SHORT = {"svodka": "svodka", "svodka-int8": "svodka-i8", "transformers": "hf",
         "ctranslate2-fp32": "ct2", "ctranslate2-int8": "ct2-i8"}


def gguf_table(rows):
    """svodka against llama.cpp on GGUF files (lines from gguf.sh, "kind": "gguf")."""
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], {})["svodka" if r["engine"] == "svodka" else "llama.cpp"] = r
    for model, c in by_model.items():
        if len(c) < 2:
            continue
        s, l = c["svodka"], c["llama.cpp"]
        print(f"\nGGUF {model}: {s['prompt_tokens']}-token prompt, {s['new_tokens']} generated tokens (greedy), "
              f"{s['threads']} threads; medians of {len(s['gen_tps'])} rounds; ratio = svodka / llama.cpp")
        head = f"{'':<20}{'svodka':>12}{'llama.cpp':>12}{'ratio':>8}"
        print(head)
        print("-" * len(head))
        keys = [("prompt_tps", "prompt tok/s"), ("gen_tps", "generated tok/s")]
        if s.get("parallel") and l.get("parallel_gen_tps"):
            keys.append(("parallel_gen_tps", f"{s['parallel']} parallel tok/s"))
        for key, name in keys:
            a, b = statistics.median(s[key]), statistics.median(l[key])
            print(f"{name:<20}{a:12.1f}{b:12.1f}{a / b:8.2f}")


def digest_table(rows):
    """The digest of the real corpus (lines from digest.py, "kind": "digest")."""
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    for model, rs in by_model.items():
        s = next((r for r in rs if r["engine"] == "svodka"), None)
        if not s:
            continue
        print(f"\ndigest of {s['articles']} real articles (../shared/real-corpus), {model}, {s['threads']} threads; "
              f"{s['prompts']} prompts, the same for every engine; ratio = svodka / llama.cpp")
        head = f"{'':<28}{'articles/h':>11}{'prompt tok':>11}{'gen tok':>9}{'gen tok/s':>10}{'peak RSS MB':>12}{'ratio':>7}"
        print(head)
        print("-" * len(head))
        per_hour = lambda r: r["articles"] * 3600 / r["wall_s"]
        for r in rs:
            ratio = "" if r is s else f"{per_hour(s) / per_hour(r):7.2f}"
            print(f"{r['engine'] + ', ' + r['mode']:<28}{per_hour(r):11.1f}{r['prompt_tokens']:11}{r['generated_tokens']:9}"
                  f"{r['generated_tokens'] / r['wall_s']:10.2f}{r['peak_rss_mb']:12.0f}{ratio}")


def table_rows(cells):
    """The rows of a tokens/s table in shape, decoding and batch order: each row's opening
    columns and its cells ({engine: tokens/s})."""
    for key in sorted(cells, key=lambda k: (SHAPE_ORDER.get(k[0], 99), k[0], k[1], k[2])):
        shape, beams, batch = key
        yield f"{shape:<11}{'greedy' if beams == 1 else f'beam{beams}':<9}{batch:>5}", cells[key]


def gpu_table(rows):
    """Engines run on a GPU (ENGINE-cuda-DTYPE), one column each, with svodka's ratio to
    CTranslate2 in the same dtype."""
    engines = sorted({r["engine"] for r in rows}, key=lambda e: (not e.startswith("svodka"), e))
    cells = {}
    for r in rows:
        cells.setdefault((r["shape"], r["beams"], r["batch"]), {})[r["engine"]] = r["gen_tps"]
    meta = {(r["steps"], len(r["secs"])) for r in rows}
    desc = "; ".join(f"{s} steps, median of {n} runs" for s, n in sorted(meta))
    pairs = [(e, "ctranslate2-cuda-" + e.rsplit("-", 1)[1]) for e in engines if e.startswith("svodka-cuda-")]
    pairs = [(ours, theirs) for ours, theirs in pairs if theirs in engines]
    short = {e: e.replace("ctranslate2", "ct2").replace("transformers", "hf").replace("-cuda", "") for e in engines}
    print(f"GPU: generated tokens/s ({desc})")
    head = f"{'shape':<11}{'decoding':<9}{'batch':>5}" + "".join(f"{short[e]:>12}" for e in engines) \
        + "".join(f"{o.rsplit('-', 1)[1] + ' svodka/ct2':>18}" for o, _ in pairs)
    print(head)
    print("-" * len(head))
    for line, c in table_rows(cells):
        line += "".join(f"{c[e]:12.1f}" if e in c else f"{'-':>12}" for e in engines)
        line += "".join(f"{c[o] / c[t]:18.2f}" if o in c and t in c else f"{'-':>18}" for o, t in pairs)
        print(line)
    print()


def cmd_table(a):
    rows = [json.loads(l) for l in open(a.file) if l.lstrip().startswith("{")]
    if not rows:
        raise SystemExit(f"{a.file}: no results")
    gpu = [r for r in rows if "-cuda" in r.get("engine", "") and r.get("kind") is None]
    rows = [r for r in rows if r not in gpu]
    if gpu:
        gpu_table(gpu)
        if not rows:
            return
    gguf = [r for r in rows if r.get("kind") == "gguf"]
    digest = [r for r in rows if r.get("kind") == "digest"]
    quality = [r for r in rows if r.get("kind") == "quality"]
    rows = [r for r in rows if r.get("kind") not in ("gguf", "quality", "digest")]
    if not rows:
        gguf_table(gguf)
        digest_table(digest)
        return
    cells, full = {}, {}
    for r in rows:  # a later line for the same cell replaces an earlier one
        cells.setdefault((r["shape"], r["beams"], r["batch"]), {})[r["engine"]] = r["gen_tps"]
        full.setdefault(r["shape"], {}).setdefault(r["engine"], []).append(r)
    meta = {(r["steps"], r["threads"], len(r["secs"])) for r in rows}
    desc = "; ".join(f"{s} steps, {t} threads, median of {n} runs" for s, t, n in sorted(meta))
    print(f"generated tokens/s ({desc})")
    head = f"{'shape':<11}{'decoding':<9}{'batch':>5}" + "".join(f"{SHORT[e]:>11}" for e in ENGINES) \
        + "".join(f"{t:>10}" for _, _, t in RATIOS)
    print(head)
    print("-" * len(head))
    for line, c in table_rows(cells):
        line += "".join(f"{c[e]:11.1f}" if e in c else f"{'-':>11}" for e in ENGINES)
        for ours, theirs, _ in RATIOS:
            line += f"{c[ours] / c[theirs]:10.2f}" if ours in c and theirs in c else f"{'-':>10}"
        print(line)
    print("\nload time (s, median over the shape's runs) and memory (MiB, largest over them: "
          "resident after the runs / peak)")
    head = f"{'shape':<11}" + "".join(f"{SHORT[e]:>22}" for e in ENGINES)
    print(head)
    print("-" * len(head))
    for shape in sorted(full, key=lambda s: (SHAPE_ORDER.get(s, 99), s)):
        line = f"{shape:<11}"
        for e in ENGINES:
            rs = full[shape].get(e)
            if not rs or "load_s" not in rs[0]:
                line += f"{'-':>22}"
                continue
            load = statistics.median(r["load_s"] for r in rs)
            rss = max(r["rss_mb"] for r in rs)
            peak = max(r["peak_rss_mb"] for r in rs)
            line += f"{f'{load:.2f}s {rss:.0f}/{peak:.0f}':>22}"
        print(line)
    by_shape = {r["shape"]: r for r in rows if r["engine"] == "svodka"}
    for shape in sorted(by_shape, key=lambda s: (SHAPE_ORDER.get(s, 99), s)):
        f32 = [r for r in full[shape].get("svodka", []) if "rss_mb" in r]
        i8 = [r for r in full[shape].get("svodka-int8", []) if "rss_mb" in r]
        if f32 and i8:
            lf, li = f32[0].get("loaded_rss_mb", 0), i8[0].get("loaded_rss_mb", 0)
            if lf:
                print(f"{shape}: svodka int8 / f32 resident once loaded: {li:.0f} / {lf:.0f} MiB = {li / lf:.2f}")
    if quality:
        print("\nint8 against float32 (svodka, greedy, the first rows of the inputs, fixed length)")
        for q in quality:
            a8 = q["int8_vs_f32"]
            print(f"{q['shape']:<11} equal outputs {a8['equal_sequences']}/{a8['sequences']}, equal prefix "
                  f"{a8['equal_prefix_tokens']}/{a8['tokens']} tokens, max logit diff "
                  f"{a8['max_logit_diff']:.4f} (max |logit| {a8['max_abs_logit']:.2f})")
    if gguf:
        gguf_table(gguf)
    if digest:
        digest_table(digest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="random-weight models, CTranslate2 conversions, inputs")
    b.add_argument("--out", required=True)
    b.add_argument("--shapes", default=",".join(SHAPES))
    b.add_argument("--force", action="store_true", help="rebuild shapes already present")
    r = sub.add_parser("run", help="time one engine on one configuration")
    r.add_argument("--engine", choices=("transformers", "ct2"), required=True)
    r.add_argument("--model", required=True, help="DIR/<shape>/hf, DIR/<shape>/ct2-fp32 or ct2-int8")
    r.add_argument("--inputs", required=True)
    for name, default in (("batch", 1), ("beams", 1), ("steps", 32), ("runs", 5), ("threads", 2), ("warmup", 1)):
        r.add_argument(f"--{name}", type=int, default=default)
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    r.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32",
                   help="weights and activations on --device cuda (the CPU runs are float32 or int8)")
    t = sub.add_parser("table", help="print the comparison table of a results file")
    t.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "run":
        os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    {"build": cmd_build, "run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
