//! Context tests: one small fixture per language, modelled on the fixture repositories
//! (ripgrep, requests, express, cobra, gson), plus the edge cases.

use super::*;

/// The 1-based line of the first line of `source` containing `needle`.
fn line_of(source: &str, needle: &str) -> u32 {
    let index = source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in fixture"));
    index as u32 + 1
}

/// A hunk adding exactly `added` (its range spans them, plus one line of context).
fn hunk(added: &[u32]) -> ChangedHunk {
    let low = added.iter().min().copied().unwrap_or(1);
    let high = added.iter().max().copied().unwrap_or(1);
    ChangedHunk {
        lines: low.saturating_sub(1).max(1)..=high + 1,
        added: added.iter().copied().collect(),
    }
}

fn context(path: &str, source: &str, hunks: Vec<ChangedHunk>) -> FileContext {
    parse_context(&ChangedFile::new(path, source, hunks)).expect("context")
}

/// The context of one hunk adding the line containing `needle`.
fn context_at(path: &str, source: &str, needle: &str) -> HunkContext {
    let file = context(path, source, vec![hunk(&[line_of(source, needle)])]);
    assert!(file.skipped.is_none(), "{:?}", file.skipped);
    file.hunks.into_iter().next().expect("one hunk")
}

fn outline(language: Language, source: &str) -> Vec<Symbol> {
    let outline = parse_outline(Some(language), source).expect("outline");
    assert!(!outline.has_syntax_errors, "fixture has syntax errors");
    outline.symbols
}

fn find<'a>(symbols: &'a [Symbol], qualified_name: &str) -> &'a Symbol {
    symbols
        .iter()
        .find(|s| s.qualified_name == qualified_name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = symbols.iter().map(|s| s.qualified_name.as_str()).collect();
            panic!("{qualified_name} not in {names:?}")
        })
}

/// Asserts each `(qualified name, kind, public)`.
fn assert_symbols(symbols: &[Symbol], expected: &[(&str, SymbolKind, bool)]) {
    for &(name, kind, public) in expected {
        let symbol = find(symbols, name);
        assert_eq!(symbol.kind, kind, "{name}");
        assert_eq!(symbol.public, public, "{name} public");
    }
}

const RUST: &str = r#"//! Searching lines.
use std::fmt;

/// Searches lines.
pub struct Searcher {
    line_term: u8,
}

impl Searcher {
    /// A searcher for `\n` lines.
    #[inline]
    pub fn new() -> Searcher {
        Searcher { line_term: b'\n' }
    }

    fn terminator(&self) -> u8 {
        self.line_term
    }
}

impl<'a> fmt::Display for &'a Searcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "searcher")
    }
}

pub trait Sink {
    fn matched(&mut self, line: &[u8]) -> bool;

    fn finish(&mut self) {
        let _ = self;
    }
}

pub(crate) enum Mode {
    Fast,
}

pub(self) fn hidden() {}

macro_rules! log {
    () => {};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_uses_newline() {
        assert_eq!(Searcher::new().line_term, b'\n');
    }
}
"#;

#[test]
fn context_rust_method_has_its_impl_and_full_source() {
    let hunk = context_at("crates/searcher/src/lib.rs", RUST, "Searcher { line_term");
    let function = hunk.function.expect("enclosing function");
    assert_eq!(function.symbol.qualified_name, "Searcher::new");
    assert_eq!(function.symbol.name, "new");
    assert_eq!(function.symbol.kind, SymbolKind::Method);
    assert!(function.symbol.public);
    // The attribute belongs to the method; the doc comment is left to the reader.
    assert_eq!(function.symbol.start_line, line_of(RUST, "#[inline]"));
    assert_eq!(
        function.source,
        "    #[inline]\n    pub fn new() -> Searcher {\n        Searcher { line_term: b'\\n' }\n    }"
    );
    assert!(!function.truncated);
    let container = hunk.container.expect("impl");
    assert_eq!(container.symbol.kind, SymbolKind::Impl);
    assert_eq!(container.symbol.name, "Searcher");
    assert!(container.source.starts_with("impl Searcher {"));
    assert!(container.source.ends_with("    }\n}"));
    let changed: Vec<&str> = hunk
        .changed_symbols
        .iter()
        .map(|s| s.qualified_name.as_str())
        .collect();
    assert_eq!(changed, ["Searcher::new"], "impls are not changed symbols");
}

