//! After a push, the model sees only what changed since the last reviewed head: the pull
//! request's hunks cut down to lines the push added. The built-in analyzers still see the
//! whole change (they are cheap, and fingerprints keep them from repeating themselves).

use std::collections::{BTreeMap, BTreeSet};

use crate::review::context::ChangedFile;
use crate::review::diff::{Diff, LineKind};

/// New-side lines added by `since` (the diff from the last reviewed head to this one), per path.
pub fn added_lines(since: &Diff) -> BTreeMap<String, BTreeSet<u32>> {
    let mut added: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for file in &since.files {
        let lines = file
            .hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| l.kind == LineKind::Added)
            .filter_map(|l| l.new_line);
        added
            .entry(file.path().into_owned())
            .or_default()
            .extend(lines);
    }
    added
}

/// `files` (the pull request's change) reduced to the hunks holding lines `since` added, each
/// hunk's added lines reduced to those. Files the push did not touch drop out.
pub fn only_new_lines(files: &[ChangedFile], since: &Diff) -> Vec<ChangedFile> {
    let fresh = added_lines(since);
    files
        .iter()
        .filter_map(|file| {
            let fresh = fresh.get(&file.path)?;
            let hunks: Vec<_> = file
                .hunks
                .iter()
                .filter_map(|hunk| {
                    let added: BTreeSet<u32> = hunk.added.intersection(fresh).copied().collect();
                    (!added.is_empty()).then(|| crate::review::context::ChangedHunk {
                        lines: hunk.lines.clone(),
                        added,
                    })
                })
                .collect();
            (!hunks.is_empty()).then(|| ChangedFile {
                hunks,
                ..file.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::context::ChangedHunk;
    use crate::review::diff::parse_diff;

    fn file(path: &str, hunks: &[(u32, u32, &[u32])]) -> ChangedFile {
        ChangedFile::new(
            path,
            "x\n".repeat(40),
            hunks
                .iter()
                .map(|(start, end, added)| ChangedHunk {
                    lines: *start..=*end,
                    added: added.iter().copied().collect(),
                })
                .collect(),
        )
    }

    #[test]
    fn only_hunks_with_lines_the_push_added_remain() {
        // The pull request adds lines 2-3 and 20-21 of a.py, and line 5 of b.py; the push adds
        // line 21 of a.py only (line 20 was there before the push).
        let pr = vec![
            file("a.py", &[(1, 4, &[2, 3]), (18, 23, &[20, 21])]),
            file("b.py", &[(3, 7, &[5])]),
        ];
        let push = parse_diff(
            b"diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -19,2 +19,3 @@\n x\n x\n+y\n",
        )
        .unwrap();
        let only = only_new_lines(&pr, &push);
        assert_eq!(only.len(), 1, "b.py was not touched by the push");
        assert_eq!(only[0].path, "a.py");
        assert_eq!(only[0].hunks.len(), 1);
        assert_eq!(only[0].hunks[0].lines, 18..=23);
        assert_eq!(
            only[0].hunks[0].added.iter().copied().collect::<Vec<_>>(),
            [21]
        );
    }

    #[test]
    fn a_push_that_only_deletes_leaves_nothing_for_the_model() {
        let pr = vec![file("a.py", &[(1, 4, &[2, 3])])];
        let push = parse_diff(
            b"diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,1 @@\n x\n-y\n",
        )
        .unwrap();
        assert!(only_new_lines(&pr, &push).is_empty());
    }
}
