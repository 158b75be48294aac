//! The real `reviewbot` binary as a child process: started, probed, killed.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::WAIT;

/// Where cargo put the `reviewbot` binary: next to this test executable's `deps/` folder.
/// `cargo test --workspace` builds it (the `bot` package has integration tests that need it).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir.join("reviewbot");
    assert!(
        binary.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        binary.display()
    );
    binary
}

/// A running `reviewbot serve`.
#[derive(Debug)]
pub struct ServeProcess {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    logs: mpsc::UnboundedReceiver<String>,
    /// Every log line read so far.
    pub seen: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl ServeProcess {
    /// Starts `reviewbot serve` with `env` (plus a free port and JSON logs) and waits until
    /// `/readyz` answers 200.
    pub async fn start(env: &[(String, String)]) -> ServeProcess {
        let port = free_port();
        let mut child = Command::new(binary())
            .arg("serve")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("REVIEWBOT_BIND", format!("127.0.0.1:{port}"))
            .env("REVIEWBOT_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start reviewbot serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, logs) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = ServeProcess {
            child,
            port,
            logs,
            seen: Vec::new(),
        };
        process.wait_ready().await;
        process
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.drain_logs();
                panic!(
                    "reviewbot exited before it was ready ({status}):\n{}",
                    self.seen.join("\n")
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "reviewbot never became ready"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The process id (for reading its CPU time and memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Collects the log lines written so far.
    pub fn drain_logs(&mut self) -> &[String] {
        while let Ok(line) = self.logs.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Sends SIGKILL: no cleanup, no shutdown, the process is just gone.
    pub async fn kill_9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }

    /// Sends SIGTERM and waits for the exit status; returns the logs.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("reviewbot exits after SIGTERM")
            .expect("exit status");
        // Let the log reader catch up with the last lines.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.drain_logs();
        (exit, self.seen)
    }
}