#[test]
fn context_rust_symbols_kinds_and_visibility() {
    let symbols = outline(Language::Rust, RUST);
    assert_symbols(
        &symbols,
        &[
            ("Searcher", SymbolKind::Struct, true),
            ("Searcher::new", SymbolKind::Method, true),
            ("Searcher::terminator", SymbolKind::Method, false),
            // Trait impls are reached through the trait; `&'a Searcher` is `Searcher`.
            ("Searcher::fmt", SymbolKind::Method, false),
            ("Sink", SymbolKind::Trait, true),
            ("Sink::matched", SymbolKind::Method, true),
            ("Sink::finish", SymbolKind::Method, true),
            // `pub(crate)` is not public API: it is tested through what is.
            ("Mode", SymbolKind::Enum, false),
            ("hidden", SymbolKind::Function, false),
            ("log", SymbolKind::Macro, false),
            ("tests", SymbolKind::Module, false),
            ("tests::new_uses_newline", SymbolKind::Function, false),
        ],
    );
    assert!(find(&symbols, "tests").test);
    assert!(find(&symbols, "tests::new_uses_newline").test);
    assert!(!find(&symbols, "Searcher::new").test);
}

#[test]
fn context_rust_change_spanning_two_definitions_lists_both() {
    let first = line_of(RUST, "line_term: u8");
    let second = line_of(RUST, "Searcher { line_term");
    let file = context("src/lib.rs", RUST, vec![hunk(&[first, second])]);
    let hunk = &file.hunks[0];
    assert!(hunk.function.is_none(), "no one function holds both lines");
    assert!(hunk.container.is_none());
    let changed: Vec<&str> = hunk
        .changed_symbols
        .iter()
        .map(|s| s.qualified_name.as_str())
        .collect();
    assert_eq!(changed, ["Searcher", "Searcher::new"]);
}

const PYTHON: &str = r#"import os


def get(url, **kwargs):
    return request("get", url, **kwargs)


class Session(SessionRedirectMixin):
    """A session."""

    @property
    def auth(self):
        return self._auth

    def send(self, request, **kwargs):
        def hook(r):
            return r

        return adapter.send(request, **kwargs)

    def _merge(self, a, b):
        return a


class _Internal:
    def visible(self):
        pass
"#;

#[test]
fn context_python_method_in_class() {
    let hunk = context_at("src/requests/sessions.py", PYTHON, "adapter.send");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Session.send");
    assert_eq!(function.symbol.kind, SymbolKind::Method);
    assert!(function.symbol.public);
    assert!(function.source.starts_with("    def send(self"));
    assert!(
        function
            .source
            .ends_with("return adapter.send(request, **kwargs)")
    );
    let class = hunk.container.expect("class");
    assert_eq!(class.symbol.qualified_name, "Session");
    assert!(
        class
            .source
            .starts_with("class Session(SessionRedirectMixin):")
    );
    assert!(class.source.ends_with("        return a"));
}

#[test]
fn context_python_nested_function_is_innermost_and_not_public() {
    let hunk = context_at("sessions.py", PYTHON, "            return r");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Session.send.hook");
    assert_eq!(function.symbol.kind, SymbolKind::Function);
    assert!(!function.symbol.public);
    // The class around the innermost function, through the method.
    assert_eq!(hunk.container.expect("class").symbol.name, "Session");
}

#[test]
fn context_python_symbols_kinds_and_visibility() {
    let symbols = outline(Language::Python, PYTHON);
    assert_symbols(
        &symbols,
        &[
            ("get", SymbolKind::Function, true),
            ("Session", SymbolKind::Class, true),
            ("Session.auth", SymbolKind::Method, true),
            ("Session.send", SymbolKind::Method, true),
            ("Session._merge", SymbolKind::Method, false),
            ("_Internal", SymbolKind::Class, false),
            ("_Internal.visible", SymbolKind::Method, false),
        ],
    );
    // Decorators are part of the definition.
    assert_eq!(
        find(&symbols, "Session.auth").start_line,
        line_of(PYTHON, "@property")
    );
}

