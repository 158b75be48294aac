//! Fuzz target: arbitrary bytes into `parse_diff` and `parse_patch`. Neither may panic, and
//! whatever parses must have line numbers consistent with its hunk headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The parser is compiled straight from its source file rather than through the `bot` crate:
// it depends only on `thiserror`, so the instrumented build is seconds instead of the whole
// service's dependency tree under AddressSanitizer.
#[path = "../../bot/src/review/diff/mod.rs"]
#[allow(dead_code)]
mod diff;

use diff::{DiffError, FileStatus, Hunk, LineKind};

fuzz_target!(|data: &[u8]| {
    match diff::parse_diff(data) {
        Ok(parsed) => {
            for file in &parsed.files {
                match file.status {
                    FileStatus::Added => {
                        assert!(file.old_path.is_none() && file.new_path.is_some())
                    }
                    FileStatus::Deleted => {
                        assert!(file.old_path.is_some() && file.new_path.is_none())
                    }
                    _ => assert!(file.old_path.is_some() && file.new_path.is_some()),
                }
                assert!(file.header_line >= 1);
                check_hunks(&file.hunks);
                let _ = (
                    file.path(),
                    file.additions(),
                    file.deletions(),
                    file.is_symlink(),
                );
            }
        }
        Err(e) => check_error(&e, data),
    }
    match diff::parse_patch(data) {
        Ok(hunks) => check_hunks(&hunks),
        Err(e) => check_error(&e, data),
    }
});

/// Every hunk's body walks its header's ranges exactly, line by line.
fn check_hunks(hunks: &[Hunk]) {
    let mut last_position = None;
    for h in hunks {
        let (mut old, mut new) = (h.old_start, h.new_start);
        let (mut old_count, mut new_count) = (0u32, 0u32);
        for l in &h.lines {
            assert!(!l.content.contains(&b'\n'));
            match l.kind {
                LineKind::Context => {
                    assert_eq!((l.old_line, l.new_line), (Some(old), Some(new)));
                    old = old.wrapping_add(1);
                    new = new.wrapping_add(1);
                    old_count += 1;
                    new_count += 1;
                }
                LineKind::Removed => {
                    assert_eq!((l.old_line, l.new_line), (Some(old), None));
                    old = old.wrapping_add(1);
                    old_count += 1;
                }
                LineKind::Added => {
                    assert_eq!((l.old_line, l.new_line), (None, Some(new)));
                    new = new.wrapping_add(1);
                    new_count += 1;
                }
            }
        }
        assert_eq!((old_count, new_count), (h.old_lines, h.new_lines));
        assert!(h.old_range().len() as u32 == h.old_lines || h.old_lines == 0);
        assert!(h.new_range().len() as u32 == h.new_lines || h.new_lines == 0);
        assert!(
            last_position.is_none_or(|p| h.position > p),
            "positions increase"
        );
        last_position = Some(h.position);
    }
}

/// An error points inside the input (or just past its end).
fn check_error(e: &DiffError, data: &[u8]) {
    assert!(e.offset <= data.len());
    assert!(e.line >= 1 && e.line <= data.iter().filter(|&&b| b == b'\n').count() + 2);
    let _ = e.to_string();
}
