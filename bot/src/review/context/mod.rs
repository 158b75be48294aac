//! Code context for each hunk of a change: the enclosing function and class with their
//! full source, and the symbols the hunk changes, found with tree-sitter query files
//! (`review/queries/<language>.scm`).
//!
//! Independent of the diff parser: callers hand in a path, the new file's source and,
//! per hunk, its new-side line range and added lines ([`ChangedFile`]).

mod definitions;
mod excerpt;
mod visibility;

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::review::languages::Language;
use definitions::Def;

pub use excerpt::MAX_DEFINITION_SOURCE_BYTES;

/// Files larger than this are not parsed: at that size they are generated, minified or
/// data, and their symbols would not help a reviewer (or fit in a prompt) anyway.
pub const MAX_PARSE_BYTES: usize = 1024 * 1024;

/// One hunk of a change, new side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedHunk {
    /// The hunk's new-side lines (1-based, inclusive), context lines included.
    pub lines: RangeInclusive<u32>,
    /// The lines this hunk adds (1-based, new side).
    pub added: BTreeSet<u32>,
}

/// One changed file, as the context and the built-in analyzers need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangedFile {
    /// New-side path.
    pub path: String,
    /// `None` when no grammar applies; such files get hunks without symbols.
    pub language: Option<Language>,
    /// The whole new file (decoded lossily by the caller).
    pub source: String,
    /// Hunks in file order.
    pub hunks: Vec<ChangedHunk>,
}

impl ChangedFile {
    /// A changed file whose language is detected from its path, then its shebang.
    pub fn new(
        path: impl Into<String>,
        source: impl Into<String>,
        hunks: Vec<ChangedHunk>,
    ) -> Self {
        let path = path.into();
        let source = source.into();
        let language = Language::detect(&path, source.lines().next());
        ChangedFile {
            path,
            language,
            source,
            hunks,
        }
    }
}

/// What kind of definition a symbol is (from the query's `@definition.<kind>` capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A free function, or a function bound to a name.
    Function,
    /// A function defined in a class, impl, trait or interface.
    Method,
    /// A Java constructor.
    Constructor,
    /// A class (Python, JavaScript, TypeScript, Java, records).
    Class,
    /// A struct or union.
    Struct,
    /// An enum.
    Enum,
    /// An interface (TypeScript, Go, Java, annotation types).
    Interface,
    /// A Rust trait.
    Trait,
    /// A Rust `impl` block, named after its type.
    Impl,
    /// A type alias or other named type.
    Type,
    /// A Rust inline module or a TypeScript namespace.
    Module,
    /// A Rust `macro_rules!`.
    Macro,
}

impl SymbolKind {
    /// The lowercase name, as in the query captures.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Constructor => "constructor",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Interface => "interface",
            SymbolKind::Trait => "trait",
            SymbolKind::Impl => "impl",
            SymbolKind::Type => "type",
            SymbolKind::Module => "module",
            SymbolKind::Macro => "macro",
        }
    }

    fn from_capture(name: &str) -> Option<SymbolKind> {
        [
            SymbolKind::Function,
            SymbolKind::Method,
            SymbolKind::Constructor,
            SymbolKind::Class,
            SymbolKind::Struct,
            SymbolKind::Enum,
            SymbolKind::Interface,
            SymbolKind::Trait,
            SymbolKind::Impl,
            SymbolKind::Type,
            SymbolKind::Module,
            SymbolKind::Macro,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }

    /// Functions, methods and constructors: what has a body that runs.
    pub fn is_function_like(self) -> bool {
        matches!(
            self,
            SymbolKind::Function | SymbolKind::Method | SymbolKind::Constructor
        )
    }

    /// What can hold methods: classes, structs, enums, interfaces, traits, impls.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Interface
                | SymbolKind::Trait
                | SymbolKind::Impl
        )
    }
}

