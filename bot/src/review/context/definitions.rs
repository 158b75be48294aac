//! A file's definitions (functions, methods, types), found with its language's query file.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use tree_sitter::{Node, ParseOptions, ParseState, Parser, Query, QueryCursor, StreamingIterator};

use super::visibility;
use super::{ContextError, SymbolKind};
use crate::review::languages::Language;

/// Longest a single file may take to parse before we give up on its symbols. A normal
/// 1 MiB source parses in well under 100 ms; this only stops pathological inputs from
/// eating the whole review's time budget.
pub(super) const PARSE_TIMEOUT: Duration = Duration::from_millis(300);

/// One language's compiled query and where its captures are.
struct LanguageQuery {
    query: Query,
    /// For each capture index, the kind when it is a `@definition.<kind>` capture.
    kinds: Vec<Option<SymbolKind>>,
    name: Option<u32>,
    receiver: Option<u32>,
    export_name: Option<u32>,
}

impl LanguageQuery {
    fn compile(language: Language, source: &str) -> Result<LanguageQuery, String> {
        let query = Query::new(&language.grammar(), source).map_err(|e| e.to_string())?;
        let mut kinds = Vec::with_capacity(query.capture_names().len());
        for name in query.capture_names() {
            let kind = match name.strip_prefix("definition.") {
                Some(kind) => Some(
                    SymbolKind::from_capture(kind)
                        .ok_or_else(|| format!("unknown capture @{name}"))?,
                ),
                None => None,
            };
            kinds.push(kind);
        }
        Ok(LanguageQuery {
            name: query.capture_index_for_name("name"),
            receiver: query.capture_index_for_name("receiver"),
            export_name: query.capture_index_for_name("export.name"),
            kinds,
            query,
        })
    }
}

type CompiledQuery = LazyLock<Result<LanguageQuery, String>>;

static RUST: CompiledQuery =
    LazyLock::new(|| LanguageQuery::compile(Language::Rust, include_str!("../queries/rust.scm")));
static PYTHON: CompiledQuery = LazyLock::new(|| {
    LanguageQuery::compile(Language::Python, include_str!("../queries/python.scm"))
});
static JAVASCRIPT: CompiledQuery = LazyLock::new(|| {
    LanguageQuery::compile(
        Language::JavaScript,
        include_str!("../queries/javascript.scm"),
    )
});
static TYPESCRIPT: CompiledQuery = LazyLock::new(|| {
    LanguageQuery::compile(
        Language::TypeScript,
        include_str!("../queries/typescript.scm"),
    )
});
// TSX's grammar is TypeScript's plus JSX, so the same query text compiles against it
// (a test checks this).
static TSX: CompiledQuery = LazyLock::new(|| {
    LanguageQuery::compile(Language::Tsx, include_str!("../queries/typescript.scm"))
});
static GO: CompiledQuery =
    LazyLock::new(|| LanguageQuery::compile(Language::Go, include_str!("../queries/go.scm")));
static JAVA: CompiledQuery =
    LazyLock::new(|| LanguageQuery::compile(Language::Java, include_str!("../queries/java.scm")));

fn language_query(language: Language) -> Result<&'static LanguageQuery, ContextError> {
    let compiled = match language {
        Language::Rust => &RUST,
        Language::Python => &PYTHON,
        Language::JavaScript => &JAVASCRIPT,
        Language::TypeScript => &TYPESCRIPT,
        Language::Tsx => &TSX,
        Language::Go => &GO,
        Language::Java => &JAVA,
    };
    compiled.as_ref().map_err(|message| ContextError::Query {
        language,
        message: message.clone(),
    })
}

thread_local! {
    // Parsers keep their allocations between files; one per language per thread.
    static PARSERS: RefCell<HashMap<Language, Parser>> = RefCell::new(HashMap::new());
}

/// One definition, with its span widened to what belongs to it (decorators, attributes,
/// `export`, `const x =`), in 1-based inclusive lines.
#[derive(Debug, Clone)]
pub(super) struct Def {
    pub kind: SymbolKind,
    pub name: String,
    pub qualified_name: String,
    pub start_line: u32,
    pub end_line: u32,
    pub public: bool,
    pub test: bool,
    /// Index of the innermost definition containing this one.
    pub parent: Option<usize>,
}

/// What parsing found in a file.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// Sorted by start, outer before inner.
    pub defs: Vec<Def>,
    pub has_syntax_errors: bool,
    pub timed_out: bool,
}

