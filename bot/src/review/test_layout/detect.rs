//! Which test framework a repository uses, from its manifests, configuration and tests.

use std::collections::BTreeMap;

use super::{Framework, is_test_file, split};
use crate::review::languages::Language;

/// Whether [`detect_framework`] reads this file's contents (manifests, configuration,
/// test sources); callers with a file listing fetch only these.
pub fn is_framework_evidence(path: &str) -> bool {
    let (_, name) = split(path);
    matches!(
        name,
        "pyproject.toml"
            | "setup.cfg"
            | "tox.ini"
            | "pytest.ini"
            | "package.json"
            | "pom.xml"
            | "build.gradle"
            | "build.gradle.kts"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
        || Language::from_path(path).is_some_and(|language| is_test_file(path, language))
}

/// Evidence weights: a configuration file or test script names the runner outright; a
/// dependency may be left over; one import is one file's choice.
const CONFIG: u32 = 3;
const DEPENDENCY: u32 = 2;
const USE: u32 = 1;

/// The test framework of each language in a repository, from its files (path and,
/// where available, contents; see [`is_framework_evidence`]). The strongest evidence
/// wins per language; languages without evidence are left out (see
/// [`Framework::default_for`]). JavaScript frameworks are reported for each of
/// JavaScript, TypeScript and TSX that the repository has files in.
pub fn detect_framework(files: &[(&str, Option<&str>)]) -> Vec<(Language, Framework)> {
    let mut scores: BTreeMap<(Language, Framework), u32> = BTreeMap::new();
    let mut add = |language, framework, weight| {
        *scores.entry((language, framework)).or_default() += weight;
    };
    let mut js_languages = Vec::new();
    for &(path, contents) in files {
        let (_, name) = split(path);
        let text = contents.unwrap_or_default();
        let language = Language::from_path(path);
        if let Some(language @ (Language::JavaScript | Language::TypeScript | Language::Tsx)) =
            language
            && !js_languages.contains(&language)
        {
            js_languages.push(language);
        }
        match name {
            "pytest.ini" => add(Language::Python, Framework::Pytest, CONFIG),
            "conftest.py" => add(Language::Python, Framework::Pytest, DEPENDENCY),
            "pyproject.toml" | "setup.cfg" | "tox.ini" => {
                if ["[tool.pytest.ini_options]", "[tool:pytest]", "[pytest]"]
                    .iter()
                    .any(|section| text.contains(section))
                {
                    add(Language::Python, Framework::Pytest, CONFIG);
                } else if text.contains("pytest") {
                    add(Language::Python, Framework::Pytest, DEPENDENCY);
                }
            }
            "Cargo.toml" => add(Language::Rust, Framework::CargoTest, CONFIG),
            "go.mod" => add(Language::Go, Framework::GoTest, CONFIG),
            "package.json" => package_json_evidence(text, &mut add),
            "pom.xml" | "build.gradle" | "build.gradle.kts" => {
                if text.contains("junit-jupiter") || text.contains("useJUnitPlatform") {
                    add(Language::Java, Framework::Junit5, CONFIG);
                }
                if text.contains("<artifactId>junit</artifactId>") || text.contains("junit:junit") {
                    add(Language::Java, Framework::Junit4, CONFIG);
                }
            }
            _ if name.starts_with("requirements")
                && name.ends_with(".txt")
                && text.lines().any(|l| l.trim_start().starts_with("pytest")) =>
            {
                add(Language::Python, Framework::Pytest, DEPENDENCY);
            }
            _ if name.starts_with("jest.config.") => {
                add(Language::JavaScript, Framework::Jest, CONFIG);
            }
            _ if name.starts_with("vitest.config.") || name.starts_with("vitest.workspace.") => {
                add(Language::JavaScript, Framework::Vitest, CONFIG);
            }
            _ if name.starts_with(".mocharc") => {
                add(Language::JavaScript, Framework::Mocha, CONFIG)
            }
            _ => {}
        }
        match language {
            Some(Language::Rust) => add(Language::Rust, Framework::CargoTest, USE),
            Some(Language::Go) => add(Language::Go, Framework::GoTest, USE),
            Some(Language::Python) => {
                if text.contains("import pytest") || text.contains("from pytest") {
                    add(Language::Python, Framework::Pytest, USE);
                }
                // `from unittest import mock` is common in pytest suites; only
                // TestCase classes mean unittest is the framework.
                if text.contains("unittest.TestCase")
                    || text.contains("from unittest import TestCase")
                {
                    add(Language::Python, Framework::Unittest, USE);
                }
            }
            Some(Language::JavaScript | Language::TypeScript | Language::Tsx) => {
                if text.contains("from 'vitest'") || text.contains("from \"vitest\"") {
                    add(Language::JavaScript, Framework::Vitest, USE);
                }
                if text.contains("@jest/globals")
                    || text.contains("jest.mock(")
                    || text.contains("jest.fn(")
                {
                    add(Language::JavaScript, Framework::Jest, USE);
                }
            }
            Some(Language::Java) => {
                if text.contains("import org.junit.jupiter") {
                    add(Language::Java, Framework::Junit5, USE);
                } else if text.contains("import org.junit.")
                    || text.contains("import junit.framework")
                {
                    add(Language::Java, Framework::Junit4, USE);
                }
            }
            None => {}
        }
    }

    let mut best: BTreeMap<Language, (u32, Framework)> = BTreeMap::new();
    for ((language, framework), score) in scores {
        // Ties go to the framework declared first in `Framework` (pytest over unittest,
        // jest over vitest over mocha, JUnit 4 over 5: the older suite runs the newer
        // rarely, the other way round often).
        let entry = best.entry(language).or_insert((score, framework));
        if score > entry.0 {
            *entry = (score, framework);
        }
    }
    let mut found: Vec<(Language, Framework)> = Vec::new();
    for (language, (_, framework)) in best {
        if language == Language::JavaScript {
            if js_languages.is_empty() {
                js_languages.push(Language::JavaScript);
            }
            js_languages.sort();
            found.extend(js_languages.iter().map(|&l| (l, framework)));
        } else {
            found.push((language, framework));
        }
    }
    found.sort();
    found
}

/// `package.json`: test scripts name the runner; dependencies suggest it.
fn package_json_evidence(text: &str, add: &mut impl FnMut(Language, Framework, u32)) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let runners = [
        ("jest", Framework::Jest),
        ("vitest", Framework::Vitest),
        ("mocha", Framework::Mocha),
    ];
    if let Some(scripts) = json.get("scripts").and_then(|s| s.as_object()) {
        for (key, command) in scripts {
            let Some(command) = command.as_str() else {
                continue;
            };
            if !key.starts_with("test") {
                continue;
            }
            for (runner, framework) in runners {
                if command.split_whitespace().any(|word| word == runner) {
                    add(Language::JavaScript, framework, CONFIG);
                }
            }
        }
    }
    for section in ["devDependencies", "dependencies"] {
        let Some(dependencies) = json.get(section).and_then(|d| d.as_object()) else {
            continue;
        };
        for (runner, framework) in runners {
            if dependencies.contains_key(runner) {
                add(Language::JavaScript, framework, DEPENDENCY);
            }
        }
    }
}
