//! Node helpers the security predicates share: text, children, wrappers, scopes, method
//! chains, assignment targets and password-like names. Node kinds differ per grammar but
//! rarely clash, so one set of functions serves every language.

use tree_sitter::Node;

/// Node kinds that are string literals (possibly with interpolation) in some grammar.
const STRING_KINDS: &[&str] = &[
    "string",                     // Python (also f-strings), JavaScript
    "concatenated_string",        // Python: "a" "b"
    "template_string",            // JavaScript: `a ${b}`
    "interpreted_string_literal", // Go
    "raw_string_literal",         // Go, Rust
    "string_literal",             // Java, Rust
];

/// Kinds of functions and methods: the scope a variable is looked up in.
const FUNCTION_KINDS: &[&str] = &[
    "function_definition",
    "function_declaration",
    "function_expression",
    "function",
    "generator_function_declaration",
    "arrow_function",
    "method_definition",
    "method_declaration",
    "constructor_declaration",
    "func_literal",
    "function_item",
    "closure_expression",
    "lambda_expression",
    "lambda",
];

/// The source text of `node` (empty if it is not valid UTF-8, which cannot happen for a
/// `&str` source cut at node boundaries).
pub(super) fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// Whether `node` is a string literal, possibly with interpolation.
pub(super) fn is_string(node: Node<'_>) -> bool {
    STRING_KINDS.contains(&node.kind())
}

/// Named children, without comments.
pub(super) fn children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|child| !child.kind().contains("comment"))
        .collect()
}

/// `node` without wrappers that do not change its value: parentheses, a keyword argument's
/// `name=`, `&`, TypeScript casts, `.as_str()`-style conversions in Rust.
pub(super) fn unwrap<'t>(mut node: Node<'t>, source: &str) -> Node<'t> {
    loop {
        let inner = match node.kind() {
            "parenthesized_expression"
            | "literal_element"
            | "non_null_expression"
            | "as_expression"
            | "satisfies_expression" => children(node).into_iter().next(),
            "keyword_argument" | "reference_expression" => node.child_by_field_name("value"),
            "expression_list" => match children(node).as_slice() {
                [only] => Some(*only),
                _ => None,
            },
            // Rust: x.as_str(), x.to_string() … with no arguments
            "call_expression" => node
                .child_by_field_name("function")
                .filter(|f| f.kind() == "field_expression")
                .filter(|f| {
                    f.child_by_field_name("field").is_some_and(|field| {
                        matches!(
                            text(field, source),
                            "as_str" | "as_ref" | "to_string" | "to_owned" | "into" | "clone"
                        )
                    })
                })
                .filter(|_| {
                    node.child_by_field_name("arguments")
                        .is_some_and(|a| children(a).is_empty())
                })
                .and_then(|f| f.child_by_field_name("value")),
            _ => None,
        };
        match inner {
            Some(inner) => node = inner,
            None => return node,
        }
    }
}

/// The operator of a binary expression (`+`, `%`, …).
pub(super) fn operator<'t>(node: Node<'t>) -> Option<&'t str> {
    node.child_by_field_name("operator").map(|op| op.kind())
}

/// Whether an identifier names a password or secret: a word of it (split at `_`, `-` and
/// camelCase) contains `password`, `passwd` or `passphrase`, or is `pwd` or `secret`.
pub(super) fn is_password_name(name: &str) -> bool {
    words(name).any(|word| {
        word.contains("password")
            || word.contains("passwd")
            || word.contains("passphrase")
            || matches!(word.as_str(), "pwd" | "secret" | "secrets")
    })
}

/// The lowercase words of an identifier.
fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    words.push(current);
    words.into_iter().filter(|w| !w.is_empty())
}

