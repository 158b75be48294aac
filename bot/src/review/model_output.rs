//! What the model must answer, and how its answer is read. Each prompt names a schema sent as
//! a structured-output `json_schema` with `strict: true` (every property required,
//! `additionalProperties: false`); the answer is parsed into typed values and each item
//! checked, so nothing the model invents reaches a pull request unvalidated.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::finding::Severity;

/// The JSON schema named by a prompt's front matter, or `None` if unknown.
pub fn schema(name: &str) -> Option<Value> {
    let string = json!({ "type": "string" });
    let line =
        json!({ "type": "integer", "description": "1-based line on the new side of the diff" });
    let confidence = json!({ "type": "number", "description": "0 to 1" });
    match name {
        "suggested_tests" => Some(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["suggestions"],
            "properties": { "suggestions": { "type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["path", "line", "kind", "title", "rationale", "test_path", "code", "confidence"],
                "properties": {
                    "path": string, "line": line,
                    "kind": { "type": "string", "enum": ["unit", "integration", "edge_case", "regression", "property"] },
                    "title": string, "rationale": string, "test_path": string, "code": string,
                    "confidence": confidence,
                },
            }}},
        })),
        "security_findings" => Some(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["findings"],
            "properties": { "findings": { "type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["path", "line", "cwe", "severity", "confidence", "title", "explanation", "fix"],
                "properties": {
                    "path": string, "line": line,
                    "cwe": { "type": "string", "description": "e.g. CWE-78" },
                    "severity": { "type": "string", "enum": ["low", "medium", "high", "critical"] },
                    "confidence": confidence,
                    "title": string, "explanation": string, "fix": string,
                },
            }}},
        })),
        _ => None,
    }
}

/// A suggested test as the model proposed it. Serializes back to the schema's item shape.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TestSuggestion {
    /// The changed file it is about.
    pub path: String,
    /// The line it is about.
    pub line: u32,
    /// Unit, integration, edge case, regression or property.
    pub kind: String,
    /// One line.
    pub title: String,
    /// Why this test matters.
    pub rationale: String,
    /// Where the test goes.
    pub test_path: String,
    /// The test's code.
    pub code: String,
    /// In [0, 1].
    pub confidence: f32,
}

/// A security finding as the model reported it. Serializes back to the schema's item shape.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SecurityFinding {
    /// The file.
    pub path: String,
    /// The line.
    pub line: u32,
    /// `CWE-<n>`.
    pub cwe: String,
    /// How bad.
    pub severity: Severity,
    /// In [0, 1].
    pub confidence: f32,
    /// One line.
    pub title: String,
    /// Why it is a weakness.
    pub explanation: String,
    /// How to fix it.
    pub fix: String,
}

/// A valid answer, with the items refused and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// Items that passed every check.
    pub items: Vec<T>,
    /// `(index, reason)` of items refused.
    pub refused: Vec<(usize, String)>,
}

/// The answer could not be read at all: worth one repair retry, then recorded as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model output does not match the `{schema}` schema: {problem}")]
pub struct OutputError {
    /// The schema expected.
    pub schema: &'static str,
    /// What was wrong.
    pub problem: String,
}

/// Longest title we accept before refusing an item as garbage.
const MAX_TITLE_CHARS: usize = 300;

fn check_common(path: &str, line: u32, confidence: f32, title: &str) -> Result<(), String> {
    if path.trim().is_empty() || path.contains("..") || path.starts_with('/') {
        return Err(format!("path {path:?} is not a file of the change"));
    }
    if line == 0 {
        return Err("line 0 (lines start at 1)".into());
    }
    if !(0.0..=1.0).contains(&confidence) || confidence.is_nan() {
        return Err(format!("confidence {confidence} is outside 0..1"));
    }
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err("empty or overlong title".into());
    }
    Ok(())
}

fn items<T: for<'de> Deserialize<'de>>(
    raw: &str,
    schema: &'static str,
    key: &str,
    check: impl Fn(&T) -> Result<(), String>,
) -> Result<Answer<T>, OutputError> {
    let fail = |problem: String| OutputError { schema, problem };
    let value: Value =
        serde_json::from_str(raw.trim()).map_err(|e| fail(format!("not JSON: {e}")))?;
    let list = value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| fail(format!("no `{key}` array")))?;
    let mut answer = Answer {
        items: Vec::new(),
        refused: Vec::new(),
    };
    for (index, item) in list.iter().enumerate() {
        match serde_json::from_value::<T>(item.clone()) {
            Err(e) => answer.refused.push((index, e.to_string())),
            Ok(parsed) => match check(&parsed) {
                Ok(()) => answer.items.push(parsed),
                Err(why) => answer.refused.push((index, why)),
            },
        }
    }
    Ok(answer)
}

