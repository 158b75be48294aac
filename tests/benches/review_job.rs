//! Review job benchmark: the real `reviewbot serve` binary reviews pull requests of 5, 50 and
//! 300 changed files against the fake GitHub and a zero-latency fake model, and reports the
//! bot's own cost per pull request: CPU time and wall time from delivery to the job's end,
//! peak memory of the process, and the prompt tokens it sent.
//!
//! Run: `cargo build --release -p bot && cargo bench -p e2e --bench review_job`
//! (`BENCH_RUNS` pull requests per size, default 5; SQLite in a temporary directory).
//! CPU time is the child process's utime + stime from `/proc` (Linux), so the fakes and the
//! load generator, which run in this process, are not counted. Peak memory is the process's
//! high-water mark (VmHWM), from a fresh process per size, startup included.

use std::time::{Duration, Instant};

use bot::events::RepositorySelection;
use e2e::fake_azure::{FakeAzure, schema_name, user_message};
use e2e::fake_github::FakeGitHub;
use e2e::process::ServeProcess;
use feedback::JobState;
use serde_json::{Value, json};

const REPO: &str = "bench/app";
const INSTALLATION: i64 = 7;
const SIZES: [usize; 3] = [5, 50, 300];

/// One changed file: a new module with three functions, in one of three languages.
fn file(i: usize) -> (String, String) {
    match i % 3 {
        0 => (
            format!("pkg/mod_{i}.py"),
            format!(
                "import os\nimport subprocess\n\n\ndef load_{i}(path):\n    with open(path) as f:\n        data = f.read()\n    return data.strip()\n\n\ndef run_{i}(cmd):\n    result = subprocess.run(cmd, shell=True, capture_output=True)\n    if result.returncode != 0:\n        raise RuntimeError(result.stderr)\n    return result.stdout\n\n\ndef total_{i}(values):\n    acc = 0\n    for v in values:\n        if v is None:\n            continue\n        acc += int(v)\n    return acc\n"
            ),
        ),
        1 => (
            format!("src/mod_{i}.rs"),
            format!(
                "use std::collections::HashMap;\n\npub fn count_{i}(words: &[&str]) -> HashMap<String, usize> {{\n    let mut counts = HashMap::new();\n    for word in words {{\n        *counts.entry(word.to_lowercase()).or_insert(0) += 1;\n    }}\n    counts\n}}\n\npub fn parse_{i}(text: &str) -> Option<(i64, i64)> {{\n    let (a, b) = text.split_once(',')?;\n    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))\n}}\n\npub fn clamp_{i}(value: i64, low: i64, high: i64) -> i64 {{\n    if value < low {{\n        low\n    }} else if value > high {{\n        high\n    }} else {{\n        value\n    }}\n}}\n"
            ),
        ),
        _ => (
            format!("web/mod_{i}.ts"),
            format!(
                "export function greet_{i}(name: string): string {{\n  return `hello ${{name}}`;\n}}\n\nexport async function fetchUser_{i}(id: number): Promise<unknown> {{\n  const response = await fetch(`/api/users/${{id}}`);\n  if (!response.ok) {{\n    throw new Error(`status ${{response.status}}`);\n  }}\n  return response.json();\n}}\n\nexport function sum_{i}(values: number[]): number {{\n  let total = 0;\n  for (const v of values) {{\n    total += v;\n  }}\n  return total;\n}}\n"
            ),
        ),
    }
}

