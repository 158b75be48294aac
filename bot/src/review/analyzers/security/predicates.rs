//! The query predicates tree-sitter leaves to us (`#dynamic?`, `#built-sql?`, …): parsed
//! once when a rule file compiles, checked on every match.
//!
//! | predicate | holds when the capture … |
//! |---|---|
//! | `#dynamic?` | is not a constant (see [`values::is_constant`]) |
//! | `#built-string?` | is a string built from a non-constant (interpolation, `+`, formatting) |
//! | `#built-sql?` | is such a string and its literal parts read like SQL |
//! | `#shell-injectable?` | is a non-constant command, or an `{"sh", "-c", non-constant}` array |
//! | `#password-hash?` | is a hash call whose chain, target or later updates mention a password |
//! | `#yaml-unsafe?` | are `yaml.load` arguments with no loader or an unsafe one |
//! | `#reads-object?` | sits in a function that calls `readObject`, in a file with no class filter |
//! | `#empty-body?` | is a block with no statements but comments or a bare `return;` |
//! | `#only-statement?` | is the only statement of its block |
//! | `#file-mentions? "text"` | (no capture) the file contains `text` |

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::{Node, QueryMatch, QueryPredicate, QueryPredicateArg};

use super::syntax::{
    any_descendant, assigned_to, chain_top, children, enclosing_function, is_string,
    mentions_password, method_call, text, unwrap,
};
use super::values::{self, is_constant};

/// A predicate on one captured node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Predicate {
    Dynamic,
    BuiltString,
    BuiltSql,
    ShellInjectable,
    PasswordHash,
    YamlUnsafe,
    ReadsObject,
    EmptyBody,
    OnlyStatement,
}

/// One custom predicate of a pattern.
#[derive(Debug)]
pub(super) enum Check {
    /// A predicate every node of a capture must satisfy.
    Node { predicate: Predicate, capture: u32 },
    /// `(#file-mentions? "text")`.
    FileMentions(Box<str>),
}

impl Check {
    /// Reads one predicate of a query pattern; unknown operators are an error.
    pub(super) fn parse(predicate: &QueryPredicate) -> Result<Check, String> {
        let operator = &*predicate.operator;
        if operator == "file-mentions?" {
            return match &*predicate.args {
                [QueryPredicateArg::String(text)] => Ok(Check::FileMentions(text.clone())),
                _ => Err("#file-mentions? takes one string".to_owned()),
            };
        }
        let parsed = match operator {
            "dynamic?" => Predicate::Dynamic,
            "built-string?" => Predicate::BuiltString,
            "built-sql?" => Predicate::BuiltSql,
            "shell-injectable?" => Predicate::ShellInjectable,
            "password-hash?" => Predicate::PasswordHash,
            "yaml-unsafe?" => Predicate::YamlUnsafe,
            "reads-object?" => Predicate::ReadsObject,
            "empty-body?" => Predicate::EmptyBody,
            "only-statement?" => Predicate::OnlyStatement,
            other => return Err(format!("unknown predicate #{other}")),
        };
        match &*predicate.args {
            [QueryPredicateArg::Capture(capture)] => Ok(Check::Node {
                predicate: parsed,
                capture: *capture,
            }),
            _ => Err(format!("#{operator} takes one capture")),
        }
    }

    /// Whether the match satisfies this predicate.
    pub(super) fn holds(&self, m: &QueryMatch<'_, '_>, source: &str) -> bool {
        match self {
            Check::FileMentions(needle) => source.contains(&**needle),
            Check::Node { predicate, capture } => {
                let mut nodes = m.nodes_for_capture_index(*capture).peekable();
                nodes.peek().is_some() && nodes.all(|node| predicate.holds(node, source))
            }
        }
    }
}

impl Predicate {
    fn holds(self, node: Node<'_>, source: &str) -> bool {
        match self {
            Predicate::Dynamic => !is_constant(node, source),
            Predicate::BuiltString => values::built_string(node, source).is_some(),
            Predicate::BuiltSql => {
                values::built_string(node, source).is_some_and(|literal| looks_like_sql(&literal))
            }
            Predicate::ShellInjectable => shell_injectable(node, source),
            Predicate::PasswordHash => password_hash(node, source),
            Predicate::YamlUnsafe => yaml_unsafe(node, source),
            Predicate::ReadsObject => reads_object(node, source),
            Predicate::EmptyBody => children(node).into_iter().all(|statement| {
                statement.kind() == "return_statement" && children(statement).is_empty()
            }),
            Predicate::OnlyStatement => {
                node.parent().is_some_and(|block| children(block) == [node])
            }
        }
    }
}

/// SQL statement shapes. A bare keyword is not enough: prose says "select" and GraphQL
/// filters say `where: {…}`, so `WHERE` counts only when a comparison follows it.
static SQL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?is)\b(?:select\b.*\bfrom\b|insert\s+into\b|update\b.*\bset\b|delete\s+from\b",
        r#"|where\s+[\w."`\[\]]+\s*(?:[=<>!]|(?:not\s+)?(?:like|ilike|in|is|between)\b)"#,
        r"|order\s+by\b|group\s+by\b|values\s*\(",
        r"|(?:create|drop|alter|truncate)\s+(?:table|index|view|database|schema)\b)",
    ))
    .ok()
});

/// Whether the literal parts of a built string read like SQL.
fn looks_like_sql(literal: &str) -> bool {
    SQL.as_ref().is_some_and(|sql| sql.is_match(literal))
}

