//! Throwaway git repositories for `reviewbot review` scenarios.

use std::path::Path;
use std::process::Command;

/// Runs git in `dir` with a fixed identity and `main` as the default branch.
pub fn git(dir: &Path, args: &[&str]) {
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
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository on a feature branch whose working tree passes a caller's string to a shell
/// (`run.py` line 5).
pub fn risky_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    git(dir.path(), &["init", "-q"]);
    let write =
        |content: &str| std::fs::write(dir.path().join("run.py"), content).expect("write run.py");
    write("import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(['ls'])\n");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "first"]);
    git(dir.path(), &["checkout", "-qb", "feature"]);
    write("import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(cmd, shell=True)\n");
    dir
}

/// The report's first finding of rule `id`.
pub fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .expect("a findings array")
        .iter()
        .find(|f| f["rule_id"] == id)
        .unwrap_or_else(|| panic!("no {id} finding in {report:#}"))
}
