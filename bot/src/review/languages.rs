//! Which language a file is in (by path, then shebang) and its tree-sitter grammar.

use std::path::Path;

/// A language we understand with tree-sitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust.
    Rust,
    /// Python.
    Python,
    /// JavaScript (including JSX, `.mjs`, `.cjs`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go.
    Go,
    /// Java.
    Java,
}

impl Language {
    /// Every language.
    pub const ALL: [Language; 7] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
    ];

    /// A short lowercase name (`rust`, `python`, …), as in query file names.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
        }
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }

    /// A parser for this language.
    pub fn parser(self) -> tree_sitter::Parser {
        let mut parser = tree_sitter::Parser::new();
        // Only fails on an ABI mismatch between grammar and core, which a test rules out.
        let _ = parser.set_language(&self.grammar());
        parser
    }

    /// The language of `path` from its extension, else from the first line (a shebang).
    pub fn detect(path: &str, first_line: Option<&str>) -> Option<Language> {
        Self::from_path(path).or_else(|| first_line.and_then(Self::from_shebang))
    }

    /// By file extension.
    pub fn from_path(path: &str) -> Option<Language> {
        let extension = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "jsx" | "mjs" | "cjs" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            _ => return None,
        })
    }

    /// By a `#!` line: `#!/usr/bin/env python3`, `#!/usr/bin/node`, `#!/usr/bin/env -S deno run`.
    pub fn from_shebang(line: &str) -> Option<Language> {
        let rest = line.strip_prefix("#!")?;
        let mut words = rest.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?;
        if program == "env" {
            program = words.find(|w| !w.starts_with('-'))?;
        }
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match program {
            "python" | "pypy" => Language::Python,
            "node" | "nodejs" => Language::JavaScript,
            "deno" | "ts-node" | "tsx" | "bun" => Language::TypeScript,
            "rust-script" => Language::Rust,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grammar_loads_and_parses() {
        for language in Language::ALL {
            let mut parser = tree_sitter::Parser::new();
            parser
                .set_language(&language.grammar())
                .unwrap_or_else(|e| panic!("{language:?}: {e}"));
            let tree = parser.parse("x", None).expect("a tree");
            assert!(tree.root_node().end_byte() <= 1, "{language:?}");
        }
    }

    #[test]
    fn detects_by_extension() {
        let cases = [
            ("src/main.rs", Language::Rust),
            ("a/b.py", Language::Python),
            ("types.pyi", Language::Python),
            ("web/app.JSX", Language::JavaScript),
            ("lib/index.mjs", Language::JavaScript),
            ("src/x.ts", Language::TypeScript),
            ("src/x.d.ts", Language::TypeScript),
            ("ui/App.tsx", Language::Tsx),
            ("cmd/root.go", Language::Go),
            ("src/main/java/A.java", Language::Java),
        ];
        for (path, language) in cases {
            assert_eq!(Language::from_path(path), Some(language), "{path}");
        }
        for path in ["README.md", "Makefile", "x.rsx", ".rs", "dir.py/file"] {
            assert_eq!(Language::from_path(path), None, "{path}");
        }
    }

    #[test]
    fn detects_scripts_by_shebang() {
        let cases = [
            ("#!/usr/bin/env python3", Some(Language::Python)),
            ("#!/usr/bin/python2.7", Some(Language::Python)),
            ("#! /usr/bin/env node", Some(Language::JavaScript)),
            (
                "#!/usr/bin/env -S deno run --allow-net",
                Some(Language::TypeScript),
            ),
            ("#!/bin/sh", None),
            ("print('no shebang')", None),
        ];
        for (line, language) in cases {
            assert_eq!(Language::from_shebang(line), language, "{line}");
        }
        assert_eq!(
            Language::detect("bin/tool", Some("#!/usr/bin/env python3")),
            Some(Language::Python)
        );
        assert_eq!(
            Language::detect("tool.go", Some("#!/usr/bin/env python3")),
            Some(Language::Go)
        );
    }
}