/// Whether a string literal names a shell: `"sh"`, `"/bin/bash"`, `"cmd.exe"`.
pub(super) fn is_shell(literal: &str) -> bool {
    let program = literal.trim_matches('"');
    let program = program.rsplit(['/', '\\']).next().unwrap_or(program);
    matches!(
        program,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "cmd" | "cmd.exe"
    )
}

/// A command for `Runtime.exec`: a non-constant string, or an array that runs a shell
/// (`{"sh", "-c", script}`) with a non-constant script. An array naming a program directly
/// gets no shell parsing, so it is left alone.
fn shell_injectable(command: Node<'_>, source: &str) -> bool {
    let command = unwrap(command, source);
    let elements = match command.kind() {
        "array_creation_expression" => match command.child_by_field_name("value") {
            Some(initializer) => children(initializer),
            None => return false,
        },
        "array_initializer" => children(command),
        _ => return !is_constant(command, source),
    };
    match elements.as_slice() {
        [shell, flag, script @ ..] => {
            is_string(*shell)
                && is_shell(text(*shell, source))
                && matches!(text(*flag, source), "\"-c\"" | "\"/c\"")
                && script.iter().any(|&part| !is_constant(part, source))
        }
        _ => false,
    }
}

/// Whether a weak hash call hashes a password: a password-like name in the call chain
/// (`md5(password).hexdigest()`), in the variable it is assigned to, or in a later
/// `update`/`Write` on that variable in the same function.
fn password_hash(call: Node<'_>, source: &str) -> bool {
    // Python's hashlib.md5(data, usedforsecurity=False) says it is not for security.
    if text(call, source).contains("usedforsecurity") {
        return false;
    }
    let top = chain_top(call);
    if mentions_password(top, source) {
        return true;
    }
    let Some(variable) = assigned_to(top) else {
        return false;
    };
    if mentions_password(variable, source) {
        return true;
    }
    if variable.kind() != "identifier" {
        return false;
    }
    let name = text(variable, source);
    any_descendant(enclosing_function(top), |node| {
        node.start_byte() >= top.end_byte()
            && method_call(node).is_some_and(|(receiver, arguments)| {
                text(receiver, source) == name && mentions_password(arguments, source)
            })
    })
}

/// PyYAML loaders that construct arbitrary Python objects.
const UNSAFE_LOADERS: &[&str] = &[
    "Loader",
    "UnsafeLoader",
    "FullLoader",
    "CLoader",
    "CUnsafeLoader",
    "CFullLoader",
];

/// `yaml.load` arguments: unsafe with no loader or a loader from [`UNSAFE_LOADERS`]; a
/// `**kwargs` or an unknown (custom) loader is given the benefit of the doubt.
fn yaml_unsafe(arguments: Node<'_>, source: &str) -> bool {
    let mut positional = 0;
    let mut loader = None;
    for argument in children(arguments) {
        match argument.kind() {
            "keyword_argument" => {
                let name = argument.child_by_field_name("name");
                if name.is_some_and(|n| text(n, source) == "Loader") {
                    loader = argument.child_by_field_name("value");
                }
            }
            "dictionary_splat" | "list_splat" => return false,
            _ => {
                positional += 1;
                if positional == 2 {
                    loader = Some(argument);
                }
            }
        }
    }
    match loader {
        None => true,
        Some(loader) => {
            let name = text(loader, source);
            UNSAFE_LOADERS.contains(&name.rsplit('.').next().unwrap_or(name))
        }
    }
}

/// A `new ObjectInputStream(…)` whose function also calls `readObject`/`readUnshared`, in a
/// file that neither sets an `ObjectInputFilter` nor overrides `resolveClass` (the two
/// standard ways to allow only expected classes).
fn reads_object(creation: Node<'_>, source: &str) -> bool {
    if source.contains("ObjectInputFilter") || source.contains("resolveClass") {
        return false;
    }
    any_descendant(enclosing_function(creation), |node| {
        node.kind() == "method_invocation"
            && node
                .child_by_field_name("name")
                .is_some_and(|name| matches!(text(name, source), "readObject" | "readUnshared"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_shapes_are_recognised_and_prose_is_not() {
        assert!(SQL.is_some(), "the SQL pattern compiles");
        for sql in [
            "SELECT name FROM users",
            "select *\n  from t",
            "INSERT INTO t (a) VALUES (",
            "UPDATE accounts SET owner = '",
            "DELETE FROM sessions",
            " WHERE id = ",
            " where u.name LIKE '%",
            " WHERE status NOT IN (",
            " ORDER BY ",
            "DROP TABLE ",
        ] {
            assert!(looks_like_sql(sql), "{sql:?}");
        }
        for prose in [
            "deploy {target}",
            "Select a file",
            "query { users(where: {id: {_eq: 1}}) { name } }",
            "update the cache",
            "where is it?",
            "order_by: {name: asc}",
        ] {
            assert!(!looks_like_sql(prose), "{prose:?}");
        }
    }

    #[test]
    fn shells_are_recognised_by_program_name() {
        for shell in ["\"sh\"", "\"/bin/bash\"", "\"/usr/bin/zsh\"", "\"cmd.exe\""] {
            assert!(is_shell(shell), "{shell}");
        }
        for program in [
            "\"git\"",
            "\"shellcheck\"",
            "\"/bin/ls\"",
            "\"bash-completion\"",
        ] {
            assert!(!is_shell(program), "{program}");
        }
    }
}
