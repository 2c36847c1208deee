//! `svodka translate`, `svodka summarize` and `svodka models`: the one-off commands for quick
//! use, scripting and checking a model by hand. They read one item per line and print one
//! result per line, through the same backends the pipeline uses.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::backends::{LoadError, Loader, Summarizer, SummaryInput};
use crate::config::PipelineConfig;
use crate::error::Error;
use crate::models::{card, hub};
use crate::record_error::ArticleError;
use crate::task::Task;

/// Lines are translated in blocks of this many, so a large file streams.
const BLOCK: usize = 256;

fn read_lines(file: Option<&Path>, mut each_block: impl FnMut(&[String]) -> Result<(), Error>) -> Result<(), Error> {
    let input: Box<dyn BufRead> = match file {
        Some(p) => Box::new(std::io::BufReader::new(std::fs::File::open(p).map_err(|source| {
            Error::Input {
                path: p.to_path_buf(),
                source,
            }
        })?)),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut block = Vec::with_capacity(BLOCK);
    for line in input.lines() {
        let line = line.map_err(|source| Error::Input {
            path: file.map_or("<stdin>".into(), Path::to_path_buf),
            source,
        })?;
        block.push(line);
        if block.len() == BLOCK {
            each_block(&block)?;
            block.clear();
        }
    }
    if !block.is_empty() {
        each_block(&block)?;
    }
    Ok(())
}

fn print_lines(lines: impl IntoIterator<Item = String>) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for l in lines {
        // One result per line: line breaks inside a result become spaces, nothing else changes.
        let one = l.replace(['\n', '\r'], " ");
        writeln!(out, "{one}").map_err(|source| Error::Output {
            path: "<stdout>".into(),
            source,
        })?;
    }
    out.flush().map_err(|source| Error::Output {
        path: "<stdout>".into(),
        source,
    })
}

/// One line per result: the text, or an empty line for a failed item (its error on stderr,
/// counted in `failed`).
fn print_results(results: Vec<Result<String, ArticleError>>, failed: &mut usize) -> Result<(), Error> {
    *failed += results.iter().filter(|r| r.is_err()).count();
    print_lines(results.into_iter().map(|r| {
        r.unwrap_or_else(|e| {
            tracing::error!("{e}");
            String::new()
        })
    }))
}

pub fn translate(
    cfg: &PipelineConfig,
    model: Option<&str>,
    from: &str,
    to: &str,
    file: Option<&Path>,
) -> Result<usize, Error> {
    let pair = format!("{from}-{to}");
    let spec = match model {
        Some(m) => m.to_string(),
        // The one-off command was asked to translate: "auto" means its card, and a card that
        // cannot be had is an error here, not a pair left out.
        None => cfg.translate.models.get(&pair).map(|t| t.spec).ok_or_else(|| {
            Error::Config(crate::config::ConfigError::Invalid {
                key: format!("translate.models.{pair}"),
                message: "no model is configured for this pair; pass --model".into(),
            })
        })?,
    };
    let tr = Loader::default().translator(cfg, &spec, from, to).map_err(|source| {
        Error::from(LoadError::Model {
            key: format!("--model {spec}"),
            source: Box::new(source),
        })
    })?;
    let mut failed = 0;
    // Outputs are checked (and retried) as in a run; a flagged line is named on stderr, so
    // that stdout stays one translation per line.
    let checking = crate::execute::Checking::of(cfg);
    let (mut line, mut flagged) = (0usize, 0usize);
    read_lines(file, |block| {
        let refs: Vec<&str> = block.iter().map(String::as_str).collect();
        let checked = crate::execute::translate_checked(tr.as_ref(), &refs, checking);
        let mut results = Vec::with_capacity(checked.len());
        for c in checked {
            line += 1;
            if !c.flags.is_empty() {
                flagged += 1;
                let names: Vec<&str> = c.flags.iter().map(|f| f.name()).collect();
                let retried = if c.retried { " (after a retry)" } else { "" };
                eprintln!("svodka: line {line}: flagged {}{retried}", names.join(", "));
            }
            results.push(c.result);
        }
        print_results(results, &mut failed)
    })?;
    if flagged > 0 {
        eprintln!("svodka: {flagged} of {line} translations flagged by checks");
    }
    Ok(failed)
}