const JAVASCRIPT: &str = r#"'use strict';

var app = exports = module.exports = {};

app.init = function init() {
  this.cache = {};
};

app.handle = function handle(req, res, callback) {
  var router = this._router;
  router.handle(req, res, callback);
};

Router.prototype.route = function (path) {
  return path;
};

function logerror(err) {
  console.error(err.stack || err.toString());
}

exports.helper = helper;

function helper() {
  return 1;
}

class View {
  render(options) {
    return options;
  }

  #secret() {}
}

const arrow = (a) => a + 1;

var methods = {
  get: function () {
    return 1;
  },
};
"#;

#[test]
fn context_javascript_commonjs_methods() {
    let hunk = context_at("lib/application.js", JAVASCRIPT, "router.handle(req");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "app.handle");
    assert_eq!(function.symbol.name, "handle");
    assert!(
        function.symbol.public,
        "assigned on the exported app object"
    );
    assert_eq!(
        function.source,
        "app.handle = function handle(req, res, callback) {\n  var router = this._router;\n  router.handle(req, res, callback);\n};"
    );
    assert!(hunk.container.is_none());
}

#[test]
fn context_javascript_symbols_kinds_and_visibility() {
    let symbols = outline(Language::JavaScript, JAVASCRIPT);
    assert_symbols(
        &symbols,
        &[
            ("app.init", SymbolKind::Function, true),
            ("Router.route", SymbolKind::Function, true),
            ("logerror", SymbolKind::Function, false),
            ("helper", SymbolKind::Function, true),
            ("View", SymbolKind::Class, false),
            ("View.render", SymbolKind::Method, false),
            ("View.#secret", SymbolKind::Method, false),
            ("arrow", SymbolKind::Function, false),
            ("get", SymbolKind::Function, false),
        ],
    );
    // `const arrow = …` is one definition, `const` included.
    let arrow = find(&symbols, "arrow");
    assert_eq!(arrow.start_line, line_of(JAVASCRIPT, "const arrow"));
    assert_eq!(arrow.end_line, arrow.start_line);
}

const TYPESCRIPT: &str = r#"import { x } from './x';

export interface Options {
  retries: number;
  backoff(attempt: number): number;
}

export type Handler = (req: Request) => Response;

export enum Level {
  Low,
}

@Injectable()
export class Client {
  private token: string;

  constructor(private readonly options: Options) {}

  public async fetch(url: string): Promise<Response> {
    return fetch(url);
  }

  @Memo()
  private sign(url: string): string {
    return url + this.token;
  }

  handle = (req: Request) => {
    return this.fetch(req.url);
  };
}

export const createClient = (options: Options): Client => {
  return new Client(options);
};

function internal(): number {
  return 1;
}

export default function main() {}

namespace Util {
  export function pad(s: string) {
    return s;
  }
}
"#;

#[test]
fn context_typescript_symbols_kinds_and_visibility() {
    for language in [Language::TypeScript, Language::Tsx] {
        let symbols = outline(language, TYPESCRIPT);
        assert_symbols(
            &symbols,
            &[
                ("Options", SymbolKind::Interface, true),
                ("Options.backoff", SymbolKind::Method, true),
                ("Handler", SymbolKind::Type, true),
                ("Level", SymbolKind::Enum, true),
                ("Client", SymbolKind::Class, true),
                ("Client.constructor", SymbolKind::Method, true),
                ("Client.fetch", SymbolKind::Method, true),
                ("Client.sign", SymbolKind::Method, false),
                ("Client.handle", SymbolKind::Method, true),
                ("createClient", SymbolKind::Function, true),
                ("internal", SymbolKind::Function, false),
                ("main", SymbolKind::Function, true),
                ("Util", SymbolKind::Module, false),
                ("Util.pad", SymbolKind::Function, true),
            ],
        );
        // Decorators belong to what they decorate.
        assert_eq!(
            find(&symbols, "Client.sign").start_line,
            line_of(TYPESCRIPT, "@Memo()")
        );
        let create = find(&symbols, "createClient");
        assert_eq!(
            (create.start_line, create.end_line),
            (
                line_of(TYPESCRIPT, "export const createClient"),
                line_of(TYPESCRIPT, "return new Client") + 1
            )
        );
    }
}

