//! `reviewbot review`, the real binary on real git repositories: built-in analyzers, the
//! repository config from the base, stdin diffs, and the model against the fake Azure OpenAI.

use std::path::Path;

use std::process::{Command, Output};

use e2e::fake_azure::{API_KEY, FakeAzure};
use e2e::git::{finding, git, risky_repo};
use serde_json::{Value, json};

async fn review(dir: &Path, azure: &FakeAzure) -> (Value, String) {
    let output = tokio::process::Command::new(e2e::process::binary())
        .args(["review", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AZURE_OPENAI_ENDPOINT", azure.url())
        .env("AZURE_OPENAI_API_KEY", API_KEY)
        .env("AZURE_OPENAI_DEPLOYMENT", "review")
        .current_dir(dir)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}

fn tests_answer() -> String {
    json!({"suggestions": [{
        "path": "run.py", "line": 5, "kind": "unit", "title": "run() must not use a shell",
        "rationale": "Guards against command injection.", "test_path": "tests/test_run.py",
        "code": "def test_run_has_no_shell():\n    assert run(['ls']).returncode == 0",
        "confidence": 0.8
    }]})
    .to_string()
}

fn security_answer() -> String {
    json!({"findings": [{
        "path": "run.py", "line": 5, "cwe": "CWE-78", "severity": "critical", "confidence": 0.95,
        "title": "cmd reaches a shell", "explanation": "Any caller string runs in /bin/sh.",
        "fix": "Pass a list of arguments without shell=True."
    }]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_asks_the_model_for_tests_and_findings_and_reports_them() {
    e2e::init();
    let azure = FakeAzure::start().await;
    azure.push_answer(&tests_answer());
    azure.push_answer(&security_answer());
    let repo = risky_repo();
    let (report, stderr) = review(repo.path(), &azure).await;

    assert_eq!(finding(&report, "model.cwe-78")["severity"], "critical");
    assert_eq!(finding(&report, "model.test.unit")["line"], 5);
    finding(&report, "python.subprocess-shell-true");
    let model = report["analyses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "model")
        .unwrap();
    assert_eq!(model["ran"], true, "{stderr}");
    assert!(
        model["note"].as_str().unwrap().starts_with("2 calls"),
        "{model}"
    );

    let requests = azure.requests();
    assert_eq!(requests.len(), 2);
    let system = requests[0]["messages"][0]["content"].as_str().unwrap();
    let user = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(system.contains("suggest the few"), "{system}");
    assert!(
        user.contains("<untrusted-change-")
            && user.contains("    5 +     return subprocess.run(cmd, shell=True)"),
        "{user}"
    );
    assert_eq!(
        requests[1]["response_format"]["json_schema"]["name"],
        "security_findings"
    );
    assert!(azure.violations().is_empty(), "{:?}", azure.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_model_output_gets_one_repair_retry_then_is_dropped_with_the_reason() {
    e2e::init();
    let azure = FakeAzure::start().await;
    azure.push_answer("Sure! Here are some tests you could write.");
    azure.push_answer(&tests_answer());
    azure.push_answer("{\"findings\": \"none\"}");
    azure.push_answer("still not it");
    let repo = risky_repo();
    let (report, stderr) = review(repo.path(), &azure).await;

    finding(&report, "model.test.unit");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] != "model.cwe-78")
    );
    assert!(
        stderr.contains("security chunk dropped: invalid output twice"),
        "{stderr}"
    );
    let requests = azure.requests();
    assert_eq!(requests.len(), 4, "one repair retry per analysis");
    let repair = requests[1]["messages"][1]["content"].as_str().unwrap();
    assert!(
        repair.contains("Your previous answer could not be used"),
        "{repair}"
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn review_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(e2e::process::binary())
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
