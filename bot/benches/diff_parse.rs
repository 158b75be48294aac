//! Diff parsing throughput: `parse_diff` over the largest real fixtures, in MB/s
//! (1 MB = 10^6 bytes of diff input).
//!
//! Run: `cargo bench -p bot --bench diff_parse`. Each fixture is parsed repeatedly for
//! `BENCH_SECONDS` (default 2) after a short warm-up; the figure is bytes × iterations /
//! elapsed, with the parsed value dropped inside the loop (allocation and free both count).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bot::review::diff::parse_diff;

/// The four largest fixtures (by diff bytes).
const CASES: [&str; 4] = [
    "cobra_big_range",
    "gson_crlf_to_lf",
    "rg_large_hunk_rewrite",
    "req_range_release",
];

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/diffs");
    println!(
        "{:<24} {:>10} {:>10} {:>10}",
        "fixture", "bytes", "iters", "MB/s"
    );
    let (mut all_bytes, mut all_elapsed) = (0f64, 0f64);
    for case in CASES {
        let path = dir.join(format!("{case}.diff"));
        let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let files = parse_diff(&input).expect("fixture parses").files.len();
        // Warm-up: caches, allocator pools, CPU frequency.
        let warm = Instant::now();
        while warm.elapsed() < budget / 10 {
            black_box(parse_diff(black_box(&input)).ok());
        }
        let started = Instant::now();
        let mut iterations = 0u64;
        while started.elapsed() < budget {
            for _ in 0..16 {
                black_box(parse_diff(black_box(&input)).ok());
            }
            iterations += 16;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let bytes = input.len() as f64 * iterations as f64;
        println!(
            "{:<24} {:>10} {:>10} {:>10.0}   ({files} files)",
            case,
            input.len(),
            iterations,
            bytes / elapsed / 1e6
        );
        all_bytes += bytes;
        all_elapsed += elapsed;
    }
    println!("{:<24} {:>32.0}", "overall", all_bytes / all_elapsed / 1e6);
}
