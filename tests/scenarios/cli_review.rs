//! `reviewbot review` with a model configured: the real binary against the fake Azure OpenAI,
//! on a real git repository.

use std::path::Path;

use e2e::fake_azure::{API_KEY, FakeAzure};
use serde_json::{Value, json};

fn git(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
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

/// A feature branch whose working tree passes a request value to a shell.
fn repo() -> tempfile::TempDir {
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

fn rule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_asks_the_model_for_tests_and_findings_and_reports_them() {
    e2e::init();
    let azure = FakeAzure::start().await;
    azure.push_answer(&tests_answer());
    azure.push_answer(&security_answer());
    let repo = repo();
    let (report, stderr) = review(repo.path(), &azure).await;

    assert_eq!(rule(&report, "model.cwe-78")["severity"], "critical");
    assert_eq!(rule(&report, "model.test.unit")["line"], 5);
    rule(&report, "python.subprocess-shell-true");
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
    let repo = repo();
    let (report, stderr) = review(repo.path(), &azure).await;

    rule(&report, "model.test.unit");
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
