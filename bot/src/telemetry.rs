//! Logging: JSON lines when stdout is not a terminal (production, Fly), readable text on one.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The filter when `RUST_LOG` is unset: our own info, dependencies' warnings.
const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,tower_http=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the current span's fields (delivery id, job id).
    Json,
    /// Human-readable, coloured on a terminal.
    Text,
}

impl LogFormat {
    /// `REVIEWBOT_LOG_FORMAT` (`json` or `text`) if set, else JSON unless stdout is a terminal.
    pub fn from_env() -> Result<LogFormat, crate::config::ConfigError> {
        match std::env::var("REVIEWBOT_LOG_FORMAT")
            .ok()
            .as_deref()
            .map(str::trim)
        {
            None | Some("") if std::io::stdout().is_terminal() => Ok(LogFormat::Text),
            None | Some("") => Ok(LogFormat::Json),
            Some("json") => Ok(LogFormat::Json),
            Some("text") => Ok(LogFormat::Text),
            Some(_) => Err(crate::config::ConfigError {
                variable: "REVIEWBOT_LOG_FORMAT",
                problem: "must be json or text".into(),
            }),
        }
    }
}

/// Installs the global subscriber. Call once, first thing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_span_events(FmtSpan::NONE)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}
