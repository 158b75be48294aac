//! Security rules as tree-sitter queries (shell and SQL injection, dynamic code, unsafe
//! deserialisation, disabled TLS verification, weak password hashes) plus the secret scanner.
//!
//! Each language has one query file under `analyzers/rules/`; every pattern in it names its
//! rule with `(#set! rule "<id>")` and captures the reported node as `@finding` (and, where
//! a change anywhere in a larger node should count, that node as `@span`). Predicates
//! tree-sitter cannot evaluate (`#dynamic?`, `#built-sql?`, …) are checked in
//! [`predicates`]. The JavaScript file serves TypeScript and TSX too: their grammars extend
//! JavaScript's, and one rule id per weakness keeps SARIF rule lists and feedback stats whole.

mod catalog;
mod predicates;
mod syntax;
mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::Serialize;
use tree_sitter::{
    CaptureQuantifier, Node, Point, Query, QueryCursor, QueryMatch, StreamingIterator, Tree,
};

use super::secrets;
use crate::review::finding::{Finding, FindingKind, Severity};
use crate::review::languages::Language;
use predicates::Check;

/// A rule's metadata, for listings and SARIF `tool.driver.rules`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// Stable id: `<language>.<name>`, or `secrets.<name>` for the language-independent rules.
    pub id: &'static str,
    /// One line saying what is wrong.
    pub title: &'static str,
    /// Why it matters and how to fix it; findings carry it as their message.
    pub description: &'static str,
    /// `CWE-78` style id.
    pub cwe: &'static str,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// How likely a match is a real problem, in [0, 1].
    pub confidence: f32,
    /// The languages it runs on; empty means every file, whatever its language.
    pub languages: &'static [Language],
}

impl RuleInfo {
    /// A finding of this rule at `line` (1-based, new side) of `path`.
    pub(crate) fn finding(&self, path: &str, line: u32, column: Option<u32>) -> Finding {
        Finding {
            rule_id: self.id.to_owned(),
            kind: FindingKind::Security,
            title: self.title.to_owned(),
            message: self.description.to_owned(),
            path: path.to_owned(),
            line,
            column,
            end_line: None,
            cwe: Some(self.cwe.to_owned()),
            severity: self.severity,
            confidence: self.confidence,
        }
    }
}

/// Every built-in security rule: the query rules, then the secret detectors.
pub fn rules() -> Vec<RuleInfo> {
    catalog::RULES
        .iter()
        .chain(secrets::RULES)
        .cloned()
        .collect()
}

/// Runs `language`'s rules and the secret scanner over `source` (the new side of `path`),
/// keeping only findings on `added_lines` (1-based).
pub fn analyze(
    path: &str,
    language: Option<Language>,
    source: &str,
    added_lines: &BTreeSet<u32>,
) -> Vec<Finding> {
    if added_lines.is_empty() {
        return Vec::new();
    }
    let tree = language.and_then(|language| language.parser().parse(source, None));
    collect(path, language.zip(tree.as_ref()), source, added_lines)
}

/// [`analyze`] for a file already parsed with `language`'s grammar, so a pipeline that
/// parses each file once for code context can reuse the tree.
pub fn analyze_tree(
    path: &str,
    language: Language,
    tree: &Tree,
    source: &str,
    added_lines: &BTreeSet<u32>,
) -> Vec<Finding> {
    collect(path, Some((language, tree)), source, added_lines)
}

fn collect(
    path: &str,
    parsed: Option<(Language, &Tree)>,
    source: &str,
    added_lines: &BTreeSet<u32>,
) -> Vec<Finding> {
    let mut findings = match parsed {
        Some((language, tree)) => run_queries(path, language, tree, source, added_lines),
        None => Vec::new(),
    };
    findings.extend(secrets::scan(path, source, added_lines));
    findings.sort_by(|a, b| (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id)));
    // Several patterns (or nested matches) may report one weakness; one comment is enough.
    let mut seen = BTreeSet::new();
    findings.retain(|f| seen.insert((f.line, f.rule_id.clone())));
    findings
}

/// One language's compiled query and, per pattern, its rule and custom predicates.
#[derive(Debug)]
struct Ruleset {
    query: Query,
    finding: u32,
    span: Option<u32>,
    patterns: Vec<Pattern>,
}

#[derive(Debug)]
struct Pattern {
    rule: &'static RuleInfo,
    checks: Vec<Check>,
}

