//! GitHub's REST description (the committed subset) and a small validator for its schemas.
//!
//! The validator covers the OpenAPI 3.0 keywords the subset uses: `$ref` (local), `type`,
//! `nullable`, `enum`, `properties`, `required`, `additionalProperties`, `items`, `maxItems`,
//! `minItems`, `maxLength`, `minLength`, `minimum`, `maximum`, `allOf`, `anyOf`, `oneOf`.
//! `format`, `discriminator` and annotations are ignored. Hand-written instead of the
//! `jsonschema` crate: OpenAPI 3.0 is not JSON Schema (`nullable`), and this is ~150 lines.

use std::sync::OnceLock;

use serde_json::Value;

/// `tests/fixtures/github/openapi-subset.json` (github/rest-api-description, MIT).
const SUBSET: &str = include_str!("../../fixtures/github/openapi-subset.json");

/// The parsed description, loaded once per test binary.
pub(crate) fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(SUBSET).expect("openapi-subset.json is valid JSON"))
}

/// The operation object for `method` (lowercase or not) on a path template, if in the subset.
/// axum's wildcard segments (`{*path}`) are read as GitHub's plain ones (`{path}`).
pub(crate) fn operation(method: &str, template: &str) -> Option<&'static Value> {
    spec()
        .get("paths")?
        .get(template.replace("{*", "{"))?
        .get(method.to_ascii_lowercase())
}

/// Checks a request body against the operation's JSON `requestBody` schema. Operations that
/// are not in the subset, or take no JSON body, pass.
pub(crate) fn check_request_body(
    method: &str,
    template: &str,
    body: Option<&Value>,
) -> Result<(), Vec<String>> {
    let Some(op) = operation(method, template) else {
        return Ok(());
    };
    let Some(request_body) = op.get("requestBody").map(resolve) else {
        return Ok(());
    };
    let required = request_body.get("required").and_then(Value::as_bool) == Some(true);
    let Some(schema) = request_body.pointer("/content/application~1json/schema") else {
        return Ok(());
    };
    match body {
        None if required => Err(vec!["request body is required but missing".into()]),
        None => Ok(()),
        Some(body) => into_result(validate(schema, body)),
    }
}

/// Checks a response body against the operation's schema for `status` (used to keep the fake
/// honest about its own answers).
#[cfg(test)]
pub(crate) fn check_response_body(
    method: &str,
    template: &str,
    status: u16,
    body: &Value,
) -> Result<(), Vec<String>> {
    let op = operation(method, template)
        .ok_or_else(|| vec![format!("{method} {template} is not in the subset")])?;
    let response = op
        .get("responses")
        .and_then(|r| r.get(status.to_string()))
        .map(resolve)
        .ok_or_else(|| {
            vec![format!(
                "{method} {template} documents no {status} response"
            )]
        })?;
    let schema = response
        .pointer("/content/application~1json/schema")
        .ok_or_else(|| vec![format!("{status} response has no JSON schema")])?;
    into_result(validate(schema, body))
}

fn into_result(errors: Vec<String>) -> Result<(), Vec<String>> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every violation of `schema` by `value`, each as `<json path>: <problem>`.
pub(crate) fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    errors
}

/// Follows a local `$ref` (`#/components/...`) chain; anything else is returned as is.
fn resolve(schema: &Value) -> &Value {
    let mut current = schema;
    // Bounded, so a reference cycle cannot hang a test.
    for _ in 0..32 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| spec().pointer(pointer))
        {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(reference) = schema.get("$ref") {
        errors.push(format!("{at}: unresolved $ref {reference}"));
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(sub, value, at, errors);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|sub| validate(sub, value).is_empty())
    {
        errors.push(format!("{at}: matches none of anyOf"));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|sub| validate(sub, value).is_empty())
            .count();
        if matching != 1 {
            errors.push(format!(
                "{at}: matches {matching} of oneOf, expected exactly 1"
            ));
        }
    }
    if value.is_null() {
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        let enum_allows_null = schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.contains(&Value::Null));
        if schema.get("type").is_some() && !nullable && !enum_allows_null {
            errors.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        errors.push(format!(
            "{at}: expected {expected}, got {}",
            type_name(value)
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!(
            "{at}: {value} is not one of {}",
            Value::from(allowed.clone())
        ));
    }
    match value {
        Value::Object(map) => check_object(schema, map, at, errors),
        Value::Array(items) => check_array(schema, items, at, errors),
        Value::String(text) => {
            let len = text.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!("{at}: length {len} exceeds maxLength {max}"));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{at}: length {len} below minLength {min}"));
            }
        }
        Value::Number(number) => {
            let n = number.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                errors.push(format!("{at}: {n} below minimum {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                errors.push(format!("{at}: {n} above maximum {max}"));
            }
        }
        _ => {}
    }
}

fn check_object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                errors.push(format!("{at}: missing required property `{name}`"));
            }
        }
    }
    for (name, item) in map {
        let path = format!("{at}.{name}");
        match properties.and_then(|p| p.get(name)) {
            Some(sub) => check(sub, item, &path, errors),
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    errors.push(format!("{at}: unknown property `{name}`"));
                }
                Some(sub @ Value::Object(_)) => check(sub, item, &path, errors),
                _ => {}
            },
        }
    }
}

fn check_array(schema: &Value, items: &[Value], at: &str, errors: &mut Vec<String>) {
    let len = items.len() as u64;
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && len > max
    {
        errors.push(format!("{at}: {len} items exceed maxItems {max}"));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && len < min
    {
        errors.push(format!("{at}: {len} items below minItems {min}"));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{at}[{i}]"), errors);
        }
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        // Unknown type names are not ours to reject.
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
