//! Where the tests for a changed symbol live, or would go.

use serde::Serialize;

use super::{Framework, before_dir, module_name, same_test_family, split};
use crate::review::languages::Language;

/// How a test for a symbol is written there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestStyle {
    /// A `#[test]` function in the file's own `#[cfg(test)] mod tests`.
    RustInlineModule,
    /// A `#[test]` function in an integration test under `tests/`, through the public API.
    RustIntegration,
    /// A `def test_…()` function with plain `assert`.
    PytestFunction,
    /// A `def test_…(self)` method in a `unittest.TestCase` subclass.
    UnittestMethod,
    /// `describe` / `it` (or `test`) blocks.
    DescribeIt,
    /// A `func TestXxx(t *testing.T)` in the same package.
    GoTestFunction,
    /// A `@Test` method in a test class.
    JunitMethod,
}

/// Where the tests for a changed symbol live, or would go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestLocation {
    /// The test file (for Rust inline tests, the source file itself).
    pub path: String,
    /// Whether that file exists already.
    pub exists: bool,
    /// The framework the test uses.
    pub framework: Framework,
    /// How the test is written.
    pub style: TestStyle,
}

impl TestLocation {
    /// One phrase on how to write the test, e.g. "a pytest `test_…` function with plain `assert`".
    pub fn style_hint(&self) -> String {
        let runner = self.framework.as_str();
        match self.style {
            TestStyle::RustInlineModule => {
                "a `#[test]` function in the file's `#[cfg(test)] mod tests`".to_string()
            }
            TestStyle::RustIntegration => {
                "a `#[test]` function in this integration test, through the crate's public API"
                    .to_string()
            }
            TestStyle::PytestFunction => {
                "a pytest `test_…` function with plain `assert`".to_string()
            }
            TestStyle::UnittestMethod => {
                "a `test_…` method in a `unittest.TestCase` subclass".to_string()
            }
            TestStyle::DescribeIt => format!("a {runner} `describe`/`it` case"),
            TestStyle::GoTestFunction => {
                "a `func TestXxx(t *testing.T)` in the same package".to_string()
            }
            TestStyle::JunitMethod => match self.framework {
                Framework::Junit5 => "a JUnit 5 `@Test` method (`org.junit.jupiter.api.Test`)",
                _ => "a JUnit 4 `@Test` method (`org.junit.Test`)",
            }
            .to_string(),
        }
    }
}

/// Where the tests for `symbol`, defined in `path`, live or would go, following what
/// `existing_test_files` shows of the repository's habits:
///
/// - Rust: the file's own `#[cfg(test)] mod tests` (list a source file among the
///   existing test files when [`has_inline_tests`] holds for it), unless the crate tests
///   only through `tests/*.rs`, then the integration test named after the module;
/// - Python: an existing `test_<module>.py` / `<module>_test.py`, else
///   `tests/test_<module>.py` in the nearest tests directory;
/// - JavaScript/TypeScript: an existing `<name>.test.<ext>`/`.spec.` sibling,
///   `__tests__/<name>.test.<ext>`, or a `test/` file named after the module or the
///   symbol (express's `test/res.send.js`), else the same shape as the existing tests;
/// - Go: `<file>_test.go` beside it, same package;
/// - Java: `src/test/java/<same package>/<Class>Test.java` (or an existing `…Tests`/`…IT`).
pub fn test_location(
    path: &str,
    symbol: &str,
    language: Language,
    framework: Option<Framework>,
    existing_test_files: &[&str],
) -> TestLocation {
    let framework = framework.unwrap_or_else(|| Framework::default_for(language));
    let existing: Vec<&str> = existing_test_files
        .iter()
        .copied()
        .filter(|p| Language::from_path(p).is_some_and(|l| same_test_family(l, language)))
        .filter(|p| !is_test_support(p))
        .collect();
    let (target, style) = match language {
        Language::Rust => rust_location(path, &existing),
        Language::Python => (
            python_location(path, &existing),
            if framework == Framework::Unittest {
                TestStyle::UnittestMethod
            } else {
                TestStyle::PytestFunction
            },
        ),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            (js_location(path, symbol, &existing), TestStyle::DescribeIt)
        }
        Language::Go => {
            let stem = path.strip_suffix(".go").unwrap_or(path);
            (format!("{stem}_test.go"), TestStyle::GoTestFunction)
        }
        Language::Java => (java_location(path, &existing), TestStyle::JunitMethod),
    };
    TestLocation {
        exists: existing_test_files.contains(&target.as_str()),
        path: target,
        framework,
        style,
    }
}