#[test]
fn context_typescript_method_and_class() {
    let hunk = context_at("src/client.ts", TYPESCRIPT, "return fetch(url)");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Client.fetch");
    let class = hunk.container.expect("class");
    assert_eq!(class.symbol.qualified_name, "Client");
    assert!(
        class
            .source
            .starts_with("@Injectable()\nexport class Client {")
    );
}

const TSX: &str = r#"import React from 'react';

type Props = { label: string };

export function Button({ label }: Props) {
  return <button className="primary">{label}</button>;
}

export const Card = ({ title }: { title: string }) => (
  <div>
    <h1>{title}</h1>
  </div>
);
"#;

#[test]
fn context_tsx_components() {
    let hunk = context_at("src/Card.tsx", TSX, "<h1>{title}</h1>");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Card");
    assert!(function.symbol.public);
    let symbols = outline(Language::Tsx, TSX);
    assert_symbols(
        &symbols,
        &[
            ("Props", SymbolKind::Type, false),
            ("Button", SymbolKind::Function, true),
        ],
    );
}

const GO: &str = r#"package cobra

import "fmt"

// Command is a command.
type Command struct {
	Use string
}

type PositionalArgs func(cmd *Command, args []string) error

type (
	Completer interface {
		Complete(args []string) []string
	}
	flagSet struct{}
)

// Execute runs the command.
func (c *Command) Execute() error {
	return c.execute()
}

func (c Command) execute() error {
	fmt.Println(c.Use)
	return nil
}

func NoArgs(cmd *Command, args []string) error {
	return nil
}

func (s *Stack[T]) Push(v T) {}
"#;

#[test]
fn context_go_method_is_qualified_by_receiver() {
    let hunk = context_at("command.go", GO, "return c.execute()");
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Command.Execute");
    assert_eq!(function.symbol.kind, SymbolKind::Method);
    assert!(function.symbol.public);
    assert!(
        function
            .source
            .starts_with("func (c *Command) Execute() error {")
    );
    // Go methods are not nested in their type.
    assert!(hunk.container.is_none());
}

#[test]
fn context_go_symbols_kinds_and_visibility() {
    let symbols = outline(Language::Go, GO);
    assert_symbols(
        &symbols,
        &[
            ("Command", SymbolKind::Struct, true),
            ("PositionalArgs", SymbolKind::Type, true),
            ("Completer", SymbolKind::Interface, true),
            ("Completer.Complete", SymbolKind::Method, true),
            ("flagSet", SymbolKind::Struct, false),
            ("Command.Execute", SymbolKind::Method, true),
            ("Command.execute", SymbolKind::Method, false),
            ("NoArgs", SymbolKind::Function, true),
            ("Stack.Push", SymbolKind::Method, true),
        ],
    );
    // A lone type declaration includes its `type` keyword.
    assert_eq!(
        find(&symbols, "Command").start_line,
        line_of(GO, "type Command struct")
    );
}

const JAVA: &str = r#"package com.google.gson;

import java.io.Writer;

public final class Gson {
  private final boolean serializeNulls;

  public Gson() {
    this.serializeNulls = false;
  }

  @Deprecated
  public String toJson(Object src) {
    if (src == null) {
      return "null";
    }
    return src.toString();
  }

  void packagePrivate() {
  }

  private static class Helper {
    public int help() { return 1; }
  }

  public interface Visitor {
    void visit(Object o);
  }

  public TypeAdapter<Number> adapter() {
    return new TypeAdapter<Number>() {
      @Override public Number read(JsonReader in) {
        return 1;
      }
    };
  }
}

