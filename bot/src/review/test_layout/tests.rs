//! Test-awareness tests, on path lists shaped like the fixture repositories'.

use super::*;

fn location(
    path: &str,
    symbol: &str,
    framework: Option<Framework>,
    existing: &[&str],
) -> TestLocation {
    let language = Language::from_path(path).expect("a source path");
    test_location(path, symbol, language, framework, existing)
}

// psf/requests: pytest, `tests/test_*.py`, a `src/` layout.
const REQUESTS_TESTS: [&str; 6] = [
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_requests.py",
    "tests/test_utils.py",
    "tests/test_hooks.py",
    "tests/testserver/server.py",
];

#[test]
fn test_layout_python_test_files() {
    for path in REQUESTS_TESTS {
        assert!(is_test_file(path, Language::Python), "{path}");
    }
    for path in ["pkg/foo_test.py", "test_x.py", "lib/test/test_os.py"] {
        assert!(is_test_file(path, Language::Python), "{path}");
    }
    for path in [
        "src/requests/sessions.py",
        "src/requests/__init__.py",
        "docs/conf.py",
        "src/requests/testing.py",
    ] {
        assert!(!is_test_file(path, Language::Python), "{path}");
    }
}

#[test]
fn test_layout_detects_pytest_in_requests() {
    let files = [
        ("setup.py", None),
        ("setup.cfg", Some("[metadata]\nlicense_file = LICENSE\n")),
        (
            "pyproject.toml",
            Some(
                "[tool.isort]\nprofile = \"black\"\n\n[tool.pytest.ini_options]\naddopts = \"--doctest-modules\"\n",
            ),
        ),
        (
            "requirements-dev.txt",
            Some("-e .[socks]\npytest>=2.8.0,<9\npytest-cov\n"),
        ),
        ("src/requests/__init__.py", None),
        ("src/requests/sessions.py", None),
        ("tests/conftest.py", Some("import pytest\n")),
        (
            "tests/test_requests.py",
            Some("import pytest\nfrom unittest import mock\n"),
        ),
        ("docs/conf.py", None),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Python, Framework::Pytest)]
    );
}

#[test]
fn test_layout_detects_unittest_without_pytest() {
    let files = [
        ("setup.py", None),
        ("pkg/core.py", None),
        (
            "tests/test_core.py",
            Some("import unittest\n\nclass CoreTest(unittest.TestCase):\n    pass\n"),
        ),
        (
            "tests/test_more.py",
            Some("from unittest import TestCase\n"),
        ),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Python, Framework::Unittest)]
    );
}

#[test]
fn test_layout_python_locations() {
    let existing = REQUESTS_TESTS;
    let send = location("src/requests/sessions.py", "send", None, &existing);
    assert_eq!(
        send,
        TestLocation {
            path: "tests/test_sessions.py".into(),
            exists: false,
            framework: Framework::Pytest,
            style: TestStyle::PytestFunction,
        }
    );
    let utils = location("src/requests/utils.py", "super_len", None, &existing);
    assert_eq!(
        (utils.path.as_str(), utils.exists),
        ("tests/test_utils.py", true)
    );
    // A package's `__init__.py` is the package.
    let init = location(
        "src/requests/__init__.py",
        "check_compatibility",
        None,
        &existing,
    );
    assert_eq!(init.path, "tests/test_requests.py");
    // No tests yet: `tests/` at the project root.
    assert_eq!(
        location("src/requests/hooks.py", "dispatch_hook", None, &[]).path,
        "tests/test_hooks.py"
    );
    assert_eq!(
        location("requests/hooks.py", "dispatch_hook", None, &[]).path,
        "tests/test_hooks.py"
    );
    // Tests beside the package, and unittest style.
    let beside = location(
        "pkg/core.py",
        "run",
        Some(Framework::Unittest),
        &["pkg/core_test.py"],
    );
    assert_eq!(beside.path, "pkg/core_test.py");
    assert_eq!(beside.style, TestStyle::UnittestMethod);
    assert!(beside.style_hint().contains("unittest.TestCase"));
}

// BurntSushi/ripgrep: cargo test, inline `mod tests`, integration tests in `tests/`.
const SEARCHER_MOD: &str = "\
pub struct Searcher;

#[cfg(test)]
mod tests {
    use super::*;
}
";

