//! The command line (clap derive). Options that exist for every command (`-c`, `--set`,
//! `-q`, `-v`) are global so they can stand before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "svodka",
    version,
    about = "News archives in, one JSONL record per article out: Russian and English summaries."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file [default: ./pipeline.toml if present, else built-in defaults]
    #[arg(short, long, global = true, env = "SVODKA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one configuration key, e.g. `--set chunk.max_tokens=300` (repeatable)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// No progress bar and no summary line
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Where the models run: cpu, cuda, cuda:N or auto (a GPU when this build has CUDA and one
    /// answers) [default: run.device, which defaults to auto]
    #[arg(long, global = true, env = "SVODKA_DEVICE", value_name = "DEVICE")]
    pub device: Option<String>,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process articles into JSONL records
    Run(RunArgs),
    /// Put the outputs of the shards of one run (`run --shard K/N`) back together, checked:
    /// same settings, inputs and models, every shard there and finished, nothing missing or
    /// doubled
    Merge(MergeArgs),
    /// Show parsed articles and their chunks as JSONL, without running models
    Inspect(InspectArgs),
    /// Print the effective configuration
    Config(ConfigArgs),
    /// Translate text, one item per line (stdin when no file), one result per line
    Translate(TranslateArgs),
    /// Summarise text, one item per line (stdin when no file), one result per line
    Summarize(SummarizeArgs),
    /// List, describe and download the supported models
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Compare models on a suite of tasks: quality and speed, as JSON, Markdown and SVG
    Bench(BenchArgs),
    /// Score hypotheses against references, one segment per line (BLEU, chrF as sacrebleu; ROUGE as rouge-score)
    Score(ScoreArgs),
    /// Check outputs beside their sources, one segment per line: the flaws `svodka run` names in
    /// records' `checks` (repetition, copy, language, numbers, …), one line of flags per segment
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Sources, one segment per line
    #[arg(long, value_name = "FILE")]
    pub src: PathBuf,
    /// Outputs (translations or summaries of the sources), one segment per line
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// Language of the sources
    #[arg(long, value_name = "LANG")]
    pub from: String,
    /// Language the outputs should be in
    #[arg(long, value_name = "LANG")]
    pub to: String,
    /// The outputs are summaries (they may leave numbers out), not translations
    #[arg(long)]
    pub summaries: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Also load the models and print the plan: how each summary language of each served
    /// language's articles is made (as TOML comments after the configuration)
    #[arg(long)]
    pub routes: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The suite: tasks, data and models to compare (see benches/suites/fixture.toml)
    #[arg(long, value_name = "FILE")]
    pub suite: PathBuf,
    /// Folder for results.json, results.md and chart.svg
    #[arg(long, value_name = "DIR", default_value = "bench-results")]
    pub out: PathBuf,
    /// Run only this model of the suite and print its results as JSON (how each model gets a process of its own)
    #[arg(long, hide = true)]
    pub model_index: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The metric
    #[arg(long, value_enum)]
    pub metric: crate::score::Metric,
    /// Hypotheses, one segment per line
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// References, one segment per line
    #[arg(long = "ref", value_name = "FILE")]
    pub reference: PathBuf,
    /// Language of the texts; for ROUGE, `en` uses rouge-score's own (ASCII) tokeniser, anything else a Unicode-aware one
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// A card name (`svodka models list`) or a model directory [default: translate.models.FROM-TO]
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Source language (ISO 639-1)
    #[arg(long, value_name = "LANG")]
    pub from: String,
    /// Target language (ISO 639-1)
    #[arg(long, value_name = "LANG")]
    pub to: String,
    /// Input file, one item per line [default: stdin]
    #[arg(value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// The summariser [default: summarize.model]
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Language of the input and of the summaries [default: detected per line]
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// Input file, one item per line [default: stdin]
    #[arg(value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The model cards, and whether each is in the local Hugging Face cache
    List,
    /// One card in full, and where its files are
    Info { name: String },
    /// Download cards' files into the Hugging Face cache (one snapshot directory per line)
    Fetch {
        #[arg(required = true, value_name = "CARD")]
        names: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files, directories, archives (.tar, .tar.gz, .tgz, .zip, .gz) or `-` for stdin
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output file, `-` for stdout [default: output.path, which defaults to `-`]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
    /// Worker threads for reading and parsing [default: run.threads; 0 = one per core]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Process only the first N articles
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Continue an interrupted run into the same output file
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N (K counted from 0, e.g. `0/4`): every N-th unit of the inputs.
    /// `auto` reads a Slurm array task (SLURM_ARRAY_TASK_ID/_MIN/_COUNT) or a Kubernetes
    /// Indexed Job (JOB_COMPLETION_INDEX, with --shard-count). Put the shards back together
    /// with `svodka merge`
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// The number of shards, for `--shard auto` where the scheduler does not say it
    /// (Kubernetes) [default: SVODKA_SHARD_COUNT]
    #[arg(long, value_name = "N", requires = "shard")]
    pub shard_count: Option<usize>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The outputs of `svodka run --shard K/N -o FILE`, every shard of one run, in any order
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// The merged output: the records in the order a single run would have written them
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Files, directories, archives or `-` for stdin
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Show only the first N articles
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}