pub fn summarize(
    cfg: &PipelineConfig,
    model: Option<&str>,
    lang: Option<&str>,
    file: Option<&Path>,
) -> Result<usize, Error> {
    let spec = model.unwrap_or(&cfg.summarize.model);
    let summarizer: Box<dyn Summarizer> = Loader::default().summarizer(cfg, spec, lang).map_err(|source| {
        Error::from(LoadError::Model {
            key: format!("--model {spec}"),
            source: Box::new(source),
        })
    })?;
    let mut failed = 0;
    read_lines(file, |block| {
        let langs: Vec<String> = block
            .iter()
            .map(|l| {
                lang.map(str::to_string)
                    .or_else(|| crate::article::lang::detect(l, &cfg.language.served).map(|(c, _)| c))
                    .unwrap_or_else(|| "en".into())
            })
            .collect();
        let inputs: Vec<SummaryInput<'_>> = block
            .iter()
            .zip(&langs)
            .map(|(t, l)| SummaryInput {
                text: t,
                source_lang: l,
                target_lang: l,
            })
            .collect();
        print_results(summarizer.summarize(&inputs), &mut failed)
    })?;
    Ok(failed)
}

pub fn models_list() -> Result<(), Error> {
    let mut out = String::from("NAME\tFAMILY\tTASK\tLANGUAGES\tREPO@REVISION\tCACHED\n");
    for c in card::all() {
        let cached = hub::cached_dir(&c).map_or("no".to_string(), |d| d.display().to_string());
        let langs = if c.task == Task::Summarize {
            c.serves().join(",")
        } else if c.languages.len() > 1 {
            // One checkpoint for every direction between its languages (NLLB).
            c.languages.join("↔")
        } else {
            format!("{}→{}", c.source_lang, c.target_lang)
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}@{}\t{}\n",
            c.name, c.family, c.task, langs, c.repo, c.revision, cached
        ));
    }
    print_lines_raw(&out)
}

fn print_lines_raw(s: &str) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(s.as_bytes()).map_err(|source| Error::Output {
        path: "<stdout>".into(),
        source,
    })
}

fn find_card(name: &str) -> Result<card::Card, Error> {
    card::find(name).ok_or_else(|| {
        Error::from(LoadError::Model {
            key: name.to_string(),
            source: Box::new(crate::models::ModelError::UnknownModel {
                spec: name.to_string(),
                cards: card::all().into_iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
            }),
        })
    })
}

pub fn models_info(name: &str) -> Result<(), Error> {
    let c = find_card(name)?;
    let mut s = toml::to_string_pretty(&c).expect("cards serialise");
    if c.family == "gguf" {
        s.push_str("\n# dtypes: as quantised in the GGUF file (the dtype settings do not apply)\n");
    } else {
        s.push_str(&format!(
            "\n# dtypes: {} (`{}.dtype`; auto is f32 on the CPU and bf16 on a GPU; int8 quantises the weights at load, CPU only)\n",
            crate::models::SEQ2SEQ_DTYPES,
            c.task
        ));
    }
    match hub::cached_dir(&c) {
        Some(d) => {
            s.push_str(&format!("\n# cached at {}\n", d.display()));
            if let Some(commit) = hub::snapshot_commit(&d)
                && commit != c.revision
            {
                s.push_str(&format!(
                    "# the cached files are commit {commit} of `{}`; `{}@{commit}` pins it\n",
                    c.revision, c.name
                ));
            }
        }
        None => s.push_str("\n# not in the Hugging Face cache; `svodka models fetch` downloads it\n"),
    }
    print_lines_raw(&s)
}

pub fn models_fetch(name: &str, progress: bool) -> Result<(), Error> {
    let c = find_card(name)?;
    let dir = match hub::cached_dir(&c) {
        Some(d) => d,
        None => hub::fetch(&c, progress).map_err(|source| {
            Error::from(LoadError::Model {
                key: name.to_string(),
                source: Box::new(source),
            })
        })?,
    };
    // The commit the revision resolved to, so that a user can pin it.
    if let Some(commit) = hub::snapshot_commit(&dir)
        && commit != c.revision
    {
        eprintln!(
            "svodka: {}: {} at revision `{}` is commit {commit}; to pin it, name the model `{}@{commit}` (or set `revision` in its card)",
            c.name, c.repo, c.revision, c.name
        );
    }
    print_lines_raw(&format!("{}\n", dir.display()))
}
