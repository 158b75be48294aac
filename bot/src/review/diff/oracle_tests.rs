//! The 22 real diffs of `tests/fixtures/diffs` checked against their git-made oracles, and
//! each GitHub-style `patch` of `<case>.files.json` parsed on its own against the same oracle.

use serde_json::Value;

use super::fixtures::{case_names, oracle, parsed, read_diff, read_json};
use super::*;

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array of line numbers")
        .iter()
        .map(|n| u32::try_from(n.as_u64().expect("number")).expect("fits u32"))
        .collect()
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

fn status_word(status: FileStatus) -> &'static str {
    match status {
        FileStatus::Added => "added",
        FileStatus::Deleted => "deleted",
        FileStatus::Modified => "modified",
        FileStatus::Renamed => "renamed",
        FileStatus::Copied => "copied",
    }
}

/// The oracle's `kinds` string of a hunk rebuilt from parsed lines: one character per body
/// line, `\` for a marker.
fn kinds(hunk: &Hunk) -> String {
    let mut s = String::new();
    for line in &hunk.lines {
        s.push(match line.kind {
            LineKind::Added => '+',
            LineKind::Removed => '-',
            LineKind::Context => ' ',
        });
        if line.no_newline_at_eof {
            s.push('\\');
        }
    }
    s
}

/// Line-number sets of some hunks: added (new), context (new), deleted (old), context (old).
fn line_sets(hunks: &[Hunk]) -> [Vec<u32>; 4] {
    let mut sets: [Vec<u32>; 4] = Default::default();
    for line in hunks.iter().flat_map(|h| &h.lines) {
        match line.kind {
            LineKind::Added => sets[0].extend(line.new_line),
            LineKind::Context => {
                sets[1].extend(line.new_line);
                sets[3].extend(line.old_line);
            }
            LineKind::Removed => sets[2].extend(line.old_line),
        }
    }
    sets
}

/// Checks hunks (from the `.diff` or from a `patch`) against one oracle file: every hunk
/// field the oracle has, and the four line sets.
fn check_hunks(ctx: &str, hunks: &[Hunk], of: &Value) {
    let ohunks = of["hunks"].as_array().expect("hunks");
    assert_eq!(hunks.len(), ohunks.len(), "{ctx}: hunk count");
    for (i, (h, oh)) in hunks.iter().zip(ohunks).enumerate() {
        let ctx = format!("{ctx} hunk {i}");
        assert_eq!(
            h.old_start,
            oh["old_start"].as_u64().unwrap() as u32,
            "{ctx}: old_start"
        );
        assert_eq!(
            h.old_lines,
            oh["old_lines"].as_u64().unwrap() as u32,
            "{ctx}: old_lines"
        );
        assert_eq!(
            h.new_start,
            oh["new_start"].as_u64().unwrap() as u32,
            "{ctx}: new_start"
        );
        assert_eq!(
            h.new_lines,
            oh["new_lines"].as_u64().unwrap() as u32,
            "{ctx}: new_lines"
        );
        assert_eq!(
            h.section_str(),
            oh["section"].as_str().unwrap(),
            "{ctx}: section"
        );
        assert_eq!(
            u64::from(h.position),
            oh["position"].as_u64().unwrap(),
            "{ctx}: position"
        );
        assert_eq!(kinds(h), oh["kinds"].as_str().unwrap(), "{ctx}: kinds");
        assert!(h.header.starts_with(b"@@ -"), "{ctx}: raw header kept");
    }
    let [added, context, deleted, old_context] = line_sets(hunks);
    assert_eq!(added, u32s(&of["added_lines"]), "{ctx}: added_lines");
    assert_eq!(context, u32s(&of["context_lines"]), "{ctx}: context_lines");
    assert_eq!(deleted, u32s(&of["deleted_lines"]), "{ctx}: deleted_lines");
    assert_eq!(
        old_context,
        u32s(&of["old_context_lines"]),
        "{ctx}: old_context_lines"
    );
}

fn hunks_are_utf8(hunks: &[Hunk]) -> bool {
    hunks.iter().all(|h| {
        std::str::from_utf8(&h.header).is_ok()
            && h.lines
                .iter()
                .all(|l| std::str::from_utf8(&l.content).is_ok())
    })
}

