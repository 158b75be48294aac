//! The command line: subcommands only. Settings come from the environment (see `config`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::review::finding::Severity;

/// reviewbot: AI review of pull requests with a human in the loop.
#[derive(Debug, Parser)]
#[command(name = "reviewbot", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the webhook server and the workers (reads DATABASE_URL, GITHUB_* and more).
    Serve,
    /// Apply database migrations (reads DATABASE_URL) and exit.
    Migrate,
    /// Review a local change: the working tree against a base, or a diff file.
    Review(ReviewArgs),
}

/// `reviewbot review` options.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Review this unified diff instead of the working tree (`-` reads standard input).
    #[arg(long, value_name = "FILE|-")]
    pub diff: Option<PathBuf>,
    /// Compare the working tree with its merge base with this ref [default: the upstream
    /// branch, else main, else master].
    #[arg(long, value_name = "REF", conflicts_with = "diff")]
    pub base: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Exit with status 1 when a finding is at or above this severity (low, medium, high,
    /// critical).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

/// How `reviewbot review` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Grouped by file like a compiler's diagnostics (colour on a terminal).
    Text,
    /// The report as JSON.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other tools).
    Sarif,
}
