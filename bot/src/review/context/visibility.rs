//! Per-language rules the queries can't express: what belongs to a definition's span,
//! whether it is public, and whether it is Rust test code.

use std::collections::HashSet;

use tree_sitter::Node;

use super::SymbolKind;
use super::definitions::node_text;
use crate::review::languages::Language;

/// A definition's outermost node: the captured node widened to the syntax that belongs
/// to it (`export`, `const x =`, decorators, a lone `type` keyword).
#[derive(Debug, Clone, Copy)]
pub(super) struct Outer<'tree> {
    pub node: Node<'tree>,
    /// Where the span starts: `node`'s start, or earlier for leading attributes.
    pub start_byte: usize,
    /// 0-based row of `start_byte`.
    pub start_row: u32,
    /// Reached through an `export` statement (JavaScript, TypeScript).
    pub exported: bool,
    /// Carries a test attribute: `#[test]`, `#[tokio::test]`, `#[cfg(test)]` (Rust).
    pub test: bool,
}

/// Widens `node` to its outer span.
pub(super) fn outer<'tree>(language: Language, node: Node<'tree>, source: &str) -> Outer<'tree> {
    let mut current = node;
    let mut exported = false;
    while let Some(parent) = current.parent() {
        let climb = match (language, parent.kind()) {
            (Language::Python, "decorated_definition") => true,
            (Language::Go, "type_declaration") => parent.named_child_count() == 1,
            (
                Language::JavaScript | Language::TypeScript | Language::Tsx,
                "variable_declarator"
                | "pair"
                | "field_definition"
                | "public_field_definition"
                | "expression_statement",
            ) => true,
            (
                Language::JavaScript | Language::TypeScript | Language::Tsx,
                "lexical_declaration" | "variable_declaration",
            ) => parent.named_child_count() == 1,
            (
                Language::JavaScript | Language::TypeScript | Language::Tsx,
                "assignment_expression",
            ) => parent.child_by_field_name("right") == Some(current),
            (Language::JavaScript | Language::TypeScript | Language::Tsx, "export_statement") => {
                exported = true;
                true
            }
            _ => false,
        };
        if !climb {
            break;
        }
        current = parent;
    }

    // Attributes (Rust) and decorators (TypeScript class members) are siblings that
    // come before the definition; a change to them changes the definition.
    let leading = match language {
        Language::Rust => "attribute_item",
        Language::JavaScript | Language::TypeScript | Language::Tsx => "decorator",
        _ => "",
    };
    let mut first = current;
    let mut test = false;
    while let Some(previous) = first.prev_named_sibling() {
        if previous.kind() != leading {
            break;
        }
        test |= language == Language::Rust && is_test_attribute(node_text(source, previous));
        first = previous;
    }
    Outer {
        node: current,
        start_byte: first.start_byte(),
        start_row: u32::try_from(first.start_position().row).unwrap_or(u32::MAX),
        exported,
        test,
    }
}

/// `#[test]`, `#[tokio::test(flavor = "…")]`, `#[sqlx::test]`, `#[cfg(test)]`,
/// `#[cfg(all(test, unix))]`; not `#[cfg(not(test))]`.
fn is_test_attribute(text: &str) -> bool {
    let inner = text
        .trim()
        .trim_start_matches("#[")
        .trim_end_matches(']')
        .trim();
    let (path, arguments) = match inner.split_once('(') {
        Some((path, arguments)) => (path.trim(), arguments),
        None => (inner, ""),
    };
    if path == "test" || path.ends_with("::test") {
        return true;
    }
    path == "cfg"
        && !arguments.contains("not(")
        && arguments
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == "test")
}

/// Everything [`is_public`] looks at.
pub(super) struct Candidate<'a, 'tree> {
    pub language: Language,
    /// The captured definition node.
    pub node: Node<'tree>,
    pub outer: &'a Outer<'tree>,
    pub kind: SymbolKind,
    pub name: &'a str,
    pub receiver: Option<&'a str>,
    /// The enclosing definition's kind and visibility.
    pub parent: Option<(SymbolKind, bool)>,
    /// Names a CommonJS module exports (`module.exports = name`).
    pub exports: &'a HashSet<&'a str>,
    /// The file assigns to `module.exports` or `exports.*`.
    pub commonjs: bool,
    pub source: &'a str,
}