/// Checks one parsed file against its oracle entry, field by field.
fn check_file(ctx: &str, f: &FileDiff, of: &Value) {
    let path = |p: &Option<Vec<u8>>| p.as_deref().map(|b| String::from_utf8(b.to_vec()).unwrap());
    assert_eq!(
        path(&f.old_path).as_deref(),
        opt_str(&of["old_path"]),
        "{ctx}: old_path"
    );
    assert_eq!(
        path(&f.new_path).as_deref(),
        opt_str(&of["new_path"]),
        "{ctx}: new_path"
    );
    assert_eq!(status_word(f.status), of["status"], "{ctx}: status");
    assert_eq!(
        f.similarity.map(u64::from),
        of["similarity"].as_u64(),
        "{ctx}: similarity"
    );

    // Modes: the diff shows them except for a 100% rename or copy (no mode or index line;
    // both modes are then equal and unknown to the diff).
    let pure_move = matches!(f.status, FileStatus::Renamed | FileStatus::Copied)
        && f.similarity == Some(100)
        && f.hunks.is_empty();
    for (side, ours, theirs) in [
        ("old_mode", f.old_mode, &of["old_mode"]),
        ("new_mode", f.new_mode, &of["new_mode"]),
    ] {
        match ours {
            Some(m) => assert_eq!(m.to_string(), theirs.as_str().unwrap(), "{ctx}: {side}"),
            None => assert!(
                theirs.is_null() || (pure_move && of["old_mode"] == of["new_mode"]),
                "{ctx}: {side} missing, oracle {theirs}"
            ),
        }
    }
    assert_eq!(f.mode_changed(), of["mode_changed"], "{ctx}: mode_changed");

    // Blob ids: the diff prints abbreviations (and none for pure moves and mode-only
    // changes, where the content is unchanged).
    for (side, ours, theirs) in [
        ("old_oid", &f.old_oid, &of["old_oid"]),
        ("new_oid", &f.new_oid, &of["new_oid"]),
    ] {
        match ours {
            Some(abbrev) => {
                assert!(abbrev.len() >= 7, "{ctx}: {side} abbreviation {abbrev}");
                assert!(
                    theirs.as_str().unwrap().starts_with(abbrev.as_str()),
                    "{ctx}: {side} {abbrev} vs {theirs}"
                );
            }
            None => assert!(
                theirs.is_null() || of["old_oid"] == of["new_oid"],
                "{ctx}: {side} missing, oracle {theirs}"
            ),
        }
    }

    assert_eq!(f.binary, of["is_binary"], "{ctx}: is_binary");
    assert_eq!(f.is_symlink(), of["is_symlink"], "{ctx}: is_symlink");
    assert_eq!(f.is_submodule(), of["is_submodule"], "{ctx}: is_submodule");
    assert_eq!(
        f.additions() as u64,
        of["additions"].as_u64().unwrap(),
        "{ctx}: additions"
    );
    assert_eq!(
        f.deletions() as u64,
        of["deletions"].as_u64().unwrap(),
        "{ctx}: deletions"
    );
    if f.binary {
        assert_eq!(
            of["numstat"],
            serde_json::json!(["-", "-"]),
            "{ctx}: numstat"
        );
    } else {
        let numstat = [f.additions().to_string(), f.deletions().to_string()];
        assert_eq!(of["numstat"], serde_json::json!(numstat), "{ctx}: numstat");
    }

    // A missing final newline shown in the diff must be real; for added and deleted files
    // (one hunk covering the whole blob) the diff shows every such case.
    let old_nl = of["old_missing_newline_at_eof"].as_bool().unwrap();
    let new_nl = of["new_missing_newline_at_eof"].as_bool().unwrap();
    assert!(
        !f.old_missing_newline_at_eof() || old_nl,
        "{ctx}: old newline"
    );
    assert!(
        !f.new_missing_newline_at_eof() || new_nl,
        "{ctx}: new newline"
    );
    match f.status {
        FileStatus::Added => assert_eq!(f.new_missing_newline_at_eof(), new_nl, "{ctx}"),
        FileStatus::Deleted => assert_eq!(f.old_missing_newline_at_eof(), old_nl, "{ctx}"),
        _ => {}
    }

    check_hunks(ctx, &f.hunks, of);
    let utf8 = (!f.hunks.is_empty()).then(|| hunks_are_utf8(&f.hunks));
    assert_eq!(utf8, of["patch_is_utf8"].as_bool(), "{ctx}: patch_is_utf8");
}