/// Reads a `suggested_tests` answer.
pub fn parse_test_suggestions(raw: &str) -> Result<Answer<TestSuggestion>, OutputError> {
    items(
        raw,
        "suggested_tests",
        "suggestions",
        |s: &TestSuggestion| {
            check_common(&s.path, s.line, s.confidence, &s.title)?;
            if s.code.trim().is_empty() {
                return Err("no test code".into());
            }
            Ok(())
        },
    )
}

/// Reads a `security_findings` answer.
pub fn parse_security_findings(raw: &str) -> Result<Answer<SecurityFinding>, OutputError> {
    items(
        raw,
        "security_findings",
        "findings",
        |f: &SecurityFinding| {
            check_common(&f.path, f.line, f.confidence, &f.title)?;
            let number = f.cwe.strip_prefix("CWE-").unwrap_or("");
            if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("cwe {:?} is not CWE-<number>", f.cwe));
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azure/OpenAI strict mode: every object lists all its properties as required and
    /// allows no others.
    fn assert_strict(value: &Value, at: &str) {
        if let Some(properties) = value.get("properties").and_then(Value::as_object) {
            assert_eq!(value["additionalProperties"], json!(false), "{at}");
            let mut required: Vec<&str> = value["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
            required.sort_unstable();
            keys.sort_unstable();
            assert_eq!(required, keys, "{at}: every property must be required");
            for (key, child) in properties {
                assert_strict(child, &format!("{at}.{key}"));
            }
        }
        if let Some(items) = value.get("items") {
            assert_strict(items, &format!("{at}[]"));
        }
    }

    #[test]
    fn every_prompt_schema_exists_and_is_strict() {
        for (path, text) in crate::review::prompt::RELEASED {
            let prompt = crate::review::prompt::parse_prompt(path, text).unwrap();
            let schema = schema(&prompt.schema)
                .unwrap_or_else(|| panic!("{path}: no schema {}", prompt.schema));
            assert_strict(&schema, &prompt.schema);
        }
        assert!(schema("nope").is_none());
    }

    #[test]
    fn valid_items_are_kept_and_invalid_ones_refused_with_a_reason() {
        let raw = r#"{"findings": [
            {"path": "app.py", "line": 4, "cwe": "CWE-78", "severity": "high", "confidence": 0.9,
             "title": "Shell injection", "explanation": "cmd comes from the request", "fix": "use a list"},
            {"path": "app.py", "line": 0, "cwe": "CWE-78", "severity": "high", "confidence": 0.9,
             "title": "x", "explanation": "", "fix": ""},
            {"path": "../etc/passwd", "line": 1, "cwe": "CWE-22", "severity": "low", "confidence": 0.5,
             "title": "x", "explanation": "", "fix": ""},
            {"path": "app.py", "line": 2, "cwe": "78", "severity": "high", "confidence": 0.9,
             "title": "x", "explanation": "", "fix": ""},
            {"path": "app.py", "line": 2, "cwe": "CWE-79", "severity": "catastrophic", "confidence": 0.9,
             "title": "x", "explanation": "", "fix": ""},
            {"path": "app.py", "line": 2, "cwe": "CWE-79", "severity": "low", "confidence": 7,
             "title": "x", "explanation": "", "fix": ""}
        ]}"#;
        let answer = parse_security_findings(raw).unwrap();
        assert_eq!(answer.items.len(), 1);
        assert_eq!(answer.items[0].severity, Severity::High);
        let reasons: Vec<&str> = answer.refused.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            answer.refused.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(
            reasons[0].contains("line 0")
                && reasons[1].contains("not a file")
                && reasons[2].contains("CWE-<number>")
        );
        assert!(
            reasons[3].contains("unknown variant") && reasons[4].contains("outside 0..1"),
            "{reasons:?}"
        );
    }

    #[test]
    fn garbage_is_an_error_worth_a_repair_retry() {
        for raw in [
            "",
            "Sure! Here are the tests:",
            "{\"tests\": []}",
            "[1, 2]",
            "{\"suggestions\": 3}",
        ] {
            let err = parse_test_suggestions(raw).unwrap_err();
            assert_eq!(err.schema, "suggested_tests", "{raw}");
        }
        let ok = parse_test_suggestions(r#" {"suggestions": []} "#).unwrap();
        assert!(
            ok.items.is_empty() && ok.refused.is_empty(),
            "an empty answer teaches silence"
        );
        let missing_code = r#"{"suggestions": [{"path": "a.py", "line": 1, "kind": "unit", "title": "t",
            "rationale": "r", "test_path": "tests/test_a.py", "code": "  ", "confidence": 0.7}]}"#;
        assert_eq!(
            parse_test_suggestions(missing_code).unwrap().refused[0].1,
            "no test code"
        );
    }
}
