//! A finding: what an analyzer (and later the model) reports on one line of a change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Should be fixed.
    Medium,
    /// Must be fixed before merging.
    High,
    /// Exploitable as it stands.
    Critical,
}

impl Severity {
    /// The lowercase name (`low` … `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (expected low, medium, high or critical)"
            )),
        }
    }
}

/// What kind of finding it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A security weakness.
    Security,
    /// Changed code that no test in the change exercises.
    TestGap,
}

/// One finding, on a line of the change's new side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `python.subprocess-shell-true` (SARIF `ruleId`).
    pub rule_id: String,
    /// Security or test gap.
    pub kind: FindingKind,
    /// One line saying what is wrong.
    pub title: String,
    /// Why it matters and what to do instead.
    pub message: String,
    /// The file, new side.
    pub path: String,
    /// 1-based line on the new side.
    pub line: u32,
    /// 1-based column of the start, when known.
    pub column: Option<u32>,
    /// 1-based last line, when the finding spans several.
    pub end_line: Option<u32>,
    /// `CWE-78` style id, for security findings.
    pub cwe: Option<String>,
    /// How bad.
    pub severity: Severity,
    /// How sure the rule is, in [0, 1].
    pub confidence: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
        for severity in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
        }
        assert_eq!(" HIGH ".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }
}
