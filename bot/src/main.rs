//! The `reviewbot` binary: parse the command line, set up logging, run, map errors to exits.

use std::process::ExitCode;

use bot::cli::{Cli, Command, OutputFormat, ReviewArgs, StatsArgs, StatsFormat};
use bot::config::{self, ConfigError, ProcessEnv, ServeConfig};
use bot::jobs::worker::WorkerSettings;
use bot::startup::Application;
use bot::telemetry::{self, LogFormat};
use clap::Parser;
use feedback::export::validate::DatasetFormat;
use tokio_util::sync::CancellationToken;

/// mimalloc (see the workspace manifest for why).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    bot::github::install_crypto_provider();
    let format = match LogFormat::from_env() {
        Ok(format) => format,
        Err(e) => return config_error(e),
    };
    telemetry::init(format);
    match cli.command {
        Command::Serve => run_async(serve()),
        Command::Migrate => run_async(migrate()),
        Command::Review(args) => review(&args),
        Command::Stats(args) => stats(&args),
        Command::Export(bot::cli::ExportCommand::Validate(args)) => validate(&args),
        Command::Export(bot::cli::ExportCommand::Sarif(args)) => run_async(export_sarif(args)),
        Command::Export(bot::cli::ExportCommand::Sft(args)) => {
            run_async(export_dataset(DatasetFormat::Sft, args))
        }
        Command::Export(bot::cli::ExportCommand::Dpo(args)) => {
            run_async(export_dataset(DatasetFormat::Dpo, args))
        }
        Command::Export(bot::cli::ExportCommand::Trl(args)) => {
            run_async(export_dataset(DatasetFormat::Trl, args))
        }
    }
}