/// A named definition in the new file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// The bare name (`send`).
    pub name: String,
    /// Qualified through its enclosing definitions: `Session::send` (Rust),
    /// `Session.send`, Go `Command.Execute`, JavaScript `Router.handle`.
    pub qualified_name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// First line (1-based), including decorators, attributes and `export`.
    pub start_line: u32,
    /// Last line (1-based, inclusive).
    pub end_line: u32,
    /// Part of the file's public interface: Rust `pub` (not `pub(self)`; trait methods
    /// follow the trait, `impl Trait for T` methods count as private), Go capitalised,
    /// Java `public` or an interface member, Python no leading `_` (in public classes),
    /// JavaScript/TypeScript `export`ed, members of exported classes that are not
    /// private, or CommonJS exports. Never true for definitions nested in functions.
    pub public: bool,
    /// Rust test code: a `#[test]` function or anything in a `#[cfg(test)]` module.
    pub test: bool,
}

impl Symbol {
    fn from_def(def: &Def) -> Symbol {
        Symbol {
            name: def.name.clone(),
            qualified_name: def.qualified_name.clone(),
            kind: def.kind,
            start_line: def.start_line,
            end_line: def.end_line,
            public: def.public,
            test: def.test,
        }
    }

    /// The symbol's lines.
    pub fn lines(&self) -> RangeInclusive<u32> {
        self.start_line..=self.end_line
    }
}

/// A symbol with its source text from the new file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    /// What and where.
    pub symbol: Symbol,
    /// Its full lines, or an excerpt with markers when longer than
    /// [`MAX_DEFINITION_SOURCE_BYTES`].
    pub source: String,
    /// Whether `source` is an excerpt.
    pub truncated: bool,
}

/// The context of one hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HunkContext {
    /// The hunk's new-side lines, as given.
    pub lines: RangeInclusive<u32>,
    /// The innermost function, method or constructor containing every added line (or,
    /// for a hunk that only deletes, its lines).
    pub function: Option<Definition>,
    /// The class, impl, struct, trait or interface around `function`; without a
    /// function, the innermost one containing the hunk's changed lines.
    pub container: Option<Definition>,
    /// Functions, methods and types (not impls or modules) with an added line.
    pub changed_symbols: Vec<Symbol>,
}

/// Why a file has no symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// No grammar for the file's language.
    UnknownLanguage,
    /// Larger than [`MAX_PARSE_BYTES`].
    TooLarge {
        /// The file's size.
        bytes: usize,
    },
    /// Parsing took longer than the per-file deadline.
    ParseTimedOut,
}

/// The context of every hunk of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileContext {
    /// New-side path.
    pub path: String,
    /// The language parsed with, if any.
    pub language: Option<Language>,
    /// Set when the file was not parsed; its hunks then have no symbols.
    pub skipped: Option<SkipReason>,
    /// The parse tree has ERROR nodes: the symbols may be incomplete.
    pub has_syntax_errors: bool,
    /// One entry per input hunk, in order.
    pub hunks: Vec<HunkContext>,
}

/// A failure that is a bug in reviewbot, not in the input: a query file that does not
/// compile, or a grammar the tree-sitter core refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// `queries/<language>.scm` does not compile against its grammar.
    #[error("the {} context query does not compile: {message}", language.name())]
    Query {
        /// Whose query.
        language: Language,
        /// tree-sitter's error.
        message: String,
    },
    /// The grammar's ABI is not one the tree-sitter core accepts.
    #[error("the {} grammar cannot be loaded: {message}", language.name())]
    Grammar {
        /// Whose grammar.
        language: Language,
        /// tree-sitter's error.
        message: String,
    },
}

/// Every definition in a file, outer before inner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outline {
    /// Sorted by start line; a container comes before what it contains.
    pub symbols: Vec<Symbol>,
    /// The parse tree has ERROR nodes.
    pub has_syntax_errors: bool,
    /// Set when the file was not parsed.
    pub skipped: Option<SkipReason>,
}

/// Lists every definition in `source` (parsed once).
pub fn parse_outline(language: Option<Language>, source: &str) -> Result<Outline, ContextError> {
    let parsed = parse_source(language, source)?;
    Ok(Outline {
        symbols: parsed.defs.iter().map(Symbol::from_def).collect(),
        has_syntax_errors: parsed.has_syntax_errors,
        skipped: parsed.skipped,
    })
}

