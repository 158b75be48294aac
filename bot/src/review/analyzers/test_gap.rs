//! Test gap: a changed public function or method that no test touched in the same change
//! plausibly covers.
//!
//! "Plausibly covers", in this strict first version: a touched test file of the same
//! language family whose file name or contents mention the changed file's module name
//! (`sessions` for `sessions.py`) or the symbol's name; for Rust, also a change to the
//! file's own test code.

use std::collections::HashSet;

use crate::review::context::{self, ChangedFile, Symbol, SymbolKind};
use crate::review::finding::{Finding, FindingKind, Severity};
use crate::review::languages::Language;
use crate::review::test_layout::{
    self, Framework, TestLocation, TestStyle, has_inline_tests, is_test_file, module_name,
    same_test_family,
};

/// How sure a test-gap finding is. The rule sees only the change: tests elsewhere in the
/// repository that already exercise the symbol are invisible to it, so a finding is as
/// likely a reminder as a real gap.
pub const CONFIDENCE: f32 = 0.5;

/// Names shorter than this match too much by accident (`a`, `id`) to count as a mention.
const MIN_MENTION_LEN: usize = 3;

/// What the analyzer knows about the repository beyond the change; all optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct RepoTests<'a> {
    /// From [`test_layout::detect_framework`].
    pub frameworks: &'a [(Language, Framework)],
    /// Test files that exist (for Rust, also source files with inline tests).
    pub test_files: &'a [&'a str],
}

/// Findings for changed public functions in `changes` that no touched test covers.
/// `test_files_touched` lists the change's test files; test files among `changes` count
/// too, and their contents are read from there.
pub fn analyze(changes: &[ChangedFile], test_files_touched: &[&str]) -> Vec<Finding> {
    analyze_in_repo(changes, test_files_touched, RepoTests::default())
}

/// [`analyze`], placing suggested tests by the repository's framework and test files.
pub fn analyze_in_repo(
    changes: &[ChangedFile],
    test_files_touched: &[&str],
    repo: RepoTests<'_>,
) -> Vec<Finding> {
    let touched = touched_tests(changes, test_files_touched);
    let mut findings = Vec::new();
    for file in changes {
        let Some(language) = file.language else {
            continue;
        };
        if is_test_file(&file.path, language) {
            continue;
        }
        let context = match context::parse_context(file) {
            Ok(context) => context,
            Err(error) => {
                tracing::warn!(path = %file.path, %error, "test gap: no context");
                continue;
            }
        };
        let changed: Vec<&Symbol> = context
            .hunks
            .iter()
            .flat_map(|hunk| &hunk.changed_symbols)
            .collect();
        // Rust keeps unit tests in the file itself: a changed test there counts.
        if changed.iter().any(|symbol| symbol.test) {
            continue;
        }
        let module = module_name(&file.path);
        let mut seen = HashSet::new();
        for symbol in &changed {
            let declared_only = changed.iter().any(|outer| {
                matches!(outer.kind, SymbolKind::Interface | SymbolKind::Trait)
                    && outer.start_line <= symbol.start_line
                    && symbol.end_line <= outer.end_line
            });
            if !symbol.kind.is_function_like()
                || !symbol.public
                || declared_only
                || !seen.insert((symbol.start_line, symbol.qualified_name.as_str()))
            {
                continue;
            }
            let covered = touched.iter().any(|test| {
                same_test_family(test.language, language) && test.mentions(module, &symbol.name)
            });
            if covered {
                continue;
            }
            let Some(line) = first_added_line(file, symbol) else {
                continue;
            };
            let location = suggest_location(file, language, symbol, &touched, repo);
            findings.push(finding(file, language, symbol, module, line, &location));
        }
    }
    findings.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    findings
}

/// A test file the change touches.
struct TouchedTest<'a> {
    path: &'a str,
    language: Language,
    contents: Option<&'a str>,
}

impl TouchedTest<'_> {
    /// The file name mentions the module or symbol, or the contents name either as a word.
    fn mentions(&self, module: &str, symbol: &str) -> bool {
        let name = self.path.rsplit('/').next().unwrap_or(self.path);
        let name = name.to_ascii_lowercase();
        [module, symbol].iter().any(|word| {
            word.len() >= MIN_MENTION_LEN
                && (name.contains(&word.to_ascii_lowercase())
                    || self.contents.is_some_and(|text| contains_word(text, word)))
        })
    }
}