#[test]
fn parse_diff_reproduces_every_oracle() {
    for case in case_names() {
        let bytes = read_diff(&case);
        let o = oracle(&case);
        assert_eq!(
            bytes.len() as u64,
            o["diff_bytes"].as_u64().unwrap(),
            "{case}: bytes"
        );
        let diff = parse_diff(&bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(
            diff.skipped.is_empty(),
            "{case}: skipped {:?}",
            diff.skipped
        );
        let ofiles = o["files"].as_array().unwrap();
        assert_eq!(
            diff.files.len() as u64,
            o["file_count"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(diff.files.len(), ofiles.len(), "{case}: file count");
        for (i, (f, of)) in diff.files.iter().zip(ofiles).enumerate() {
            assert_eq!(of["index"].as_u64().unwrap(), i as u64, "{case}: order");
            check_file(&format!("{case} file {i} ({})", f.path()), f, of);
        }
        let additions = diff.additions() as u64;
        assert_eq!(
            additions,
            o["total_additions"].as_u64().unwrap(),
            "{case}: total +"
        );
        let deletions = diff.deletions() as u64;
        assert_eq!(
            deletions,
            o["total_deletions"].as_u64().unwrap(),
            "{case}: total -"
        );
    }
}

#[test]
fn parse_patch_reproduces_every_oracle_from_files_json() {
    for case in case_names() {
        let o = oracle(&case);
        let ofiles = o["files"].as_array().unwrap();
        let diff = parsed(&case);
        let entries = read_json(&format!("{case}.files.json"));
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), ofiles.len(), "{case}: files.json length");
        for (i, ((entry, of), f)) in entries.iter().zip(ofiles).zip(&diff.files).enumerate() {
            let ctx = format!("{case} files.json {i} ({})", f.path());
            // The entry's own fields, from our parse of the `.diff`.
            assert_eq!(entry["filename"], f.path().as_ref(), "{ctx}: filename");
            let previous = match f.status {
                FileStatus::Renamed | FileStatus::Copied => f.old_path_str().map(String::from),
                _ => None,
            };
            assert_eq!(
                opt_str(&entry["previous_filename"]),
                previous.as_deref(),
                "{ctx}"
            );
            assert_eq!(entry["status"], f.status.github_name(), "{ctx}: status");
            assert_eq!(entry["additions"], f.additions(), "{ctx}: additions");
            assert_eq!(entry["deletions"], f.deletions(), "{ctx}: deletions");
            assert_eq!(
                entry["changes"],
                f.additions() + f.deletions(),
                "{ctx}: changes"
            );

            // The patch: absent exactly when the file has no hunk (binary, pure move,
            // mode-only, empty file); otherwise it parses to the oracle's hunks.
            let Some(patch) = entry["patch"].as_str() else {
                assert!(
                    f.hunks.is_empty(),
                    "{ctx}: patch missing but the diff has hunks"
                );
                assert!(of["hunks"].as_array().unwrap().is_empty(), "{ctx}");
                continue;
            };
            let hunks = parse_patch(patch.as_bytes()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            check_hunks(&ctx, &hunks, of);
            // Same lines as the `.diff` gives; a non-UTF-8 patch was decoded with U+FFFD
            // replacement, so compare lossily there.
            assert_eq!(hunks.len(), f.hunks.len(), "{ctx}");
            for (h, dh) in hunks.iter().zip(&f.hunks) {
                assert_eq!(h.lines.len(), dh.lines.len(), "{ctx}");
                if of["patch_is_utf8"] == true {
                    assert_eq!(h, dh, "{ctx}: hunk differs from the .diff's");
                } else {
                    for (l, dl) in h.lines.iter().zip(&dh.lines) {
                        assert_eq!(l.content_str(), dl.content_str(), "{ctx}: lossy content");
                        assert_eq!(
                            (l.kind, l.old_line, l.new_line),
                            (dl.kind, dl.old_line, dl.new_line)
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn parse_diff_keeps_crlf_and_non_utf8_bytes() {
    // gson_crlf_to_lf: despite its name, the head commit gave most lines CRLF ends (1487
    // added lines end in CR, 4 removed ones do); the CR stays in the content.
    let diff = parsed("gson_crlf_to_lf");
    let lines = || {
        diff.files
            .iter()
            .flat_map(|f| &f.hunks)
            .flat_map(|h| &h.lines)
    };
    let with_cr = |kind| {
        lines()
            .filter(|l| l.kind == kind && l.content.ends_with(b"\r"))
            .count()
    };
    assert_eq!(
        (with_cr(LineKind::Added), with_cr(LineKind::Removed)),
        (1487, 4)
    );

    // rg_nonutf8_text: sherlock.br is diffed as text with raw non-UTF-8 bytes.
    let diff = parsed("rg_nonutf8_text");
    let br = diff.file("tests/data/sherlock.br").expect("sherlock.br");
    assert!(
        br.hunks[0]
            .lines
            .iter()
            .any(|l| std::str::from_utf8(&l.content).is_err())
    );
    assert!(br.new_missing_newline_at_eof());
}

#[test]
fn parse_diff_decodes_quoted_non_ascii_paths_with_spaces() {
    let diff = parsed("ex_nonascii_path_delete");
    let f = &diff.files[0];
    assert_eq!(f.status, FileStatus::Deleted);
    assert_eq!(
        f.old_path_str().as_deref(),
        Some("examples/downloads/files/utf-8 한中日.txt")
    );
    // The only line is `한中日\r` without a final newline.
    let line = &f.hunks[0].lines[0];
    assert_eq!(line.content, "한中日\r".as_bytes());
    assert!(line.no_newline_at_eof);

    let diff = parsed("ex_empty_and_unicode_dir");
    let snow = diff
        .file("test/fixtures/snow ☃/.gitkeep")
        .expect("quoted empty file");
    assert_eq!((snow.status, snow.hunks.len()), (FileStatus::Added, 0));
}
