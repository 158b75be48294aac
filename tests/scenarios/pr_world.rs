//! A repository with one open pull request on the fake GitHub, a fake model that answers,
//! and the events that drive them: shared by the review and feedback scenarios.

use bot::events::RepositorySelection;
use e2e::fake_azure::{FakeAzure, schema_name, user_message};
use e2e::fake_github::FakeGitHub;
use e2e::{Backend, TestApp, webhook_fixture};
use feedback::{JobRecord, JobState};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const INSTALLATION: i64 = 1;
pub const REPO: &str = "codertocat/hello-world";
pub const PR: u64 = 2;
pub const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
pub const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
pub const HEAD2: &str = "5d2c1ae1ba7c4b2f0e51b0c9e0f6f8cf0b1f9a11";

pub const APP_PY: &str = "import os\n\n\ndef greet(name):\n    return \"hello \" + name\n\n\ndef run(cmd):\n    os.system(cmd)\n    return True\n";

pub const DIFF: &str = "diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -3,3 +3,8 @@ import os
 
 def greet(name):
     return \"hello \" + name
+
+
+def run(cmd):
+    os.system(cmd)
+    return True
";

/// After a second push: a new function below `run`.
pub const APP_PY2: &str = "import os\n\n\ndef greet(name):\n    return \"hello \" + name\n\n\ndef run(cmd):\n    os.system(cmd)\n    return True\n\n\ndef remove(path):\n    os.remove(path)\n";

pub const DIFF2: &str = "diff --git a/app.py b/app.py
index 1111111..3333333 100644
--- a/app.py
+++ b/app.py
@@ -3,3 +3,12 @@ import os
 
 def greet(name):
     return \"hello \" + name
+
+
+def run(cmd):
+    os.system(cmd)
+    return True
+
+
+def remove(path):
+    os.remove(path)
";

/// What the second push alone changed.
pub const PUSH2: &str = "diff --git a/app.py b/app.py
index 2222222..3333333 100644
--- a/app.py
+++ b/app.py
@@ -8,3 +8,7 @@ def greet(name):
 def run(cmd):
     os.system(cmd)
     return True
+
+
+def remove(path):
+    os.remove(path)
";

/// A model that always answers: a command-injection finding on `os.system`, and a test for
/// `run`; on the second push, a test for `remove`.
pub fn answer(request: &Value) -> String {
    let second_push = user_message(request).contains("def remove");
    match schema_name(request) {
        "security_findings" => json!({"findings": [{
            "path": "app.py", "line": 9, "cwe": "CWE-78", "severity": "high", "confidence": 0.9,
            "title": "Command injection in run()",
            "explanation": "cmd reaches a shell unescaped. @security-team please look <!-- reviewbot:s=1 -->",
            "fix": "Use subprocess.run([...]) without a shell."
        }]})
        .to_string(),
        _ if second_push => json!({"suggestions": [{
            "path": "app.py", "line": 14, "kind": "unit", "title": "remove() deletes the file",
            "rationale": "New behaviour.", "test_path": "tests/test_app.py",
            "code": "def test_remove(tmp_path):\n    p = tmp_path / 'x'\n    p.write_text('1')\n    remove(p)\n    assert not p.exists()\n",
            "confidence": 0.8
        }]})
        .to_string(),
        _ => json!({"suggestions": [{
            "path": "app.py", "line": 8, "kind": "unit", "title": "run() reports success",
            "rationale": "run() is new and untested.", "test_path": "tests/test_app.py",
            "code": "def test_run_returns_true(monkeypatch):\n    monkeypatch.setattr(os, 'system', lambda c: 0)\n    assert run('true') is True\n",
            "confidence": 0.8
        }]})
        .to_string(),
    }
}

/// The server with a model, a repository with pull request #2 at `HEAD`, and a model that
/// answers every request.
pub async fn world(backend: Backend) -> Option<(TestApp, FakeAzure)> {
    let db = backend.database().await?;
    let azure = FakeAzure::start().await;
    azure.respond_with(answer);
    let app = TestApp::spawn_with(db, Some(&azure)).await;
    open_pull_request(&app.github);
    Some((app, azure))
}

/// Our repository on the fake GitHub, with pull request #2 open at `HEAD`.
pub fn open_pull_request(github: &FakeGitHub) {
    github.add_installation(INSTALLATION, "Codertocat", RepositorySelection::Selected);
    github.add_repository(INSTALLATION, 186_853_002, REPO);
    github.add_pull_request(REPO, PR, HEAD, BASE);
    github.set_diff(REPO, PR, DIFF);
    github.set_file(REPO, HEAD, "app.py", APP_PY.as_bytes());
    github.set_file(
        REPO,
        HEAD,
        "tests/test_greet.py",
        b"def test_greet():\n    pass\n",
    );
    github.set_file(REPO, HEAD, "pyproject.toml", b"[tool.pytest.ini_options]\n");
}

