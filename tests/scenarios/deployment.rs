//! Deployment files agree with the binary they deploy: fly.toml and the Dockerfile are read and
//! checked against the real subcommands, routes, configuration parser and shutdown grace.
//!
//! No network and no Docker: these tests read files and call pure functions.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bot::config::ServeConfig;
use bot::jobs::worker::WorkerSettings;
use clap::CommandFactory;
use toml::{Table, Value};

/// The routes a Fly health check or the metrics scraper may hit.
const PROBE_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Fly's upper bound for `kill_timeout`.
const FLY_MAX_KILL_TIMEOUT: Duration = Duration::from_secs(300);

/// After the grace period a worker still has to release its job and the store has to close;
/// `kill_timeout` must leave at least this much on top of the grace.
const RELEASE_MARGIN: Duration = Duration::from_secs(10);

/// A health check that waits longer than this ties up the check runner for nothing: the
/// routes answer from memory or with one trivial query.
const MAX_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `fly secrets set` supplies, as fly.toml's comments tell the operator.
const SECRETS: [(&str, &str); 6] = [
    ("GITHUB_APP_ID", "123456"),
    ("GITHUB_PRIVATE_KEY", e2e::fake_github::TEST_APP_KEY_PEM),
    ("GITHUB_WEBHOOK_SECRET", "placeholder-secret"),
    ("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com"),
    ("AZURE_OPENAI_API_KEY", "placeholder-key"),
    ("AZURE_OPENAI_DEPLOYMENT", "placeholder-deployment"),
];

#[test]
fn fly_toml_builds_the_image_from_the_dockerfile() {
    let fly = fly_toml();
    let dockerfile = str_at(&fly, "build.dockerfile");
    assert!(
        workspace_path(dockerfile).is_file(),
        "fly.toml [build] dockerfile = {dockerfile:?} does not exist"
    );
    assert_eq!(dockerfile, "Dockerfile");
}

#[test]
fn fly_release_command_is_a_real_subcommand() {
    let fly = fly_toml();
    let release = str_at(&fly, "deploy.release_command");
    assert_eq!(release, "reviewbot migrate");

    let cli = bot::cli::Cli::command();
    let words: Vec<&str> = release.split_whitespace().collect();
    assert_eq!(
        words[0],
        cli.get_name(),
        "release_command must run the reviewbot binary"
    );
    let subcommands: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    assert!(
        subcommands.contains(&words[1]),
        "release_command runs `{}`, not one of the subcommands {subcommands:?}",
        words[1]
    );
}

#[test]
fn fly_release_command_runs_migrate_under_the_image_entrypoint() {
    // Fly runs release_command in place of the image's CMD and keeps its ENTRYPOINT.
    let fly = fly_toml();
    let stage = final_stage();
    let mut argv = stage.entrypoint.clone();
    argv.extend(
        str_at(&fly, "deploy.release_command")
            .split_whitespace()
            .map(String::from),
    );
    assert_eq!(
        argv,
        ["reviewbot", "migrate"],
        "the release Machine would run {argv:?} (Dockerfile ENTRYPOINT + release_command)"
    );
}

#[test]
fn fly_health_checks_probe_liveness_and_readiness_routes_the_server_serves() {
    let fly = fly_toml();
    let checks = http_checks(&fly);
    let mut paths: Vec<&str> = checks.iter().map(|c| str_at(c, "path")).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/healthz", "/readyz"],
        "one check for liveness, one for readiness"
    );
    for check in &checks {
        let method = check.get("method").and_then(Value::as_str).unwrap_or("GET");
        assert!(method.eq_ignore_ascii_case("get"), "check method {method}");
        assert_served_with_get(str_at(check, "path"));
    }
}

#[test]
fn fly_health_checks_time_out_within_two_seconds() {
    let fly = fly_toml();
    for check in http_checks(&fly) {
        let path = str_at(check, "path");
        // In check tables a bare number means milliseconds.
        let timeout = fly_duration(value_at(check, "timeout"), Duration::from_millis(1));
        let interval = fly_duration(value_at(check, "interval"), Duration::from_millis(1));
        let grace = fly_duration(value_at(check, "grace_period"), Duration::from_millis(1));
        assert!(
            timeout <= MAX_CHECK_TIMEOUT,
            "{path}: timeout {timeout:?} > {MAX_CHECK_TIMEOUT:?}"
        );
        assert!(
            interval > timeout,
            "{path}: interval {interval:?} must exceed timeout {timeout:?}"
        );
        assert!(
            !grace.is_zero(),
            "{path}: give start-up (migrations) a grace period"
        );
    }
}

