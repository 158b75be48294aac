//! The built-in review of a change: diff → files worth reviewing (the rest reported with a
//! reason) → new-side sources → security rules and the test-gap check → a report.
//!
//! GitHub-free and model-free: `reviewbot review` runs it on a local change; the AI reviewer
//! adds the model's suggestions to the same report.

use std::collections::{BTreeMap, BTreeSet};

use super::analyzers::security;
use super::analyzers::test_gap::{self, RepoTests};
use super::budget::{SkipReason, exclusion};
use super::context::{ChangedFile, ChangedHunk};
use super::diff::{Diff, FileDiff, FileStatus, LineKind};
use super::finding::Finding;
use super::languages::Language;
use super::report::{AnalysisStatus, ReviewReport, SkippedFile};
use super::test_layout::{Framework, detect_framework, is_framework_evidence, is_test_file};
use crate::repo_config::LoadedRepoConfig;

/// How the new side of a file is read.
pub trait NewSide {
    /// The whole new file at `path`, if it can be read.
    fn read(&self, path: &str) -> Option<String>;
}

/// Reads new-side files from a directory (a working tree).
#[derive(Debug, Clone)]
pub struct Directory(pub std::path::PathBuf);

impl NewSide for Directory {
    fn read(&self, path: &str) -> Option<String> {
        let bytes = std::fs::read(self.0.join(path)).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The new side as the diff itself shows it: changed and context lines in place, the rest
/// blank. Used when no checkout matches the diff; line numbers stay right, and rules that
/// look at one statement still work.
pub fn reconstruct(file: &FileDiff) -> String {
    let mut lines: BTreeMap<u32, String> = BTreeMap::new();
    for line in file.hunks.iter().flat_map(|h| &h.lines) {
        if let Some(number) = line.new_line {
            lines.insert(number, line.content_str().into_owned());
        }
    }
    let last = lines.keys().next_back().copied().unwrap_or(0);
    let mut text = String::new();
    for number in 1..=last {
        if let Some(line) = lines.get(&number) {
            text.push_str(line);
        }
        text.push('\n');
    }
    text
}

/// Whether `source` agrees with every new-side line the diff shows.
pub fn matches_diff(file: &FileDiff, source: &str) -> bool {
    let lines: Vec<&str> = source.split('\n').collect();
    file.hunks
        .iter()
        .flat_map(|h| &h.lines)
        .all(|line| match line.new_line {
            Some(number) => lines
                .get(number as usize - 1)
                .is_some_and(|text| text.as_bytes() == line.content.as_slice()),
            None => true,
        })
}

/// A file of the diff as the analyzers and the context take it: its new source, language
/// (by path, then shebang) and each hunk's new-side lines with the added ones.
pub fn changed_file(file: &FileDiff, source: String) -> ChangedFile {
    let path = file.path().into_owned();
    let language = Language::detect(&path, source.lines().next());
    let hunks = file
        .hunks
        .iter()
        .filter(|h| !h.new_range().is_empty())
        .map(|h| ChangedHunk {
            lines: h.new_range().start..=h.new_range().end - 1,
            added: h
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Added)
                .filter_map(|l| l.new_line)
                .collect(),
        })
        .collect();
    ChangedFile {
        path,
        language,
        source,
        hunks,
    }
}

/// Why a file of the diff is not reviewed, if it is not.
fn not_reviewable(file: &FileDiff, source: Option<&str>) -> Option<SkipReason> {
    if file.status == FileStatus::Deleted {
        return Some(SkipReason::Deleted);
    }
    if file.is_submodule() {
        return Some(SkipReason::Submodule);
    }
    if file.is_symlink() {
        return Some(SkipReason::Symlink);
    }
    if let Some(reason) = exclusion(&file.path(), file.binary, source) {
        return Some(reason);
    }
    let adds = file
        .hunks
        .iter()
        .flat_map(|h| &h.lines)
        .any(|l| l.kind == LineKind::Added);
    (!adds).then_some(SkipReason::NoAddedLines)
}

/// What the repository says about its tests (framework, existing test files), from the
/// tracked files of a checkout: `paths` and a way to read the few files that name a framework.
pub fn repo_tests(
    paths: &[String],
    read: impl Fn(&str) -> Option<String>,
) -> (Vec<(Language, Framework)>, Vec<String>) {
    let evidence: Vec<(String, Option<String>)> = paths
        .iter()
        .filter(|p| is_framework_evidence(p))
        .map(|p| (p.clone(), read(p)))
        .collect();
    let evidence: Vec<(&str, Option<&str>)> = evidence
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_deref()))
        .collect();
    let frameworks = detect_framework(&evidence);
    let tests = paths
        .iter()
        .filter(|p| Language::from_path(p).is_some_and(|language| is_test_file(p, language)))
        .cloned()
        .collect();
    (frameworks, tests)
}