/// Runs an async command to completion and maps its error to an exit status.
fn run_async(command: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
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
    match runtime.block_on(command) {
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

/// `reviewbot review`: exit 0, 1 when a finding reaches `--fail-on`, 2 when the change cannot
/// be read or the configuration is wrong.
fn review(args: &ReviewArgs) -> ExitCode {
    use bot::review::{local, pipeline, report};
    use std::io::IsTerminal;

    let model = match config::model_config(&ProcessEnv) {
        Ok(model) => model,
        Err(e) => return config_error(e),
    };
    let source = match &args.diff {
        Some(path) if path.as_os_str() == "-" => local::ChangeSource::Stdin,
        Some(path) => local::ChangeSource::DiffFile(path.clone()),
        None => local::ChangeSource::WorkingTree {
            base: args.base.clone(),
        },
    };
    let change = match local::load(&source, std::path::Path::new(".")) {
        Ok(change) => change,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let diff = match bot::review::diff::parse_diff(&change.diff) {
        Ok(diff) => diff,
        Err(e) => {
            eprintln!("error: not a diff reviewbot can read: {e}");
            return ExitCode::from(2);
        }
    };
    let client = match model.as_ref().map(bot::llm::LlmClient::new) {
        None => None,
        Some(Ok(client)) => Some(client),
        Some(Err(e)) => {
            eprintln!("error: the model endpoint cannot be used: {e}");
            return ExitCode::from(2);
        }
    };
    let model_status = report::AnalysisStatus {
        name: "model".into(),
        ran: false,
        // Replaced by the model stage's own account when it runs.
        note: if client.is_some() {
            "configured, but not run".into()
        } else {
            "not configured (set AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and \
             AZURE_OPENAI_DEPLOYMENT, or OPENAI_BASE_URL and OPENAI_MODEL)"
                .into()
        },
    };
    // A diff file may not match what is checked out here; the pipeline checks before using it.
    let directory = pipeline::Directory(change.root.clone().unwrap_or_else(|| ".".into()));
    // In a checkout, where tests live and which framework they use shape the test-gap advice.
    let tracked = change
        .root
        .as_deref()
        .and_then(|root| local::tracked_files(root).ok())
        .unwrap_or_default();
    let (frameworks, test_files) = pipeline::repo_tests(&tracked, |path| {
        use pipeline::NewSide;
        directory.read(path)
    });
    let test_files: Vec<&str> = test_files.iter().map(String::as_str).collect();
    let repo = bot::review::analyzers::test_gap::RepoTests {
        frameworks: &frameworks,
        test_files: &test_files,
    };
    // The repository's settings come from the base, never from the change under review.
    let config_text = change.config_commit.as_deref().and_then(|commit| {
        local::file_at(
            std::path::Path::new("."),
            commit,
            bot::repo_config::REPO_CONFIG_PATH,
        )
    });
    let config = match config_text
        .as_deref()
        .map(bot::repo_config::parse_repo_config)
    {
        None => bot::repo_config::LoadedRepoConfig::default(),
        Some(Ok(config)) => config,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut report, files) = pipeline::review_with_files(
        &diff,
        Some(&directory),
        &change.untracked,
        repo,
        &config,
        model_status,
    );
    if let Some(client) = &client {
        let repo_name = change
            .root
            .as_deref()
            .and_then(|root| root.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local change".into());
        let run = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| {
                let task = bot::review::model_review::ModelTask {
                    repo: &repo_name,
                    analyses: &config.config.analyses,
                    frameworks: &frameworks,
                    test_files: &test_files,
                    installation_id: None,
                    deployment: config.config.deployment.as_deref(),
                    learnings: &Default::default(),
                };
                runtime.block_on(bot::review::model_review::run_model(client, task, &files))
            });
        match run {
            Ok(run) => {
                for problem in &run.problems {
                    eprintln!("reviewbot: model: {problem}");
                }
                let status = report.analyses.iter_mut().find(|a| a.name == "model");
                if let Some(status) = status {
                    status.ran = run.calls > 0;
                    status.note = format!(
                        "{} call{}, {} tokens in, {} out{}",
                        run.calls,
                        if run.calls == 1 { "" } else { "s" },
                        run.tokens.0,
                        run.tokens.1,
                        if run.problems.is_empty() {
                            String::new()
                        } else {
                            format!(", {} problem(s) on stderr", run.problems.len())
                        }
                    );
                }
                report = pipeline::add_findings(report, &files, run.findings, &config);
            }
            Err(e) => eprintln!("reviewbot: model stage not run: {e}"),
        }
    }
    report.change = change.description;
    let output = match args.format {
        OutputFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::text::render(&report, colour)
        }
        OutputFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        OutputFormat::Sarif => {
            serde_json::to_string_pretty(&report::sarif::render(&report)).unwrap_or_default() + "\n"
        }
    };
    print!("{output}");
    match args.fail_on {
        Some(threshold) if report.fails_at(threshold) => {
            eprintln!("reviewbot: findings at or above {threshold} (--fail-on {threshold})");
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// A configuration problem is one line naming the variable, and exit status 2.
fn config_error(e: ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// `reviewbot serve`: the webhook server and workers until SIGINT or SIGTERM.
async fn serve() -> anyhow::Result<()> {
    let config = ServeConfig::from_env(&ProcessEnv)?;
    tracing::info!(database = %config.database_url.redacted(), bind = %config.bind, "starting");
    let app = Application::build(&config, WorkerSettings::from_env(&ProcessEnv)?).await?;
    let shutdown = CancellationToken::new();
    bot::shutdown::cancel_on_signal(shutdown.clone());
    app.run_until_stopped(shutdown).await
}

/// `reviewbot migrate`: apply migrations and exit.
async fn migrate() -> anyhow::Result<()> {
    let url = config::database_url(&ProcessEnv)?;
    let store = feedback::Store::connect(url.expose()).await?;
    store.migrate().await?;
    store.close().await;
    tracing::info!(database = %url.redacted(), "migrations applied");
    Ok(())
}

/// `reviewbot stats`: exit 0; 2 for a bad `--since` or `DATABASE_URL`; 1 when the store
/// cannot be read.
fn stats(args: &StatsArgs) -> ExitCode {
    let since = match args.since.as_deref().map(bot::cli::parse_since).transpose() {
        Ok(since) => since,
        Err(e) => {
            eprintln!("error: --since: {e}");
            return ExitCode::from(2);
        }
    };
    let by = args.by.map_or(feedback::StatsBy::Total, |field| field.by());
    let format = args.format;
    run_async(async move {
        use anyhow::Context as _;
        use std::io::Write as _;

        let (store, url) = open_store().await?;
        let report = store.stats_report(by, since).await;
        store.close().await;
        let report = report.with_context(|| format!("read stats from {}", url.redacted()))?;
        let output = match format {
            StatsFormat::Table => report.to_table(),
            StatsFormat::Json => report.to_json(),
            StatsFormat::Csv => report.to_csv(),
        };
        match std::io::stdout().lock().write_all(output.as_bytes()) {
            // A reader that stopped early (`| head`) is not a failure.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(anyhow::Error::new(e).context("write to standard output"))
            }
            _ => Ok(()),
        }
    })
}

/// Connects to the store named by `DATABASE_URL`.
async fn open_store() -> anyhow::Result<(feedback::Store, config::DatabaseUrl)> {
    use anyhow::Context as _;
    let url = config::database_url(&ProcessEnv)?;
    let store = feedback::Store::connect(url.expose())
        .await
        .with_context(|| format!("connect to {}", url.redacted()))?;
    Ok((store, url))
}

/// `reviewbot export sft|dpo|trl`: the dataset, then its summary on standard output.
async fn export_dataset(format: DatasetFormat, args: bot::cli::DatasetArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (store, url) = open_store().await?;
    let summary = bot::export::dataset::export_dataset(&store, format, &args).await;
    store.close().await;
    let summary = summary.with_context(|| format!("export from {}", url.redacted()))?;
    println!("{summary}");
    println!("wrote {}", args.out.display());
    if args.validation_ratio.is_some_and(|ratio| ratio > 0.0) {
        let validation = args
            .validation_out
            .clone()
            .unwrap_or_else(|| bot::export::dataset::validation_path(&args.out));
        println!("wrote {}", validation.display());
    }
    Ok(())
}

/// `reviewbot export sarif`: the findings, then a summary on standard output.
async fn export_sarif(args: bot::cli::SarifArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (store, url) = open_store().await?;
    let exported = bot::export::export_sarif(&store, &args).await;
    store.close().await;
    let (summary, redactions) =
        exported.with_context(|| format!("export from {}", url.redacted()))?;
    println!("{summary}");
    println!("redacted: {redactions}");
    println!("wrote {}", args.out.display());
    Ok(())
}

/// `reviewbot export validate FILE`: 0 when valid, 1 with errors (listed with line numbers),
/// 2 when the file cannot be read.
fn validate(args: &bot::cli::ValidateArgs) -> ExitCode {
    let file = match std::fs::File::open(&args.file) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let report = feedback::export::validate::validate_jsonl(
        std::io::BufReader::new(file),
        None,
        args.max_tokens,
        &bot::review::budget::count_tokens,
    );
    match report {
        Ok(report) => {
            println!("{}", report.summary());
            if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            ExitCode::from(2)
        }
    }
}