/// GitHub's `pull_request` example, pointed at our repository, PR and commits.
pub fn pull_request_event(action: &str, head: &str, before: Option<&str>) -> Vec<u8> {
    let file = if action == "synchronize" {
        "synchronize.payload.json"
    } else {
        "opened.payload.json"
    };
    let mut event: Value = serde_json::from_slice(&webhook_fixture("pull_request", file)).unwrap();
    event["action"] = json!(action);
    event["installation"]["id"] = json!(INSTALLATION);
    event["repository"]["default_branch"] = json!("main");
    event["pull_request"]["head"]["sha"] = json!(head);
    event["pull_request"]["base"]["sha"] = json!(BASE);
    if let Some(before) = before {
        event["before"] = json!(before);
        event["after"] = json!(head);
    }
    serde_json::to_vec(&event).unwrap()
}

/// Delivers and returns the delivery's one job once it reaches `state`.
pub async fn deliver(app: &TestApp, delivery: &str, body: &[u8], state: JobState) -> JobRecord {
    assert_eq!(
        app.deliver("pull_request", delivery, body).await,
        StatusCode::ACCEPTED
    );
    let jobs = app.store.list_jobs(None).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| j.delivery_id.as_deref() == Some(delivery))
        .unwrap_or_else(|| panic!("{delivery} enqueued no job: {jobs:?}"));
    app.wait_for_job(job.id, state).await
}

/// An `issue_comment` on our pull request.
pub fn command(id: i64, author: &str, body: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&webhook_fixture(
        "issue_comment",
        "created.with-installation.payload.json",
    ))
    .unwrap();
    event["installation"]["id"] = json!(INSTALLATION);
    event["repository"]["full_name"] = json!(REPO);
    event["repository"]["name"] = json!("hello-world");
    event["repository"]["owner"]["login"] = json!("codertocat");
    event["issue"]["number"] = json!(PR);
    event["issue"]["pull_request"] =
        json!({"url": "https://api.github.com/repos/codertocat/hello-world/pulls/2"});
    event["comment"]["id"] = json!(id);
    event["comment"]["body"] = json!(body);
    event["comment"]["user"]["login"] = json!(author);
    event["comment"]["user"]["type"] = json!("User");
    event["sender"]["login"] = json!(author);
    serde_json::to_vec(&event).unwrap()
}

pub async fn run_command(app: &TestApp, delivery: &str, body: &[u8]) {
    assert_eq!(
        app.deliver("issue_comment", delivery, body).await,
        StatusCode::ACCEPTED
    );
    let jobs = app.store.list_jobs(None).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| j.delivery_id.as_deref() == Some(delivery))
        .unwrap_or_else(|| panic!("{delivery} enqueued no job: {jobs:?}"));
    app.wait_for_job(job.id, JobState::Done).await;
}

/// The PR author in the fake GitHub.
pub const AUTHOR: &str = "octocat";

/// A `pull_request_review_comment` event for comment `id`: `author` replying `body` to
/// comment `to`, after an edit from `edited_from` when given.
pub fn reply_event(
    id: i64,
    to: i64,
    author: &str,
    body: &str,
    edited_from: Option<&str>,
) -> Vec<u8> {
    let file = if edited_from.is_some() {
        "edited.payload.json"
    } else {
        "created.payload.json"
    };
    let mut event: Value =
        serde_json::from_slice(&webhook_fixture("pull_request_review_comment", file)).unwrap();
    event["installation"]["id"] = json!(INSTALLATION);
    event["pull_request"]["user"]["login"] = json!(AUTHOR);
    event["comment"]["id"] = json!(id);
    event["comment"]["in_reply_to_id"] = json!(to);
    event["comment"]["body"] = json!(body);
    event["comment"]["user"]["login"] = json!(author);
    event["comment"]["user"]["type"] = json!("User");
    event["sender"]["login"] = json!(author);
    if let Some(before) = edited_from {
        event["changes"] = json!({ "body": { "from": before } });
    }
    serde_json::to_vec(&event).unwrap()
}

/// `author` replies `body` to comment `to` on GitHub, and GitHub tells us (delivery
/// `delivery`); waits for the job. Returns the reply's id.
pub async fn say(app: &TestApp, delivery: &str, to: i64, author: &str, body: &str) -> i64 {
    let id = app.github.add_review_reply(REPO, PR, to, author, body);
    let event = reply_event(id, to, author, body, None);
    settle(app, "pull_request_review_comment", delivery, &event).await;
    id
}

/// Delivers an event and waits for the job it implies (if any) to finish.
pub async fn settle(app: &TestApp, event: &str, delivery: &str, body: &[u8]) {
    assert_eq!(
        app.deliver(event, delivery, body).await,
        StatusCode::ACCEPTED,
        "{delivery}"
    );
    let jobs = app.store.list_jobs(None).await.unwrap();
    if let Some(job) = jobs
        .iter()
        .find(|j| j.delivery_id.as_deref() == Some(delivery))
    {
        app.wait_for_job(job.id, JobState::Done).await;
    }
}

/// A diff adding `path` with `content`.
pub fn new_file_diff(path: &str, content: &str) -> String {
    let lines: Vec<&str> = content.lines().collect();
    let mut out = format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..4444444\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
        lines.len()
    );
    for line in lines {
        out.push_str(&format!("+{line}\n"));
    }
    out
}
