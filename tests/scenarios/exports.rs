//! Secrets planted in a pull request reach no export: a change full of credentials, a model
//! that echoes some of them, and people whose verdicts quote more, then `reviewbot export
//! sft|dpo|trl|sarif` from the real binary against the same database.

use std::path::Path;
use std::process::Output;

use e2e::fake_azure::{FakeAzure, schema_name};
use e2e::{Backend, TestApp, WAIT, on_both_backends};
use feedback::verdict::{VerdictState, derive_verdict};
use feedback::{FeedbackAction, JobState, SuggestionId, TriageState};
use serde_json::{Value, json};

use crate::pr_world::{
    AUTHOR, HEAD, PR, REPO, deliver, new_file_diff, open_pull_request, pull_request_event, say,
};

on_both_backends!(secrets_planted_in_a_pull_request_reach_no_export);

/// Someone with write access.
const WRITER: &str = "writer";
/// A security reviewer (named in the repository's config).
const SEC_LEAD: &str = "sec-lead";

// Credential-shaped values are split in the source (`concat!`) so that secret scanners and
// push protection do not take this test for a leak.
const AWS_KEY_ID: &str = concat!("AKIA", "5Q7ZN3RXW4TB2KLM");
const AWS_SECRET: &str = "q8Rw2ZtN5vXk9LmB3cYh/GpD4sJf6TaE1uWn0VbK";
const GITHUB_TOKEN: &str = concat!("ghp", "_R7tK2mQ9xV4bN8cW1zL5pJ3hF6dS0gY2aE9u");
const SLACK_TOKEN: &str = concat!("xox", "b-2817162531-1938475610293-Kx9pQ2rT7vW4yZ1aB3cD5eF6");
const STRIPE_KEY: &str = concat!("sk_", "live_9Zq3Xv7Lm2Rt5Wk8Np4Hs6Jd1Fg0Bc");
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsInJvbGUiOiJhZG1pbiIsImlhdCI6MTc2MzgwMDAwMH0.7Q0F9zS3LxHvrE76-g598-QT4Dk78L3Lfy2aFwKSqWQ";
const PG_PASSWORD: &str = "Tq7vR2xL9mZ4wK8s";
const PG_URL: &str = "postgres://billing:Tq7vR2xL9mZ4wK8s@db.prod.internal:5432/billing";
const API_KEY: &str = "f3Jk9Qz7Lw2Xr5Tn8Vb1Mc4Hd6Gs0Py";
/// The base64 body of the planted private key, line by line.
const PEM_BODY: [&str; 7] = [
    "MIIEpAIBAAKCAQEAecQSH8YIV9/+/HS5mcyF8ZCsRsi833KOcP5szoYeM+aw6l9d",
    "ROq5vNQIzGzeUkeO1zCQPsJd+pFr7nlXzk9dRvWkKDvbjydykyw8x3xu7G+yVNAc",
    "dfegI9najQjwfah86Alq1XnPE8RHDg2YGhrUMB5mlwOli/H3awJj6bMC7MXGHbzr",
    "lfVSF/R08nbGAfmtaTcVbDOQo6LmkpqhzaSJ+Di/PAWt2nJ3Ji9N129z5IMLO+4V",
    "CDo/OH+zH2Joo/SG5UiUWmcKzyew6Qx2BddDRMObyIwJ/xdafT/o4aCNX2v463sb",
    "qwGJspqTSFVFbUl33u2DlOGOAWK1z1kqjkck/Zf529R0IitE4lrvtdohU7NmslLJ",
    "9Log252LcIJ2MAY2",
];

/// Every planted secret (and each line of the key's body), named for the failure message.
fn planted() -> Vec<(&'static str, &'static str)> {
    let mut secrets = vec![
        ("aws access key id", AWS_KEY_ID),
        ("aws secret access key", AWS_SECRET),
        ("github token", GITHUB_TOKEN),
        ("slack token", SLACK_TOKEN),
        ("stripe key", STRIPE_KEY),
        ("jwt", JWT),
        ("postgres password", PG_PASSWORD),
        ("postgres url", PG_URL),
        ("generic api key", API_KEY),
    ];
    secrets.extend(PEM_BODY.iter().map(|line| ("private key body line", *line)));
    secrets
}

/// The file the pull request adds: production settings with every kind of secret inline.
fn settings_py() -> String {
    format!(
        "\"\"\"Production settings for the billing service.\"\"\"\n\
         \n\
         import os\n\
         \n\
         AWS_ACCESS_KEY_ID = \"{AWS_KEY_ID}\"\n\
         aws_secret_access_key = \"{AWS_SECRET}\"\n\
         GITHUB_TOKEN = \"{GITHUB_TOKEN}\"\n\
         SLACK_BOT_TOKEN = \"{SLACK_TOKEN}\"\n\
         STRIPE_KEY = \"{STRIPE_KEY}\"\n\
         DATABASE_URL = \"{PG_URL}\"\n\
         API_KEY = \"{API_KEY}\"\n\
         SESSION_JWT = \"{JWT}\"\n\
         \n\
         SIGNING_KEY = \"\"\"-----BEGIN RSA PRIVATE KEY-----\n\
         {}\n\
         -----END RSA PRIVATE KEY-----\n\
         \"\"\"\n\
         \n\
         \n\
         def charge(amount):\n\
         \x20   return {{\"key\": STRIPE_KEY, \"amount\": amount, \"region\": os.environ.get(\"REGION\")}}\n\
         \n\
         \n\
         def notify(text):\n\
         \x20   return {{\"token\": SLACK_BOT_TOKEN, \"text\": text}}\n",
        PEM_BODY.join("\n")
    )
}

