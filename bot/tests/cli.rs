//! The `reviewbot` binary's start-up contract: one clear line per configuration problem, no
//! secret in any output, `migrate` works on the SQLite default.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_reviewbot");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("REVIEWBOT_LOG_FORMAT", "json")
        .current_dir(dir.path())
        .output()
        .expect("run reviewbot")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_without_configuration_names_the_first_missing_variable_in_one_line() {
    let output = run(&["serve"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "error: GITHUB_APP_ID: required by `reviewbot serve` but not set\n"
    );
}

#[test]
fn serve_with_a_malformed_variable_names_it() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("GITHUB_APP_ID", "twelve")], "GITHUB_APP_ID"),
        (
            &[
                ("GITHUB_APP_ID", "12"),
                ("GITHUB_PRIVATE_KEY", key),
                ("GITHUB_WEBHOOK_SECRET", "s"),
                ("REVIEWBOT_BIND", "nowhere"),
            ],
            "REVIEWBOT_BIND",
        ),
        // Armoured like a key, but not one: found when the GitHub client is built.
        (
            &[
                ("GITHUB_APP_ID", "12"),
                ("GITHUB_PRIVATE_KEY", key),
                ("GITHUB_WEBHOOK_SECRET", "s"),
                ("DATABASE_URL", "sqlite::memory:"),
            ],
            "GITHUB_PRIVATE_KEY",
        ),
    ];
    for (env, variable) in cases {
        let output = run(&["serve"], env);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{variable}: {err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!("error: {variable}: ")),
            "{variable}: {err}"
        );
    }
}

#[test]
fn failures_never_print_secrets() {
    let key =
        "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END RSA PRIVATE KEY-----";
    let output = run(
        &["serve"],
        &[
            ("GITHUB_APP_ID", "12"),
            ("GITHUB_PRIVATE_KEY", key),
            ("GITHUB_WEBHOOK_SECRET", "webhook-secret-value"),
            // Nothing listens on port 1: connecting fails and the URL is reported.
            (
                "DATABASE_URL",
                "postgres://bot:db-password-value@127.0.0.1:1/reviewbot",
            ),
        ],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("postgres://bot:***@127.0.0.1:1/reviewbot"),
        "{err}"
    );
    for secret in [
        "db-password-value",
        "webhook-secret-value",
        "c2VjcmV0LWtleS1ib2R5",
    ] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
}

#[test]
fn migrate_creates_and_migrates_the_default_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let run_in = |dir: &std::path::Path| {
        Command::new(BIN)
            .arg("migrate")
            .env_clear()
            .env("REVIEWBOT_LOG_FORMAT", "json")
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let first = run_in(dir.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(dir.path().join("reviewbot.db").is_file());
    let again = run_in(dir.path());
    assert!(
        again.status.success(),
        "migrating twice is fine: {}",
        stderr(&again)
    );
}
