//! `reviewbot export validate FILE` end to end: the real binary on files written here.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reviewbot");

fn example(i: usize) -> String {
    serde_json::json!({"messages": [
        {"role": "system", "content": "You review pull requests."},
        {"role": "user", "content": format!("Change {i}: def f{i}(x): return x")},
        {"role": "assistant", "content": "{\"suggestions\": []}"},
    ]})
    .to_string()
}

fn run(contents: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    std::fs::write(&path, contents).unwrap();
    let output = Command::new(BIN)
        .args(["export", "validate"])
        .arg(&path)
        .env_clear()
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn a_valid_sft_file_passes() {
    let file: String = (0..12).map(|i| example(i) + "\n").collect();
    let (code, out) = run(&file);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn errors_are_listed_with_line_numbers_and_fail() {
    let mut lines: Vec<String> = (0..12).map(example).collect();
    lines[2] = r#"{"messages": [{"role": "user", "content": "no answer"}]}"#.into();
    lines[6] = "not json".into();
    let (code, out) = run(&(lines.join("\n") + "\n"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 3") && out.contains("example_missing_assistant_message"),
        "{out}"
    );
    assert!(out.contains("line 7") && out.contains("data_type"), "{out}");
}

#[test]
fn an_unreadable_file_is_exit_status_2() {
    let output = Command::new(BIN)
        .args(["export", "validate", "/nonexistent/train.jsonl"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
}