/// The 1-based line of `settings.py` that contains `needle`.
fn line_of(needle: &str) -> usize {
    settings_py()
        .lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} is not in settings.py"))
}

const ACCEPTED_TITLE: &str = "settings expose the GitHub token";
const MODIFIED_TITLE: &str = "notify() sends the Slack token";
const FINDING_TITLE: &str = "Hard-coded AWS credentials";

/// A model that echoes what it read: a test whose code embeds the GitHub token, a second
/// test, and a finding whose explanation and fix quote the AWS key.
fn answer(request: &Value) -> String {
    match schema_name(request) {
        "security_findings" => json!({"findings": [{
            "path": "settings.py", "line": line_of("aws_secret_access_key"), "cwe": "CWE-798",
            "severity": "high", "confidence": 0.9,
            "title": FINDING_TITLE,
            "explanation": format!(
                "AWS_ACCESS_KEY_ID = \"{AWS_KEY_ID}\" and aws_secret_access_key = \"{AWS_SECRET}\" are committed in plain text; anyone who can read the repository can use them."
            ),
            "fix": format!("Deactivate {AWS_KEY_ID} in IAM and read the pair from os.environ instead."),
        }]})
        .to_string(),
        _ => json!({"suggestions": [
            {
                "path": "settings.py", "line": line_of("GITHUB_TOKEN ="), "kind": "unit",
                "title": ACCEPTED_TITLE,
                "rationale": "The token must come from the environment.",
                "test_path": "tests/test_settings.py",
                "code": format!(
                    "def test_github_token_is_read_from_the_environment(monkeypatch):\n    monkeypatch.setenv('GITHUB_TOKEN', '{GITHUB_TOKEN}')\n    assert settings.GITHUB_TOKEN == '{GITHUB_TOKEN}'\n"
                ),
                "confidence": 0.8
            },
            {
                "path": "settings.py", "line": line_of("def notify"), "kind": "unit",
                "title": MODIFIED_TITLE,
                "rationale": "notify() is new and untested.",
                "test_path": "tests/test_settings.py",
                "code": "def test_notify_sends_text():\n    assert notify('hi')['text'] == 'hi'\n",
                "confidence": 0.8
            }
        ]})
        .to_string(),
    }
}

/// The server with a model, and pull request #2 adding `settings.py`.
async fn world(backend: Backend) -> Option<(TestApp, FakeAzure)> {
    let db = backend.database().await?;
    let azure = FakeAzure::start().await;
    azure.respond_with(answer);
    let app = TestApp::spawn_with(db, Some(&azure)).await;
    let github = &app.github;
    open_pull_request(github);
    let settings = settings_py();
    github.set_diff(REPO, PR, &new_file_diff("settings.py", &settings));
    github.set_file(REPO, HEAD, "settings.py", settings.as_bytes());
    github.set_file(
        REPO,
        "main",
        ".github/reviewbot.yml",
        format!("security_reviewers: [{SEC_LEAD}]\n").as_bytes(),
    );
    github.set_permission(REPO, WRITER, "write");
    Some((app, azure))
}

async fn verdict(app: &TestApp, id: SuggestionId) -> feedback::verdict::Verdict {
    let s = app.store.get_suggestion(id).await.unwrap();
    let events = app.store.list_feedback_events(id).await.unwrap();
    derive_verdict(s.suggestion.kind, s.suggestion.created_at, &events)
}

/// Runs the real `reviewbot` with `args` against `database_url`.
async fn reviewbot(database_url: &str, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(e2e::process::binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT, run)
        .await
        .unwrap_or_else(|_| panic!("reviewbot {args:?} did not finish"))
        .expect("run reviewbot")
}