/// A diff adding `files` as new files.
fn diff(files: &[(String, String)]) -> String {
    let mut out = String::new();
    for (path, content) in files {
        let lines: Vec<&str> = content.lines().collect();
        out.push_str(&format!(
            "diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
            lines.len()
        ));
        for line in lines {
            out.push('+');
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A zero-latency model: one item on the first numbered added line of the first file it was
/// shown, so every answer is valid and gets posted.
fn answer(request: &Value) -> String {
    let user = user_message(request);
    let path = user
        .lines()
        .find_map(|l| l.strip_prefix("File: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or("")
        .to_owned();
    let line = user
        .lines()
        .find_map(|l| {
            let (number, rest) = l.trim_start().split_once(' ')?;
            rest.starts_with('+').then(|| number.parse::<u32>().ok())?
        })
        .unwrap_or(1);
    match schema_name(request) {
        "security_findings" => json!({"findings": [{
            "path": path, "line": line, "cwe": "CWE-20", "severity": "medium", "confidence": 0.8,
            "title": format!("Input not validated in {path}"),
            "explanation": "The value is used as given.", "fix": "Validate it first."
        }]})
        .to_string(),
        _ => json!({"suggestions": [{
            "path": path, "line": line, "kind": "unit", "title": format!("Cover {path}"),
            "rationale": "New code.", "test_path": "tests/test_new.py",
            "code": "def test_new():\n    assert True\n", "confidence": 0.8
        }]})
        .to_string(),
    }
}

/// utime + stime of `pid`, from `/proc/<pid>/stat` (clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A `/proc/<pid>/status` figure in MiB (`VmHWM`, `VmRSS`).
fn memory_mib(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let kib: f64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .expect("status field");
    kib / 1024.0
}

fn event(pr: u64, head: &str) -> Vec<u8> {
    let mut event: Value =
        serde_json::from_slice(&e2e::webhook_fixture("pull_request", "opened.payload.json"))
            .unwrap();
    event["number"] = json!(pr);
    event["pull_request"]["number"] = json!(pr);
    event["installation"]["id"] = json!(INSTALLATION);
    event["repository"]["full_name"] = json!(REPO);
    event["repository"]["name"] = json!("app");
    event["repository"]["owner"]["login"] = json!("bench");
    event["repository"]["default_branch"] = json!("main");
    event["pull_request"]["head"]["sha"] = json!(head);
    serde_json::to_vec(&event).unwrap()
}

fn prompt_tokens(requests: &[Value]) -> usize {
    requests
        .iter()
        .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| bot::review::budget::count_tokens(m["content"].as_str().unwrap_or("")))
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    e2e::init();
    let runs: u64 = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!(
        "review job, per pull request (mean of {runs}; real binary, SQLite, zero-latency model)"
    );
    println!(
        "{:>6} {:>11} {:>11} {:>10} {:>10} {:>12} {:>9} {:>9}",
        "files", "cpu", "wall", "peak MiB", "idle MiB", "prompt tok", "calls", "comments"
    );
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}/bench.db", dir.path().display());
        let github = FakeGitHub::start().await;
        github.add_installation(INSTALLATION, "bench", RepositorySelection::Selected);
        github.add_repository(INSTALLATION, 77, REPO);
        let azure = FakeAzure::start().await;
        azure.respond_with(answer);
        let mut env = e2e::serve_env(&db_url, &github);
        env.extend(e2e::azure_env(&azure));
        env.retain(|(k, _)| k != "REVIEWBOT_WORKERS");
        env.push(("REVIEWBOT_WORKERS".into(), "1".into()));
        env.push(("RUST_LOG".into(), "warn".into()));
        let process = ServeProcess::start(&env).await;
        let pid = process.pid();
        let store = feedback::Store::connect(&db_url).await.unwrap();
        let idle = memory_mib(pid, "VmRSS:");

        let files: Vec<(String, String)> = (0..size).map(file).collect();
        let diff = diff(&files);
        let (mut cpu, mut wall, mut tokens, mut calls) = (Duration::ZERO, Duration::ZERO, 0, 0);
        for run in 0..runs {
            let pr = 100 + run;
            let head = format!("{:040x}", 0xbe_u64 * 1000 + run);
            github.add_pull_request(REPO, pr, &head, &"0".repeat(40));
            github.set_diff(REPO, pr, &diff);
            for (path, content) in &files {
                github.set_file(REPO, &head, path, content.as_bytes());
            }
            github.set_file(
                REPO,
                &head,
                "pyproject.toml",
                b"[tool.pytest.ini_options]\n",
            );
            let before_requests = azure.requests().len();
            let cpu_before = cpu_time(pid);
            let started = Instant::now();
            let body = event(pr, &head);
            let status = reqwest::Client::new()
                .post(process.url("/api/github/webhooks"))
                .header("X-GitHub-Event", "pull_request")
                .header("X-GitHub-Delivery", format!("bench-{size}-{run}"))
                .header("X-Hub-Signature-256", e2e::sign(e2e::WEBHOOK_SECRET, &body))
                .body(body)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, reqwest::StatusCode::ACCEPTED);
            let job = loop {
                let jobs = store.list_jobs(None).await.unwrap();
                if let Some(job) = jobs
                    .into_iter()
                    .find(|j| j.delivery_id.as_deref() == Some(&format!("bench-{size}-{run}")))
                    && matches!(job.state, JobState::Done | JobState::Dead)
                {
                    break job;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            wall += started.elapsed();
            cpu += cpu_time(pid) - cpu_before;
            assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
            let requests = azure.requests();
            tokens += prompt_tokens(&requests[before_requests..]);
            calls += requests.len() - before_requests;
        }
        let comments = github.review_comments(REPO, 100).len();
        let peak = memory_mib(pid, "VmHWM:");
        let n = runs as u32;
        println!(
            "{:>6} {:>8.1} ms {:>8.1} ms {:>10.1} {:>10.1} {:>12} {:>9} {:>9}",
            size,
            (cpu / n).as_secs_f64() * 1000.0,
            (wall / n).as_secs_f64() * 1000.0,
            peak,
            idle,
            tokens / runs as usize,
            calls / runs as usize,
            comments
        );
        process.terminate().await;
        store.close().await;
    }
}