enum Kind { A }

record Point(int x, int y) {}
"#;

#[test]
fn context_java_method_and_class() {
    let hunk = context_at(
        "gson/src/main/java/com/google/gson/Gson.java",
        JAVA,
        "return \"null\"",
    );
    let function = hunk.function.expect("function");
    assert_eq!(function.symbol.qualified_name, "Gson.toJson");
    assert_eq!(function.symbol.start_line, line_of(JAVA, "@Deprecated"));
    assert!(function.symbol.public);
    let class = hunk.container.expect("class");
    assert_eq!(class.symbol.qualified_name, "Gson");
    assert!(class.source.starts_with("public final class Gson {"));
}

#[test]
fn context_java_symbols_kinds_and_visibility() {
    let symbols = outline(Language::Java, JAVA);
    assert_symbols(
        &symbols,
        &[
            ("Gson", SymbolKind::Class, true),
            ("Gson.Gson", SymbolKind::Constructor, true),
            ("Gson.toJson", SymbolKind::Method, true),
            ("Gson.packagePrivate", SymbolKind::Method, false),
            ("Gson.Helper", SymbolKind::Class, false),
            ("Gson.Helper.help", SymbolKind::Method, true),
            ("Gson.Visitor", SymbolKind::Interface, true),
            ("Gson.Visitor.visit", SymbolKind::Method, true),
            // In an anonymous class inside a method: not reachable API.
            ("Gson.adapter.read", SymbolKind::Method, false),
            ("Kind", SymbolKind::Enum, false),
            ("Point", SymbolKind::Class, false),
        ],
    );
}

#[test]
fn context_anonymous_inner_method_is_the_innermost_function() {
    let hunk = context_at("Gson.java", JAVA, "        return 1;");
    assert_eq!(
        hunk.function.expect("function").symbol.qualified_name,
        "Gson.adapter.read"
    );
    assert_eq!(hunk.container.expect("class").symbol.name, "Gson");
}

#[test]
fn context_unknown_language_gives_hunks_without_symbols() {
    let file = context("README.md", "# Title\n\ntext\n", vec![hunk(&[3])]);
    assert_eq!(file.language, None);
    assert_eq!(file.skipped, Some(SkipReason::UnknownLanguage));
    assert_eq!(file.hunks.len(), 1);
    assert_eq!(file.hunks[0].lines, 2..=4);
    assert!(file.hunks[0].function.is_none());
    assert!(file.hunks[0].changed_symbols.is_empty());
}

#[test]
fn context_language_from_shebang() {
    let source = "#!/usr/bin/env python3\ndef main():\n    run()\n";
    let file = context("bin/tool", source, vec![hunk(&[3])]);
    assert_eq!(file.language, Some(Language::Python));
    assert_eq!(
        file.hunks[0]
            .function
            .as_ref()
            .map(|f| f.symbol.name.as_str()),
        Some("main")
    );
}

#[test]
fn context_syntax_errors_do_not_stop_it() {
    let source = "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass C:\n    def m(self):\n        return 2\n";
    let file = context("x.py", source, vec![hunk(&[2]), hunk(&[5]), hunk(&[9])]);
    assert!(file.has_syntax_errors);
    assert_eq!(
        file.hunks[0]
            .function
            .as_ref()
            .map(|f| f.symbol.name.as_str()),
        Some("ok")
    );
    assert_eq!(file.hunks.len(), 3);
}

#[test]
fn context_lines_beyond_the_end_are_ignored() {
    let source = "fn a() {\n    1;\n}\n";
    let file = context(
        "a.rs",
        source,
        vec![ChangedHunk {
            lines: 40..=60,
            added: (41..=45).collect(),
        }],
    );
    let hunk = &file.hunks[0];
    assert!(hunk.function.is_none() && hunk.changed_symbols.is_empty());
    // Partly beyond: the lines that exist count.
    let file = context(
        "a.rs",
        source,
        vec![ChangedHunk {
            lines: 1..=60,
            added: [2, 50].into_iter().collect(),
        }],
    );
    assert_eq!(
        file.hunks[0]
            .function
            .as_ref()
            .map(|f| f.symbol.name.as_str()),
        Some("a")
    );
}