/// A query match for one definition node, before spans and visibility are worked out.
struct Raw<'tree> {
    node: Node<'tree>,
    kind: SymbolKind,
    name: String,
    receiver: Option<String>,
    pattern: usize,
}

/// Parses `source` once and lists its definitions.
pub(super) fn parse(language: Language, source: &str) -> Result<Parsed, ContextError> {
    let query = language_query(language)?;
    let tree = PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let parser = match parsers.entry(language) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let mut parser = Parser::new();
                parser
                    .set_language(&language.grammar())
                    .map_err(|e| ContextError::Grammar {
                        language,
                        message: e.to_string(),
                    })?;
                entry.insert(parser)
            }
        };
        Ok::<_, ContextError>(parse_bounded(parser, source))
    })?;
    let Some(tree) = tree else {
        return Ok(Parsed {
            timed_out: true,
            ..Parsed::default()
        });
    };
    let root = tree.root_node();

    let mut raws: HashMap<usize, Raw<'_>> = HashMap::new();
    let mut exports: HashSet<&str> = HashSet::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query.query, root, source.as_bytes());
    while let Some(m) = matches.next() {
        let mut definition = None;
        let mut name = None;
        let mut receiver = None;
        for capture in m.captures() {
            let index = capture.index;
            if Some(index) == query.export_name {
                exports.insert(node_text(source, capture.node));
            } else if Some(index) == query.name {
                name = Some(capture.node);
            } else if Some(index) == query.receiver {
                receiver = Some(capture.node);
            } else if let Some(Some(kind)) = query.kinds.get(index as usize) {
                definition = Some((capture.node, *kind));
            }
        }
        let (Some((node, kind)), Some(name)) = (definition, name) else {
            continue;
        };
        let name = clean_name(kind, node_text(source, name));
        if name.is_empty() {
            continue;
        }
        let raw = Raw {
            node,
            kind,
            name,
            receiver: receiver.and_then(|r| clean_receiver(language, node_text(source, r))),
            pattern: m.pattern_index,
        };
        // Several patterns may capture one node; the earliest pattern in the file wins.
        match raws.get(&node.id()) {
            Some(existing) if existing.pattern <= raw.pattern => {}
            _ => {
                raws.insert(node.id(), raw);
            }
        }
    }

    let mut items: Vec<(Raw<'_>, visibility::Outer<'_>)> = raws
        .into_values()
        .map(|raw| {
            let outer = visibility::outer(language, raw.node, source);
            (raw, outer)
        })
        .collect();
    items.sort_by(|(_, a), (_, b)| {
        a.start_byte
            .cmp(&b.start_byte)
            .then(b.node.end_byte().cmp(&a.node.end_byte()))
    });

    let commonjs = matches!(
        language,
        Language::JavaScript | Language::TypeScript | Language::Tsx
    ) && (source.contains("module.exports") || source.contains("exports."));
    let mut defs: Vec<Def> = Vec::with_capacity(items.len());
    // Indices of the definitions enclosing the current one, outermost first.
    let mut stack: Vec<usize> = Vec::new();
    for (raw, outer) in &items {
        while let Some(&top) = stack.last() {
            let (_, top_outer) = &items[top];
            if outer.start_byte >= top_outer.start_byte
                && outer.node.end_byte() <= top_outer.node.end_byte()
            {
                break;
            }
            stack.pop();
        }
        let parent = stack.last().copied();
        let parent_def = parent.map(|p| &defs[p]);
        let in_function = stack.iter().any(|&i| defs[i].kind.is_function_like());
        let public = !in_function
            && visibility::is_public(&visibility::Candidate {
                language,
                node: raw.node,
                outer,
                kind: raw.kind,
                name: &raw.name,
                receiver: raw.receiver.as_deref(),
                parent: parent_def.map(|p| (p.kind, p.public)),
                exports: &exports,
                commonjs,
                source,
            });
        let qualified_name = match (&raw.receiver, parent_def) {
            (Some(receiver), _) => format!("{receiver}.{}", raw.name),
            (None, Some(parent)) => format!(
                "{}{}{}",
                parent.qualified_name,
                separator(language),
                raw.name
            ),
            (None, None) => raw.name.clone(),
        };
        let start_line = outer.start_row + 1;
        defs.push(Def {
            kind: raw.kind,
            name: raw.name.clone(),
            qualified_name,
            start_line,
            end_line: end_line(outer.node).max(start_line),
            public,
            test: outer.test || parent_def.is_some_and(|p| p.test),
            parent,
        });
        stack.push(defs.len() - 1);
    }
    Ok(Parsed {
        defs,
        has_syntax_errors: root.has_error(),
        timed_out: false,
    })
}

