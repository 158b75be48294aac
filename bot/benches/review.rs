//! Full built-in analysis of a large change: parse the diff, tree-sitter context for every
//! hunk, the security rules and the test-gap check, on one thread.
//!
//! Run: `cargo bench -p bot --bench review`. The change is made of the real fixture diffs
//! (tests/fixtures/diffs), each repeated under its own directory prefix until it holds at
//! least 300 files and 30,000 changed lines, as a pull request that size would. New-side
//! sources are rebuilt from the diff (no checkout), as `reviewbot review --diff` does.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bot::review::context::parse_context;
use bot::review::diff::parse_diff;
use bot::review::pipeline;
use bot::review::report::AnalysisStatus;

const CASES: [&str; 5] = [
    "cobra_big_range",
    "rg_large_hunk_rewrite",
    "gson_path_with_space",
    "req_range_release",
    "req_many_hunks_nonascii",
];

/// Prefixes every path in a `git diff` with `copy<n>/`, so repeated fixtures stay distinct.
fn relocate(diff: &[u8], n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(diff);
    let prefix = format!("copy{n}/");
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.split_inclusive('\n') {
        let moved = if let Some(rest) = line.strip_prefix("diff --git a/") {
            format!(
                "diff --git a/{prefix}{}",
                rest.replacen(" b/", &format!(" b/{prefix}"), 1)
            )
        } else if let Some(rest) = line.strip_prefix("--- a/") {
            format!("--- a/{prefix}{rest}")
        } else if let Some(rest) = line.strip_prefix("+++ b/") {
            format!("+++ b/{prefix}{rest}")
        } else if let Some(rest) = line.strip_prefix("rename from ") {
            format!("rename from {prefix}{rest}")
        } else if let Some(rest) = line.strip_prefix("rename to ") {
            format!("rename to {prefix}{rest}")
        } else {
            line.to_owned()
        };
        out.push_str(&moved);
    }
    out.into_bytes()
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/diffs");
    let sources: Vec<Vec<u8>> = CASES
        .iter()
        .map(|case| std::fs::read(dir.join(format!("{case}.diff"))).expect("fixture"))
        .collect();
    let mut big = Vec::new();
    let (mut files, mut lines, mut copy) = (0, 0, 0);
    while files < 300 || lines < 30_000 {
        for source in &sources {
            let relocated = relocate(source, copy);
            let parsed = parse_diff(&relocated).expect("fixture parses");
            files += parsed.files.len();
            lines += parsed.additions() + parsed.deletions();
            big.extend_from_slice(&relocated);
            copy += 1;
        }
    }
    let model = || AnalysisStatus {
        name: "model".into(),
        ran: false,
        note: "off".into(),
    };
    let runs = 5;
    let mut best = Duration::MAX;
    let mut summary = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        let diff = parse_diff(&big).expect("the combined diff parses");
        let report = pipeline::review(
            &diff,
            None,
            &[],
            Default::default(),
            &Default::default(),
            model(),
        );
        // Context for every hunk of every reviewable file, as the model prompt needs it.
        let mut hunks = 0;
        for file in &diff.files {
            let changed = pipeline::changed_file(file, pipeline::reconstruct(file));
            if let Ok(context) = parse_context(&changed) {
                hunks += context.hunks.len();
            }
        }
        best = best.min(started.elapsed());
        summary = format!(
            "{} files, {} changed lines, {} bytes; {} reviewed, {} hunks with context, {} findings",
            diff.files.len(),
            diff.additions() + diff.deletions(),
            big.len(),
            report.files_reviewed,
            hunks,
            report.findings.len()
        );
    }
    println!("full analysis of {summary}");
    println!(
        "best of {runs}: {:.1} ms on one thread",
        best.as_secs_f64() * 1000.0
    );
}
