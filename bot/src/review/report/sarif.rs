//! SARIF 2.1.0 for GitHub code scanning and other tools: one run, rule metadata with CWE tags
//! and `security-severity`, relative `%SRCROOT%` locations, and `partialFingerprints`, within
//! GitHub's upload limits.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::ReviewReport;
use crate::review::finding::{FindingKind, Severity};

/// GitHub code scanning shows at most this many results per run (older documented limit; the
/// newer 25,000 accepts a superset). The most severe are kept and the cut is reported.
pub const MAX_RESULTS: usize = 5_000;
/// GitHub ignores tags past the 20th on a rule.
pub(crate) const MAX_TAGS: usize = 20;
/// Our fingerprint key in `partialFingerprints` (versioned, so a new scheme gets a new key).
pub const FINGERPRINT_KEY: &str = "reviewbot/v1";

/// SARIF `level` for a severity: high and critical are errors, medium warnings, low notes.
pub(crate) fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's bands: critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9.
pub(crate) fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// SARIF `precision` from a confidence in [0, 1].
pub(crate) fn precision(confidence: f32) -> &'static str {
    match confidence {
        c if c >= 0.9 => "very-high",
        c if c >= 0.75 => "high",
        c if c >= 0.5 => "medium",
        _ => "low",
    }
}

/// A relative path as a URI reference: every byte outside RFC 3986's unreserved set and `/`
/// is percent-encoded (spaces, non-ASCII, `%`, `#`, `?`).
pub fn path_to_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.trim_start_matches("./").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// Renders the report as a SARIF 2.1.0 log.
pub fn render(report: &ReviewReport) -> Value {
    // Keep the most severe results when over the limit.
    let mut kept: Vec<&super::ReportedFinding> = report.findings.iter().collect();
    let dropped = kept.len().saturating_sub(MAX_RESULTS);
    if dropped > 0 {
        kept.sort_by_key(|f| std::cmp::Reverse(f.finding.severity));
        kept.truncate(MAX_RESULTS);
        kept.sort_by(|a, b| {
            (&a.finding.path, a.finding.line).cmp(&(&b.finding.path, b.finding.line))
        });
    }
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    for reported in &kept {
        let f = &reported.finding;
        rules.entry(f.rule_id.as_str()).or_insert_with(|| {
            let mut tags = vec![match f.kind {
                FindingKind::Security => "security".to_owned(),
                FindingKind::TestGap => "maintainability".to_owned(),
            }];
            if let Some(cwe) = &f.cwe {
                tags.push(format!("external/cwe/{}", cwe.to_ascii_lowercase()));
            }
            tags.truncate(MAX_TAGS);
            let mut properties = json!({ "tags": tags, "precision": precision(f.confidence) });
            if f.kind == FindingKind::Security {
                properties["security-severity"] = json!(security_severity(f.severity));
            }
            json!({
                "id": f.rule_id,
                "name": f.rule_id,
                "shortDescription": { "text": f.title },
                "fullDescription": { "text": f.message },
                "help": { "text": f.message },
                "defaultConfiguration": { "level": level(f.severity) },
                "properties": properties,
            })
        });
    }
    let rule_index: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let results: Vec<Value> = kept
        .iter()
        .map(|reported| {
            let f = &reported.finding;
            let mut region = json!({ "startLine": f.line });
            if let Some(column) = f.column {
                region["startColumn"] = json!(column);
            }
            if let Some(end) = f.end_line.filter(|end| *end >= f.line) {
                region["endLine"] = json!(end);
            }
            if let Some(line) = &reported.source_line {
                region["snippet"] = json!({ "text": line });
            }
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": rule_index[f.rule_id.as_str()],
                "level": level(f.severity),
                "message": { "text": format!("{} {}", f.title, f.message) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": path_to_uri(&f.path), "uriBaseId": "%SRCROOT%" },
                        "region": region,
                    }
                }],
                "partialFingerprints": { FINGERPRINT_KEY: reported.fingerprint },
                "properties": { "confidence": f.confidence },
            })
        })
        .collect();
    let mut notifications = Vec::new();
    if dropped > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!("{dropped} less severe results left out: code scanning shows at most {MAX_RESULTS} per run") },
        }));
    }
    for skipped in &report.skipped {
        notifications.push(json!({
            "level": "note",
            "message": { "text": format!("skipped {}: {}", skipped.path, skipped.reason) },
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "reviewbot",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/reviewbot/reviewbot",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The repository root." } } },
            "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
            "results": results,
        }],
    })
}