/// Whether `node` mentions a password: an identifier with a password name, or a string
/// literal that is one (`form["password"]`).
pub(super) fn mentions_password(node: Node<'_>, source: &str) -> bool {
    any_descendant(node, |n| {
        let kind = n.kind();
        if kind.ends_with("identifier") && kind != "type_identifier" {
            is_password_name(text(n, source))
        } else if is_string(n) {
            let content = text(n, source)
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .trim_matches(|c| matches!(c, '"' | '\'' | '`'));
            content
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                && is_password_name(content)
        } else {
            false
        }
    })
}

/// Whether `f` holds for `node` or any node below it (pre-order, stops at the first).
pub(super) fn any_descendant<'t>(node: Node<'t>, mut f: impl FnMut(Node<'t>) -> bool) -> bool {
    let mut cursor = node.walk();
    loop {
        if f(cursor.node()) {
            return true;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
        }
    }
}

/// The innermost function or method around `node`, else the file.
pub(super) fn enclosing_function(node: Node<'_>) -> Node<'_> {
    let mut scope = node;
    while let Some(parent) = scope.parent() {
        scope = parent;
        if FUNCTION_KINDS.contains(&scope.kind()) {
            break;
        }
    }
    scope
}

/// For a method call, its receiver and argument list: `h.update(x)` gives `h` and `(x)`.
pub(super) fn method_call<'t>(node: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let (receiver, arguments) = match node.kind() {
        "method_invocation" => (
            node.child_by_field_name("object")?,
            node.child_by_field_name("arguments")?,
        ),
        "call" | "call_expression" => {
            let function = node.child_by_field_name("function")?;
            let field = match function.kind() {
                "attribute" | "member_expression" => "object",
                "selector_expression" => "operand",
                "field_expression" => "value",
                _ => return None,
            };
            (
                function.child_by_field_name(field)?,
                node.child_by_field_name("arguments")?,
            )
        }
        _ => return None,
    };
    Some((receiver, arguments))
}

/// The outermost call of a method chain starting at `call`: `md5(x).update(y).hexdigest()`.
pub(super) fn chain_top(mut call: Node<'_>) -> Node<'_> {
    while let Some(parent) = call.parent() {
        if parent.kind() == "method_invocation"
            && parent.child_by_field_name("object") == Some(call)
        {
            call = parent;
            continue;
        }
        let Some(outer) = parent.parent() else { break };
        let is_access = matches!(
            parent.kind(),
            "attribute" | "member_expression" | "selector_expression" | "field_expression"
        );
        if is_access
            && parent.named_child(0) == Some(call)
            && matches!(outer.kind(), "call" | "call_expression")
            && outer.child_by_field_name("function") == Some(parent)
        {
            call = outer;
        } else {
            break;
        }
    }
    call
}

/// The variable an expression is assigned to: `h = md5()`, `const h = …`, `h := …`,
/// `let h = …`, `MessageDigest h = …`.
pub(super) fn assigned_to(value: Node<'_>) -> Option<Node<'_>> {
    let parent = value.parent()?;
    let target = match parent.kind() {
        "assignment" | "assignment_expression" => parent.child_by_field_name("left"),
        "variable_declarator" => parent.child_by_field_name("name"),
        "let_declaration" => parent.child_by_field_name("pattern"),
        // Go: h := md5.New() puts both sides in expression lists
        "expression_list" => {
            let statement = parent.parent()?;
            let index = children(parent).iter().position(|&v| v == value)?;
            match statement.kind() {
                "short_var_declaration" | "assignment_statement" => {
                    children(statement.child_by_field_name("left")?)
                        .get(index)
                        .copied()
                }
                "var_spec" => statement.child_by_field_name("name"),
                _ => None,
            }
        }
        _ => None,
    }?;
    (target.kind() != "expression_list").then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_names_match_whole_words() {
        for name in [
            "password",
            "newPassword",
            "USER_PASSWD",
            "pwd",
            "hashed_pwd",
            "client_secret",
            "Passphrase",
            "userpassword",
        ] {
            assert!(is_password_name(name), "{name}");
        }
        for name in ["getcwd", "secretary", "passage", "body", "pw_dir", "bypass"] {
            assert!(!is_password_name(name), "{name}");
        }
    }
}
