//! The `svodka` binary: parse the command line, set up logging, call the library, print the
//! error chain, decide the exit status (0 all ok, 3 finished with error records, 1 fatal,
//! 2 usage, as clap does).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use svodka::cli::{Cli, Command, ModelsCommand};
use svodka::config::{Overrides, PipelineConfig};
use svodka::pipeline::{self, RunOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.quiet);
    match real_main(cli) {
        Ok(code) => code,
        // The reader went away (`svodka run … | head`): stop quietly, as ripgrep does. What was
        // written is whole lines, because each record is one write.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("svodka: error: {e}");
            // Some messages already end with their source's text ("cannot read X: No such
            // file…"); saying it again as a cause adds nothing.
            let mut said = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !said.ends_with(&text) {
                    eprintln!("  caused by: {text}");
                }
                said = text;
            }
            ExitCode::from(1)
        }
    }
}

/// Whether the error comes from writing to a pipe whose reader has closed it.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Write to stdout, keeping the error (`print!` panics on a closed pipe).
fn print_out(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a CI log gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn real_main(mut cli: Cli) -> anyhow::Result<ExitCode> {
    // `--device` is `run.device`, over the file and every `--set`.
    if let Some(d) = cli.global.device.take() {
        cli.global.sets.push(format!("run.device={d}"));
    }
    let g = &cli.global;
    match cli.command {
        Command::Config(args) => {
            let cfg = PipelineConfig::load(g.config.as_deref(), &g.sets)?;
            let mut out = cfg.to_toml();
            if args.routes {
                init_runtime(&cfg.run, g.quiet)?;
                out.push_str(&svodka::plan::routes_text(&cfg).map_err(svodka::error::Error::from)?);
            }
            print_out(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect(args) => {
            let cfg = PipelineConfig::load(g.config.as_deref(), &g.sets)?;
            let stdout = std::io::stdout();
            let counts = svodka::inspect::inspect(&cfg, &args.inputs, args.limit, &mut stdout.lock())?;
            Ok(if counts.error > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Translate(args) => {
            let cfg = PipelineConfig::load(g.config.as_deref(), &task_sets(&g.sets, "translate"))?;
            init_runtime(&cfg.run, g.quiet)?;
            let failed =
                svodka::oneoff::translate(&cfg, args.model.as_deref(), &args.from, &args.to, args.file.as_deref())?;
            Ok(if failed > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Summarize(args) => {
            let cfg = PipelineConfig::load(g.config.as_deref(), &task_sets(&g.sets, "summarize"))?;
            init_runtime(&cfg.run, g.quiet)?;
            let failed =
                svodka::oneoff::summarize(&cfg, args.model.as_deref(), args.lang.as_deref(), args.file.as_deref())?;
            Ok(if failed > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Models(m) => {
            match m {
                ModelsCommand::List => svodka::oneoff::models_list()?,
                ModelsCommand::Info { name } => svodka::oneoff::models_info(&name)?,
                ModelsCommand::Fetch { names } => {
                    for name in &names {
                        svodka::oneoff::models_fetch(name, !g.quiet && std::io::stderr().is_terminal())?
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            let cfg = PipelineConfig::load(g.config.as_deref(), &g.sets)?;
            let (lines, summary) = svodka::score::check(
                &args.src,
                &args.hyp,
                &args.from,
                &args.to,
                args.summaries,
                &cfg.language.served,
            )?;
            let mut out = lines.join("\n");
            out.push('\n');
            print_out(&out)?;
            if !g.quiet {
                eprintln!("svodka: {summary}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(args) => {
            for line in svodka::score::score(args.metric, &args.hyp, &args.reference, args.lang.as_deref())? {
                print_out(&format!("{line}\n"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            if let Some(i) = args.model_index {
                // One model's process (see svodka::bench): threads come from the environment the
                // parent set, so the pools are sized before any model runs.
                let json = svodka::bench::bench_one(&args.suite, i, &args.out, g.config.as_deref(), &g.sets)?;
                print_out(&format!("{json}\n"))?;
                return Ok(ExitCode::SUCCESS);
            }
            let opts = svodka::bench::BenchOptions {
                suite: args.suite,
                out: args.out,
                config: g.config.clone(),
                sets: g.sets.clone(),
                exe: std::env::current_exe().context("cannot find the svodka binary to run each model in")?,
                progress: !g.quiet,
            };
            let (report, files) = svodka::bench::bench(&opts)?;
            let bad = report
                .results
                .iter()
                .filter(|r| r.status != "ok" || r.failed_items > 0)
                .count();
            if !g.quiet {
                for f in &files {
                    eprintln!("svodka: wrote {}", f.display());
                }
                eprintln!("svodka: {} results, {} with errors", report.results.len(), bad);
            }
            Ok(if bad > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
        }
        Command::Merge(args) => {
            let t = std::time::Instant::now();
            let summary = svodka::merge::merge(&args.shards, &args.output).context("the merge stopped")?;
            let c = summary.counts;
            if !g.quiet {
                let dups = if c.duplicates > 0 {
                    format!(", {} duplicates", c.duplicates)
                } else {
                    String::new()
                };
                eprintln!(
                    "svodka: merged {} shards into {}: {} articles: {} ok, {} error{}, {} skipped, {} flagged by checks{dups} in {:.2} s",
                    summary.shards,
                    args.output.display(),
                    c.total(),
                    c.ok,
                    c.error,
                    if c.error == 1 { "" } else { "s" },
                    c.skipped,
                    c.flagged,
                    t.elapsed().as_secs_f64()
                );
            }
            Ok(if c.error > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Run(args) => {
            let overrides = Overrides {
                output: args.output.clone(),
                threads: args.threads,
            };
            let cfg = PipelineConfig::load_with(g.config.as_deref(), &g.sets, &overrides)?;
            init_runtime(&cfg.run, g.quiet)?;
            let shard = match &args.shard {
                Some(s) => Some(svodka::shard::Shard::parse(s, args.shard_count, &|k| {
                    std::env::var(k).ok()
                })?),
                None => None,
            };
            if let Some(s) = shard
                && cfg.output.path == "-"
                && !g.quiet
            {
                eprintln!(
                    "svodka: shard {s} writes to stdout, without a run manifest: `svodka merge` needs -o FILE to check and merge it"
                );
            }
            let opts = RunOptions {
                inputs: args.inputs,
                resume: args.resume,
                limit: args.limit,
                progress: !g.quiet && std::io::stderr().is_terminal(),
                notices: !g.quiet,
                shard,
                command: std::env::args().collect(),
            };
            let summary = pipeline::run(&cfg, &opts).context("the run stopped")?;
            let c = summary.counts;
            if !g.quiet {
                let secs = summary.elapsed.as_secs_f64();
                let per_s = if secs > 0.0 { summary.written as f64 / secs } else { 0.0 };
                // Model runs go at a few articles a minute: "0.0 articles/s" would say nothing.
                let rate = if per_s > 0.0 && per_s < 1.0 {
                    format!("{:.1} articles/min", per_s * 60.0)
                } else {
                    format!("{per_s:.1} articles/s")
                };
                // A translator that "auto" could not have is said once more where the eye
                // lands last.
                let untranslated = match (summary.untranslated.is_empty(), summary.translating) {
                    (true, _) => String::new(),
                    (false, false) => "; translation was off (models not available, see above)".to_string(),
                    (false, true) => format!(
                        "; not translated: {} (models not available, see above)",
                        summary.untranslated.join(", ")
                    ),
                };
                // Flagged outputs are counted whenever checks ran; duplicates when there were any.
                let mut extra = String::new();
                if cfg.checks.enabled {
                    extra.push_str(&format!(", {} flagged by checks", c.flagged));
                }
                if c.duplicates > 0 {
                    extra.push_str(&format!(
                        ", {} duplicate{} (summaries reused)",
                        c.duplicates,
                        if c.duplicates == 1 { "" } else { "s" }
                    ));
                }
                eprintln!(
                    "svodka: {} articles: {} ok, {} error{}, {} skipped{extra} in {secs:.2} s ({rate}{}){untranslated}",
                    c.total(),
                    c.ok,
                    c.error,
                    if c.error == 1 { "" } else { "s" },
                    c.skipped,
                    if c.total() > summary.written {
                        format!(", resumed after {}", c.total() - summary.written)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(if c.error > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Set up the threads once, from the loaded configuration (see svodka::runtime).
/// A device named outright (`--device cuda`) is opened here, before any work.
fn init_runtime(run: &svodka::config::RunConfig, quiet: bool) -> anyhow::Result<()> {
    if let Some(msg) = svodka::runtime::init(run)
        && !quiet
    {
        eprintln!("svodka: {msg}");
    }
    svodka::device::check(&run.device)?;
    Ok(())
}

/// In the one-off commands `--set generate.KEY=V` means the generation settings of that task.
fn task_sets(sets: &[String], task: &str) -> Vec<String> {
    sets.iter()
        .map(|s| match s.strip_prefix("generate.") {
            Some(rest) => format!("{task}.generate.{rest}"),
            None => s.clone(),
        })
        .collect()
}