/// The official SARIF 2.1.0 schema as a validator, shared by every SARIF writer's tests.
#[cfg(test)]
pub(crate) mod schema {
    use serde_json::{Value, json};

    pub(crate) fn schema_validator() -> jsonschema::Validator {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/sarif/sarif-2.1.0-rtm.5.json"
        );
        let mut schema: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // The published schema's `language` pattern has a stray `]`, which the validator's
        // meta-schema check rejects as a regex. We never emit `language`; the fixture stays as
        // published and only that pattern is replaced, by its evident intent.
        let replaced = replace_pattern(
            &mut schema,
            "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
            "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
        );
        assert!(
            replaced > 0,
            "the schema's known flaw moved; re-check this workaround"
        );
        jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
    }

    fn replace_pattern(value: &mut Value, from: &str, to: &str) -> usize {
        match value {
            Value::Object(map) => {
                let mut n = 0;
                for (key, child) in map.iter_mut() {
                    if key == "pattern" && child == from {
                        *child = json!(to);
                        n += 1;
                    } else {
                        n += replace_pattern(child, from, to);
                    }
                }
                n
            }
            Value::Array(items) => items.iter_mut().map(|v| replace_pattern(v, from, to)).sum(),
            _ => 0,
        }
    }

    pub(crate) fn assert_valid(log: &Value) {
        let validator = schema_validator();
        let errors: Vec<String> = validator
            .iter_errors(log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[cfg(test)]
mod tests {
    use super::schema::{assert_valid, schema_validator};
    use super::*;
    use crate::review::report::ReviewReport;
    use crate::review::report::tests::{finding, report};

    #[test]
    fn sarif_is_valid_against_the_official_schema_and_has_what_code_scanning_needs() {
        let log = render(&report());
        assert_valid(&log);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "python.subprocess-shell-true");
        assert_eq!(
            run["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize]["id"],
            result["ruleId"]
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "a.py");
        assert_eq!(location["region"]["startLine"], 12);
        assert!(result["partialFingerprints"][FINGERPRINT_KEY].is_string());
        let rule = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "python.subprocess-shell-true")
            .unwrap();
        assert_eq!(rule["properties"]["security-severity"], "8.0");
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert!(
            rule["properties"]["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("external/cwe/cwe-78"))
        );
    }

    #[test]
    fn the_schema_check_catches_an_invalid_log() {
        let mut log = render(&report());
        log["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(schema_validator().iter_errors(&log).next().is_some());
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_to_uri("src/main.rs"), "src/main.rs");
        assert_eq!(path_to_uri("docs/my file.md"), "docs/my%20file.md");
        assert_eq!(path_to_uri("ä/100%#x?.py"), "%C3%A4/100%25%23x%3F.py");
        assert_eq!(path_to_uri("./a.py"), "a.py");
    }

    #[test]
    fn over_the_limit_keeps_the_most_severe_and_says_so() {
        let mut findings = vec![finding("r.critical", "z.py", 1, Severity::Critical)];
        findings.extend(
            (0..MAX_RESULTS as u32).map(|n| finding("r.low", "a.py", n + 1, Severity::Low)),
        );
        let report = ReviewReport::new(vec![], 2, vec![], findings, |_, _| None);
        let log = render(&report);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), MAX_RESULTS);
        assert!(results.iter().any(|r| r["ruleId"] == "r.critical"));
        let note =
            &log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"];
        assert!(
            note.as_str()
                .unwrap()
                .starts_with("1 less severe results left out"),
            "{note}"
        );
        assert_valid(&log);
    }
}
