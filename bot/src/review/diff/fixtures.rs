//! Test helpers: the 22 real diffs of `tests/fixtures/diffs` and their oracles.

use std::path::PathBuf;

use serde_json::Value;

use super::{Diff, parse_diff};

/// The fixture folder, reached from this crate so tests run in a fresh clone.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/diffs")
}

/// Names of all cases, from `index.json`.
pub(crate) fn case_names() -> Vec<String> {
    let index: Value = read_json("index.json");
    let names: Vec<String> = index
        .as_array()
        .expect("index.json is an array")
        .iter()
        .map(|c| c["case"].as_str().expect("case name").to_owned())
        .collect();
    assert_eq!(names.len(), 22, "index.json lists the 22 cases");
    names
}

pub(crate) fn read_json(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The raw `.diff` bytes of a case.
pub(crate) fn read_diff(case: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{case}.diff"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A case's `.diff`, parsed.
pub(crate) fn parsed(case: &str) -> Diff {
    parse_diff(&read_diff(case)).unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// A case's oracle.
pub(crate) fn oracle(case: &str) -> Value {
    read_json(&format!("{case}.oracle.json"))
}
