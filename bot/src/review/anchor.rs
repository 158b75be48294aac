//! Where a review comment can go: a new-side diff line, else the file, else the summary.
//!
//! GitHub accepts an inline comment with `side: RIGHT` on any line inside a hunk's new-side
//! range, that is on the added and context lines the diff shows. The rules, all pure:
//!
//! 1. A wanted line that can carry a comment is used as is.
//! 2. A wanted line inside a hunk that cannot (only possible for an old-side line, such as a
//!    removed one) moves to the nearest new-side line of that same hunk, counted in diff
//!    rows; on a tie the earlier line wins. A line outside every hunk is in no hunk, so it
//!    never moves into one: a comment about unchanged code must not land on an unrelated
//!    change.
//! 3. Otherwise the comment is file-level (`subject_type: file`) when the file is in the
//!    diff. GitHub attaches those to the file, not to a line, so they work for every file in
//!    the diff: deleted, binary, renamed without edits and mode-only files included.
//! 4. Otherwise (the file is not in the diff) it goes into the review summary.
//!
//! Files are matched by [`FileDiff::path`] (the new path, or the old one for a deleted
//! file), the name GitHub expects in `path`; the old name of a renamed file does not match.

use std::ops::Range;

use super::diff::{Diff, FileDiff, Side};

/// Where a comment is placed; the names match the store's `feedback::Anchor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "anchor")]
pub enum Anchor {
    /// Inline on this new-side line (`side: RIGHT`).
    Line {
        /// The new-side line number.
        line: u32,
    },
    /// A file-level comment (`subject_type: file`).
    File,
    /// Only in the review summary.
    Summary,
}

impl From<Anchor> for feedback::Anchor {
    fn from(anchor: Anchor) -> Self {
        match anchor {
            Anchor::Line { .. } => feedback::Anchor::Line,
            Anchor::File => feedback::Anchor::File,
            Anchor::Summary => feedback::Anchor::Summary,
        }
    }
}

/// Places a comment wanted on new-side `line` of `path` (or on the file as a whole when
/// `line` is `None`).
pub fn anchor_line(diff: &Diff, path: &str, line: Option<u32>) -> Anchor {
    match (diff.file(path), line) {
        (None, _) => Anchor::Summary,
        (Some(_), None) => Anchor::File,
        (Some(file), Some(line)) => anchor_in_file(file, Side::New, line),
    }
}

/// Places a comment wanted on `line` of the given side of a file that is in the diff.
pub fn anchor_in_file(file: &FileDiff, side: Side, line: u32) -> Anchor {
    if side == Side::New && is_commentable(file, line) {
        return Anchor::Line { line };
    }
    let hunk = file.hunks.iter().find(|h| match side {
        Side::New => h.new_range().contains(&line),
        Side::Old => h.old_range().contains(&line),
    });
    let Some(hunk) = hunk else {
        return Anchor::File;
    };
    let row_of = |l: &super::diff::DiffLine| match side {
        Side::New => l.new_line,
        Side::Old => l.old_line,
    };
    let Some(wanted_row) = hunk.lines.iter().position(|l| row_of(l) == Some(line)) else {
        return Anchor::File;
    };
    // Nearest row with a new-side line; scanning in row order with a strict `<` keeps the
    // earlier row on a tie.
    let mut best: Option<(usize, u32)> = None;
    for (row, l) in hunk.lines.iter().enumerate() {
        if let Some(new_line) = l.new_line {
            let distance = row.abs_diff(wanted_row);
            if best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, new_line));
            }
        }
    }
    best.map_or(Anchor::File, |(_, line)| Anchor::Line { line })
}