#[test]
fn fly_metrics_scrape_the_route_and_port_the_server_serves() {
    let fly = fly_toml();
    let path = str_at(&fly, "metrics.path");
    assert_served_with_get(path);
    assert_eq!(
        int_at(&fly, "metrics.port"),
        int_at(&fly, "http_service.internal_port"),
        "the server has one listener, so metrics are on the service port"
    );
}

#[test]
fn fly_env_with_the_documented_secrets_is_a_valid_serve_config() {
    let fly = fly_toml();
    let text = read_workspace_file("fly.toml");
    let mut env = fly_env(&fly);
    // Secrets take precedence over [env] on Fly; later pairs win in this lookup.
    env.extend(SECRETS);
    let config = ServeConfig::from_env(&env)
        .unwrap_or_else(|e| panic!("fly.toml [env] + secrets do not start `serve`: {e}"));

    let internal_port = int_at(&fly, "http_service.internal_port");
    assert_eq!(i64::from(config.bind.port()), internal_port);
    assert!(
        config.bind.ip().is_unspecified(),
        "REVIEWBOT_BIND {} is unreachable for Fly's proxy; bind 0.0.0.0",
        config.bind
    );
    assert!(
        config.model.is_some(),
        "the secrets fly.toml lists configure Azure OpenAI"
    );
    let format = str_at(&fly, "env.REVIEWBOT_LOG_FORMAT");
    assert_eq!(
        format, "json",
        "Fly's log shipping wants one JSON object a line"
    );
    for (name, _) in SECRETS {
        assert!(
            text.contains(name),
            "fly.toml's comments must tell the operator to set the secret {name}"
        );
    }
}

#[test]
fn fly_env_holds_no_secrets() {
    let fly = fly_toml();
    for (name, value) in fly_env(&fly) {
        let looks_secret = ["SECRET", "KEY", "TOKEN", "PASSWORD"]
            .iter()
            .any(|word| name.contains(word))
            || SECRETS.iter().any(|(secret, _)| *secret == name);
        assert!(
            !looks_secret,
            "{name} is in fly.toml [env]; set it with `fly secrets set`"
        );
        if name == "DATABASE_URL" {
            assert!(
                value.starts_with("sqlite:"),
                "a Postgres DATABASE_URL carries a password: make it a secret"
            );
        }
    }
}

#[test]
fn fly_env_names_are_variables_the_binary_reads() {
    let fly = fly_toml();
    let mut source = String::new();
    read_rust_sources(&workspace_path("bot/src"), &mut source);
    for (name, _) in fly_env(&fly) {
        let read = if name == "RUST_LOG" {
            // tracing-subscriber's EnvFilter reads RUST_LOG.
            source.contains("from_default_env")
        } else {
            source.contains(&format!("\"{name}\""))
        };
        assert!(
            read,
            "fly.toml [env] sets {name}, which reviewbot never reads (typo?)"
        );
    }
}

#[test]
fn fly_kill_timeout_outlasts_the_worker_shutdown_grace() {
    let fly = fly_toml();
    let signal = str_at(&fly, "kill_signal");
    assert!(
        ["SIGTERM", "SIGINT"].contains(&signal),
        "reviewbot shuts down gracefully on SIGTERM or SIGINT, not {signal}"
    );
    // A bare number means seconds here.
    let kill_timeout = fly_duration(value_at(&fly, "kill_timeout"), Duration::from_secs(1));
    let settings = WorkerSettings::from_env(&fly_env(&fly))
        .unwrap_or_else(|e| panic!("fly.toml [env] worker settings: {e}"));
    let grace = settings.shutdown_grace;
    assert!(
        kill_timeout >= grace + RELEASE_MARGIN,
        "kill_timeout {kill_timeout:?} must exceed the shutdown grace {grace:?} by {RELEASE_MARGIN:?}, \
         or Fly kills workers before they release their jobs"
    );
    assert!(
        kill_timeout > WorkerSettings::default().shutdown_grace,
        "kill_timeout {kill_timeout:?} must exceed the default grace too"
    );
    assert!(
        kill_timeout <= FLY_MAX_KILL_TIMEOUT,
        "Fly caps kill_timeout at {FLY_MAX_KILL_TIMEOUT:?}"
    );
}