/// Helpers and data beside the tests (`test/support/utils.js`, `tests/fixtures/…`): test
/// files, but not where a test for a module goes.
fn is_test_support(path: &str) -> bool {
    split(path).0.iter().any(|dir| {
        matches!(
            *dir,
            "support" | "fixtures" | "__fixtures__" | "__mocks__" | "helpers" | "testdata" | "data"
        )
    })
}

/// How many leading directories two paths share.
fn shared_dirs(a: &str, b: &str) -> usize {
    let (a, _) = split(a);
    let (b, _) = split(b);
    a.iter().zip(&b).take_while(|(x, y)| x == y).count()
}

/// Of `candidates`, the one nearest `path` (most shared directories, then shortest).
fn nearest<'a>(path: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.min_by_key(|c| (std::cmp::Reverse(shared_dirs(path, c)), c.len(), *c))
}

/// The directory part of `path`, with a trailing `/` (empty at the top).
fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..=i])
}

fn rust_location(path: &str, existing: &[&str]) -> (String, TestStyle) {
    if existing.contains(&path) {
        return (path.to_string(), TestStyle::RustInlineModule);
    }
    // The crate root is what comes before `src/` (the repository root otherwise).
    let crate_root = before_dir(path, "src/").unwrap_or_default();
    let inline_habit = existing
        .iter()
        .filter(|p| p.starts_with(crate_root))
        .any(|p| !split(p).0.contains(&"tests"));
    let integration: Vec<&str> = existing
        .iter()
        .copied()
        .filter(|p| p.starts_with(&format!("{crate_root}tests/")))
        .collect();
    if inline_habit || integration.is_empty() {
        return (path.to_string(), TestStyle::RustInlineModule);
    }
    let module = module_name(path);
    let crate_name = split(crate_root.trim_end_matches('/')).1.to_string();
    let named = integration
        .iter()
        .find(|p| {
            let stem = split(p).1.trim_end_matches(".rs");
            stem == module || (!crate_name.is_empty() && stem == crate_name)
        })
        .map(|p| p.to_string());
    let file = named.unwrap_or_else(|| {
        let name = if crate_name.is_empty() {
            module
        } else {
            &crate_name
        };
        format!("{crate_root}tests/{name}.rs")
    });
    (file, TestStyle::RustIntegration)
}

fn python_location(path: &str, existing: &[&str]) -> String {
    let module = module_name(path).to_string();
    let exact = [format!("test_{module}.py"), format!("{module}_test.py")];
    let stem_of = |p: &str| split(p).1.trim_end_matches(".py").to_string();
    if let Some(found) = nearest(
        path,
        existing
            .iter()
            .copied()
            .filter(|p| exact.iter().any(|name| split(p).1 == name)),
    ) {
        return found.to_string();
    }
    if let Some(found) = nearest(
        path,
        existing.iter().copied().filter(|p| {
            let stem = stem_of(p);
            (stem.starts_with("test_") || stem.ends_with("_test")) && stem.contains(&module)
        }),
    ) {
        return found.to_string();
    }
    // The nearest directory holding test modules, else `tests/` at the project root
    // (what precedes `src/`, or the top).
    let test_dir = match nearest(
        path,
        existing.iter().copied().filter(|p| {
            let stem = stem_of(p);
            stem.starts_with("test_") || stem.ends_with("_test")
        }),
    ) {
        Some(found) => dir_of(found).to_string(),
        None => format!("{}tests/", before_dir(path, "src/").unwrap_or_default()),
    };
    format!("{test_dir}test_{module}.py")
}

/// `foo.test.ts` → `foo`; `res.send.js` → `res.send`.
fn js_test_stem(name: &str) -> &str {
    let without_ext = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    without_ext
        .strip_suffix(".test")
        .or_else(|| without_ext.strip_suffix(".spec"))
        .unwrap_or(without_ext)
}

