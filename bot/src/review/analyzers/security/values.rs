//! Is an expression a constant, or a string built from variables? Literals, `+`,
//! interpolation and formatting calls are read structurally; a local variable is followed to
//! the values assigned to it in its function.

use tree_sitter::Node;

use super::syntax::{
    any_descendant, children, enclosing_function, is_string, operator, text, unwrap,
};

/// Kinds of literals other than strings: numbers, booleans, null.
const SCALAR_KINDS: &[&str] = &[
    "integer",
    "float",
    "number",
    "true",
    "false",
    "none",
    "null",
    "null_literal",
    "nil",
    "undefined",
    "int_literal",
    "float_literal",
    "integer_literal",
    "decimal_integer_literal",
    "decimal_floating_point_literal",
    "hex_integer_literal",
    "octal_integer_literal",
    "binary_integer_literal",
    "hex_floating_point_literal",
    "imaginary_literal",
    "negative_literal",
    "boolean_literal",
    "char_literal",
    "character_literal",
    "rune_literal",
];

/// `SCREAMING_CASE` names are constants by convention in every language we read.
pub(super) fn is_screaming(name: &str) -> bool {
    name.len() > 1
        && name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Whether `node` evaluates to a value fixed in the source: literals, `+` of constants,
/// collections of constants, interpolations of constants, `SCREAMING_CASE` names and local
/// variables only ever assigned constants.
pub(super) fn is_constant(node: Node<'_>, source: &str) -> bool {
    constant(node, source, 0)
}

/// How many variable hops (`a = b`, `b = "x"`) constant and built-string checks follow.
const MAX_HOPS: u8 = 3;

fn constant(node: Node<'_>, source: &str, hops: u8) -> bool {
    let node = unwrap(node, source);
    let kind = node.kind();
    if is_string(node) {
        return children(node).into_iter().all(|part| match part.kind() {
            "interpolation" => part
                .child_by_field_name("expression")
                .is_some_and(|e| constant(e, source, hops)),
            "template_substitution" | "string_interpolation" => children(part)
                .into_iter()
                .all(|e| constant(e, source, hops)),
            _ => !is_string(part) || constant(part, source, hops),
        });
    }
    if SCALAR_KINDS.contains(&kind) {
        return true;
    }
    match kind {
        "identifier" => {
            is_screaming(text(node, source))
                || hops < MAX_HOPS
                    && assigned_values(node, source).is_some_and(|values| {
                        !values.is_empty()
                            && values.into_iter().all(|v| constant(v, source, hops + 1))
                    })
        }
        "attribute"
        | "member_expression"
        | "field_access"
        | "selector_expression"
        | "scoped_identifier" => last_name(node).is_some_and(|n| is_screaming(text(n, source))),
        "binary_operator" | "binary_expression" => {
            operator(node) == Some("+")
                && [
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ]
                .into_iter()
                .all(|side| side.is_some_and(|side| constant(side, source, hops)))
        }
        "list" | "tuple" | "array" | "array_expression" | "array_initializer"
        | "expression_list" => children(node)
            .into_iter()
            .all(|e| constant(e, source, hops)),
        "array_creation_expression" => node
            .child_by_field_name("value")
            .is_some_and(|v| constant(v, source, hops)),
        "macro_invocation" => match macro_name(node, source) {
            "format" => rust_format(node, source).is_some_and(|(_, dynamic)| !dynamic),
            "concat" | "stringify" | "env" | "include_str" => true,
            _ => false,
        },
        _ => false,
    }
}

/// Variable lookups read at most this much code, so a huge generated module costs one
/// bounded walk per candidate call rather than a walk of the whole file each time.
const MAX_SCOPE_BYTES: usize = 64 * 1024;

/// Every value assigned to the local variable `identifier` names, looked up in its function
/// (or, if the function never assigns it, the file). `None` when the variable is also
/// bound in a way whose value we cannot see: a parameter, a loop variable, `+=`, unpacking.
fn assigned_values<'t>(identifier: Node<'t>, source: &str) -> Option<Vec<Node<'t>>> {
    let name = text(identifier, source);
    let mut scope = enclosing_function(identifier);
    loop {
        if scope.byte_range().len() > MAX_SCOPE_BYTES {
            return None;
        }
        let mut values = Vec::new();
        let unknown = any_descendant(scope, |node| {
            if node.kind() != "identifier" || text(node, source) != name {
                return false;
            }
            match binding(node) {
                Binding::Read => false,
                Binding::Value(value) => {
                    values.push(value);
                    false
                }
                Binding::Unknown => true,
            }
        });
        if unknown {
            return None;
        }
        match scope.parent() {
            Some(_) if values.is_empty() => {
                while let Some(parent) = scope.parent() {
                    scope = parent;
                }
            }
            _ => return Some(values),
        }
    }
}