/// Parses with a deadline; `None` when it ran out (tree-sitter otherwise always returns
/// a tree, with ERROR nodes where the source does not parse).
fn parse_bounded(parser: &mut Parser, source: &str) -> Option<tree_sitter::Tree> {
    let started = Instant::now();
    let mut progress = |_: &ParseState| {
        if started.elapsed() > PARSE_TIMEOUT {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let bytes = source.as_bytes();
    let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
    let tree = parser.parse_with_options(
        &mut read,
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    );
    // A cancelled parse leaves state behind that would make the next parse resume it.
    if tree.is_none() {
        parser.reset();
    }
    tree
}

/// The 1-based last line of `node`; a node ending at column 0 ends on the line before.
fn end_line(node: Node<'_>) -> u32 {
    let end = node.end_position();
    let row = if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    };
    u32::try_from(row + 1).unwrap_or(u32::MAX)
}

pub(super) fn node_text<'s>(source: &'s str, node: Node<'_>) -> &'s str {
    source.get(node.byte_range()).unwrap_or_default()
}

/// How a language joins a container's name to a member's.
fn separator(language: Language) -> &'static str {
    match language {
        Language::Rust => "::",
        _ => ".",
    }
}

/// A definition's name as people write it: quotes off string keys, and an `impl`'s
/// type reduced to its bare name (`impl<'a, T> fmt::Display for &'a Foo<T>` → `Foo`).
fn clean_name(kind: SymbolKind, text: &str) -> String {
    let text = text
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '`');
    if kind == SymbolKind::Impl {
        bare_type_name(text)
    } else {
        text.to_string()
    }
}

/// `&'a mut foo::Bar<T>` → `Bar`; Go's `*Stack[T]` → `Stack`.
fn bare_type_name(text: &str) -> String {
    let mut rest = text.trim();
    loop {
        let before = rest;
        rest = rest.trim_start_matches(['&', '*', ' ']);
        for prefix in ["mut ", "dyn ", "const "] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        if let Some(after) = rest.strip_prefix('\'') {
            rest = after.split_once(' ').map_or("", |(_, tail)| tail);
        }
        if rest == before {
            break;
        }
    }
    let head = rest.split(['<', '[', '(']).next().unwrap_or_default();
    head.rsplit("::")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The part of a receiver worth putting in a qualified name: Go's receiver type, or the
/// object a JavaScript function is assigned to (`Router.prototype` → `Router`); nothing
/// for `module.exports`, `exports` and `this`, which name no type.
fn clean_receiver(language: Language, text: &str) -> Option<String> {
    let name = match language {
        Language::Go => bare_type_name(text),
        _ => {
            let text = text.trim();
            let text = text.strip_suffix(".prototype").unwrap_or(text);
            let root = text.split('.').next().unwrap_or_default();
            if matches!(root, "module" | "exports" | "this") {
                return None;
            }
            text.to_string()
        }
    };
    let plain = !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.');
    plain.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_queries_compile_for_every_language() {
        for language in Language::ALL {
            let query = language_query(language).unwrap_or_else(|e| panic!("{e}"));
            assert!(query.name.is_some(), "{language:?} has no @name");
            assert!(
                query.kinds.iter().any(Option::is_some),
                "{language:?} has no @definition"
            );
        }
    }

    #[test]
    fn context_cleans_type_names() {
        let cases = [
            ("Foo", "Foo"),
            ("Foo<T>", "Foo"),
            ("&'a mut foo::Bar<T>", "Bar"),
            ("*Stack[T]", "Stack"),
            ("dyn Trait", "Trait"),
            ("[u8]", ""),
        ];
        for (text, want) in cases {
            assert_eq!(bare_type_name(text), want, "{text}");
        }
    }

    #[test]
    fn context_cleans_receivers() {
        let js = Language::JavaScript;
        assert_eq!(
            clean_receiver(js, "Router.prototype").as_deref(),
            Some("Router")
        );
        assert_eq!(clean_receiver(js, "app").as_deref(), Some("app"));
        assert_eq!(clean_receiver(js, "module.exports"), None);
        assert_eq!(clean_receiver(js, "this"), None);
        assert_eq!(clean_receiver(js, "a[0]"), None);
        assert_eq!(
            clean_receiver(Language::Go, "*Command").as_deref(),
            Some("Command")
        );
    }
}