fn status(name: &str, on: bool, what: &str) -> AnalysisStatus {
    AnalysisStatus {
        name: name.into(),
        ran: on,
        note: if on {
            what.into()
        } else {
            "off in .github/reviewbot.yml".into()
        },
    }
}

/// Runs the built-in analyses over `diff` and returns the report. See [`review_with_files`].
pub fn review(
    diff: &Diff,
    new_side: Option<&dyn NewSide>,
    untracked: &[String],
    repo: RepoTests<'_>,
    config: &LoadedRepoConfig,
    model: AnalysisStatus,
) -> ReviewReport {
    review_with_files(diff, new_side, untracked, repo, config, model).0
}

/// Adds the model's findings to a report, under the same thresholds and ordering.
pub fn add_findings(
    report: ReviewReport,
    files: &[ChangedFile],
    extra: Vec<Finding>,
    config: &LoadedRepoConfig,
) -> ReviewReport {
    let sources: BTreeMap<&str, &str> = files
        .iter()
        .map(|f| (f.path.as_str(), f.source.as_str()))
        .collect();
    let before = extra.len();
    let mut findings: Vec<Finding> = report.findings.iter().map(|f| f.finding.clone()).collect();
    findings.extend(extra.into_iter().filter(|f| {
        f.severity >= config.config.min_severity && f.confidence >= config.config.min_confidence
    }));
    let kept = findings.len() - report.findings.len();
    let mut merged = ReviewReport::new(
        report.analyses,
        report.files_reviewed,
        report.skipped,
        findings,
        |path, line| {
            let source = sources.get(path)?;
            source
                .split('\n')
                .nth(line.checked_sub(1)? as usize)
                .map(|l| l.trim_end_matches('\r').to_owned())
        },
    );
    merged.change = report.change;
    merged.below_threshold = report.below_threshold + (before - kept);
    merged
}