#[test]
fn context_deletion_only_hunk_uses_its_lines() {
    let source = "def a():\n    x = 1\n    y = 2\n    z = 3\n    return x\n";
    let file = context(
        "a.py",
        source,
        vec![ChangedHunk {
            lines: 2..=4,
            added: BTreeSet::new(),
        }],
    );
    let hunk = &file.hunks[0];
    assert_eq!(
        hunk.function.as_ref().map(|f| f.symbol.name.as_str()),
        Some("a")
    );
    assert!(hunk.changed_symbols.is_empty(), "nothing was added");
}

#[test]
fn context_empty_file_and_empty_ranges() {
    let file = context(
        "empty.go",
        "",
        vec![ChangedHunk {
            lines: 0..=0,
            added: BTreeSet::new(),
        }],
    );
    assert!(file.hunks[0].function.is_none());
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 5..=1;
    let file = context(
        "a.go",
        "package a\n",
        vec![ChangedHunk {
            lines: reversed,
            added: BTreeSet::new(),
        }],
    );
    assert!(file.hunks[0].function.is_none());
}

#[test]
fn context_huge_function_is_truncated_around_the_change() {
    let body: String = (0..3000).map(|i| format!("    x{i} = {i}\n")).collect();
    let source = format!("def huge():\n{body}    return 0\n");
    let changed = line_of(&source, "x2500 = 2500");
    let file = context("big.py", &source, vec![hunk(&[changed])]);
    let function = file.hunks[0].function.clone().expect("function");
    assert!(function.truncated);
    assert!(function.source.len() <= MAX_DEFINITION_SOURCE_BYTES + 200);
    assert!(function.source.starts_with("def huge():"));
    assert!(function.source.contains("x2500 = 2500"));
    assert!(function.source.contains("lines omitted"));
    assert_eq!(function.symbol.end_line, 3002);
}

#[test]
fn context_files_over_the_parse_limit_are_skipped() {
    let source = "x = 1\n".repeat(MAX_PARSE_BYTES / 6 + 10);
    let file = context("data.py", &source, vec![hunk(&[1])]);
    assert_eq!(
        file.skipped,
        Some(SkipReason::TooLarge {
            bytes: source.len()
        })
    );
    assert!(file.hunks[0].function.is_none());
}