impl Ruleset {
    fn compile(language: Language) -> Result<Ruleset, String> {
        let source = query_source(language);
        let name = language.name();
        let query = Query::new(&language.grammar(), source)
            .map_err(|e| format!("rules/{name}.scm, row {}: {}", e.row + 1, e.message))?;
        let finding = query
            .capture_index_for_name("finding")
            .ok_or_else(|| format!("rules/{name}.scm has no @finding capture"))?;
        let mut patterns = Vec::with_capacity(query.pattern_count());
        for index in 0..query.pattern_count() {
            let row = source[..query.start_byte_for_pattern(index)]
                .lines()
                .count()
                + 1;
            let at = || format!("rules/{name}.scm, pattern at row {row}");
            if query.capture_quantifiers(index)[finding as usize] == CaptureQuantifier::Zero {
                return Err(format!("{}: no @finding capture", at()));
            }
            let id = query
                .property_settings(index)
                .iter()
                .find(|p| &*p.key == "rule")
                .and_then(|p| p.value.as_deref())
                .ok_or_else(|| format!("{}: no (#set! rule \"…\")", at()))?;
            let rule = catalog::rule(id)
                .filter(|rule| rule.languages.contains(&language))
                .ok_or_else(|| format!("{}: rule {id} is not in the catalog for {name}", at()))?;
            let checks = query
                .general_predicates(index)
                .iter()
                .map(Check::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", at()))?;
            patterns.push(Pattern { rule, checks });
        }
        Ok(Ruleset {
            span: query.capture_index_for_name("span"),
            query,
            finding,
            patterns,
        })
    }

    fn holds(&self, m: &QueryMatch<'_, '_>, source: &str) -> bool {
        self.patterns[m.pattern_index]
            .checks
            .iter()
            .all(|check| check.holds(m, source))
    }
}

/// The query file for `language` (JavaScript's serves TypeScript and TSX).
fn query_source(language: Language) -> &'static str {
    match language {
        Language::Rust => include_str!("../rules/rust.scm"),
        Language::Python => include_str!("../rules/python.scm"),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            include_str!("../rules/javascript.scm")
        }
        Language::Go => include_str!("../rules/go.scm"),
        Language::Java => include_str!("../rules/java.scm"),
    }
}

type Compiled = LazyLock<Result<Ruleset, String>>;

static RUST: Compiled = LazyLock::new(|| Ruleset::compile(Language::Rust));
static PYTHON: Compiled = LazyLock::new(|| Ruleset::compile(Language::Python));
static JAVASCRIPT: Compiled = LazyLock::new(|| Ruleset::compile(Language::JavaScript));
static TYPESCRIPT: Compiled = LazyLock::new(|| Ruleset::compile(Language::TypeScript));
static TSX: Compiled = LazyLock::new(|| Ruleset::compile(Language::Tsx));
static GO: Compiled = LazyLock::new(|| Ruleset::compile(Language::Go));
static JAVA: Compiled = LazyLock::new(|| Ruleset::compile(Language::Java));

/// The compiled rules of `language`, compiled on first use.
fn ruleset(language: Language) -> &'static Result<Ruleset, String> {
    match language {
        Language::Rust => &RUST,
        Language::Python => &PYTHON,
        Language::JavaScript => &JAVASCRIPT,
        Language::TypeScript => &TYPESCRIPT,
        Language::Tsx => &TSX,
        Language::Go => &GO,
        Language::Java => &JAVA,
    }
}

fn run_queries(
    path: &str,
    language: Language,
    tree: &Tree,
    source: &str,
    added_lines: &BTreeSet<u32>,
) -> Vec<Finding> {
    let ruleset = match ruleset(language) {
        Ok(ruleset) => ruleset,
        Err(error) => {
            // A broken query file is a bug a unit test catches; never fail a review over it.
            tracing::error!(language = language.name(), %error, "security rules do not compile");
            return Vec::new();
        }
    };
    let (Some(&first), Some(&last)) = (added_lines.first(), added_lines.last()) else {
        return Vec::new();
    };
    let mut cursor = QueryCursor::new();
    // Only matches that touch the added lines can be reported; skip the rest of the file.
    cursor.set_point_range(
        Point::new(first.saturating_sub(1) as usize, 0)..Point::new(last as usize, 0),
    );
    let mut findings = Vec::new();
    let mut matches = cursor.matches(&ruleset.query, tree.root_node(), source.as_bytes());
    while let Some(m) = matches.next() {
        if !ruleset.holds(m, source) {
            continue;
        }
        let rule = ruleset.patterns[m.pattern_index].rule;
        let span = ruleset
            .span
            .and_then(|span| m.nodes_for_capture_index(span).next());
        for node in m.nodes_for_capture_index(ruleset.finding) {
            if let Some(finding) = report(rule, path, node, span.unwrap_or(node), added_lines) {
                findings.push(finding);
            }
        }
    }
    findings
}

/// The finding for `node`, on its first line if that was added, else on the first added line
/// inside `span` (`node` itself unless the pattern captured a larger `@span`): a change to
/// one line of a multi-line call, or to the body of a method, still introduces the weakness.
/// Columns are 1-based bytes.
fn report(
    rule: &RuleInfo,
    path: &str,
    node: Node<'_>,
    span: Node<'_>,
    added_lines: &BTreeSet<u32>,
) -> Option<Finding> {
    let start = node.start_position().row as u32 + 1;
    let first = span.start_position().row as u32 + 1;
    let end = span.end_position().row.max(node.end_position().row) as u32 + 1;
    let (line, column) = if added_lines.contains(&start) {
        (start, Some(node.start_position().column as u32 + 1))
    } else {
        (*added_lines.range(first.min(start)..=end).next()?, None)
    };
    let mut finding = rule.finding(path, line, column);
    finding.end_line = (end > line).then_some(end);
    Some(finding)
}
