//! Test awareness: which files are tests, which framework a repository tests with, and
//! where the tests for a changed symbol live or would go, so that a suggested test lands
//! in the right file and style.

mod detect;
mod location;

use serde::Serialize;

use crate::review::languages::Language;

pub use detect::{detect_framework, is_framework_evidence};
pub use location::{TestLocation, TestStyle, test_location};

/// A test framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// pytest (also runs unittest-style tests).
    Pytest,
    /// The standard library's `unittest`.
    Unittest,
    /// `cargo test`: `#[test]` functions.
    CargoTest,
    /// Jest.
    Jest,
    /// Vitest.
    Vitest,
    /// Mocha.
    Mocha,
    /// `go test`.
    GoTest,
    /// JUnit 4 (and JUnit 3 `TestCase` classes, which its runner runs).
    Junit4,
    /// JUnit 5 (Jupiter).
    Junit5,
}

impl Framework {
    /// The name people use (`pytest`, `cargo-test`, `junit5`).
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Pytest => "pytest",
            Framework::Unittest => "unittest",
            Framework::CargoTest => "cargo-test",
            Framework::Jest => "jest",
            Framework::Vitest => "vitest",
            Framework::Mocha => "mocha",
            Framework::GoTest => "go-test",
            Framework::Junit4 => "junit4",
            Framework::Junit5 => "junit5",
        }
    }

    /// What to assume for `language` when a repository shows no evidence: the most
    /// common choice in each ecosystem.
    pub fn default_for(language: Language) -> Framework {
        match language {
            Language::Rust => Framework::CargoTest,
            Language::Python => Framework::Pytest,
            Language::JavaScript | Language::TypeScript | Language::Tsx => Framework::Jest,
            Language::Go => Framework::GoTest,
            Language::Java => Framework::Junit5,
        }
    }
}

/// Whether two languages share tests: a `.test.ts` may test a `.tsx` or `.js` file.
pub fn same_test_family(a: Language, b: Language) -> bool {
    let js = |l| {
        matches!(
            l,
            Language::JavaScript | Language::TypeScript | Language::Tsx
        )
    };
    a == b || (js(a) && js(b))
}

/// The directories of `path` and its file name.
fn split(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let name = parts.pop().unwrap_or_default();
    (parts, name)
}

/// Whether `path` is a test file by the conventions of `language`:
///
/// - Python: `test_*.py`, `*_test.py`, `conftest.py`, or under a `tests/` or `test/` directory;
/// - Rust: under a `tests/` directory (files with `#[cfg(test)]` modules are checked
///   separately, with [`has_inline_tests`]);
/// - JavaScript/TypeScript: `*.test.*`, `*.spec.*`, under `__tests__/`, or under a
///   `test/` or `tests/` directory (mocha's default);
/// - Go: `*_test.go`;
/// - Java: under `src/test/`, or `*Test.java`, `*Tests.java`, `*IT.java`.
pub fn is_test_file(path: &str, language: Language) -> bool {
    let (dirs, name) = split(path);
    let in_dir = |wanted: &[&str]| dirs.iter().any(|d| wanted.contains(d));
    match language {
        Language::Python => {
            let stem = name.strip_suffix(".py").unwrap_or(name);
            stem.starts_with("test_")
                || stem.ends_with("_test")
                || name == "conftest.py"
                || in_dir(&["tests", "test"])
        }
        // `tests/` integration tests, and test modules kept in their own file
        // (`#[cfg(test)] mod tests;` → `tests.rs`, or `foo_tests.rs`).
        Language::Rust => {
            let stem = name.strip_suffix(".rs").unwrap_or(name);
            in_dir(&["tests"])
                || stem == "tests"
                || stem.ends_with("_tests")
                || stem.ends_with("_test")
        }
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let mut pieces = name.split('.').skip(1);
            pieces.any(|p| p == "test" || p == "spec") || in_dir(&["__tests__", "test", "tests"])
        }
        Language::Go => name.ends_with("_test.go"),
        Language::Java => {
            let stem = name.strip_suffix(".java").unwrap_or(name);
            path.contains("src/test/")
                || stem.ends_with("Test")
                || stem.ends_with("Tests")
                || (stem.ends_with("IT") && stem.len() > 2)
        }
    }
}

/// Whether Rust `source` has inline tests: a `#[cfg(test)]` module or a `#[test]` function.
pub fn has_inline_tests(source: &str) -> bool {
    let mut cfg_test_pending = false;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            return true;
        }
        if let Some(rest) = line.strip_prefix("#[cfg(test)]") {
            if is_mod_item(rest.trim()) {
                return true;
            }
            cfg_test_pending = true;
            continue;
        }
        if cfg_test_pending {
            if line.is_empty() || line.starts_with("#[") || line.starts_with("//") {
                continue;
            }
            if is_mod_item(line) {
                return true;
            }
            cfg_test_pending = false;
        }
    }
    false
}

fn is_mod_item(line: &str) -> bool {
    let line = match line.strip_prefix("pub") {
        Some(rest) => rest.trim_start_matches(|c: char| c != ' ').trim_start(),
        None => line,
    };
    line.starts_with("mod ")
}

/// The module a file is: its name without the extension (`auth.service` for
/// `auth.service.ts`), or its directory's name for `__init__.py`, `mod.rs`, `lib.rs`,
/// `main.rs` and `index.*`.
pub fn module_name(path: &str) -> &str {
    let (dirs, name) = split(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let stem = stem.strip_suffix(".d").unwrap_or(stem);
    if matches!(stem, "__init__" | "mod" | "lib" | "main" | "index") {
        // `crates/searcher/src/lib.rs` is the `searcher` crate, not `src`.
        let meaningful = dirs.iter().rev().find(|d| !matches!(**d, "src" | "lib"));
        if let Some(dir) = meaningful {
            return dir;
        }
    }
    stem
}

/// What comes before the `src/` directory of `path` (with its `/`), if it has one.
fn before_dir<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    if path.starts_with(dir) {
        return Some("");
    }
    path.find(&format!("/{dir}")).map(|i| &path[..=i])
}

#[cfg(test)]
mod tests;
