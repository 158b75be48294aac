//! The command line: subcommands only. Settings come from the environment (see `config`).

use clap::{Parser, Subcommand};

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
}