fn touched_tests<'a>(changes: &'a [ChangedFile], listed: &[&'a str]) -> Vec<TouchedTest<'a>> {
    let mut touched: Vec<TouchedTest<'a>> = Vec::new();
    let contents = |path: &str| {
        changes
            .iter()
            .find(|file| file.path == path)
            .map(|file| file.source.as_str())
    };
    for &path in listed {
        if let Some(language) = Language::from_path(path) {
            touched.push(TouchedTest {
                path,
                language,
                contents: contents(path),
            });
        }
    }
    for file in changes {
        if let Some(language) = file.language
            && is_test_file(&file.path, language)
            && !touched.iter().any(|t| t.path == file.path)
        {
            touched.push(TouchedTest {
                path: &file.path,
                language,
                contents: Some(&file.source),
            });
        }
    }
    touched
}

/// `word` occurs in `text` with no identifier character on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn first_added_line(file: &ChangedFile, symbol: &Symbol) -> Option<u32> {
    file.hunks
        .iter()
        .filter_map(|hunk| hunk.added.range(symbol.lines()).next().copied())
        .min()
}

fn suggest_location(
    file: &ChangedFile,
    language: Language,
    symbol: &Symbol,
    touched: &[TouchedTest<'_>],
    repo: RepoTests<'_>,
) -> TestLocation {
    let mut existing: Vec<&str> = repo.test_files.to_vec();
    existing.extend(touched.iter().map(|t| t.path));
    if language == Language::Rust && has_inline_tests(&file.source) {
        existing.push(&file.path);
    }
    let framework = repo
        .frameworks
        .iter()
        .find(|(l, _)| *l == language)
        .map(|&(_, framework)| framework);
    test_layout::test_location(&file.path, &symbol.name, language, framework, &existing)
}

fn finding(
    file: &ChangedFile,
    language: Language,
    symbol: &Symbol,
    module: &str,
    line: u32,
    location: &TestLocation,
) -> Finding {
    let name = &symbol.qualified_name;
    let place = match (location.style, location.exists) {
        (TestStyle::RustInlineModule, false) => {
            "Add a `#[cfg(test)] mod tests` to this file with".to_string()
        }
        (TestStyle::RustInlineModule, true) => "Add to this file's tests".to_string(),
        (_, true) => format!("Add to `{}`", location.path),
        (_, false) => format!("Add a new `{}` with", location.path),
    };
    Finding {
        rule_id: format!("test-gap.{}", language.name()),
        kind: FindingKind::TestGap,
        title: format!("No test in this change covers `{name}`"),
        message: format!(
            "`{name}` is a public {kind} changed here, but no test file touched by this \
             change mentions it or `{module}`. {place} {hint} exercising the new behaviour.",
            kind = symbol.kind.as_str(),
            hint = location.style_hint(),
        ),
        path: file.path.clone(),
        line,
        column: None,
        // The whole function: a suggested test for any line of it covers this gap.
        end_line: Some(*symbol.lines().end()).filter(|end| *end > line),
        cwe: None,
        severity: Severity::Low,
        confidence: CONFIDENCE,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::review::context::ChangedHunk;

    /// A file whose lines `added` are new, in one hunk spanning the whole file.
    fn changed(path: &str, source: &str, added: impl IntoIterator<Item = u32>) -> ChangedFile {
        let added: BTreeSet<u32> = added.into_iter().collect();
        let lines = source.lines().count() as u32;
        ChangedFile::new(
            path,
            source,
            vec![ChangedHunk {
                lines: 1..=lines.max(1),
                added,
            }],
        )
    }

    const SESSIONS_PY: &str = "\
class Session:
    def send(self, request):
        return self.adapter.send(request)

    def _merge(self, a, b):
        return a
";

    #[test]
    fn test_gap_python_public_method_without_tests_is_reported() {
        let file = changed("src/requests/sessions.py", SESSIONS_PY, [3]);
        let findings = analyze(&[file], &[]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.rule_id, "test-gap.python");
        assert_eq!(finding.kind, FindingKind::TestGap);
        assert_eq!(finding.severity, Severity::Low);
        assert_eq!(finding.confidence, CONFIDENCE);
        assert_eq!(finding.line, 3);
        assert!(
            finding.title.contains("`Session.send`"),
            "{}",
            finding.title
        );
        assert!(
            finding.message.contains("tests/test_sessions.py"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn test_gap_python_touched_test_naming_the_module_covers_it() {
        let file = changed("src/requests/sessions.py", SESSIONS_PY, [3]);
        assert!(analyze(std::slice::from_ref(&file), &["tests/test_sessions.py"]).is_empty());
        // A touched test whose contents call the method covers it too.
        let test = changed(
            "tests/test_requests.py",
            "def test_send():\n    s.send(r)\n",
            [1, 2],
        );
        assert!(analyze(&[file.clone(), test], &[]).is_empty());
        // A test that mentions neither does not.
        let unrelated = changed("tests/test_hooks.py", "def test_hooks():\n    pass\n", [1]);
        assert_eq!(analyze(&[file, unrelated], &[]).len(), 1);
    }

    #[test]
    fn test_gap_private_and_unchanged_functions_are_not_reported() {
        // `_merge` is private; `send` has no added line.
        let file = changed("src/requests/sessions.py", SESSIONS_PY, [6]);
        assert!(analyze(&[file], &[]).is_empty());
        let go = changed(
            "command.go",
            "package cobra\n\nfunc helper() int {\n\treturn 1\n}\n",
            [4],
        );
        assert!(analyze(&[go], &[]).is_empty());
    }

    #[test]
    fn test_gap_test_files_themselves_are_not_reported() {
        let test = changed(
            "tests/test_sessions.py",
            "def test_send():\n    assert True\n",
            [2],
        );
        assert!(analyze(&[test], &[]).is_empty());
    }

    const RUST_LIB: &str = "\
pub fn search(haystack: &str) -> bool {
    haystack.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_nothing_in_empty() {
        assert!(search(\"\"));
    }
}
";

    #[test]
    fn test_gap_rust_public_fn_is_reported_with_inline_module_hint() {
        let file = changed("crates/searcher/src/lib.rs", RUST_LIB, [2]);
        let findings = analyze(&[file], &[]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule_id, "test-gap.rust");
        assert_eq!(findings[0].line, 2);
        assert!(
            findings[0].message.contains("this file's tests"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn test_gap_rust_change_to_inline_tests_covers_the_file() {
        let file = changed("crates/searcher/src/lib.rs", RUST_LIB, [2, 11]);
        assert!(analyze(&[file], &[]).is_empty());
    }

    #[test]
    fn test_gap_go_exported_function_needs_a_test_file_mentioning_it() {
        let source = "package cobra\n\nfunc (c *Command) Execute() error {\n\treturn nil\n}\n";
        let file = changed("command.go", source, [4]);
        let findings = analyze(std::slice::from_ref(&file), &[]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule_id, "test-gap.go");
        assert!(findings[0].title.contains("`Command.Execute`"));
        assert!(findings[0].message.contains("`command_test.go`"));
        assert!(analyze(&[file], &["command_test.go"]).is_empty());
    }

    #[test]
    fn test_gap_javascript_exported_function_and_test_by_symbol_name() {
        let source = "\
var res = Object.create(http.ServerResponse.prototype);
module.exports = res;

res.send = function send(body) {
  return this.end(body);
};

function helper() {
  return 1;
}
";
        let file = changed("lib/response.js", source, [5, 9]);
        let findings = analyze(std::slice::from_ref(&file), &[]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule_id, "test-gap.javascript");
        assert!(findings[0].title.contains("`res.send`"));
        // express keeps `test/res.send.js`: its name mentions the symbol.
        assert!(analyze(std::slice::from_ref(&file), &["test/res.send.js"]).is_empty());
        // A Python test does not cover JavaScript.
        assert_eq!(analyze(&[file], &["tests/test_response.py"]).len(), 1);
    }

    #[test]
    fn test_gap_typescript_test_covers_tsx_but_interfaces_are_skipped() {
        let source = "\
export interface Props {
  render(): void;
}

export function Button(props: Props) {
  return <button>{props.label}</button>;
}
";
        let file = changed("src/Button.tsx", source, [2, 6]);
        let findings = analyze(std::slice::from_ref(&file), &[]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule_id, "test-gap.tsx");
        assert!(findings[0].title.contains("`Button`"));
        assert!(findings[0].message.contains("src/Button.test.tsx"));
        assert!(analyze(&[file], &["src/Button.test.ts"]).is_empty());
    }

    #[test]
    fn test_gap_java_public_method_uses_the_repository_layout() {
        let source = "\
package com.google.gson;

public final class Gson {
  public String toJson(Object src) {
    return null;
  }

  private void check() {
  }
}
";
        let path = "gson/src/main/java/com/google/gson/Gson.java";
        let file = changed(path, source, [5, 9]);
        let frameworks = [(Language::Java, Framework::Junit4)];
        let test_files = ["gson/src/test/java/com/google/gson/GsonTest.java"];
        let repo = RepoTests {
            frameworks: &frameworks,
            test_files: &test_files,
        };
        let findings = analyze_in_repo(std::slice::from_ref(&file), &[], repo);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule_id, "test-gap.java");
        assert!(findings[0].title.contains("`Gson.toJson`"));
        assert!(
            findings[0]
                .message
                .contains("Add to `gson/src/test/java/com/google/gson/GsonTest.java`"),
            "{}",
            findings[0].message
        );
        assert!(findings[0].message.contains("JUnit 4"));
        assert!(
            analyze(
                &[file],
                &["gson/src/test/java/com/google/gson/GsonTest.java"]
            )
            .is_empty()
        );
    }

    #[test]
    fn test_gap_files_without_a_language_are_ignored() {
        let file = changed("README.md", "# title\n\nsome text\n", [3]);
        assert!(analyze(&[file], &[]).is_empty());
    }

    #[test]
    fn test_gap_mentions_need_whole_words() {
        assert!(contains_word("s.send(r)", "send"));
        assert!(!contains_word("s.sender(r)", "send"));
        assert!(!contains_word("resend()", "send"));
    }
}