/// Standard output and error of a run, together.
fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `redacted: N secrets` count of a dataset summary.
fn redacted(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("redacted: "))
        .and_then(|rest| rest.strip_suffix(" secrets"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `redacted: N secrets` line in:\n{stdout}"))
}

async fn secrets_planted_in_a_pull_request_reach_no_export(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    deliver(
        &app,
        "open",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    let comments = app.github.review_comments(REPO, PR);
    let find = |needle: &str| {
        let c = comments
            .iter()
            .find(|c| c.in_reply_to_id.is_none() && c.body.contains(needle))
            .unwrap_or_else(|| panic!("no comment with {needle}: {comments:#?}"));
        (c.id, bot::review::render::parse_marker(&c.body).unwrap())
    };
    let (accepted_comment, accepted) = find(ACCEPTED_TITLE);
    let (modified_comment, modified) = find(MODIFIED_TITLE);
    let (finding_comment, finding) = find(FINDING_TITLE);

    // Human verdicts, through the server: the author accepts the test quoting the GitHub
    // token, a writer replaces the other with code holding more secrets, and a security
    // reviewer calls the finding a false positive.
    say(&app, "r-accept", accepted_comment, AUTHOR, "/accept").await;
    let human_code = format!(
        "def test_notify_uses_the_bot_token(monkeypatch):\n    monkeypatch.setattr(settings, 'SLACK_BOT_TOKEN', '{SLACK_TOKEN}')\n    monkeypatch.setenv('DATABASE_URL', '{PG_URL}')\n    assert notify('hi')['token'] == '{SLACK_TOKEN}'\n"
    );
    let modify = format!("/modify use the real names\n```python\n{human_code}```\n");
    say(&app, "r-modify", modified_comment, WRITER, &modify).await;
    say(
        &app,
        "r-triage",
        finding_comment,
        SEC_LEAD,
        "/triage fp rotated sandbox account",
    )
    .await;
    assert_eq!(verdict(&app, accepted).await.state, VerdictState::Accepted);
    let accept_events = app.store.list_feedback_events(accepted).await.unwrap();
    assert_eq!(accept_events[0].event.action, FeedbackAction::Accept);
    match verdict(&app, modified).await.state {
        VerdictState::Modified { human_text } => {
            assert_eq!(human_text.as_deref(), Some(human_code.as_str()));
        }
        other => panic!("the /modify was not recorded: {other:?}"),
    }
    let triaged = verdict(&app, finding).await;
    assert_eq!(triaged.triage, Some(TriageState::FalsePositive));

    // The exports, from the real binary, against the same database.
    let dir = tempfile::tempdir().unwrap();
    let database_url = app.database().url().to_owned();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let mut leaks = Vec::new();
    let mut check_for_secrets = |what: &str, text: &str| {
        for (kind, secret) in planted() {
            if text.contains(secret) {
                leaks.push(format!("{kind} `{secret}` in {what}"));
            }
        }
    };
    let mut datasets = Vec::new();
    for format in ["sft", "dpo", "trl"] {
        let file = out(&format!("{format}.jsonl"));
        let args = ["export", format, "--out", &file, "--unlabeled", "keep"];
        let run = reviewbot(&database_url, &args).await;
        let said = printed(&run);
        assert_eq!(run.status.code(), Some(0), "export {format}:\n{said}");
        check_for_secrets(&format!("`export {format}` output"), &said);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            redacted(&stdout) > 0,
            "export {format} redacted nothing:\n{stdout}"
        );
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(
            written.lines().any(|line| !line.trim().is_empty()),
            "export {format} wrote no example:\n{said}"
        );
        check_for_secrets(&format!("{format}.jsonl"), &written);
        datasets.push((format, file));
    }
    let sarif_file = out("findings.sarif");
    let run = reviewbot(&database_url, &["export", "sarif", "--out", &sarif_file]).await;
    let said = printed(&run);
    assert_eq!(run.status.code(), Some(0), "export sarif:\n{said}");
    check_for_secrets("`export sarif` output", &said);
    let written = std::fs::read_to_string(&sarif_file).unwrap();
    check_for_secrets("findings.sarif", &written);

    // Each dataset is valid but for its size (fewer than the 10 examples a fine-tuning job
    // needs), by the binary and by the library.
    for (format, file) in &datasets {
        let run = reviewbot(&database_url, &["export", "validate", file]).await;
        let said = printed(&run);
        check_for_secrets(&format!("`export validate {format}` output"), &said);
        assert_eq!(run.status.code(), Some(1), "validate {format}:\n{said}");
        assert!(
            said.contains("errors by kind: too_few_examples 1\n"),
            "validate {format}:\n{said}"
        );
        let report = feedback::export::validate::validate_jsonl(
            std::io::BufReader::new(std::fs::File::open(Path::new(file)).unwrap()),
            None,
            feedback::export::dataset::DEFAULT_MAX_TOKENS,
            &bot::review::budget::count_tokens,
        )
        .unwrap();
        assert_eq!(
            report.error_kinds.keys().copied().collect::<Vec<_>>(),
            ["too_few_examples"],
            "validate {format}: {}",
            report.summary()
        );
    }

    // The SARIF log: 2.1.0, with the false positive suppressed.
    let sarif: Value = serde_json::from_str(&written).expect("the SARIF file is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results: Vec<&Value> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["results"].as_array().unwrap())
        .collect();
    let fp = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(FINDING_TITLE))
        })
        .unwrap_or_else(|| panic!("no result for the finding: {results:#?}"));
    assert_eq!(fp["suppressions"][0]["justification"], "false positive");

    // Nothing planted is anywhere.
    assert!(
        leaks.is_empty(),
        "planted secrets in the exports:\n{}",
        leaks.join("\n")
    );
    app.stop().await;
}