#[test]
fn test_layout_rust_test_files_and_inline_tests() {
    for path in [
        "tests/regression.rs",
        "tests/util.rs",
        "crates/cli/tests/x.rs",
    ] {
        assert!(is_test_file(path, Language::Rust), "{path}");
    }
    for path in ["crates/searcher/src/searcher/mod.rs", "crates/core/main.rs"] {
        assert!(!is_test_file(path, Language::Rust), "{path}");
    }
    assert!(has_inline_tests(SEARCHER_MOD));
    assert!(has_inline_tests(
        "#[cfg(test)]\n#[allow(unused)]\npub(crate) mod tests {}\n"
    ));
    assert!(has_inline_tests("#[cfg(test)] mod tests;\n"));
    assert!(has_inline_tests("#[test]\nfn works() {}\n"));
    assert!(!has_inline_tests("#[cfg(test)]\nuse std::fs;\nfn f() {}\n"));
    assert!(!has_inline_tests("#[cfg(not(test))]\nmod real {}\n"));
    assert!(!has_inline_tests("pub fn no_tests() {}\n"));
}

#[test]
fn test_layout_detects_cargo_test_in_ripgrep() {
    let files = [
        ("Cargo.toml", Some("[package]\nname = \"ripgrep\"\n")),
        ("crates/core/main.rs", None),
        ("crates/searcher/src/searcher/mod.rs", Some(SEARCHER_MOD)),
        ("tests/regression.rs", None),
        ("tests/data/sherlock.br", None),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Rust, Framework::CargoTest)]
    );
}

#[test]
fn test_layout_rust_locations() {
    let existing = [
        "tests/regression.rs",
        "tests/feature.rs",
        "crates/searcher/src/searcher/mod.rs",
    ];
    let inline = location(
        "crates/searcher/src/searcher/mod.rs",
        "search",
        None,
        &existing,
    );
    assert_eq!(
        inline,
        TestLocation {
            path: "crates/searcher/src/searcher/mod.rs".into(),
            exists: true,
            framework: Framework::CargoTest,
            style: TestStyle::RustInlineModule,
        }
    );
    // The crate keeps inline tests elsewhere: same habit, a new module here.
    let sink = location("crates/searcher/src/sink.rs", "matched", None, &existing);
    assert_eq!(
        (sink.path.as_str(), sink.exists, sink.style),
        (
            "crates/searcher/src/sink.rs",
            false,
            TestStyle::RustInlineModule
        )
    );
    // A crate tested only through `tests/`: the integration test for the module.
    let only_integration = [
        "crates/cli/tests/decompress.rs",
        "crates/cli/tests/other.rs",
    ];
    let decompress = location(
        "crates/cli/src/decompress.rs",
        "new",
        None,
        &only_integration,
    );
    assert_eq!(
        (
            decompress.path.as_str(),
            decompress.exists,
            decompress.style
        ),
        (
            "crates/cli/tests/decompress.rs",
            true,
            TestStyle::RustIntegration
        )
    );
    let pattern = location(
        "crates/cli/src/pattern.rs",
        "parse",
        None,
        &only_integration,
    );
    assert_eq!(
        (pattern.path.as_str(), pattern.exists),
        ("crates/cli/tests/cli.rs", false)
    );
}

// spf13/cobra: go test, `<file>_test.go` beside each file.
#[test]
fn test_layout_go_in_cobra() {
    let files = [
        ("go.mod", Some("module github.com/spf13/cobra\n")),
        ("command.go", None),
        ("command_test.go", None),
        ("doc/man_docs.go", None),
        ("doc/man_docs_test.go", None),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Go, Framework::GoTest)]
    );
    assert!(is_test_file("command_test.go", Language::Go));
    assert!(!is_test_file("command.go", Language::Go));
    assert!(!is_test_file("test/helpers.go", Language::Go));
    let existing = ["command_test.go", "doc/man_docs_test.go"];
    let execute = location("command.go", "Execute", None, &existing);
    assert_eq!(
        execute,
        TestLocation {
            path: "command_test.go".into(),
            exists: true,
            framework: Framework::GoTest,
            style: TestStyle::GoTestFunction,
        }
    );
    let md = location("doc/md_docs.go", "GenMarkdown", None, &existing);
    assert_eq!(
        (md.path.as_str(), md.exists),
        ("doc/md_docs_test.go", false)
    );
}

// expressjs/express: mocha, suites in `test/` named after the API (`res.send.js`).
const EXPRESS_PACKAGE: &str = r#"{
  "name": "express",
  "devDependencies": { "after": "0.8.2", "mocha": "10.2.0", "supertest": "6.3.0" },
  "scripts": {
    "lint": "eslint .",
    "test": "mocha --require test/support/env --reporter spec --bail --check-leaks test/ test/acceptance/",
    "test-ci": "nyc --reporter=lcovonly --reporter=text npm test"
  }
}"#;

const EXPRESS_TESTS: [&str; 6] = [
    "test/res.send.js",
    "test/res.json.js",
    "test/app.router.js",
    "test/Router.js",
    "test/express.json.js",
    "test/support/utils.js",
];

