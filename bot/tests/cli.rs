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

fn git(dir: &std::path::Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository on a feature branch whose working tree adds a shell-injection risk.
fn risky_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(
        dir.path().join("run.py"),
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(['ls'])\n",
    )
    .unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "first"]);
    git(dir.path(), &["checkout", "-qb", "feature"]);
    std::fs::write(
        dir.path().join("run.py"),
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(cmd, shell=True)\n",
    )
    .unwrap();
    dir
}

fn finding<'a>(report: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {report:#}"))
}

fn review_in(dir: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("review")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn review_reports_a_risk_in_the_working_tree_and_fails_on_request() {
    let repo = risky_repo();
    let text = review_in(repo.path(), &[], None);
    let out = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(0), "{out}{}", stderr(&text));
    assert!(out.contains("high[python.subprocess-shell-true]"), "{out}");
    assert!(out.contains("  --> run.py:5:"), "{out}");
    assert!(
        out.contains("return subprocess.run(cmd, shell=True)"),
        "{out}"
    );
    assert!(
        out.contains("model (not run: not configured"),
        "says plainly what ran: {out}"
    );
    assert!(!out.contains('\x1b'), "no colour when not on a terminal");

    let failing = review_in(repo.path(), &["--fail-on", "high"], None);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    let passing = review_in(repo.path(), &["--fail-on", "critical"], None);
    assert_eq!(passing.status.code(), Some(0));

    let json = review_in(repo.path(), &["--format", "json"], None);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let shell = finding(&report, "python.subprocess-shell-true");
    assert_eq!(
        (shell["line"].as_u64(), shell["cwe"].as_str()),
        (Some(5), Some("CWE-78"))
    );
    // The changed public function has no test in the change either.
    assert_eq!(finding(&report, "test-gap.python")["severity"], "low");

    let sarif = review_in(repo.path(), &["--format", "sarif"], None);
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let result = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "python.subprocess-shell-true")
        .unwrap();
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "run.py"
    );
}

#[test]
fn review_reads_a_diff_from_stdin_and_rejects_garbage() {
    let repo = risky_repo();
    let diff = Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["diff", "main"])
        .output()
        .unwrap()
        .stdout;
    let elsewhere = tempfile::tempdir().unwrap();
    let output = review_in(
        elsewhere.path(),
        &["--diff", "-", "--format", "json"],
        Some(&diff),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // No checkout here: the new side is rebuilt from the diff, and the rule still fires.
    assert_eq!(finding(&report, "python.subprocess-shell-true")["line"], 5);
    assert_eq!(report["change"], "diff from standard input");

    let garbage = review_in(
        elsewhere.path(),
        &["--diff", "-"],
        Some(b"@@ -1,2 +1,2 @@\n+only one line\n"),
    );
    assert_eq!(garbage.status.code(), Some(2));
    assert!(
        stderr(&garbage).starts_with("error: not a diff reviewbot can read"),
        "{}",
        stderr(&garbage)
    );
    let missing = review_in(elsewhere.path(), &["--diff", "nope.diff"], None);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn review_reads_the_repository_config_from_the_base_never_from_the_change() {
    let repo = risky_repo();
    // The change tries to switch off its own security review: ignored.
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::fs::write(
        repo.path().join(".github/reviewbot.yml"),
        "analyses:\n  security: false\n",
    )
    .unwrap();
    git(repo.path(), &["add", "."]);
    let json = review_in(repo.path(), &["--format", "json"], None);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    finding(&report, "python.subprocess-shell-true");

    // The same setting on the base applies.
    git(repo.path(), &["stash", "-q"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::fs::write(
        repo.path().join(".github/reviewbot.yml"),
        "analyses:\n  security: false\n",
    )
    .unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "config"]);
    git(repo.path(), &["checkout", "-q", "feature"]);
    git(repo.path(), &["rebase", "-q", "main"]);
    git(repo.path(), &["stash", "pop", "-q"]);
    let json = review_in(repo.path(), &["--format", "json"], None);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "security"),
        "{report:#}"
    );
    assert_eq!(
        report["analyses"][0]["note"],
        "off in .github/reviewbot.yml"
    );

    // A base config with an unknown key stops the review with a message naming it.
    git(repo.path(), &["checkout", "-q", "main"]);
    std::fs::write(
        repo.path().join(".github/reviewbot.yml"),
        "min_severty: high\n",
    )
    .unwrap();
    git(repo.path(), &["commit", "-qam", "typo"]);
    let broken = review_in(repo.path(), &["--base", "main"], None);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        stderr(&broken).contains(".github/reviewbot.yml: unknown field `min_severty`"),
        "{}",
        stderr(&broken)
    );
}