fn js_location(path: &str, symbol: &str, existing: &[&str]) -> String {
    let (_, name) = split(path);
    let extension = name.rsplit_once('.').map_or("js", |(_, ext)| ext);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let module = module_name(path);
    let dir = dir_of(path);
    let lower = |s: &str| s.to_ascii_lowercase();

    // 1. A sibling or `__tests__` test named after the file.
    for candidate in [
        format!("{dir}{stem}.test.{extension}"),
        format!("{dir}{stem}.spec.{extension}"),
        format!("{dir}__tests__/{stem}.test.{extension}"),
        format!("{dir}__tests__/{stem}.spec.{extension}"),
    ] {
        if existing.contains(&candidate.as_str()) {
            return candidate;
        }
    }
    // 2. A test anywhere named after the module, then one naming the symbol
    //    (express: `test/res.send.js` for `send` in `lib/response.js`).
    let named = |wanted: &str| {
        let wanted = lower(wanted);
        nearest(
            path,
            existing
                .iter()
                .copied()
                .filter(move |p| lower(js_test_stem(split(p).1)) == wanted),
        )
    };
    if let Some(found) = named(module) {
        return found.to_string();
    }
    if symbol.len() >= 3
        && let Some(found) = nearest(
            path,
            existing.iter().copied().filter(|p| {
                js_test_stem(split(p).1)
                    .split('.')
                    .any(|piece| piece.eq_ignore_ascii_case(symbol))
            }),
        )
    {
        return found.to_string();
    }
    // 3. A new file shaped like the existing tests.
    let uses = |marker: &str| existing.iter().filter(|p| p.contains(marker)).count();
    let suffix = if uses(".spec.") > uses(".test.") {
        "spec"
    } else {
        "test"
    };
    if uses("__tests__/") > 0 {
        return format!("{dir}__tests__/{module}.{suffix}.{extension}");
    }
    let in_test_dir = |p: &&str| {
        let (dirs, _) = split(p);
        dirs.contains(&"test") || dirs.contains(&"tests")
    };
    if let Some(sample) = nearest(path, existing.iter().copied().filter(|p| in_test_dir(p))) {
        // Mocha suites (express) live in `test/` without a `.test` suffix; keep whichever
        // the nearest existing one uses.
        let (dirs, sample_name) = split(sample);
        let root_len = dirs
            .iter()
            .position(|d| *d == "test" || *d == "tests")
            .map_or(0, |i| i + 1);
        let test_dir: String = dirs[..root_len].iter().map(|d| format!("{d}/")).collect();
        let marked = sample_name.contains(".test.") || sample_name.contains(".spec.");
        let sample_ext = sample_name.rsplit_once('.').map_or(extension, |(_, e)| e);
        return if marked {
            format!("{test_dir}{module}.{suffix}.{sample_ext}")
        } else {
            format!("{test_dir}{module}.{sample_ext}")
        };
    }
    format!("{dir}{stem}.{suffix}.{extension}")
}

fn java_location(path: &str, existing: &[&str]) -> String {
    let (_, name) = split(path);
    let class = name.strip_suffix(".java").unwrap_or(name);
    let names = [
        format!("{class}Test.java"),
        format!("{class}Tests.java"),
        format!("{class}IT.java"),
    ];
    let test_dir = if let Some(root) = before_dir(path, "src/main/") {
        let package = dir_of(&path[root.len() + "src/main/".len()..]);
        format!("{root}src/test/{package}")
    } else if let Some(rest) = path.strip_prefix("src/") {
        format!("test/{}", dir_of(rest))
    } else {
        dir_of(path).to_string()
    };
    // Same package first, then anywhere (a test module beside the main one).
    for file in &names {
        let candidate = format!("{test_dir}{file}");
        if existing.contains(&candidate.as_str()) {
            return candidate;
        }
    }
    if let Some(found) = nearest(
        path,
        existing
            .iter()
            .copied()
            .filter(|p| names.iter().any(|n| split(p).1 == n)),
    ) {
        return found.to_string();
    }
    format!("{test_dir}{}", names[0])
}
