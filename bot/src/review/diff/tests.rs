//! Unit tests for the diff parser: each edge case on a small hand-written input, malformed
//! inputs, and a deterministic mutation test over the fixtures.

use super::fixtures::{case_names, read_diff};
use super::*;

fn parse(input: &str) -> Diff {
    parse_diff(input.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{input}"))
}

fn one(input: &str) -> FileDiff {
    let mut diff = parse(input);
    assert_eq!(diff.files.len(), 1, "{input}");
    diff.files.remove(0)
}

fn err(input: &[u8]) -> DiffError {
    match parse_diff(input) {
        Ok(diff) => panic!("expected an error, parsed {diff:?}"),
        Err(e) => e,
    }
}

fn paths(f: &FileDiff) -> (Option<String>, Option<String>) {
    (
        f.old_path_str().map(String::from),
        f.new_path_str().map(String::from),
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// Line numbers and hunk counts agree, on every hunk of every file.
fn assert_consistent(diff: &Diff) {
    for f in &diff.files {
        match f.status {
            FileStatus::Added => assert!(f.old_path.is_none() && f.new_path.is_some()),
            FileStatus::Deleted => assert!(f.old_path.is_some() && f.new_path.is_none()),
            _ => assert!(f.old_path.is_some() && f.new_path.is_some()),
        }
        for h in &f.hunks {
            let mut old = h.old_start;
            let mut new = h.new_start;
            let (mut old_count, mut new_count) = (0u32, 0u32);
            for l in &h.lines {
                match l.kind {
                    LineKind::Context => {
                        assert_eq!((l.old_line, l.new_line), (Some(old), Some(new)));
                        old += 1;
                        new += 1;
                        old_count += 1;
                        new_count += 1;
                    }
                    LineKind::Removed => {
                        assert_eq!((l.old_line, l.new_line), (Some(old), None));
                        old += 1;
                        old_count += 1;
                    }
                    LineKind::Added => {
                        assert_eq!((l.old_line, l.new_line), (None, Some(new)));
                        new += 1;
                        new_count += 1;
                    }
                }
            }
            assert_eq!((old_count, new_count), (h.old_lines, h.new_lines));
        }
    }
}

// ---- statuses -------------------------------------------------------------------------

#[test]
fn parse_diff_modified_file_tracks_both_line_numbers() {
    let f = one("diff --git a/src/lib.rs b/src/lib.rs\n\
        index 1111111..2222222 100644\n\
        --- a/src/lib.rs\n\
        +++ b/src/lib.rs\n\
        @@ -10,4 +10,5 @@ fn main() {\n \
        a\n\
        -b\n\
        +B\n\
        +C\n \
        d\n \
        e\n");
    assert_eq!(f.status, FileStatus::Modified);
    assert_eq!(paths(&f), (s("src/lib.rs"), s("src/lib.rs")));
    assert_eq!(
        (f.old_mode, f.new_mode),
        (Some(FileMode(0o100644)), Some(FileMode(0o100644)))
    );
    assert_eq!(
        (f.old_oid.as_deref(), f.new_oid.as_deref()),
        (Some("1111111"), Some("2222222"))
    );
    let h = &f.hunks[0];
    assert_eq!(
        (h.old_start, h.old_lines, h.new_start, h.new_lines),
        (10, 4, 10, 5)
    );
    assert_eq!(h.section, b"fn main() {");
    assert_eq!(h.header, b"@@ -10,4 +10,5 @@ fn main() {");
    let numbered: Vec<_> = h
        .lines
        .iter()
        .map(|l| (l.kind, l.old_line, l.new_line))
        .collect();
    use LineKind::*;
    assert_eq!(
        numbered,
        [
            (Context, Some(10), Some(10)),
            (Removed, Some(11), None),
            (Added, None, Some(11)),
            (Added, None, Some(12)),
            (Context, Some(12), Some(13)),
            (Context, Some(13), Some(14)),
        ]
    );
    assert_eq!(h.lines[2].content_str(), "B");
    assert_eq!((f.additions(), f.deletions()), (2, 1));
    assert_eq!(h.new_range(), 10..15);
    assert_eq!(h.old_range(), 10..14);
}

#[test]
fn parse_diff_added_and_deleted_files_have_one_path() {
    let diff = parse(
        "diff --git a/new.txt b/new.txt\n\
        new file mode 100755\n\
        index 0000000..e69de29\n\
        --- /dev/null\n\
        +++ b/new.txt\n\
        @@ -0,0 +1,2 @@\n\
        +one\n\
        +two\n\
        diff --git a/old.txt b/old.txt\n\
        deleted file mode 100644\n\
        index e69de29..0000000\n\
        --- a/old.txt\n\
        +++ /dev/null\n\
        @@ -1 +0,0 @@\n\
        -gone\n",
    );
    let [added, deleted] = &diff.files[..] else {
        panic!("two files")
    };
    assert_eq!(added.status, FileStatus::Added);
    assert_eq!(paths(added), (None, s("new.txt")));
    assert_eq!(
        (added.old_mode, added.new_mode),
        (None, Some(FileMode(0o100755)))
    );
    assert!(added.new_mode.unwrap().is_executable());
    assert_eq!(added.old_oid, None, "all-zero id means no old side");
    assert_eq!(added.hunks[0].lines[1].new_line, Some(2));
    assert_eq!(deleted.status, FileStatus::Deleted);
    assert_eq!(paths(deleted), (s("old.txt"), None));
    assert_eq!(
        (deleted.old_mode, deleted.new_mode),
        (Some(FileMode(0o100644)), None)
    );
    assert_eq!(deleted.hunks[0].old_lines, 1, "count defaults to 1");
    assert_eq!(
        deleted.path(),
        "old.txt",
        "path() falls back to the old path"
    );
    assert_consistent(&diff);
}

#[test]
fn parse_diff_empty_new_and_deleted_files_have_no_hunks() {
    let diff = parse(
        "diff --git a/empty b/empty\n\
        new file mode 100644\n\
        index 0000000..e69de29\n\
        diff --git a/gone b/gone\n\
        deleted file mode 100644\n\
        index e69de29..0000000\n",
    );
    assert_eq!(diff.files.len(), 2);
    assert_eq!(
        (diff.files[0].status, paths(&diff.files[0])),
        (FileStatus::Added, (None, s("empty")))
    );
    assert_eq!(
        (diff.files[1].status, paths(&diff.files[1])),
        (FileStatus::Deleted, (s("gone"), None))
    );
    assert!(diff.files.iter().all(|f| f.hunks.is_empty() && !f.binary));
}

#[test]
fn parse_diff_renames_and_copies_with_and_without_edits() {
    let diff = parse(
        "diff --git a/old name.md b/new name.md\n\
        similarity index 100%\n\
        rename from old name.md\n\
        rename to new name.md\n\
        diff --git a/a.rs b/b.rs\n\
        similarity index 87%\n\
        copy from a.rs\n\
        copy to b.rs\n\
        index 1234567..89abcde 100644\n\
        --- a/a.rs\n\
        +++ b/b.rs\n\
        @@ -1 +1 @@\n\
        -x\n\
        +y\n",
    );
    let [rename, copy] = &diff.files[..] else {
        panic!("two files")
    };
    assert_eq!(rename.status, FileStatus::Renamed);
    assert_eq!(rename.similarity, Some(100));
    assert_eq!(
        paths(rename),
        (s("old name.md"), s("new name.md")),
        "rename headers win"
    );
    assert_eq!((rename.old_mode, rename.hunks.len()), (None, 0));
    assert_eq!(copy.status, FileStatus::Copied);
    assert_eq!(copy.similarity, Some(87));
    assert_eq!(paths(copy), (s("a.rs"), s("b.rs")));
    assert_eq!(copy.status.github_name(), "copied");
    assert_eq!(FileStatus::Deleted.github_name(), "removed");
}

#[test]
fn parse_diff_mode_only_change_has_modes_and_no_hunks() {
    let f = one("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n");
    assert_eq!(f.status, FileStatus::Modified);
    assert_eq!(
        (f.old_mode, f.new_mode),
        (Some(FileMode(0o100644)), Some(FileMode(0o100755)))
    );
    assert!(f.mode_changed());
    assert!(f.hunks.is_empty());
    assert_eq!(FileMode(0o100755).to_string(), "100755");
}

#[test]
fn parse_diff_symlink_and_submodule() {
    let diff = parse(
        "diff --git a/link b/link\n\
        new file mode 120000\n\
        index 0000000..1ffaf04\n\
        --- /dev/null\n\
        +++ b/link\n\
        @@ -0,0 +1 @@\n\
        +target/dir\n\
        \\ No newline at end of file\n\
        diff --git a/vendor/lib b/vendor/lib\n\
        index af32d82..7681673 160000\n\
        --- a/vendor/lib\n\
        +++ b/vendor/lib\n\
        @@ -1 +1 @@\n\
        -Subproject commit af32d828a3075894ae40a8d79edfde30e56bf3cb\n\
        +Subproject commit 76816734b80f4b5d765d53a1c1f535e00757b863\n",
    );
    let [link, sub] = &diff.files[..] else {
        panic!("two files")
    };
    assert!(link.is_symlink() && !link.is_submodule());
    assert!(link.hunks[0].lines[0].no_newline_at_eof);
    assert!(link.new_missing_newline_at_eof());
    assert!(sub.is_submodule() && !sub.is_symlink());
    assert_eq!((sub.additions(), sub.deletions()), (1, 1));
    assert!(
        sub.hunks[0].lines[1]
            .content
            .starts_with(b"Subproject commit 7681")
    );
}

#[test]
fn parse_diff_binary_files_both_forms() {
    let diff = parse(
        "diff --git a/img.png b/img.png\n\
        new file mode 100644\n\
        index 0000000..b18d76b\n\
        Binary files /dev/null and b/img.png differ\n\
        diff --git a/blob.bin b/blob.bin\n\
        index 1111111..2222222 100644\n\
        GIT binary patch\n\
        literal 12\n\
        TcmZ?wbhEHbRA5kGU|<0N0W$yq\n\
        \n\
        literal 4\n\
        LcmZ?wbhEG~\n\
        \n\
        diff --git a/x b/x\n\
        --- a/x\n\
        +++ b/x\n\
        @@ -1 +1 @@\n\
        -a\n\
        +b\n",
    );
    let [png, blob, x] = &diff.files[..] else {
        panic!("three files")
    };
    assert!(png.binary && png.hunks.is_empty());
    assert_eq!(
        (png.status, paths(png)),
        (FileStatus::Added, (None, s("img.png")))
    );
    assert!(blob.binary && blob.hunks.is_empty());
    assert_eq!(blob.status, FileStatus::Modified);
    assert!(!x.binary && x.hunks.len() == 1);
    assert!(
        diff.skipped.is_empty(),
        "binary patch data is not 'skipped'"
    );
}

// ---- line content ----------------------------------------------------------------------

#[test]
fn parse_diff_no_newline_marker_on_either_side() {
    let f = one("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n \
        a\n\
        -b\n\
        \\ No newline at end of file\n\
        +b\n");
    let lines = &f.hunks[0].lines;
    assert!(lines[1].no_newline_at_eof && !lines[2].no_newline_at_eof);
    assert!(f.old_missing_newline_at_eof() && !f.new_missing_newline_at_eof());

    let f = one("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n\
        -b\n\
        \\ No newline at end of file\n\
        +b\n\
        \\ No newline at end of file\n");
    assert!(f.hunks[0].lines.iter().all(|l| l.no_newline_at_eof));
    assert!(f.old_missing_newline_at_eof() && f.new_missing_newline_at_eof());
}

#[test]
fn parse_diff_keeps_crlf_lone_cr_and_non_utf8_bytes() {
    let input = b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-crlf\r\n-lone\rcr\n+caf\xe9\n+\r\n";
    let diff = parse_diff(input).unwrap();
    let lines = &diff.files[0].hunks[0].lines;
    assert_eq!(lines[0].content, b"crlf\r");
    assert_eq!(
        lines[1].content, b"lone\rcr",
        "a lone CR does not end a line"
    );
    assert_eq!(lines[2].content, b"caf\xe9", "non-UTF-8 kept");
    assert_eq!(lines[2].content_str(), "caf\u{fffd}");
    assert_eq!(lines[3].content, b"\r");
}

#[test]
fn parse_diff_empty_body_line_is_empty_context() {
    // Editors and mailers strip the lone space of an empty context line; git apply accepts it.
    let f = one("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-c\n+C\n");
    let l = &f.hunks[0].lines[1];
    assert_eq!(
        (l.kind, l.content.len(), l.new_line),
        (LineKind::Context, 0, Some(2))
    );
}

// ---- paths -----------------------------------------------------------------------------

#[test]
fn parse_diff_quoted_paths_decode_c_escapes() {
    let f = one(
        "diff --git \"a/\\303\\244 \\\"q\\\" \\\\ \\t.txt\" \"b/\\303\\244 \\\"q\\\" \\\\ \\t.txt\"\n\
        new file mode 100644\n\
        index 0000000..e69de29\n",
    );
    assert_eq!(f.new_path.as_deref(), Some("ä \"q\" \\ \t.txt".as_bytes()));

    let f = one("diff --git \"a/\\001\\177\\377\" \"b/\\001\\177\\377\"\nnew file mode 100644\n");
    assert_eq!(
        f.new_path.as_deref(),
        Some(&b"\x01\x7f\xff"[..]),
        "octal to raw bytes"
    );
}

#[test]
fn parse_diff_unquoted_then_quoted_names() {
    let f = one(
        "diff --git a/plain \"b/\\303\\244\"\nsimilarity index 100%\nrename from plain\nrename to \"\\303\\244\"\n",
    );
    assert_eq!(paths(&f), (s("plain"), s("ä")));
    let f = one("diff --git a/plain \"b/\\303\\244\"\nold mode 100644\nnew mode 100755\n");
    assert_eq!(
        paths(&f),
        (s("plain"), s("ä")),
        "names from the diff --git line"
    );
}

#[test]
fn parse_diff_path_with_space_strips_git_trailing_tab() {
    let f = one("diff --git a/my file.txt b/my file.txt\n\
        index 1111111..2222222 100644\n\
        --- a/my file.txt\t\n\
        +++ b/my file.txt\t\n\
        @@ -1 +1 @@\n\
        -a\n\
        +b\n");
    assert_eq!(paths(&f), (s("my file.txt"), s("my file.txt")));

    // Quoted and with a space: git still appends the TAB after the closing quote.
    let f = one("diff --git \"a/sp \\303\\244\" \"b/sp \\303\\244\"\n\
        deleted file mode 100644\n\
        --- \"a/sp \\303\\244\"\t\n\
        +++ /dev/null\n\
        @@ -1 +0,0 @@\n\
        -x\n");
    assert_eq!(paths(&f), (s("sp ä"), None));
}

#[test]
fn parse_diff_git_line_names_with_spaces_split_where_both_sides_match() {
    // No other header names the file: the equal-halves split of `diff --git` decides.
    let f = one("diff --git a/a b/c d b/a b/c d\nold mode 100644\nnew mode 100755\n");
    assert_eq!(paths(&f), (s("a b/c d"), s("a b/c d")));
    let f = one(
        "diff --git a/x y.png b/x y.png\nnew file mode 100644\nindex 0000000..1234567\nBinary files /dev/null and b/x y.png differ\n",
    );
    assert_eq!(paths(&f), (None, s("x y.png")));
}

#[test]
fn parse_diff_rename_with_spaces_uses_rename_headers() {
    // `a/x b/y b/z` is ambiguous on its own.
    let f = one("diff --git a/x b/y b/z\nsimilarity index 100%\nrename from x b/y\nrename to z\n");
    assert_eq!(paths(&f), (s("x b/y"), s("z")));
    // Without any other header the names stay unknown, which is an error.
    let e = err(b"diff --git a/x b/y b/z\nold mode 100644\nnew mode 100755\n");
    assert_eq!(
        (e.line, e.kind),
        (1, DiffErrorKind::MissingPath { side: Side::Old })
    );
}

#[test]
fn parse_diff_headers_saved_with_crlf_line_ends() {
    let input = "diff --git a/f b/f\r\nindex 1111111..2222222 100644\r\n--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@ sec\r\n-a\r\n+b\r\n";
    let f = one(input);
    assert_eq!(paths(&f), (s("f"), s("f")));
    assert_eq!(f.new_mode, Some(FileMode(0o100644)));
    assert_eq!(f.hunks[0].section, b"sec");
    assert_eq!(f.hunks[0].lines[1].content, b"b\r", "body CR stays content");
}

// ---- outside the git format ------------------------------------------------------------

#[test]
fn parse_diff_skips_and_records_format_patch_preamble_and_signature() {
    let diff = parse(
        "From 1234 Mon Sep 17 00:00:00 2001\n\
        Subject: [PATCH] fix\n\
        \n\
        ---\n \
        f | 2 +-\n\
        \n\
        diff --git a/f b/f\n\
        index 1111111..2222222 100644\n\
        --- a/f\n\
        +++ b/f\n\
        @@ -1 +1 @@\n\
        -a\n\
        +b\n\
        -- \n\
        2.47.3\n\
        \n",
    );
    assert_eq!(diff.files.len(), 1);
    let skipped: Vec<usize> = diff.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, [1, 2, 3, 4, 5, 6, 14, 15, 16]);
    assert_eq!(diff.skipped[1].text, b"Subject: [PATCH] fix");
}

#[test]
fn parse_diff_unknown_extended_header_is_skipped_and_recorded() {
    let diff =
        parse("diff --git a/f b/f\nfuture header 42\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n");
    assert_eq!(diff.files.len(), 1);
    assert_eq!(
        diff.skipped,
        [SkippedLine {
            line: 2,
            text: b"future header 42".to_vec()
        }]
    );
}

#[test]
fn parse_diff_plain_unified_diff() {
    let diff = parse(
        "diff -ru a/x.c b/x.c\n\
        --- a/x.c\t2024-01-01 10:00:00.000000000 +0000\n\
        +++ b/x.c\t2024-01-02 10:00:00.000000000 +0000\n\
        @@ -1 +1 @@\n\
        -a\n\
        +b\n\
        --- /dev/null\n\
        +++ b/y.c\n\
        @@ -0,0 +1 @@\n\
        +new\n",
    );
    let [x, y] = &diff.files[..] else {
        panic!("two files")
    };
    assert_eq!(
        (x.status, paths(x)),
        (FileStatus::Modified, (s("x.c"), s("x.c")))
    );
    assert_eq!((y.status, paths(y)), (FileStatus::Added, (None, s("y.c"))));
    assert_eq!(diff.skipped.len(), 1, "the `diff -ru` line");
}

#[test]
fn parse_diff_empty_input_is_an_empty_diff() {
    assert_eq!(parse_diff(b"").unwrap(), Diff::default());
}

// ---- the files API's patch field -------------------------------------------------------

#[test]
fn parse_patch_reads_hunks_without_a_final_newline() {
    let hunks = parse_patch(b"@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -10 +10,2 @@ fn x\n x\n+y").unwrap();
    assert_eq!(hunks.len(), 2);
    assert_eq!(
        (hunks[1].position, hunks[1].section.as_slice()),
        (4, &b"fn x"[..])
    );
    assert_eq!(hunks[1].lines[1].content, b"y");
    assert_eq!(hunks[1].lines[1].new_line, Some(11));
    assert!(parse_patch(b"").unwrap().is_empty());
}

#[test]
fn parse_patch_rejects_leading_text_and_overlong_hunks() {
    let e = parse_patch(b"diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b").unwrap_err();
    assert_eq!((e.line, e.kind), (1, DiffErrorKind::ExpectedHunkHeader));
    let e = parse_patch(b"@@ -1 +1 @@\n-a\n+b\n+c").unwrap_err();
    let overflow = DiffErrorKind::HunkOverflow {
        header_line: 1,
        side: Side::New,
    };
    assert_eq!((e.line, e.kind), (4, overflow));
    let e = parse_patch(b"@@ -1 +1 @@\n-a\n+b\ntrailing").unwrap_err();
    assert_eq!((e.line, e.kind), (4, DiffErrorKind::ExpectedHunkHeader));
}

// ---- malformed input -------------------------------------------------------------------

const HEAD: &str = "diff --git a/f b/f\n--- a/f\n+++ b/f\n";

fn err_after_head(rest: &str) -> DiffError {
    err(format!("{HEAD}{rest}").as_bytes())
}

#[test]
fn parse_diff_truncated_hunk_names_its_header_and_the_end() {
    let e = err_after_head("@@ -1,3 +1,3 @@\n a\n b\n");
    let kind = DiffErrorKind::HunkTruncated {
        header_line: 4,
        old_missing: 1,
        new_missing: 1,
    };
    assert_eq!((e.line, e.kind.clone()), (7, kind));
    assert_eq!(e.offset, HEAD.len() + "@@ -1,3 +1,3 @@\n a\n b\n".len());
    assert_eq!(
        e.to_string(),
        format!(
            "diff line 7 (byte {}): hunk at line 4 ends early: 1 old and 1 new lines missing",
            e.offset
        )
    );

    // Cut short by the next file's header.
    let e = err_after_head("@@ -1,3 +1,3 @@\n a\ndiff --git a/g b/g\n");
    assert_eq!(e.line, 6);
    assert!(matches!(
        e.kind,
        DiffErrorKind::HunkTruncated {
            old_missing: 2,
            new_missing: 2,
            ..
        }
    ));
}

#[test]
fn parse_diff_hunk_longer_than_its_header_is_an_error() {
    let e = err_after_head("@@ -1 +1 @@\n-a\n+b\n+c\n");
    assert_eq!(
        (e.line, e.kind),
        (
            7,
            DiffErrorKind::HunkOverflow {
                header_line: 4,
                side: Side::New
            }
        )
    );
    let e = err_after_head("@@ -1 +1,2 @@\n-a\n-b\n+c\n+d\n");
    assert_eq!(
        (e.line, e.kind),
        (
            6,
            DiffErrorKind::HunkOverflow {
                header_line: 4,
                side: Side::Old
            }
        )
    );
    let e = err_after_head("@@ -1,2 +1 @@\n a\n b\n");
    assert_eq!(
        (e.line, e.kind),
        (
            6,
            DiffErrorKind::HunkOverflow {
                header_line: 4,
                side: Side::New
            }
        )
    );
}

#[test]
fn parse_diff_garbage_hunk_headers_are_errors() {
    for header in [
        "@@ garbage @@",
        "@@ -1 +1",
        "@@ -a,1 +1 @@",
        "@@ -1, +1 @@",
        "@@ -1,1 1 @@",
        "@@@ -1 +1 @@",
        "@@ -0,1 +1 @@",
        "@@ -1 +4294967296 @@",
        "@@ -1 +1,4294967296 @@",
        "@@ -4294967295,2 +1 @@",
    ] {
        let e = err_after_head(&format!("{header}\n-a\n+b\n"));
        assert_eq!(
            (e.line, e.kind),
            (4, DiffErrorKind::BadHunkHeader),
            "{header}"
        );
    }
    // The largest valid range parses (and is then truncated, not allocated).
    let e = err_after_head("@@ -1,4294967295 +4294967295 @@\n-a\n");
    assert!(matches!(
        e.kind,
        DiffErrorKind::HunkTruncated {
            old_missing: 4294967294,
            new_missing: 1,
            ..
        }
    ));
}

#[test]
fn parse_diff_bad_quoted_paths_are_errors() {
    for line in [
        "diff --git \"a/unterminated b/x",
        "diff --git \"a/bad\\q\" \"b/bad\\q\"",
        "diff --git \"a/\\4000\" \"b/x\"",
        "diff --git \"a/x\"\"b/x\"",
        "diff --git a/x \"b/x",
    ] {
        let e = err(format!("{line}\nnew file mode 100644\n").as_bytes());
        assert_eq!(
            (e.line, e.kind),
            (1, DiffErrorKind::BadQuotedPath),
            "{line}"
        );
    }
    let e = err(b"diff --git a/x b/x\n--- \"a/x\n+++ b/x\n");
    assert_eq!((e.line, e.kind), (2, DiffErrorKind::BadQuotedPath));
}

#[test]
fn parse_diff_malformed_known_headers_are_errors() {
    let cases: [(&str, DiffErrorKind); 6] = [
        ("old mode 10064x\n", DiffErrorKind::BadMode),
        ("new file mode \n", DiffErrorKind::BadMode),
        ("similarity index 101%\n", DiffErrorKind::BadSimilarity),
        ("similarity index 50\n", DiffErrorKind::BadSimilarity),
        ("index zz..11\n", DiffErrorKind::BadIndexLine),
        (
            "index 1111111..2222222 10x644\n",
            DiffErrorKind::BadIndexLine,
        ),
    ];
    for (header, kind) in cases {
        let e = err(format!("diff --git a/f b/f\n{header}").as_bytes());
        assert_eq!((e.line, e.kind), (2, kind), "{header}");
    }
}

#[test]
fn parse_diff_structural_errors() {
    let e = err(b"@@ -1 +1 @@\n-a\n+b\n");
    assert_eq!((e.line, e.kind), (1, DiffErrorKind::HunkOutsideFile));
    let e = err_after_head("@@ -0,0 +1 @@\n\\ No newline at end of file\n+a\n");
    assert_eq!((e.line, e.kind), (5, DiffErrorKind::OrphanNoNewlineMarker));
    let e = err(b"diff --cc f\nindex 1,2..3\n@@@ -1 -1 +1 @@@\n");
    assert_eq!((e.line, e.kind), (1, DiffErrorKind::CombinedDiff));
    let e = err_after_head("@@ -1 +1 @@\n?a\n");
    assert!(
        matches!(e.kind, DiffErrorKind::HunkTruncated { .. }),
        "unknown body prefix"
    );
}

// ---- robustness ------------------------------------------------------------------------

/// xorshift64*: a deterministic generator, so any failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn parse_diff_mutated_fixtures_never_panic_and_stay_consistent() {
    // Each fixture, cut to 4 KiB around a random point and mutated at a few random bytes
    // with bytes that matter to the grammar; both parsers must return, and what parses must
    // have consistent line numbers.
    const ALPHABET: &[u8] = b"\n\r\t \"\\@+-,0123456789abd/ \xff";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0usize;
    for case in case_names() {
        let full = read_diff(&case);
        for _ in 0..150 {
            let start = rng.below(full.len());
            let end = (start + 1 + rng.below(4096)).min(full.len());
            let mut input = full[start..end].to_vec();
            for _ in 0..rng.below(4) {
                let at = rng.below(input.len());
                input[at] = ALPHABET[rng.below(ALPHABET.len())];
            }
            if let Ok(diff) = parse_diff(&input) {
                assert_consistent(&diff);
                parsed += 1;
            }
            if let Ok(hunks) = parse_patch(&input) {
                assert_consistent(&Diff {
                    files: vec![FileDiff {
                        old_path: Some(Vec::new()),
                        new_path: Some(Vec::new()),
                        status: FileStatus::Modified,
                        similarity: None,
                        old_mode: None,
                        new_mode: None,
                        old_oid: None,
                        new_oid: None,
                        binary: false,
                        hunks,
                        header_line: 0,
                    }],
                    skipped: Vec::new(),
                });
            }
        }
    }
    assert!(parsed > 100, "some mutants still parse ({parsed})");
}

#[test]
fn parse_diff_random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let len = rng.below(512);
        let input: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => b"\n@+- \\\""[rng.below(7)],
                _ => rng.next() as u8,
            })
            .collect();
        let _ = parse_diff(&input);
        let _ = parse_patch(&input);
    }
}

#[test]
fn find_newline_matches_a_plain_search() {
    let mut rng = Rng(7);
    for _ in 0..5000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| [b'\n', b'\x0b', b'\x8a', b'a', 0x0a ^ 0x80][rng.below(5)])
            .collect();
        let want = bytes.iter().position(|&b| b == b'\n');
        assert_eq!(super::parse::find_newline(&bytes), want, "{bytes:?}");
    }
}

#[test]
fn parse_patch_hunk_header_as_last_line_without_newline_is_truncated_not_a_panic() {
    // Regression (found by the mutation test): the cursor stepped one byte past the end of an
    // input whose last line has no `\n`, and the capacity estimate then underflowed.
    let e = parse_patch(b"@@ -1 +1 @@").unwrap_err();
    let kind = DiffErrorKind::HunkTruncated {
        header_line: 1,
        old_missing: 1,
        new_missing: 1,
    };
    assert_eq!((e.line, e.offset, e.kind), (2, 11, kind));
    let e = err(b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@");
    assert!(matches!(e.kind, DiffErrorKind::HunkTruncated { .. }));
}
