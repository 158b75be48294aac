//! The command line: subcommands only. Settings come from the environment (see `config`).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use feedback::StatsBy;

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
    /// Acceptance and precision of the posted suggestions (reads DATABASE_URL) and exit.
    Stats(StatsArgs),
    /// Fine-tuning datasets and SARIF from the human verdicts (reads DATABASE_URL).
    #[command(subcommand)]
    Export(ExportCommand),
}

/// `reviewbot export …`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Chat fine-tuning JSONL: `{"messages":[…]}`, the answer humans kept as the target.
    Sft(DatasetArgs),
    /// Preference pairs for OpenAI/Azure DPO: what humans kept over what the model said.
    Dpo(DatasetArgs),
    /// The same pairs for Hugging Face TRL: `prompt`/`chosen`/`rejected` (conversational).
    Trl(DatasetArgs),
    /// Security findings as SARIF 2.1.0 for code scanning, triage as suppressions.
    Sarif(SarifArgs),
    /// Check a JSONL file against the fine-tuning format rules (SFT, DPO or TRL; detected).
    Validate(ValidateArgs),
}

/// Which rows an export reads.
#[derive(Debug, Args)]
pub struct ExportFilterArgs {
    /// Only suggested tests or only security findings.
    #[arg(long, value_enum)]
    pub kind: Option<ExportKind>,
    /// Only this repository (owner/name).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Only from this day (`YYYY-MM-DD`, midnight UTC) or time (RFC 3339) on.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only before this day (`YYYY-MM-DD`, midnight UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub until: Option<DateTime<Utc>>,
    /// Only calls made with this prompt version (e.g. `v1`).
    #[arg(long, value_name = "VERSION")]
    pub prompt_version: Option<String>,
    /// Only calls to this model (e.g. `gpt-4o`).
    #[arg(long)]
    pub model: Option<String>,
}

/// What a dataset's examples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportKind {
    /// The suggested-tests prompt.
    Test,
    /// The security prompt.
    Security,
}

/// `reviewbot export sft|dpo|trl` options.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// The training file to write (JSONL; replaced only when the export succeeds).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub filter: ExportFilterArgs,
    /// Only calls with at least this many decided suggestions (accepted, modified, rejected).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_verdicts: usize,
    /// Calls with suggestions nobody decided on: skip the call, keep them as the model wrote
    /// them, or drop them from the answer.
    #[arg(long, value_enum, default_value_t = UnlabeledArg::Skip)]
    pub unlabeled: UnlabeledArg,
    /// Drop examples with more tokens (Azure's limit for current models).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    pub max_tokens: usize,
    /// Write this share of the examples (0 to 0.5) to a validation file; which example goes
    /// where depends only on the example's prompt, so re-exporting never moves one.
    #[arg(long, value_name = "R", value_parser = parse_ratio)]
    pub validation_ratio: Option<f64>,
    /// The validation file [default: the training file's name with `.validation` before the
    /// extension].
    #[arg(long, value_name = "FILE", requires = "validation_ratio")]
    pub validation_out: Option<PathBuf>,
}

/// `--unlabeled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnlabeledArg {
    /// Leave the whole call out.
    Skip,
    /// Keep the undecided suggestions as the model wrote them.
    Keep,
    /// Leave the undecided suggestions out of the answer.
    Drop,
}

/// `reviewbot export sarif` options.
#[derive(Debug, Args)]
pub struct SarifArgs {
    /// The SARIF file to write (replaced only when the export succeeds).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only this repository (code scanning takes one repository per upload).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Only findings from this day (`YYYY-MM-DD`) or time (RFC 3339) on.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only findings before this day (`YYYY-MM-DD`) or time (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub until: Option<DateTime<Utc>>,
}

/// A validation ratio: a number from 0 to 0.5.
fn parse_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=0.5).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(format!("{ratio} is not between 0 and 0.5"))
    }
}

/// `reviewbot export validate` options.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The JSONL file.
    pub file: PathBuf,
    /// The most tokens an example may have (Azure's limit for current models).
    #[arg(long, default_value_t = 65_536)]
    pub max_tokens: usize,
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

/// `reviewbot stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// One row per value of this field, and a total [default: the total only].
    #[arg(long, value_enum, value_name = "FIELD")]
    pub by: Option<StatsField>,
    /// Only suggestions made at or after this day (`YYYY-MM-DD`, midnight UTC) or time (RFC
    /// 3339, e.g. `2026-11-01T09:30:00Z`).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
}

/// What `reviewbot stats --by` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsField {
    /// test or security.
    Kind,
    /// The rule id, CWE or test kind.
    Category,
    /// The CWE id (`(none)` for tests).
    Cwe,
    /// The severity (`(none)` for tests).
    Severity,
    /// owner/name.
    Repo,
    /// The prompt and its version, e.g. `security/v1` (`built-in` for the analyzers).
    PromptVersion,
    /// The model (`built-in` for the analyzers).
    Model,
}

impl StatsField {
    /// The store's grouping.
    pub fn by(self) -> StatsBy {
        match self {
            StatsField::Kind => StatsBy::Kind,
            StatsField::Category => StatsBy::Category,
            StatsField::Cwe => StatsBy::Cwe,
            StatsField::Severity => StatsBy::Severity,
            StatsField::Repo => StatsBy::Repo,
            StatsField::PromptVersion => StatsBy::PromptVersion,
            StatsField::Model => StatsBy::Model,
        }
    }
}

/// How `reviewbot stats` prints its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// Aligned columns with a header and a total row.
    Table,
    /// A JSON array of objects, one per row.
    Json,
    /// CSV: a header, then one line per row.
    Csv,
}

/// `--since`: `YYYY-MM-DD` is that day's midnight UTC, else an RFC 3339 time.
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("expected YYYY-MM-DD or an RFC 3339 time, got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn since_is_a_day_at_midnight_utc_or_an_rfc3339_time() {
        assert_eq!(
            parse_since("2026-11-01"),
            Ok(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            parse_since("2026-11-01T10:30:00+01:00"),
            Ok(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap())
        );
        assert_eq!(
            parse_since("2026-11-01T09:30:00.5Z"),
            Ok(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap()
                + chrono::Duration::milliseconds(500))
        );
        for bad in ["yesterday", "2026-13-01", "2026-11-01 10:00", "", "1 week"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_stats_field_is_a_grouping_by_its_cli_name() {
        for field in StatsField::value_variants() {
            let name = field.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(field.by().as_str(), name);
        }
    }
}