/// How an occurrence of a variable's name uses it.
enum Binding<'t> {
    /// Reads it (or declares it without a value).
    Read,
    /// Assigns it this value with a plain `=`, `:=` or `let`.
    Value(Node<'t>),
    /// Binds it some other way.
    Unknown,
}

/// Parent kinds (substrings) that bind a name to a value we do not see.
const OPAQUE_BINDERS: &[&str] = &[
    "parameter",
    "pattern",
    "update",
    "named_expression",
    "catch",
    "except",
    "import",
    "with",
    "global",
    "nonlocal",
    "receive",
];

fn binding(identifier: Node<'_>) -> Binding<'_> {
    let Some(parent) = identifier.parent() else {
        return Binding::Read;
    };
    let is_target = |field: &str| parent.child_by_field_name(field) == Some(identifier);
    let value_of = |field: &str| match parent.child_by_field_name(field) {
        Some(value) => Binding::Value(value),
        None => Binding::Read,
    };
    match parent.kind() {
        "assignment" if is_target("left") => value_of("right"),
        "assignment_expression" if is_target("left") => match operator(parent) {
            None | Some("=") => value_of("right"),
            Some(_) => Binding::Unknown,
        },
        "variable_declarator" | "var_spec" | "const_spec" if is_target("name") => value_of("value"),
        "let_declaration" if is_target("pattern") => value_of("value"),
        // Go: a, b := x, y and a = x put both sides in expression lists
        "expression_list" => {
            let Some(statement) = parent.parent() else {
                return Binding::Read;
            };
            if statement.child_by_field_name("left") != Some(parent) {
                return Binding::Read;
            }
            let plain = match statement.kind() {
                "short_var_declaration" => true,
                "assignment_statement" => operator(statement) == Some("="),
                _ => false,
            };
            let index = children(parent).iter().position(|&n| n == identifier);
            let values = statement.child_by_field_name("right").map(children);
            match (plain, index, values) {
                (true, Some(index), Some(values)) if values.len() == children(parent).len() => {
                    Binding::Value(values[index])
                }
                _ => Binding::Unknown,
            }
        }
        // for x in …, x += …: only the target is bound
        kind if ["for", "range", "augmented"]
            .iter()
            .any(|b| kind.contains(b)) =>
        {
            if is_target("left") || is_target("pattern") || is_target("name") {
                Binding::Unknown
            } else {
                Binding::Read
            }
        }
        kind if OPAQUE_BINDERS.iter().any(|binder| kind.contains(binder)) => Binding::Unknown,
        _ => Binding::Read,
    }
}

/// The last name of a dotted access: `b` in `a.b`, `B` in `a::B`.
fn last_name(node: Node<'_>) -> Option<Node<'_>> {
    let field = match node.kind() {
        "attribute" => "attribute",
        "member_expression" => "property",
        "field_access" | "selector_expression" => "field",
        "scoped_identifier" => "name",
        _ => return None,
    };
    node.child_by_field_name(field)
}

/// `format` for `format!(…)` and `std::format!(…)`.
fn macro_name<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    node.child_by_field_name("macro")
        .map(|m| text(m, source).rsplit("::").next().unwrap_or(""))
        .unwrap_or("")
}

/// A Rust `format!` call: its format string, and whether it interpolates a non-constant
/// (an inline `{name}` or an argument that is not `SCREAMING_CASE`).
fn rust_format<'s>(node: Node<'_>, source: &'s str) -> Option<(&'s str, bool)> {
    let tokens = children(node)
        .into_iter()
        .find(|c| c.kind() == "token_tree")?;
    let tokens = children(tokens);
    let (literal, arguments) = tokens.split_first()?;
    if !is_string(*literal) {
        return None;
    }
    let format = text(*literal, source);
    let inline = inline_names(format).any(|name| !is_screaming(name));
    let argument = arguments
        .iter()
        .any(|t| t.kind() == "identifier" && !is_screaming(text(*t, source)));
    Some((format, inline || argument))
}

/// The names in a Rust format string's `{name}` / `{name:?}` placeholders.
fn inline_names(format: &str) -> impl Iterator<Item = &str> {
    format
        .split("{{")
        .flat_map(|part| part.split('{').skip(1))
        .filter_map(|after| {
            let name = after.split(['}', ':']).next()?.trim();
            let is_name = name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_');
            is_name.then_some(name)
        })
}

