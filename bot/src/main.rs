//! The `reviewbot` binary: parse the command line, set up logging, run, map errors to exits.

use std::process::ExitCode;

use bot::cli::{Cli, Command};
use bot::config::{self, ConfigError, ProcessEnv, ServeConfig};
use bot::jobs::worker::WorkerSettings;
use bot::startup::Application;
use bot::telemetry::{self, LogFormat};
use clap::Parser;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse();
    bot::github::install_crypto_provider();
    let format = match LogFormat::from_env() {
        Ok(format) => format,
        Err(e) => return config_error(e),
    };
    telemetry::init(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast::<ConfigError>() {
            Ok(config) => config_error(config),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "reviewbot failed");
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// A configuration problem is one line naming the variable, and exit status 2.
fn config_error(e: ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let config = ServeConfig::from_env(&ProcessEnv)?;
            tracing::info!(database = %config.database_url.redacted(), bind = %config.bind, "starting");
            let app = Application::build(&config, WorkerSettings::from_env(&ProcessEnv)?).await?;
            let shutdown = CancellationToken::new();
            bot::shutdown::cancel_on_signal(shutdown.clone());
            app.run_until_stopped(shutdown).await
        }
        Command::Migrate => {
            let url = config::database_url(&ProcessEnv)?;
            let store = feedback::Store::connect(url.expose()).await?;
            store.migrate().await?;
            store.close().await;
            tracing::info!(database = %url.redacted(), "migrations applied");
            Ok(())
        }
    }
}