/// Runs the built-in analyses over `diff`. `new_side` reads a file's new content; when it
/// has none that matches the diff, the content is rebuilt from the diff. `model` says what the
/// model analysis did. Also returns the reviewed files, as the model stage takes them.
pub fn review_with_files(
    diff: &Diff,
    new_side: Option<&dyn NewSide>,
    untracked: &[String],
    repo: RepoTests<'_>,
    config: &LoadedRepoConfig,
    model: AnalysisStatus,
) -> (ReviewReport, Vec<ChangedFile>) {
    let analyses = &config.config.analyses;
    let mut skipped = Vec::new();
    let mut changed = Vec::new();
    let mut findings = Vec::new();
    for file in &diff.files {
        let path = file.path().into_owned();
        let on_disk = new_side
            .filter(|_| file.status != FileStatus::Deleted)
            .and_then(|side| side.read(&path))
            .filter(|source| matches_diff(file, source));
        if let Some(reason) = not_reviewable(file, on_disk.as_deref()) {
            skipped.push(SkippedFile { path, reason });
            continue;
        }
        if !config.reviews_path(&path) {
            skipped.push(SkippedFile {
                path,
                reason: SkipReason::ExcludedByConfig,
            });
            continue;
        }
        let file = changed_file(file, on_disk.unwrap_or_else(|| reconstruct(file)));
        let added: BTreeSet<u32> = file
            .hunks
            .iter()
            .flat_map(|h| h.added.iter().copied())
            .collect();
        if analyses.security {
            findings.extend(security::analyze(
                &file.path,
                file.language,
                &file.source,
                &added,
            ));
        }
        changed.push(file);
    }
    let touched_tests: Vec<&str> = changed
        .iter()
        .filter(|f| {
            f.language
                .is_some_and(|language| is_test_file(&f.path, language))
        })
        .map(|f| f.path.as_str())
        .collect();
    if analyses.tests {
        findings.extend(test_gap::analyze_in_repo(&changed, &touched_tests, repo));
    }
    // Below the repository's thresholds: counted in the report, not listed.
    let before = findings.len();
    findings.retain(|f| {
        f.severity >= config.config.min_severity && f.confidence >= config.config.min_confidence
    });
    let below_threshold = before - findings.len();
    for path in untracked {
        skipped.push(SkippedFile {
            path: path.clone(),
            reason: SkipReason::Untracked,
        });
    }
    let sources: BTreeMap<&str, &str> = changed
        .iter()
        .map(|f| (f.path.as_str(), f.source.as_str()))
        .collect();
    let statuses = vec![
        status("security", analyses.security, "built-in rules"),
        status("test-gap", analyses.tests, "built-in"),
        model,
    ];
    let mut report = ReviewReport::new(statuses, changed.len(), skipped, findings, |path, line| {
        let source = sources.get(path)?;
        source
            .split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.trim_end_matches('\r').to_owned())
    });
    report.below_threshold = below_threshold;
    (report, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::parse_diff;

    fn model_off() -> AnalysisStatus {
        AnalysisStatus {
            name: "model".into(),
            ran: false,
            note: "not configured".into(),
        }
    }

    const DIFF: &str = "\
diff --git a/app/run.py b/app/run.py
index 1111111..2222222 100644
--- a/app/run.py
+++ b/app/run.py
@@ -1,3 +1,5 @@
 import subprocess
 
-def run(cmd):
+def run(cmd):
+    subprocess.run(cmd, shell=True)
+    return True
diff --git a/Cargo.lock b/Cargo.lock
index 1111111..2222222 100644
--- a/Cargo.lock
+++ b/Cargo.lock
@@ -1 +1 @@
-a
+b
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 1111111..0000000
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
";

    #[test]
    fn reviews_added_lines_and_reports_every_file_left_out() {
        let diff = parse_diff(DIFF.as_bytes()).unwrap();
        let report = review(
            &diff,
            None,
            &["notes.txt".into()],
            RepoTests::default(),
            &LoadedRepoConfig::default(),
            model_off(),
        );
        let rules: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.finding.rule_id.as_str(), f.finding.line))
            .collect();
        assert!(
            rules.contains(&("python.subprocess-shell-true", 4)),
            "{rules:?}"
        );
        let reported = &report
            .findings
            .iter()
            .find(|f| f.finding.line == 4)
            .unwrap();
        assert_eq!(
            reported.source_line.as_deref(),
            Some("    subprocess.run(cmd, shell=True)")
        );
        let skipped: Vec<_> = report
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), &s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                ("Cargo.lock", &SkipReason::LockFile),
                ("gone.py", &SkipReason::Deleted),
                ("notes.txt", &SkipReason::Untracked)
            ]
        );
        assert_eq!(report.files_reviewed, 1);
    }

    #[test]
    fn the_repository_config_filters_files_analyses_and_thresholds() {
        use crate::repo_config::parse_repo_config;
        let diff = parse_diff(DIFF.as_bytes()).unwrap();
        let run = |yaml: &str| {
            let config = parse_repo_config(yaml).unwrap();
            review(&diff, None, &[], RepoTests::default(), &config, model_off())
        };
        let excluded = run("paths:\n  exclude: ['app/**']\n");
        assert!(excluded.findings.is_empty());
        assert!(
            excluded
                .skipped
                .iter()
                .any(|s| s.path == "app/run.py" && s.reason == SkipReason::ExcludedByConfig)
        );

        let strict = run("min_severity: critical\n");
        assert!(strict.findings.is_empty());
        assert_eq!(
            strict.below_threshold, 2,
            "the shell finding and the test gap are counted"
        );

        let no_security = run("analyses:\n  security: false\n");
        assert!(
            no_security
                .findings
                .iter()
                .all(|f| f.finding.rule_id.starts_with("test-gap"))
        );
        assert_eq!(no_security.analyses[0].note, "off in .github/reviewbot.yml");
        assert!(!no_security.analyses[0].ran);
    }

    #[test]
    fn repo_tests_finds_the_framework_and_the_test_files() {
        let paths: Vec<String> = ["pytest.ini", "src/app.py", "tests/test_app.py", "README.md"]
            .into_iter()
            .map(String::from)
            .collect();
        let (frameworks, tests) = repo_tests(&paths, |path| {
            (path == "pytest.ini").then(|| "[pytest]\n".into())
        });
        assert!(
            frameworks.contains(&(Language::Python, Framework::Pytest)),
            "{frameworks:?}"
        );
        assert_eq!(tests, ["tests/test_app.py"]);
    }

    #[test]
    fn a_checkout_is_used_only_when_it_matches_the_diff() {
        let diff = parse_diff(DIFF.as_bytes()).unwrap();
        let file = &diff.files[0];
        let rebuilt = reconstruct(file);
        assert_eq!(
            rebuilt,
            "import subprocess\n\ndef run(cmd):\n    subprocess.run(cmd, shell=True)\n    return True\n"
        );
        assert!(matches_diff(file, &rebuilt));
        assert!(!matches_diff(file, "import os\n\ndef run(cmd):\n"));
    }
}