/// If `node` is a string built from a non-constant value (interpolation, `+`, `%`,
/// `.format`, `fmt.Sprintf`, `String.format`, `format!`), the text of its literal parts.
pub(super) fn built_string(node: Node<'_>, source: &str) -> Option<String> {
    built(node, source, 0)
}

fn built(node: Node<'_>, source: &str, hops: u8) -> Option<String> {
    let node = unwrap(node, source);
    if is_string(node) {
        return (!is_constant(node, source)).then(|| text(node, source).to_owned());
    }
    match node.kind() {
        "binary_operator" | "binary_expression" => match operator(node)? {
            "+" => {
                let mut parts = Vec::new();
                flatten_plus(node, source, &mut parts);
                let literal: Vec<String> = parts
                    .iter()
                    .filter_map(|&part| {
                        built(part, source, hops).or_else(|| {
                            is_string(unwrap(part, source)).then(|| text(part, source).to_owned())
                        })
                    })
                    .collect();
                let dynamic = parts.iter().any(|&part| !is_constant(part, source));
                (dynamic && !literal.is_empty()).then(|| literal.join(" "))
            }
            // Python's printf-style formatting: "… %s" % value
            "%" if node.kind() == "binary_operator" => {
                let left = unwrap(node.child_by_field_name("left")?, source);
                let right = node.child_by_field_name("right")?;
                (is_string(left) && !is_constant(right, source))
                    .then(|| text(left, source).to_owned())
            }
            _ => None,
        },
        // Python: "…{}".format(value)
        "call" => {
            let function = node.child_by_field_name("function")?;
            let receiver = unwrap(function.child_by_field_name("object")?, source);
            let method = function.child_by_field_name("attribute")?;
            let arguments = node.child_by_field_name("arguments")?;
            (function.kind() == "attribute"
                && is_string(receiver)
                && matches!(text(method, source), "format" | "format_map")
                && !all_constant(arguments, source))
            .then(|| text(receiver, source).to_owned())
        }
        // Go: fmt.Sprintf("…", value)
        "call_expression" => {
            let function = node.child_by_field_name("function")?;
            if function.kind() != "selector_expression"
                || !matches!(text(function, source), "fmt.Sprintf")
            {
                return None;
            }
            format_call(node.child_by_field_name("arguments")?, source)
        }
        // Java: String.format("…", value) and "…".formatted(value)
        "method_invocation" => {
            let object = unwrap(node.child_by_field_name("object")?, source);
            let name = text(node.child_by_field_name("name")?, source);
            let arguments = node.child_by_field_name("arguments")?;
            if text(object, source) == "String" && name == "format" {
                format_call(arguments, source)
            } else if is_string(object) && name == "formatted" && !all_constant(arguments, source) {
                Some(text(object, source).to_owned())
            } else {
                None
            }
        }
        // Rust: format!("…{value}")
        "macro_invocation" if macro_name(node, source) == "format" => {
            let (format, dynamic) = rust_format(node, source)?;
            dynamic.then(|| format.to_owned())
        }
        // sql = f"SELECT … {x}" then execute(sql): a variable assigned once, a built string
        "identifier" if hops < MAX_HOPS => match assigned_values(node, source)?.as_slice() {
            [value] => built(*value, source, hops + 1),
            _ => None,
        },
        _ => None,
    }
}

/// `Sprintf`/`String.format` arguments: the first string literal is the format (a `Locale`
/// may come before it); built if any argument after it is not constant.
fn format_call(arguments: Node<'_>, source: &str) -> Option<String> {
    let arguments = children(arguments);
    let at = arguments
        .iter()
        .position(|&a| is_string(unwrap(a, source)))?;
    let dynamic = arguments[at + 1..].iter().any(|&a| !is_constant(a, source));
    dynamic.then(|| text(arguments[at], source).to_owned())
}

fn all_constant(arguments: Node<'_>, source: &str) -> bool {
    children(arguments)
        .into_iter()
        .all(|a| is_constant(a, source))
}

/// The operands of a chain of `+`, left to right.
fn flatten_plus<'t>(node: Node<'t>, source: &str, out: &mut Vec<Node<'t>>) {
    let node = unwrap(node, source);
    let is_plus = matches!(node.kind(), "binary_operator" | "binary_expression")
        && operator(node) == Some("+");
    match (
        is_plus,
        node.child_by_field_name("left"),
        node.child_by_field_name("right"),
    ) {
        (true, Some(left), Some(right)) => {
            flatten_plus(left, source, out);
            flatten_plus(right, source, out);
        }
        _ => out.push(node),
    }
}