#[test]
fn test_layout_javascript_in_express() {
    let mut files: Vec<(&str, Option<&str>)> = vec![
        ("package.json", Some(EXPRESS_PACKAGE)),
        ("index.js", None),
        ("lib/express.js", None),
        ("lib/response.js", None),
        ("examples/auth/index.js", None),
    ];
    files.extend(EXPRESS_TESTS.iter().map(|p| (*p, None)));
    assert_eq!(
        detect_framework(&files),
        [(Language::JavaScript, Framework::Mocha)]
    );
    for path in EXPRESS_TESTS {
        assert!(is_test_file(path, Language::JavaScript), "{path}");
    }
    for path in [
        "lib/response.js",
        "examples/auth/index.js",
        "lib/router/index.js",
    ] {
        assert!(!is_test_file(path, Language::JavaScript), "{path}");
    }
    let mocha = Some(Framework::Mocha);
    let send = location("lib/response.js", "send", mocha, &EXPRESS_TESTS);
    assert_eq!(
        send,
        TestLocation {
            path: "test/res.send.js".into(),
            exists: true,
            framework: Framework::Mocha,
            style: TestStyle::DescribeIt,
        }
    );
    // `lib/router/index.js` is the router: `test/Router.js`.
    let route = location("lib/router/index.js", "route", mocha, &EXPRESS_TESTS);
    assert_eq!(
        (route.path.as_str(), route.exists),
        ("test/Router.js", true)
    );
    // Nothing named after it: a new suite in `test/`, in express's naming.
    let etag = location("lib/utils.js", "etag", mocha, &EXPRESS_TESTS);
    assert_eq!((etag.path.as_str(), etag.exists), ("test/utils.js", false));
}

#[test]
fn test_layout_javascript_follows_sibling_and_dunder_tests_conventions() {
    for path in [
        "src/a.test.ts",
        "src/a.spec.tsx",
        "src/__tests__/a.js",
        "web/b.test.mjs",
    ] {
        let language = Language::from_path(path).expect("language");
        assert!(is_test_file(path, language), "{path}");
    }
    assert!(!is_test_file("src/testing.ts", Language::TypeScript));
    assert!(!is_test_file("src/contest.js", Language::JavaScript));

    let siblings = ["src/components/Button.test.tsx", "src/utils/format.test.ts"];
    let button = location("src/components/Button.tsx", "Button", None, &siblings);
    assert_eq!(
        (button.path.as_str(), button.exists, button.framework),
        ("src/components/Button.test.tsx", true, Framework::Jest)
    );
    assert_eq!(
        location("src/utils/parse.ts", "parse", None, &siblings).path,
        "src/utils/parse.test.ts"
    );
    let dunder = ["src/__tests__/app.test.js"];
    assert_eq!(
        location("src/lib/math.js", "add", None, &dunder).path,
        "src/lib/__tests__/math.test.js"
    );
    let specs = [
        "src/app/app.component.spec.ts",
        "src/app/user.service.spec.ts",
    ];
    assert_eq!(
        location("src/app/auth.service.ts", "login", None, &specs).path,
        "src/app/auth.service.spec.ts"
    );
    let vitest = location("src/a.ts", "a", Some(Framework::Vitest), &[]);
    assert_eq!(vitest.path, "src/a.test.ts");
    assert!(vitest.style_hint().contains("vitest"));
}