#[test]
fn fly_keeps_a_machine_running_for_workers_and_polling() {
    let fly = fly_toml();
    let auto_stop = value_at(&fly, "http_service.auto_stop_machines");
    assert!(
        auto_stop.as_str() == Some("off") || auto_stop.as_bool() == Some(false),
        "auto_stop_machines = {auto_stop}: an idle Machine would stop and stop the workers"
    );
    assert!(int_at(&fly, "http_service.min_machines_running") >= 1);
}

#[test]
fn fly_sqlite_database_lives_on_the_mounted_volume() {
    let fly = fly_toml();
    let url = str_at(&fly, "env.DATABASE_URL");
    let database = sqlite_path(url);
    let directory = database
        .parent()
        .expect("a database file inside a directory");
    let destinations: Vec<&str> = mounts(&fly)
        .iter()
        .map(|m| str_at(m, "destination"))
        .collect();
    assert!(
        destinations.iter().any(|d| Path::new(d) == directory),
        "DATABASE_URL {url} is in {}, but volumes are mounted at {destinations:?}: \
         the database would vanish with every deploy",
        directory.display()
    );
}

#[test]
fn dockerfile_final_stage_runs_reviewbot_serve_as_a_non_root_user() {
    let stage = final_stage();
    let mut argv = stage.entrypoint.clone();
    argv.extend(stage.cmd.iter().cloned());
    assert_eq!(
        argv,
        ["as-reviewbot", "reviewbot", "serve"],
        "exec form, through the privilege drop, so SIGTERM reaches reviewbot rather than a shell"
    );
    // The container starts as root only to chown the volume; the drop script must exec the
    // command as the unprivileged user, and exec (not fork) so signals reach reviewbot.
    let script = stage
        .run
        .iter()
        .find(|run| run.contains("/usr/local/bin/as-reviewbot"))
        .expect("a RUN writes the as-reviewbot privilege-drop script");
    assert!(
        script.contains("exec setpriv --reuid=reviewbot --regid=reviewbot --init-groups"),
        "{script}"
    );
    assert!(
        script.contains("chown reviewbot:reviewbot /data"),
        "{script}"
    );
    assert!(script.contains("exec \"$@\""), "{script}");
    assert!(
        stage
            .user
            .as_deref()
            .is_none_or(|u| u == "root" || u == "0"),
        "the drop script needs root to chown and switch user"
    );
}

#[test]
fn dockerfile_exposes_and_binds_the_fly_internal_port() {
    let fly = fly_toml();
    let internal_port = int_at(&fly, "http_service.internal_port");
    let stage = final_stage();
    let exposed: Vec<i64> = stage
        .expose
        .iter()
        .map(|p| {
            p.split('/')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("EXPOSE {p}"))
        })
        .collect();
    assert!(
        exposed.contains(&internal_port),
        "Dockerfile EXPOSEs {exposed:?}, fly.toml's internal_port is {internal_port}"
    );
    let bind = stage
        .env("REVIEWBOT_BIND")
        .expect("the image binds a reachable address by default (ENV REVIEWBOT_BIND)");
    let bind: SocketAddr = bind
        .parse()
        .expect("ENV REVIEWBOT_BIND is a socket address");
    assert!(bind.ip().is_unspecified(), "the image binds {bind}");
    assert_eq!(i64::from(bind.port()), internal_port);
    if let Some(url) = stage.env("DATABASE_URL") {
        assert_eq!(
            url,
            str_at(&fly, "env.DATABASE_URL"),
            "the image's default DATABASE_URL and fly.toml's differ"
        );
    }
}

#[test]
fn dockerfile_creates_the_database_directory_for_the_volume_less_release_machine() {
    // The release Machine has no volume, so sqlite must be able to create its file in the
    // image's own directory, or `reviewbot migrate` fails and the deploy stops.
    let fly = fly_toml();
    let database = sqlite_path(str_at(&fly, "env.DATABASE_URL"));
    let directory = database
        .parent()
        .expect("a directory")
        .to_str()
        .expect("UTF-8");
    let stage = final_stage();
    let creates = stage
        .run
        .iter()
        .any(|run| run.contains("mkdir") && run.contains(directory));
    let owns = stage
        .run
        .iter()
        .any(|run| run.contains("chown") && run.contains(directory));
    assert!(
        creates && owns,
        "no RUN in the final stage creates and chowns {directory}"
    );
}

