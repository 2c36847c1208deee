//! The module graph has no loop and no import that runs back up: every top-level module of
//! `src/` has a layer, and may use only modules of its own layer or below (README, "How it
//! works"). Read from the code's own `crate::…` paths (comments and `#[cfg(test)]` modules
//! left out), so a new import that breaks the layering fails here, naming the file and the
//! line; a new module must be given a layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. Within one layer, imports are allowed but may not form a loop.
const LAYERS: &[&[&str]] = &[
    &["task", "device"],
    &["record_error", "batch", "chunk", "metrics", "tokenizer", "dedup"],
    &["generate"],
    &["models"],
    &["config"],
    &["runtime", "ingest", "article", "shard"],
    &["backends", "checks"],
    &["plan", "execute"],
    &["error"],
    &["output", "manifest", "score"],
    &["merge"],
    &["pipeline", "oneoff", "cli"],
    &["inspect", "bench"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `crate::NAME` uses in code lines, with their line numbers, before the file's tests.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        // The test module (tests may use anything); a single `#[cfg(test)]` item is code.
        if code.starts_with("#[cfg(test)]") && lines.get(n + 1).is_some_and(|l| l.trim_start().starts_with("mod ")) {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let name: String = rest[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = &rest[i + 7..];
        }
        // `use crate::{a, b}` names several modules at once.
        if let Some(i) = code.find("crate::{") {
            let inner = code[i + 8..].split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((n + 1, name));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_imports_only_from_its_layer_or_below_and_nothing_loops() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let Some(own) = rank(&module) else {
            wrong.push(format!(
                "src/{}: module `{module}` has no layer in tests/layers.rs",
                rel.display()
            ));
            continue;
        };
        for (line, used) in uses(&std::fs::read_to_string(f).unwrap()) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r > own => wrong.push(format!(
                    "src/{}:{line}: `{module}` (layer {own}) imports `{used}` (layer {r}), which is above it",
                    rel.display()
                )),
                Some(_) => {
                    graph.entry(module.clone()).or_default().insert(used);
                }
                None => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Loops within a layer: depth-first search for a back edge.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for next in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut state, &mut Vec::new()) {
            panic!("the modules import each other in a loop: {}", cycle.join(" → "));
        }
    }
    // The test reads real imports: the pipeline uses the executor, the executor the backends.
    assert!(graph["pipeline"].contains("execute") && graph["execute"].contains("backends"));
}