#[test]
fn test_layout_detects_jest_and_vitest() {
    let jest = [
        (
            "package.json",
            Some(r#"{"scripts":{"test":"jest --coverage"},"devDependencies":{"jest":"^29"}}"#),
        ),
        ("jest.config.js", None),
        ("src/index.js", None),
    ];
    assert_eq!(
        detect_framework(&jest),
        [(Language::JavaScript, Framework::Jest)]
    );
    let vitest = [
        (
            "package.json",
            Some(
                r#"{"scripts":{"test":"vitest run"},"devDependencies":{"vitest":"^1","jest":"^29"}}"#,
            ),
        ),
        ("vitest.config.ts", None),
        ("src/a.ts", None),
        ("src/App.tsx", None),
        (
            "src/a.test.ts",
            Some("import { describe, it } from 'vitest';\n"),
        ),
    ];
    assert_eq!(
        detect_framework(&vitest),
        [
            (Language::TypeScript, Framework::Vitest),
            (Language::Tsx, Framework::Vitest)
        ]
    );
    assert_eq!(detect_framework(&[("package.json", Some("not json"))]), []);
}

// google/gson: JUnit 4 (with Truth), Maven layout under `gson/`.
#[test]
fn test_layout_java_in_gson() {
    let files = [
        (
            "pom.xml",
            Some("<project><modules><module>gson</module></modules></project>"),
        ),
        (
            "gson/pom.xml",
            Some(
                "<dependency>\n<groupId>junit</groupId>\n<artifactId>junit</artifactId>\n<scope>test</scope>\n</dependency>",
            ),
        ),
        ("gson/src/main/java/com/google/gson/Gson.java", None),
        (
            "gson/src/test/java/com/google/gson/GsonTest.java",
            Some(
                "import static com.google.common.truth.Truth.assertThat;\nimport org.junit.Test;\n",
            ),
        ),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Java, Framework::Junit4)]
    );
    for path in [
        "gson/src/test/java/com/google/gson/GsonTest.java",
        "gson/src/test/java/com/google/gson/common/TestTypes.java",
        "src/main/java/a/ParserTests.java",
        "src/main/java/a/ServerIT.java",
    ] {
        assert!(is_test_file(path, Language::Java), "{path}");
    }
    for path in [
        "gson/src/main/java/com/google/gson/Gson.java",
        "gson/src/main/java/com/google/gson/internal/bind/TypeAdapters.java",
        "src/main/java/a/Contest.java",
    ] {
        assert!(!is_test_file(path, Language::Java), "{path}");
    }
    let existing = ["gson/src/test/java/com/google/gson/GsonTest.java"];
    let junit4 = Some(Framework::Junit4);
    let gson = location(
        "gson/src/main/java/com/google/gson/Gson.java",
        "toJson",
        junit4,
        &existing,
    );
    assert_eq!(
        gson,
        TestLocation {
            path: "gson/src/test/java/com/google/gson/GsonTest.java".into(),
            exists: true,
            framework: Framework::Junit4,
            style: TestStyle::JunitMethod,
        }
    );
    let fields = location(
        "gson/src/main/java/com/google/gson/FieldAttributes.java",
        "getName",
        junit4,
        &existing,
    );
    assert_eq!(
        (fields.path.as_str(), fields.exists),
        (
            "gson/src/test/java/com/google/gson/FieldAttributesTest.java",
            false
        )
    );
    // An existing `…Tests` class in the same package is used.
    let tests = location(
        "src/main/java/a/Parser.java",
        "parse",
        None,
        &["src/test/java/a/ParserTests.java"],
    );
    assert_eq!(tests.path, "src/test/java/a/ParserTests.java");
    assert!(tests.style_hint().contains("JUnit 5"));
}

#[test]
fn test_layout_detects_junit5_and_nothing_without_evidence() {
    let files = [
        (
            "build.gradle.kts",
            Some(
                "dependencies { testImplementation(\"org.junit.jupiter:junit-jupiter:5.10.0\") }\ntasks.test { useJUnitPlatform() }\n",
            ),
        ),
        (
            "src/test/java/a/ATest.java",
            Some("import org.junit.jupiter.api.Test;\n"),
        ),
    ];
    assert_eq!(
        detect_framework(&files),
        [(Language::Java, Framework::Junit5)]
    );
    assert_eq!(detect_framework(&[("README.md", None)]), []);
    assert_eq!(
        detect_framework(&[("src/Main.java", None), ("app.py", None)]),
        []
    );
}

#[test]
fn test_layout_names_the_files_whose_contents_it_reads() {
    for path in [
        "package.json",
        "pyproject.toml",
        "gson/pom.xml",
        "requirements-dev.txt",
        "tests/test_x.py",
        "command_test.go",
    ] {
        assert!(is_framework_evidence(path), "{path}");
    }
    for path in ["src/requests/sessions.py", "README.md", "command.go"] {
        assert!(!is_framework_evidence(path), "{path}");
    }
}

#[test]
fn test_layout_module_names() {
    let cases = [
        ("src/requests/sessions.py", "sessions"),
        ("src/requests/__init__.py", "requests"),
        ("crates/searcher/src/lib.rs", "searcher"),
        ("crates/searcher/src/searcher/mod.rs", "searcher"),
        ("lib/router/index.js", "router"),
        ("src/app/auth.service.ts", "auth.service"),
        ("types/index.d.ts", "types"),
        ("main.go", "main"),
        ("Gson.java", "Gson"),
    ];
    for (path, module) in cases {
        assert_eq!(module_name(path), module, "{path}");
    }
}

#[test]
fn rust_test_modules_in_their_own_file_are_test_files() {
    for path in [
        "src/review/diff/tests.rs",
        "src/store/contract_tests.rs",
        "src/parse_test.rs",
        "tests/cli.rs",
    ] {
        assert!(is_test_file(path, Language::Rust), "{path}");
    }
    for path in ["src/tests_helper.rs", "src/testing.rs", "src/main.rs"] {
        assert!(!is_test_file(path, Language::Rust), "{path}");
    }
}