#[test]
fn dockerignore_keeps_build_output_databases_and_keys_out_of_the_context() {
    let ignore = read_workspace_file(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for wanted in ["target/", ".git/", "*.db", "*.pem"] {
        assert!(patterns.contains(&wanted), ".dockerignore lacks {wanted}");
    }
    assert!(
        !patterns
            .iter()
            .any(|p| p.trim_start_matches('/') == "Dockerfile"),
        "fly deploy needs the Dockerfile in the build context"
    );
}

// ---- helpers ------------------------------------------------------------------------------

fn workspace_path(relative: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(relative)
}

fn read_workspace_file(relative: &str) -> String {
    let path = workspace_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn fly_toml() -> Table {
    read_workspace_file("fly.toml")
        .parse::<Table>()
        .unwrap_or_else(|e| panic!("fly.toml is not valid TOML: {e}"))
}

/// The value at a dotted path, e.g. `http_service.internal_port`.
fn value_at<'a>(table: &'a Table, dotted: &str) -> &'a Value {
    let mut keys = dotted.split('.');
    let first = keys.next().expect("a key");
    let mut value = table
        .get(first)
        .unwrap_or_else(|| panic!("fly.toml has no {dotted}"));
    for key in keys {
        value = value
            .get(key)
            .unwrap_or_else(|| panic!("fly.toml has no {dotted}"));
    }
    value
}

fn str_at<'a>(table: &'a Table, dotted: &str) -> &'a str {
    value_at(table, dotted)
        .as_str()
        .unwrap_or_else(|| panic!("{dotted} is not a string"))
}

fn int_at(table: &Table, dotted: &str) -> i64 {
    value_at(table, dotted)
        .as_integer()
        .unwrap_or_else(|| panic!("{dotted} is not an integer"))
}

/// `[[http_service.checks]]`.
fn http_checks(fly: &Table) -> Vec<&Table> {
    value_at(fly, "http_service.checks")
        .as_array()
        .expect("[[http_service.checks]] is an array of tables")
        .iter()
        .map(|c| c.as_table().expect("a check is a table"))
        .collect()
}

/// `[mounts]` or `[[mounts]]`.
fn mounts(fly: &Table) -> Vec<&Table> {
    match value_at(fly, "mounts") {
        Value::Table(mount) => vec![mount],
        Value::Array(mounts) => mounts
            .iter()
            .map(|m| m.as_table().expect("a mount is a table"))
            .collect(),
        other => panic!("mounts is {other}"),
    }
}

/// `[env]` as the pairs the binary's configuration parser reads.
fn fly_env(fly: &Table) -> Vec<(&str, &str)> {
    value_at(fly, "env")
        .as_table()
        .expect("[env] is a table")
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .unwrap_or_else(|| panic!("[env] {k}: Fly takes only strings"));
            (k.as_str(), v)
        })
        .collect()
}

/// A Fly duration: a string with units (`"10s"`, `"1m30s"`, `"500ms"`) or a bare number in
/// `unit`.
fn fly_duration(value: &Value, unit: Duration) -> Duration {
    match value {
        Value::Integer(n) => unit * u32::try_from(*n).expect("a small non-negative number"),
        Value::String(s) => go_duration(s),
        other => panic!("{other} is not a duration"),
    }
}

/// Go's `time.ParseDuration` for the units fly.toml uses: h, m, s, ms.
fn go_duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    assert!(!rest.is_empty(), "empty duration");
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("bad duration {text:?}"));
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit_len] {
            "h" => Duration::from_secs(number * 3600),
            "m" => Duration::from_secs(number * 60),
            "s" => Duration::from_secs(number),
            "ms" => Duration::from_millis(number),
            unit => panic!("unit {unit:?} in duration {text:?}"),
        };
        rest = &rest[unit_len..];
    }
    total
}

/// The file behind `sqlite://<absolute path>[?options]`.
fn sqlite_path(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("DATABASE_URL {url} is not sqlite://"));
    let path = path.split('?').next().unwrap_or(path);
    assert!(
        path.starts_with('/'),
        "DATABASE_URL {url}: use an absolute path on the volume"
    );
    PathBuf::from(path)
}