/// Whether a definition is part of its file's public interface. The caller has already
/// ruled out definitions nested in functions.
///
/// Rust: plain `pub` (not `pub(crate)`, `pub(super)`, `pub(in …)`); a trait's methods follow the trait; methods
/// of `impl Trait for T` count as private (they are reached through the trait, and
/// `fmt`/`from` style impls rarely want their own tests). Go: a capitalised name.
/// Java: `public`, or an interface member that is not `private`. Python: no leading
/// underscore, in public classes only. JavaScript/TypeScript: `export`ed, a non-private
/// member of an exported class or interface, or a CommonJS export.
pub(super) fn is_public(c: &Candidate<'_, '_>) -> bool {
    let parent_public = c.parent.is_none_or(|(_, public)| public);
    match c.language {
        Language::Rust => rust_public(c),
        Language::Go => c.name.chars().next().is_some_and(char::is_uppercase),
        Language::Java => java_public(c),
        Language::Python => !c.name.starts_with('_') && parent_public,
        Language::JavaScript | Language::TypeScript | Language::Tsx => js_public(c),
    }
}

fn rust_public(c: &Candidate<'_, '_>) -> bool {
    if let Some(list) = c.node.parent()
        && list.kind() == "declaration_list"
        && let Some(owner) = list.parent()
    {
        match owner.kind() {
            "trait_item" => return c.parent.is_some_and(|(_, public)| public),
            "impl_item" if owner.child_by_field_name("trait").is_some() => return false,
            _ => {}
        }
    }
    // Plain `pub` only: `pub(crate)`, `pub(super)` and `pub(in …)` items are reached, and
    // tested, through the crate's public ones.
    let mut cursor = c.node.walk();
    c.node.children(&mut cursor).any(|child| {
        child.kind() == "visibility_modifier" && node_text(c.source, child).trim() == "pub"
    })
}

fn java_public(c: &Candidate<'_, '_>) -> bool {
    let mut cursor = c.node.walk();
    let modifiers: Vec<&str> = c
        .node
        .children(&mut cursor)
        .filter(|child| child.kind() == "modifiers")
        .flat_map(|m| {
            let mut inner = m.walk();
            m.children(&mut inner)
                .map(|word| node_text(c.source, word))
                .collect::<Vec<_>>()
        })
        .collect();
    if modifiers.contains(&"public") {
        return true;
    }
    // Interface members are public unless marked private.
    matches!(c.parent, Some((SymbolKind::Interface, _))) && !modifiers.contains(&"private")
}

fn js_public(c: &Candidate<'_, '_>) -> bool {
    if c.outer.exported {
        return true;
    }
    let top_level = c.outer.node.parent().is_some_and(|p| p.kind() == "program");
    if top_level && c.exports.contains(c.name) {
        return true;
    }
    if let Some(receiver) = c.receiver {
        // `Router.prototype.handle = function …` in a CommonJS module: the object
        // escapes through `module.exports`, so its methods are its API.
        return top_level && c.commonjs && !receiver.is_empty();
    }
    if c.node.kind() == "method_definition" || c.outer.node.kind() == "pair" {
        let object = c.outer.node.parent();
        if let Some(object) = object
            && object.kind() == "object"
        {
            return object_is_exported(object, c.source);
        }
    }
    if c.kind == SymbolKind::Method {
        return c.parent.is_some_and(|(_, public)| public) && !js_private_member(c);
    }
    // A TypeScript interface's or enum's members follow it.
    false
}

/// `export default { … }`, `module.exports = { … }`, `exports.x = { … }`.
fn object_is_exported(object: Node<'_>, source: &str) -> bool {
    let Some(parent) = object.parent() else {
        return false;
    };
    match parent.kind() {
        "export_statement" => true,
        "assignment_expression" => parent.child_by_field_name("left").is_some_and(|left| {
            let left = node_text(source, left);
            left.starts_with("module.exports") || left.starts_with("exports")
        }),
        _ => false,
    }
}

/// `#name`, or TypeScript's `private` / `protected`.
fn js_private_member(c: &Candidate<'_, '_>) -> bool {
    if c.name.starts_with('#') {
        return true;
    }
    let member = if c.node.kind() == "method_definition" {
        c.node
    } else {
        c.outer.node
    };
    let mut cursor = member.walk();
    member.children(&mut cursor).any(|child| {
        child.kind() == "accessibility_modifier"
            && matches!(node_text(c.source, child), "private" | "protected")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_recognises_rust_test_attributes() {
        for text in [
            "#[test]",
            "#[tokio::test]",
            "#[tokio::test(flavor = \"multi_thread\")]",
            "#[sqlx::test(migrator = \"crate::MIGRATOR\")]",
            "#[cfg(test)]",
            "#[cfg(all(test, unix))]",
        ] {
            assert!(is_test_attribute(text), "{text}");
        }
        for text in [
            "#[cfg(not(test))]",
            "#[inline]",
            "#[cfg(feature = \"testing\")]",
            "#[derive(Debug)]",
        ] {
            assert!(!is_test_attribute(text), "{text}");
        }
    }
}