/// Deterministic junk built from each language's own tokens: unbalanced, truncated,
/// non-ASCII. Nothing may panic, and every hunk gets an answer.
#[test]
fn context_survives_garbage_in_every_language() {
    let tokens = [
        "fn",
        "def",
        "class",
        "func",
        "function",
        "impl",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "=>",
        "\n",
        "\n    ",
        "pub",
        "export",
        "public",
        "@",
        "#[",
        "'",
        "\"",
        "`",
        "é",
        "𝕏",
        "\r\n",
        "/*",
        "*/",
        "//",
        "#",
        "<",
        ">",
        "interface",
        "type",
        "struct",
        "x",
        "y",
        ";",
        ",",
        ".",
        "=",
        "\t",
        "\\",
        "async",
        "static",
        "return",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..60 {
        let mut source = String::new();
        for _ in 0..(50 + round * 7) {
            // xorshift: reproducible without a dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            source.push_str(tokens[(state % tokens.len() as u64) as usize]);
            source.push(' ');
        }
        let lines = source.lines().count() as u32 + 3;
        for language in Language::ALL {
            let file = ChangedFile {
                path: format!("junk.{}", language.name()),
                language: Some(language),
                source: source.clone(),
                hunks: vec![
                    ChangedHunk {
                        lines: 1..=lines,
                        added: (1..=lines).step_by(2).collect(),
                    },
                    ChangedHunk {
                        lines: lines..=lines + 10,
                        added: [lines + 5].into_iter().collect(),
                    },
                ],
            };
            let context = parse_context(&file).expect("context");
            assert_eq!(context.hunks.len(), 2);
            for hunk in &context.hunks {
                for symbol in &hunk.changed_symbols {
                    assert!(symbol.start_line <= symbol.end_line);
                }
            }
        }
    }
}

/// The benchmark shape from the issue: context for every hunk of a 300-file,
/// 30,000-changed-line change. Run in release:
/// `cargo test --release -p bot --lib context_benchmark -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn context_benchmark_300_files() {
    let files: Vec<ChangedFile> = (0..300).map(benchmark_file).collect();
    let lines: usize = files.iter().map(|f| f.source.lines().count()).sum();
    let added: usize = files
        .iter()
        .flat_map(|f| &f.hunks)
        .map(|h| h.added.len())
        .sum();
    let hunks: usize = files.iter().map(|f| f.hunks.len()).sum();

    // Compiling the queries is a once-per-process cost; measured apart.
    let started = std::time::Instant::now();
    for language in Language::ALL {
        parse_outline(Some(language), "").expect("query compiles");
    }
    let compile = started.elapsed();

    // tree-sitter's parse alone, for comparison.
    let started = std::time::Instant::now();
    for file in &files {
        let language = file.language.expect("language");
        let tree = language.parser().parse(&file.source, None);
        assert!(tree.is_some());
    }
    let parse_only = started.elapsed();

    let started = std::time::Instant::now();
    let mut functions = 0;
    for file in &files {
        let context = parse_context(file).expect("context");
        functions += context
            .hunks
            .iter()
            .filter(|h| h.function.is_some())
            .count();
    }
    let elapsed = started.elapsed();
    println!(
        "{} files, {lines} lines, {added} added lines, {hunks} hunks ({functions} in a function): \
         context {elapsed:?} (tree-sitter parse alone {parse_only:?}; queries compiled once \
         before, {compile:?})",
        files.len()
    );
    assert_eq!(functions, hunks);
}

/// A ~300-line file in one of the languages: 37 functions, each with a hunk adding 3 lines.
fn benchmark_file(index: usize) -> ChangedFile {
    let language = Language::ALL[index % Language::ALL.len()];
    let unit = match language {
        Language::Rust => {
            "pub fn f{i}(x: u32) -> u32 {\n    let y = x + {i};\n    if y > 3 {\n        return y;\n    }\n    y * 2\n}\n\n"
        }
        Language::Python => {
            "def f{i}(x):\n    y = x + {i}\n    if y > 3:\n        return y\n    z = y * 2\n    return z\n\n\n"
        }
        Language::JavaScript => {
            "function f{i}(x) {\n  const y = x + {i};\n  if (y > 3) {\n    return y;\n  }\n  return y * 2;\n}\n\n"
        }
        Language::TypeScript | Language::Tsx => {
            "export function f{i}(x: number): number {\n  const y = x + {i};\n  if (y > 3) {\n    return y;\n  }\n  return y * 2;\n}\n\n"
        }
        Language::Go => {
            "func F{i}(x int) int {\n\ty := x + {i}\n\tif y > 3 {\n\t\treturn y\n\t}\n\treturn y * 2\n}\n\n"
        }
        Language::Java => {
            "  public int f{i}(int x) {\n    int y = x + {i};\n    if (y > 3) {\n      return y;\n    }\n    return y * 2;\n  }\n\n"
        }
    };
    let mut source = match language {
        Language::Go => "package bench\n\n".to_string(),
        Language::Java => "public class Bench {\n".to_string(),
        _ => String::new(),
    };
    let mut hunks = Vec::new();
    for i in 0..37 {
        let first = source.lines().count() as u32 + 1;
        source.push_str(&unit.replace("{i}", &i.to_string()));
        hunks.push(ChangedHunk {
            lines: first..=first + 6,
            added: (first + 2..=first + 4).collect(),
        });
    }
    if language == Language::Java {
        source.push_str("}\n");
    }
    ChangedFile {
        path: format!("src/file{index}.{}", language.name()),
        language: Some(language),
        source,
        hunks,
    }
}