/// The context of each hunk of `file`, parsing it once.
pub fn parse_context(file: &ChangedFile) -> Result<FileContext, ContextError> {
    let parsed = parse_source(file.language, &file.source)?;
    let lines = excerpt::Lines::new(&file.source);
    let hunks = file
        .hunks
        .iter()
        .map(|hunk| hunk_context(hunk, &parsed.defs, &lines))
        .collect();
    Ok(FileContext {
        path: file.path.clone(),
        language: file.language,
        skipped: parsed.skipped,
        has_syntax_errors: parsed.has_syntax_errors,
        hunks,
    })
}

struct ParsedSource {
    defs: Vec<Def>,
    has_syntax_errors: bool,
    skipped: Option<SkipReason>,
}

fn parse_source(language: Option<Language>, source: &str) -> Result<ParsedSource, ContextError> {
    let skip = |reason| ParsedSource {
        defs: Vec::new(),
        has_syntax_errors: false,
        skipped: Some(reason),
    };
    let Some(language) = language else {
        return Ok(skip(SkipReason::UnknownLanguage));
    };
    if source.len() > MAX_PARSE_BYTES {
        return Ok(skip(SkipReason::TooLarge {
            bytes: source.len(),
        }));
    }
    let parsed = definitions::parse(language, source)?;
    if parsed.timed_out {
        return Ok(skip(SkipReason::ParseTimedOut));
    }
    Ok(ParsedSource {
        defs: parsed.defs,
        has_syntax_errors: parsed.has_syntax_errors,
        skipped: None,
    })
}

fn hunk_context(hunk: &ChangedHunk, defs: &[Def], lines: &excerpt::Lines<'_>) -> HunkContext {
    let last_line = lines.count();
    // Lines past the end of the file (a stale or mismatched diff) are ignored.
    let added: BTreeSet<u32> = hunk.added.range(1..=last_line).copied().collect();
    let (low, high) = match (added.first(), added.last()) {
        (Some(&low), Some(&high)) => (low, high),
        // A hunk that only deletes: the deletion sits between its context lines.
        _ => (
            (*hunk.lines.start()).max(1),
            (*hunk.lines.end()).min(last_line),
        ),
    };
    let mut context = HunkContext {
        lines: hunk.lines.clone(),
        function: None,
        container: None,
        changed_symbols: Vec::new(),
    };
    if low > high {
        return context;
    }
    let contains = |def: &Def| def.start_line <= low && high <= def.end_line;
    // `defs` is sorted outer before inner, so the last match is the innermost.
    let function = defs
        .iter()
        .rposition(|def| def.kind.is_function_like() && contains(def));
    let container = match function {
        Some(index) => ancestors(defs, index).find(|&i| defs[i].kind.is_container()),
        None => defs
            .iter()
            .rposition(|def| def.kind.is_container() && contains(def)),
    };
    let focus = low..=high;
    context.function = function.map(|i| definition(&defs[i], lines, &focus));
    context.container = container.map(|i| definition(&defs[i], lines, &focus));
    context.changed_symbols = defs
        .iter()
        .filter(|def| !matches!(def.kind, SymbolKind::Impl | SymbolKind::Module))
        .filter(|def| added.range(def.start_line..=def.end_line).next().is_some())
        .map(Symbol::from_def)
        .collect();
    context
}

/// Indices of `defs[index]`'s enclosing definitions, innermost first.
fn ancestors(defs: &[Def], index: usize) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(defs[index].parent, |&i| defs[i].parent)
}

fn definition(def: &Def, lines: &excerpt::Lines<'_>, focus: &RangeInclusive<u32>) -> Definition {
    let (source, truncated) = lines.excerpt(def.start_line..=def.end_line, focus);
    Definition {
        symbol: Symbol::from_def(def),
        source,
        truncated,
    }
}

#[cfg(test)]
mod tests;