/// The server source declares `path` as a GET route.
fn assert_served_with_get(path: &str) {
    assert!(
        PROBE_ROUTES.contains(&path),
        "{path} is not one of the probe routes {PROBE_ROUTES:?}"
    );
    let source: String = read_workspace_file("bot/src/server/mod.rs")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        source.contains(&format!(".route(\"{path}\",get(")),
        "bot/src/server/mod.rs has no `.route(\"{path}\", get(…))`"
    );
}

fn read_rust_sources(dir: &Path, into: &mut String) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            read_rust_sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).expect("read a source file"));
        }
    }
}

/// What the Dockerfile's last stage (the image that runs) declares.
#[derive(Debug, Default)]
struct Stage {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    expose: Vec<String>,
    env: Vec<(String, String)>,
    user: Option<String>,
    run: Vec<String>,
}

impl Stage {
    fn env(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn final_stage() -> Stage {
    let text = read_workspace_file("Dockerfile");
    let mut stage = None;
    for (keyword, args) in dockerfile_instructions(&text) {
        if keyword == "FROM" {
            stage = Some(Stage::default());
            continue;
        }
        let Some(stage) = stage.as_mut() else {
            continue; // ARG before the first FROM
        };
        match keyword.as_str() {
            "ENTRYPOINT" => {
                stage.entrypoint = command_words(&args);
                stage.cmd.clear(); // Docker resets an inherited CMD when ENTRYPOINT is set.
            }
            "CMD" => stage.cmd = command_words(&args),
            "EXPOSE" => stage
                .expose
                .extend(args.split_whitespace().map(String::from)),
            "ENV" => stage.env.extend(env_pairs(&args)),
            "USER" => stage.user = Some(args),
            "RUN" => stage.run.push(args),
            _ => {}
        }
    }
    stage.expect("the Dockerfile has a FROM")
}

/// Instructions with line continuations joined, comments and parser directives dropped.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let (keyword, args) = pending
            .split_once(char::is_whitespace)
            .unwrap_or((pending.as_str(), ""));
        instructions.push((keyword.to_ascii_uppercase(), args.trim().to_owned()));
        pending.clear();
    }
    instructions
}

/// Exec form (`["a", "b"]`) as is; shell form as Docker runs it.
fn command_words(args: &str) -> Vec<String> {
    if args.starts_with('[') {
        serde_json::from_str(args).unwrap_or_else(|e| panic!("bad exec form {args}: {e}"))
    } else {
        vec!["/bin/sh".into(), "-c".into(), args.into()]
    }
}

/// `ENV A=1 B=2` or the legacy `ENV A 1`.
fn env_pairs(args: &str) -> Vec<(String, String)> {
    let unquote = |v: &str| v.trim_matches('"').to_owned();
    if args
        .split_whitespace()
        .next()
        .is_some_and(|w| w.contains('='))
    {
        args.split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), unquote(v)))
            .collect()
    } else {
        let (k, v) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        vec![(k.to_owned(), unquote(v.trim()))]
    }
}

/// Names that are environment variables of ours (or the log filter's).
fn is_env_name(text: &str) -> bool {
    let prefixed = [
        "DATABASE_URL",
        "REVIEWBOT_",
        "GITHUB_",
        "AZURE_OPENAI_",
        "OPENAI_",
        "RUST_LOG",
    ]
    .iter()
    .any(|p| text.starts_with(p));
    prefixed
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[test]
fn readme_configuration_table_lists_exactly_the_variables_the_binary_reads() {
    use std::collections::BTreeSet;
    let readme = read_workspace_file("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Configuration"))
        .expect("README has a Configuration section");
    let documented: BTreeSet<String> = section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut sources = String::new();
    read_rust_sources(&workspace_path("bot/src"), &mut sources);
    // Text between quotes that is exactly a variable name (quote parity is not trusted: char
    // literals and raw strings shift it), never the test-only names.
    // RUST_LOG is read by tracing-subscriber's EnvFilter, not by a literal of ours.
    let read: BTreeSet<String> = std::iter::once("RUST_LOG")
        .chain(sources.split('"'))
        .filter(|text| is_env_name(text) && !text.starts_with("REVIEWBOT_TEST_"))
        .map(str::to_owned)
        .collect();
    assert!(documented.contains("DATABASE_URL") && read.contains("GITHUB_APP_ID"));
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let unread: Vec<_> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty(),
        "read by the binary but missing from README: {undocumented:?}"
    );
    assert!(
        unread.is_empty(),
        "in README but never read by the binary: {unread:?}"
    );
}