/// The new-side line ranges that can carry an inline comment, in order (one per hunk with a
/// non-empty new side).
pub fn commentable_ranges(file: &FileDiff) -> Vec<Range<u32>> {
    file.hunks
        .iter()
        .map(|h| h.new_range())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Every new-side line that can carry an inline comment, ascending.
pub fn commentable_lines(file: &FileDiff) -> Vec<u32> {
    commentable_ranges(file).into_iter().flatten().collect()
}

/// Whether new-side `line` can carry an inline comment.
pub fn is_commentable(file: &FileDiff, line: u32) -> bool {
    // Hunks are in new-line order: find the last one starting at or before `line`.
    let after = file.hunks.partition_point(|h| h.new_range().start <= line);
    after > 0 && file.hunks[after - 1].new_range().contains(&line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::fixtures::{case_names, oracle, parsed};
    use crate::review::diff::parse_diff;

    fn line(line: u32) -> Anchor {
        Anchor::Line { line }
    }

    #[test]
    fn anchor_commentable_lines_equal_every_oracle() {
        for case in case_names() {
            let diff = parsed(&case);
            let o = oracle(&case);
            for (f, of) in diff.files.iter().zip(o["files"].as_array().unwrap()) {
                let want: Vec<u32> = of["right_side_commentable_lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_u64().unwrap() as u32)
                    .collect();
                assert_eq!(commentable_lines(f), want, "{case} {}", f.path());
                // Every commentable line anchors to itself; its neighbours outside go to File.
                for &n in &want {
                    assert!(is_commentable(f, n));
                    assert_eq!(anchor_line(&diff, &f.path(), Some(n)), line(n));
                }
                for r in commentable_ranges(f) {
                    for n in [r.start - 1, r.end] {
                        if !want.contains(&n) {
                            assert_eq!(anchor_in_file(f, Side::New, n), Anchor::File);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn anchor_on_added_and_context_lines_is_that_line() {
        // rg_nonutf8_text, grep-cli/src/decompress.rs: hunks +352,8 and +369,14.
        let diff = parsed("rg_nonutf8_text");
        let path = "grep-cli/src/decompress.rs";
        assert_eq!(anchor_line(&diff, path, Some(355)), line(355), "added line");
        assert_eq!(
            anchor_line(&diff, path, Some(352)),
            line(352),
            "context line"
        );
        assert_eq!(
            anchor_line(&diff, path, Some(382)),
            line(382),
            "last line of a hunk"
        );
    }

    #[test]
    fn anchor_between_hunks_or_beyond_eof_is_file_level() {
        let diff = parsed("rg_nonutf8_text");
        let path = "grep-cli/src/decompress.rs";
        assert_eq!(
            anchor_line(&diff, path, Some(360)),
            Anchor::File,
            "between hunks"
        );
        assert_eq!(
            anchor_line(&diff, path, Some(368)),
            Anchor::File,
            "just before a hunk"
        );
        assert_eq!(
            anchor_line(&diff, path, Some(1_000_000)),
            Anchor::File,
            "beyond EOF"
        );
        assert_eq!(anchor_line(&diff, path, Some(0)), Anchor::File, "line 0");
        assert_eq!(anchor_line(&diff, path, None), Anchor::File, "no line");
    }

    #[test]
    fn anchor_in_deleted_binary_or_unchanged_content_files_is_file_level() {
        let diff = parsed("rg_reorganize");
        let deleted = diff.files.iter().find(|f| f.new_path.is_none()).unwrap();
        assert!(
            !deleted.hunks.is_empty(),
            "the deleted file shows its lines"
        );
        assert_eq!(anchor_line(&diff, &deleted.path(), Some(1)), Anchor::File);
        assert_eq!(
            anchor_in_file(deleted, Side::Old, 1),
            Anchor::File,
            "no new side"
        );

        let diff = parsed("req_binary_new");
        assert_eq!(
            anchor_line(&diff, "ext/kr.png", Some(1)),
            Anchor::File,
            "binary"
        );

        let diff = parsed("gson_mode_only_multi");
        let mode_only = "gson/src/main/java/com/google/gson/JsonNull.java";
        assert_eq!(
            anchor_line(&diff, mode_only, Some(1)),
            Anchor::File,
            "mode only"
        );

        let diff = parsed("ex_copy_exact");
        assert_eq!(
            anchor_line(&diff, "Collaborator-Guide.md", Some(3)),
            Anchor::File
        );
    }

    #[test]
    fn anchor_for_a_file_not_in_the_diff_is_the_summary() {
        let diff = parsed("rg_nonutf8_text");
        assert_eq!(anchor_line(&diff, "src/main.rs", Some(1)), Anchor::Summary);
        assert_eq!(anchor_line(&diff, "src/main.rs", None), Anchor::Summary);
        // A renamed file is known by its new path only.
        let diff = parsed("req_rename_edit_nonl");
        assert_eq!(anchor_line(&diff, "AUTHORS", Some(1)), Anchor::Summary);
        assert_ne!(anchor_line(&diff, "AUTHORS.rst", None), Anchor::Summary);
    }

    #[test]
    fn anchor_on_a_removed_line_moves_to_the_nearest_new_line_of_its_hunk() {
        // decompress.rs hunk 2 (-367,15 +369,14), rows: ' '(367|369) ' '(368|370)
        // ' '(369|371) '-'(370) ' '(371|372) ' '(372|373) '-'(373) …
        let diff = parsed("rg_nonutf8_text");
        let f = diff.file("grep-cli/src/decompress.rs").unwrap();
        assert_eq!(
            anchor_in_file(f, Side::Old, 370),
            line(371),
            "tie: earlier row wins"
        );
        assert_eq!(
            anchor_in_file(f, Side::Old, 369),
            line(371),
            "old context maps across"
        );
        assert_eq!(
            anchor_in_file(f, Side::Old, 360),
            Anchor::File,
            "old line in no hunk"
        );
    }

    #[test]
    fn anchor_prefers_the_nearer_row_over_the_earlier_one() {
        let input = b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,4 +1,2 @@\n a\n-b\n-c\n-d\n+e\n";
        let diff = parse_diff(input).unwrap();
        let f = &diff.files[0];
        // Rows: ' '(1|1) '-'(2) '-'(3) '-'(4) '+'(|2).
        assert_eq!(anchor_in_file(f, Side::Old, 2), line(1));
        assert_eq!(
            anchor_in_file(f, Side::Old, 3),
            line(1),
            "tie between rows 0 and 4"
        );
        assert_eq!(anchor_in_file(f, Side::Old, 4), line(2));
        assert_eq!(anchor_in_file(f, Side::New, 3), Anchor::File);
    }

    #[test]
    fn anchor_kinds_map_to_the_store_vocabulary() {
        assert_eq!(feedback::Anchor::from(line(3)), feedback::Anchor::Line);
        assert_eq!(feedback::Anchor::from(Anchor::File), feedback::Anchor::File);
        assert_eq!(
            feedback::Anchor::from(Anchor::Summary),
            feedback::Anchor::Summary
        );
    }
}
