//! `reviewbot export validate FILE`: checks a fine-tuning JSONL file before it is uploaded, the
//! way OpenAI's cookbook notebook "Data preparation and analysis for chat model fine-tuning"
//! (`examples/Chat_finetuning_data_prep.ipynb`) does, plus the preference (DPO / TRL) rules.
//!
//! The file is read line by line: memory holds one line, the problems kept for the report (at
//! most [`KEPT_PROBLEMS`] of each severity; all are counted) and one 64-bit hash and line number
//! per line for the duplicate check.
//!
//! # Formats
//! One format per file ([`DatasetFormat`]), given by the caller or detected from the first line
//! that is a JSON object naming one: `messages` → SFT, `input`/`preferred_output`/
//! `non_preferred_output` → DPO, `prompt`/`chosen`/`rejected` → TRL.
//!
//! # Problems
//! Each [`Problem`] has a line number (1-based; 0 is the whole file), a kind and a message.
//! Errors (the file should not be uploaded):
//!
//! | kind | when |
//! |---|---|
//! | `blank_line` | an empty or whitespace-only line (one newline at the end of the file is fine) |
//! | `data_type` | not UTF-8, not JSON (serde's message), not an object; a message not an object; a TRL string-form field |
//! | `missing_messages_list` | SFT `messages` / DPO `input.messages` / TRL `prompt` missing, not a list or empty; DPO `input` missing; no format detectable yet |
//! | `message_missing_key` | a message without `role` or `content` |
//! | `message_unrecognized_key` | a message key other than `role`, `content`, `name` and (SFT only) `weight`; the cookbook's `function_call` is not accepted (reviewbot sends no functions) |
//! | `unrecognized_role` | a role other than `system`, `user`, `assistant`, `tool` (the legacy `function` is not accepted) |
//! | `missing_content` | content not a string, or empty / whitespace only (content-part arrays are not accepted, as in the cookbook) |
//! | `invalid_name` | `name` not a non-empty string |
//! | `invalid_weight` | `weight` other than 0 or 1, or on a non-assistant message |
//! | `example_missing_assistant_message` | SFT: no assistant message |
//! | `input_ends_with_assistant` | DPO `input.messages` / TRL `prompt` ends with an assistant message |
//! | `missing_output` | DPO `preferred_output`/`non_preferred_output`, TRL `chosen`/`rejected` missing, not a list or empty |
//! | `invalid_output` | an output that is not exactly one assistant message |
//! | `identical_outputs` | preferred and non-preferred (chosen and rejected) are equal JSON |
//! | `format_mismatch` | the line looks like another format than the file's |
//! | `too_many_tokens` | the example is over `max_tokens` (the exporter drops those, so any here is an error) |
//! | `too_few_examples` | (line 0) fewer than [`MIN_EXAMPLES`] examples: OpenAI and Azure refuse such files |
//!
//! Warnings: `duplicate` (an exact copy of an earlier line, both line numbers given),
//! `last_message_not_assistant` (SFT; the cookbook only requires an assistant message
//! somewhere), `missing_user_message` (the cookbook's "no user message" count),
//! `no_trained_assistant_message` (SFT: every assistant message has `weight: 0`),
//! `unrecognized_key` (a top-level or `input` key the format does not define), and at line 0
//! `few_examples` (under [`RECOMMENDED_EXAMPLES`], OpenAI's suggested start) and `file_too_large`
//! (over Azure's default [`MAX_FILE_BYTES`]).
//!
//! # Tokens
//! The caller supplies the tokenizer (the bot uses tiktoken's `o200k_base`; this crate ships
//! none). An example's count follows the cookbook's `num_tokens_from_messages`: for every
//! message [`TOKENS_PER_MESSAGE`] plus the tokens of its `role`, `content` and `name` strings,
//! [`TOKENS_PER_NAME`] more when it has a name, then [`TOKENS_REPLY_PRIMING`] once per example;
//! a `tools` value (SFT top level, DPO `input`) counts as its JSON text. A preference example
//! counts its prompt and both outputs together (the "combined length"), which is stricter than
//! either training sequence. [`example_tokens`] is the same measure, for the exporter.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::BufRead;

use serde_json::{Map, Value};

/// OpenAI and Azure OpenAI refuse a training file with fewer examples.
pub const MIN_EXAMPLES: usize = 10;
/// OpenAI's guidance: improvements show from 50–100 examples; start with 50.
pub const RECOMMENDED_EXAMPLES: usize = 50;
/// Azure's default maximum fine-tuning file size (512 MB, "subject to change").
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Tokens added per message (cookbook `num_tokens_from_messages`).
pub const TOKENS_PER_MESSAGE: usize = 3;
/// Tokens added per message that has a `name`.
pub const TOKENS_PER_NAME: usize = 1;
/// Tokens added once per example for the reply priming.
pub const TOKENS_REPLY_PRIMING: usize = 3;
/// Problems shown by [`ValidationReport::summary`].
pub const SUMMARY_PROBLEMS: usize = 50;
/// Problems of each severity kept in the report; the rest are only counted.
pub const KEPT_PROBLEMS: usize = 1000;

const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// The three JSONL layouts reviewbot exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetFormat {
    /// Chat SFT: `{"messages": [...]}`.
    Sft,
    /// OpenAI / Azure preference: `{"input": {"messages": [...]}, "preferred_output": [...],
    /// "non_preferred_output": [...]}`.
    Dpo,
    /// Hugging Face TRL conversational preference: `{"prompt": [...], "chosen": [...],
    /// "rejected": [...]}`.
    Trl,
}

impl DatasetFormat {
    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sft => "sft",
            Self::Dpo => "dpo",
            Self::Trl => "trl",
        }
    }

    /// The format a JSON object's keys name, if any.
    pub fn detect(object: &Map<String, Value>) -> Option<Self> {
        let has = |keys: &[&str]| keys.iter().any(|k| object.contains_key(*k));
        if has(&["messages"]) {
            Some(Self::Sft)
        } else if has(&["input", "preferred_output", "non_preferred_output"]) {
            Some(Self::Dpo)
        } else if has(&["prompt", "chosen", "rejected"]) {
            Some(Self::Trl)
        } else {
            None
        }
    }
}

impl fmt::Display for DatasetFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number; 0 for the whole file.
    pub line: usize,
    /// Stable identifier (the cookbook's names where it has one), see the module docs.
    pub kind: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "file: {}: {}", self.kind, self.message)
        } else {
            write!(f, "line {}: {}: {}", self.line, self.kind, self.message)
        }
    }
}

/// Token counts over the examples that are JSON objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenStats {
    /// Sum over counted examples.
    pub total: usize,
    /// Largest example.
    pub max: usize,
    /// Examples over the limit.
    pub over_limit: usize,
    /// Examples counted.
    pub counted: usize,
    /// Sum of `min(count, max_tokens)`: what one epoch bills (longer examples are truncated).
    pub billed: usize,
}

impl TokenStats {
    /// Mean tokens per counted example (0 when none).
    pub fn mean(&self) -> usize {
        self.total.checked_div(self.counted).unwrap_or(0)
    }
}

/// What [`validate_jsonl`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// Given, or detected from the first line naming a format.
    pub format: Option<DatasetFormat>,
    /// Non-blank lines.
    pub examples: usize,
    /// The token limit checked against.
    pub max_tokens: usize,
    /// The first [`KEPT_PROBLEMS`] errors, in line order (line 0 last).
    pub errors: Vec<Problem>,
    /// The first [`KEPT_PROBLEMS`] warnings.
    pub warnings: Vec<Problem>,
    /// All errors, kept or not.
    pub error_count: usize,
    /// All warnings, kept or not.
    pub warning_count: usize,
    /// Errors per kind.
    pub error_kinds: BTreeMap<&'static str, usize>,
    /// Warnings per kind.
    pub warning_kinds: BTreeMap<&'static str, usize>,
    pub tokens: TokenStats,
    /// Bytes read.
    pub bytes: u64,
}

impl ValidationReport {
    fn new(format: Option<DatasetFormat>, max_tokens: usize) -> Self {
        Self {
            format,
            examples: 0,
            max_tokens,
            errors: Vec::new(),
            warnings: Vec::new(),
            error_count: 0,
            warning_count: 0,
            error_kinds: BTreeMap::new(),
            warning_kinds: BTreeMap::new(),
            tokens: TokenStats::default(),
            bytes: 0,
        }
    }

    /// No errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.error_count == 0
    }

    fn error(&mut self, line: usize, kind: &'static str, message: String) {
        self.error_count += 1;
        *self.error_kinds.entry(kind).or_default() += 1;
        if self.errors.len() < KEPT_PROBLEMS {
            self.errors.push(Problem {
                line,
                kind,
                message,
            });
        }
    }

    fn warn(&mut self, line: usize, kind: &'static str, message: String) {
        self.warning_count += 1;
        *self.warning_kinds.entry(kind).or_default() += 1;
        if self.warnings.len() < KEPT_PROBLEMS {
            self.warnings.push(Problem {
                line,
                kind,
                message,
            });
        }
    }

    /// The cookbook's default epoch count for this many examples: 3, raised so that
    /// examples × epochs reaches 100 or lowered so it stays under 25,000, within 1–25.
    pub fn estimated_epochs(&self) -> usize {
        default_epochs(self.examples)
    }

    /// Billed training tokens with the default epochs (cookbook estimate).
    pub fn estimated_training_tokens(&self) -> usize {
        self.tokens.billed.saturating_mul(self.estimated_epochs())
    }

    /// Human-readable report: verdict, counts, token figures, problems per kind and the first
    /// [`SUMMARY_PROBLEMS`] problems (errors first) with their line numbers.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let format = self.format.map_or("unknown format", DatasetFormat::name);
        let _ = writeln!(
            out,
            "{}: {format}, {} examples, {} errors, {} warnings",
            if self.is_ok() { "OK" } else { "FAILED" },
            self.examples,
            self.error_count,
            self.warning_count,
        );
        let t = &self.tokens;
        let _ = writeln!(
            out,
            "tokens: {} total, {} max, {} mean, {} over the {}-token limit; about {} billed training tokens over {} epochs",
            t.total,
            t.max,
            t.mean(),
            t.over_limit,
            self.max_tokens,
            self.estimated_training_tokens(),
            self.estimated_epochs(),
        );
        for (label, kinds) in [
            ("errors", &self.error_kinds),
            ("warnings", &self.warning_kinds),
        ] {
            if !kinds.is_empty() {
                let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
                let _ = writeln!(out, "{label} by kind: {}", list.join(", "));
            }
        }
        let shown = self
            .errors
            .iter()
            .map(|p| ("error", p))
            .chain(self.warnings.iter().map(|p| ("warning", p)))
            .take(SUMMARY_PROBLEMS);
        let mut shown_errors = 0;
        let mut shown_warnings = 0;
        for (severity, problem) in shown {
            if severity == "error" {
                shown_errors += 1;
            } else {
                shown_warnings += 1;
            }
            let _ = writeln!(out, "  {severity}: {problem}");
        }
        let more_errors = self.error_count - shown_errors;
        let more_warnings = self.warning_count - shown_warnings;
        if more_errors + more_warnings > 0 {
            let _ = writeln!(
                out,
                "  … and {more_errors} more errors, {more_warnings} more warnings (counted by kind above)"
            );
        }
        out
    }
}

/// Checks a JSONL dataset read from `input`. `format` `None` detects it from the first line
/// naming one; `max_tokens` is the per-example limit (65,536 for Azure's current models);
/// `count_tokens` is the tokenizer. Only I/O errors fail; everything else is in the report.
pub fn validate_jsonl(
    mut input: impl BufRead,
    format: Option<DatasetFormat>,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> std::io::Result<ValidationReport> {
    let mut report = ValidationReport::new(format, max_tokens);
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let read = input.read_until(b'\n', &mut buf)?;
        if read == 0 {
            break;
        }
        line += 1;
        report.bytes += read as u64;
        let mut bytes = buf.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            report.error(
                line,
                "blank_line",
                "empty line (JSONL has one example per line and no blank lines)".into(),
            );
            continue;
        }
        report.examples += 1;

        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some(first) = seen.get(&hash) {
            report.warn(line, "duplicate", format!("same as line {first}"));
        } else {
            seen.insert(hash, line);
        }

        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                report.error(line, "data_type", format!("not UTF-8: {e}"));
                continue;
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                report.error(line, "data_type", format!("invalid JSON: {e}"));
                continue;
            }
        };
        let Value::Object(object) = &value else {
            let kind = json_kind(&value);
            report.error(
                line,
                "data_type",
                format!("expected a JSON object, found {kind}"),
            );
            continue;
        };
        let format = match report.format.or_else(|| DatasetFormat::detect(object)) {
            Some(format) => format,
            None => {
                report.error(
                    line,
                    "missing_messages_list",
                    "no `messages` list (nor DPO `input`/`preferred_output`, nor TRL `prompt`/`chosen`)"
                        .into(),
                );
                continue;
            }
        };
        report.format = Some(format);

        let mut check = Check {
            report: &mut report,
            line,
        };
        if let Some(other) = DatasetFormat::detect(object).filter(|f| *f != format) {
            check.error(
                "format_mismatch",
                format!(
                    "this line looks like {other} but the file is {format}; a file holds one format"
                ),
            );
        }
        match format {
            DatasetFormat::Sft => check_sft(&mut check, object),
            DatasetFormat::Dpo | DatasetFormat::Trl => check_preference(&mut check, object, format),
        }

        let tokens = example_tokens(&value, format, count_tokens);
        let stats = &mut report.tokens;
        stats.counted += 1;
        stats.total += tokens;
        stats.max = stats.max.max(tokens);
        stats.billed += tokens.min(max_tokens);
        if tokens > max_tokens {
            stats.over_limit += 1;
            report.error(
                line,
                "too_many_tokens",
                format!("{tokens} tokens, over the limit of {max_tokens}"),
            );
        }
    }
    if report.examples < MIN_EXAMPLES {
        report.error(
            0,
            "too_few_examples",
            format!(
                "{} examples; OpenAI and Azure require at least {MIN_EXAMPLES}",
                report.examples
            ),
        );
    } else if report.examples < RECOMMENDED_EXAMPLES {
        report.warn(
            0,
            "few_examples",
            format!(
                "{} examples; OpenAI suggests starting with {RECOMMENDED_EXAMPLES}",
                report.examples
            ),
        );
    }
    if report.bytes > MAX_FILE_BYTES {
        report.warn(
            0,
            "file_too_large",
            format!(
                "{} bytes; Azure's default limit is {MAX_FILE_BYTES}",
                report.bytes
            ),
        );
    }
    Ok(report)
}

/// The cookbook's default epoch count for `examples` training examples: 3, raised so that
/// examples × epochs reaches 100 or lowered so it stays under 25,000, within 1–25.
pub fn default_epochs(examples: usize) -> usize {
    const TARGET: usize = 3;
    let n = examples.max(1);
    if n * TARGET < 100 {
        (100 / n).min(25)
    } else if n * TARGET > 25_000 {
        (25_000 / n).max(1)
    } else {
        TARGET
    }
}

/// Tokens of one example as [`validate_jsonl`] counts them (see the module docs); missing or
/// malformed parts count as nothing.
pub fn example_tokens(
    example: &Value,
    format: DatasetFormat,
    count_tokens: &dyn Fn(&str) -> usize,
) -> usize {
    let messages = |v: Option<&Value>| -> usize {
        match v {
            Some(Value::Array(list)) => list.iter().map(|m| message_tokens(m, count_tokens)).sum(),
            _ => 0,
        }
    };
    let tools = |v: Option<&Value>| -> usize {
        match v {
            Some(tools @ (Value::Array(_) | Value::Object(_))) => count_tokens(&tools.to_string()),
            _ => 0,
        }
    };
    let body = match format {
        DatasetFormat::Sft => messages(example.get("messages")) + tools(example.get("tools")),
        DatasetFormat::Dpo => {
            let input = example.get("input");
            messages(input.and_then(|i| i.get("messages")))
                + tools(input.and_then(|i| i.get("tools")))
                + messages(example.get("preferred_output"))
                + messages(example.get("non_preferred_output"))
        }
        DatasetFormat::Trl => {
            messages(example.get("prompt"))
                + messages(example.get("chosen"))
                + messages(example.get("rejected"))
        }
    };
    body + TOKENS_REPLY_PRIMING
}

/// One message's tokens: overhead plus its `role`, `content` and `name` strings.
fn message_tokens(message: &Value, count_tokens: &dyn Fn(&str) -> usize) -> usize {
    let Value::Object(m) = message else {
        return 0;
    };
    let mut tokens = TOKENS_PER_MESSAGE;
    for key in ["role", "content", "name"] {
        if let Some(Value::String(s)) = m.get(key) {
            tokens += count_tokens(s);
        }
    }
    if m.contains_key("name") {
        tokens += TOKENS_PER_NAME;
    }
    tokens
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Check<'a> {
    report: &'a mut ValidationReport,
    line: usize,
}

impl Check<'_> {
    fn error(&mut self, kind: &'static str, message: String) {
        self.report.error(self.line, kind, message);
    }

    fn warn(&mut self, kind: &'static str, message: String) {
        self.report.warn(self.line, kind, message);
    }
}

/// Where a message list sits: SFT messages may carry `weight`, the others may not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Sft,
    Other,
}

fn check_sft(check: &mut Check<'_>, object: &Map<String, Value>) {
    unknown_keys(
        check,
        object,
        "",
        &["messages", "tools", "parallel_tool_calls"],
    );
    let Some(roles) = check_messages(check, "messages", object.get("messages"), Place::Sft) else {
        return;
    };
    let messages = object.get("messages").and_then(Value::as_array);
    if !roles.contains(&Some("assistant")) {
        check.error(
            "example_missing_assistant_message",
            "`messages` has no assistant message".into(),
        );
    } else {
        if roles.last() != Some(&Some("assistant")) {
            check.warn(
                "last_message_not_assistant",
                "the last message is not the assistant's".into(),
            );
        }
        let all_untrained = messages.into_iter().flatten().all(|m| {
            m.get("role").and_then(Value::as_str) != Some("assistant")
                || m.get("weight").and_then(Value::as_u64) == Some(0)
        });
        if all_untrained {
            check.warn(
                "no_trained_assistant_message",
                "every assistant message has weight 0: the example teaches nothing".into(),
            );
        }
    }
    if !roles.contains(&Some("user")) {
        check.warn(
            "missing_user_message",
            "`messages` has no user message".into(),
        );
    }
}

fn check_preference(check: &mut Check<'_>, object: &Map<String, Value>, format: DatasetFormat) {
    let (prompt_path, preferred, rejected) = match format {
        DatasetFormat::Dpo => ("input.messages", "preferred_output", "non_preferred_output"),
        _ => ("prompt", "chosen", "rejected"),
    };
    let prompt = match format {
        DatasetFormat::Dpo => {
            unknown_keys(check, object, "", &["input", preferred, rejected]);
            match object.get("input") {
                None => {
                    check.error("missing_messages_list", "no `input` object".into());
                    None
                }
                Some(Value::Object(input)) => {
                    unknown_keys(
                        check,
                        input,
                        "input.",
                        &["messages", "tools", "parallel_tool_calls"],
                    );
                    Some(input.get("messages"))
                }
                Some(other) => {
                    let kind = json_kind(other);
                    check.error("data_type", format!("`input` is {kind}, not an object"));
                    None
                }
            }
        }
        _ => {
            unknown_keys(check, object, "", &["prompt", preferred, rejected]);
            Some(object.get("prompt"))
        }
    };
    if let Some(prompt) = prompt
        && let Some(roles) = check_messages(check, prompt_path, prompt, Place::Other)
        && roles.last() == Some(&Some("assistant"))
    {
        check.error(
            "input_ends_with_assistant",
            format!("`{prompt_path}` ends with an assistant message; the outputs are the reply"),
        );
    }
    let a = check_output(check, preferred, object.get(preferred));
    let b = check_output(check, rejected, object.get(rejected));
    if a && b && object.get(preferred) == object.get(rejected) {
        check.error(
            "identical_outputs",
            format!("`{preferred}` and `{rejected}` are identical"),
        );
    }
}

/// Reports top-level (or `input.`) keys the format does not define, as warnings.
fn unknown_keys(check: &mut Check<'_>, object: &Map<String, Value>, prefix: &str, known: &[&str]) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            check.warn("unrecognized_key", format!("unknown key `{prefix}{key}`"));
        }
    }
}

/// Checks a list of messages; returns each message's recognised role when the list is a
/// non-empty list (whatever its messages' problems).
fn check_messages<'v>(
    check: &mut Check<'_>,
    path: &str,
    value: Option<&'v Value>,
    place: Place,
) -> Option<Vec<Option<&'v str>>> {
    let list = match value {
        None => {
            check.error("missing_messages_list", format!("no `{path}` list"));
            return None;
        }
        Some(Value::Array(list)) if list.is_empty() => {
            check.error("missing_messages_list", format!("`{path}` is empty"));
            return None;
        }
        Some(Value::Array(list)) => list,
        Some(Value::String(_)) if path == "prompt" => {
            check.error(
                "data_type",
                "`prompt` is a string: only TRL's conversational form (a list of messages) is accepted"
                    .into(),
            );
            return None;
        }
        Some(other) => {
            let kind = json_kind(other);
            check.error(
                "missing_messages_list",
                format!("`{path}` is {kind}, not a list"),
            );
            return None;
        }
    };
    Some(
        list.iter()
            .enumerate()
            .map(|(i, m)| check_message(check, &format!("{path}[{i}]"), m, place))
            .collect(),
    )
}

/// Checks one message; returns its role when it is one of [`ROLES`].
fn check_message<'v>(
    check: &mut Check<'_>,
    path: &str,
    message: &'v Value,
    place: Place,
) -> Option<&'v str> {
    let Value::Object(m) = message else {
        let kind = json_kind(message);
        check.error("data_type", format!("`{path}` is {kind}, not an object"));
        return None;
    };
    let role = match m.get("role") {
        None => {
            check.error("message_missing_key", format!("`{path}` has no `role`"));
            None
        }
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => Some(r.as_str()),
        Some(other) => {
            check.error(
                "unrecognized_role",
                format!("`{path}` has role {other}; expected system, user, assistant or tool"),
            );
            None
        }
    };
    for (key, value) in m {
        match key.as_str() {
            "role" | "content" => {}
            "name" => {
                if value.as_str().is_none_or(|s| s.trim().is_empty()) {
                    check.error(
                        "invalid_name",
                        format!("`{path}.name` is not a non-empty string"),
                    );
                }
            }
            "weight" if place == Place::Sft => {
                if role.is_some_and(|r| r != "assistant") {
                    check.error(
                        "invalid_weight",
                        format!("`{path}` has a `weight`, which only assistant messages may have"),
                    );
                } else if !matches!(value.as_u64(), Some(0 | 1)) {
                    check.error(
                        "invalid_weight",
                        format!("`{path}.weight` is {value}, not 0 or 1"),
                    );
                }
            }
            _ => check.error(
                "message_unrecognized_key",
                format!("`{path}` has the unrecognized key `{key}`"),
            ),
        }
    }
    match m.get("content") {
        None => check.error("message_missing_key", format!("`{path}` has no `content`")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            check.error("missing_content", format!("`{path}` has empty content"));
        }
        Some(Value::String(_)) => {}
        Some(other) => {
            let kind = json_kind(other);
            check.error(
                "missing_content",
                format!("`{path}.content` is {kind}, not a string"),
            );
        }
    }
    role
}

/// Checks a preference output; true when it is present as a list (so comparing makes sense).
fn check_output(check: &mut Check<'_>, path: &str, value: Option<&Value>) -> bool {
    let list = match value {
        None => {
            check.error("missing_output", format!("no `{path}`"));
            return false;
        }
        Some(Value::Array(list)) if list.is_empty() => {
            check.error("missing_output", format!("`{path}` is empty"));
            return false;
        }
        Some(Value::Array(list)) => list,
        Some(Value::String(_)) => {
            check.error(
                "data_type",
                format!("`{path}` is a string: only the conversational form (a list with one assistant message) is accepted"),
            );
            return false;
        }
        Some(other) => {
            let kind = json_kind(other);
            check.error("missing_output", format!("`{path}` is {kind}, not a list"));
            return false;
        }
    };
    if list.len() > 1 {
        check.error(
            "invalid_output",
            format!(
                "`{path}` has {} messages; exactly one assistant message expected",
                list.len()
            ),
        );
    }
    for (i, message) in list.iter().enumerate() {
        let item = format!("{path}[{i}]");
        if let Some(role) = check_message(check, &item, message, Place::Other)
            && role != "assistant"
        {
            check.error(
                "invalid_output",
                format!("`{item}` has role {role}; outputs hold only an assistant message"),
            );
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{BufReader, Cursor, Read};

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn sft(i: usize) -> String {
        json!({"messages": [
            {"role": "system", "content": "You review code."},
            {"role": "user", "content": format!("Review change {i}")},
            {"role": "assistant", "content": format!("{{\"suggestions\":[{i}]}}")},
        ]})
        .to_string()
    }

    fn dpo(i: usize) -> String {
        json!({
            "input": {"messages": [{"role": "user", "content": format!("Review change {i}")}]},
            "preferred_output": [{"role": "assistant", "content": format!("kept {i}")}],
            "non_preferred_output": [{"role": "assistant", "content": format!("original {i}")}],
        })
        .to_string()
    }

    fn trl(i: usize) -> String {
        json!({
            "prompt": [{"role": "user", "content": format!("Review change {i}")}],
            "chosen": [{"role": "assistant", "content": format!("kept {i}")}],
            "rejected": [{"role": "assistant", "content": format!("original {i}")}],
        })
        .to_string()
    }

    fn file(lines: &[String]) -> String {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    fn lines(make: fn(usize) -> String, n: usize) -> Vec<String> {
        (1..=n).map(make).collect()
    }

    fn run(text: &str, format: Option<DatasetFormat>) -> ValidationReport {
        validate_jsonl(Cursor::new(text), format, 65_536, &words).unwrap()
    }

    /// Twelve valid SFT lines with line `at` (1-based) replaced.
    fn sft_with(at: usize, line: serde_json::Value) -> ValidationReport {
        let mut all = lines(sft, 12);
        all[at - 1] = line.to_string();
        run(&file(&all), None)
    }

    fn dpo_with(at: usize, line: serde_json::Value) -> ValidationReport {
        let mut all = lines(dpo, 12);
        all[at - 1] = line.to_string();
        run(&file(&all), None)
    }

    fn trl_with(at: usize, line: serde_json::Value) -> ValidationReport {
        let mut all = lines(trl, 12);
        all[at - 1] = line.to_string();
        run(&file(&all), None)
    }

    fn error_lines(report: &ValidationReport, kind: &str) -> Vec<usize> {
        report
            .errors
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.line)
            .collect()
    }

    fn warning_lines(report: &ValidationReport, kind: &str) -> Vec<usize> {
        report
            .warnings
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.line)
            .collect()
    }

    /// Exactly the given error kind, once, on the given line.
    fn only_error(report: &ValidationReport, kind: &str, line: usize) {
        assert_eq!(
            report
                .errors
                .iter()
                .map(|p| (p.kind, p.line))
                .collect::<Vec<_>>(),
            vec![(kind, line)],
            "{}",
            report.summary()
        );
    }

    #[test]
    fn valid_files_of_each_format() {
        for (make, format) in [
            (sft as fn(usize) -> String, DatasetFormat::Sft),
            (dpo, DatasetFormat::Dpo),
            (trl, DatasetFormat::Trl),
        ] {
            let report = run(&file(&lines(make, 12)), None);
            assert!(report.is_ok(), "{}", report.summary());
            assert_eq!(report.format, Some(format));
            assert_eq!(report.examples, 12);
            assert_eq!(report.tokens.counted, 12);
            assert_eq!(warning_lines(&report, "few_examples"), vec![0]);
            assert_eq!(report.warnings.len(), 1, "{}", report.summary());
            assert!(
                report
                    .summary()
                    .starts_with(&format!("OK: {format}, 12 examples"))
            );
            // Given explicitly, the same.
            assert!(run(&file(&lines(make, 12)), Some(format)).is_ok());
        }
        let report = run(&file(&lines(sft, 60)), None);
        assert!(
            report.is_ok() && report.warnings.is_empty(),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn sft_accepts_name_weight_tool_and_multi_turn() {
        let report = sft_with(
            4,
            json!({"messages": [
                {"role": "system", "content": "s", "name": "policy"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "draft", "weight": 0},
                {"role": "tool", "content": "lint output"},
                {"role": "user", "content": "again"},
                {"role": "assistant", "content": "final", "weight": 1},
            ]}),
        );
        assert!(report.is_ok(), "{}", report.summary());
        assert_eq!(report.warnings.len(), 1, "{}", report.summary());
    }

    #[test]
    fn data_type_invalid_json_and_non_object() {
        let mut all = lines(sft, 12);
        all[2] = "{\"messages\": [".into();
        all[6] = "[1, 2]".into();
        let report = run(&file(&all), None);
        assert_eq!(error_lines(&report, "data_type"), vec![3, 7]);
        assert!(
            report.errors[0]
                .message
                .starts_with("invalid JSON: EOF while parsing")
        );
        assert_eq!(
            report.errors[1].message,
            "expected a JSON object, found an array"
        );
        assert_eq!(report.error_count, 2);
        assert!(!report.is_ok());
    }

    #[test]
    fn data_type_message_not_an_object() {
        let report = sft_with(
            5,
            json!({"messages": ["hi", {"role": "assistant", "content": "a"}]}),
        );
        assert_eq!(error_lines(&report, "data_type"), vec![5]);
        assert_eq!(
            report.errors[0].message,
            "`messages[0]` is a string, not an object"
        );
    }

    #[test]
    fn missing_messages_list() {
        only_error(
            &sft_with(2, json!({"messages": []})),
            "missing_messages_list",
            2,
        );
        only_error(
            &sft_with(3, json!({"messages": "hi"})),
            "missing_messages_list",
            3,
        );
        // Line 1 names no format: nothing detected yet.
        only_error(
            &sft_with(1, json!({"conversation": []})),
            "missing_messages_list",
            1,
        );
        // Once detected, a line without messages.
        let report = sft_with(9, json!({"conversation": []}));
        assert_eq!(error_lines(&report, "missing_messages_list"), vec![9]);
        assert_eq!(warning_lines(&report, "unrecognized_key"), vec![9]);
    }

    #[test]
    fn message_missing_key() {
        let report = sft_with(
            6,
            json!({"messages": [{"content": "q"}, {"role": "assistant"}, {"role": "assistant", "content": "a"}]}),
        );
        assert_eq!(error_lines(&report, "message_missing_key"), vec![6, 6]);
        assert_eq!(report.error_count, 2, "{}", report.summary());
        assert!(
            report.errors[0]
                .message
                .contains("`messages[0]` has no `role`")
        );
        assert!(
            report.errors[1]
                .message
                .contains("`messages[1]` has no `content`")
        );
    }

    #[test]
    fn message_unrecognized_key() {
        let report = sft_with(
            8,
            json!({"messages": [
                {"role": "user", "content": "q", "function_call": {}},
                {"role": "assistant", "content": "a"},
            ]}),
        );
        only_error(&report, "message_unrecognized_key", 8);
        assert!(report.errors[0].message.contains("`function_call`"));
    }

    #[test]
    fn unrecognized_role() {
        let report = sft_with(
            10,
            json!({"messages": [{"role": "function", "content": "q"}, {"role": "assistant", "content": "a"}]}),
        );
        only_error(&report, "unrecognized_role", 10);
        only_error(
            &sft_with(
                11,
                json!({"messages": [{"role": 7, "content": "q"}, {"role": "assistant", "content": "a"}]}),
            ),
            "unrecognized_role",
            11,
        );
    }

    #[test]
    fn missing_content() {
        for content in [
            json!(""),
            json!("  \n "),
            json!(null),
            json!([{"type": "text", "text": "x"}]),
        ] {
            let report = sft_with(
                4,
                json!({"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "a"}]}),
            );
            only_error(&report, "missing_content", 4);
        }
    }

    #[test]
    fn invalid_weight_and_name() {
        let weight = |message: serde_json::Value| {
            sft_with(
                5,
                json!({"messages": [{"role": "user", "content": "q"}, message]}),
            )
        };
        only_error(
            &weight(json!({"role": "assistant", "content": "a", "weight": 2})),
            "invalid_weight",
            5,
        );
        only_error(
            &weight(json!({"role": "assistant", "content": "a", "weight": 0.5})),
            "invalid_weight",
            5,
        );
        let report = sft_with(
            5,
            json!({"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]}),
        );
        only_error(&report, "invalid_weight", 5);
        only_error(
            &weight(json!({"role": "assistant", "content": "a", "name": ""})),
            "invalid_name",
            5,
        );
        // All assistant messages at weight 0: a warning.
        let report = weight(json!({"role": "assistant", "content": "a", "weight": 0}));
        assert!(report.is_ok());
        assert_eq!(
            warning_lines(&report, "no_trained_assistant_message"),
            vec![5]
        );
    }

    #[test]
    fn example_missing_assistant_message_and_last_not_assistant() {
        let report = sft_with(
            7,
            json!({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}),
        );
        only_error(&report, "example_missing_assistant_message", 7);
        let report = sft_with(
            3,
            json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "thanks"}]}),
        );
        assert!(report.is_ok(), "{}", report.summary());
        assert_eq!(
            warning_lines(&report, "last_message_not_assistant"),
            vec![3]
        );
        let report = sft_with(
            3,
            json!({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}),
        );
        assert_eq!(warning_lines(&report, "missing_user_message"), vec![3]);
    }

    fn dpo_line(
        input: serde_json::Value,
        preferred: serde_json::Value,
        rejected: serde_json::Value,
    ) -> serde_json::Value {
        json!({"input": {"messages": input}, "preferred_output": preferred, "non_preferred_output": rejected})
    }

    #[test]
    fn dpo_rules() {
        let user = json!([{"role": "user", "content": "q"}]);
        let good = json!([{"role": "assistant", "content": "good"}]);
        let bad = json!([{"role": "assistant", "content": "bad"}]);

        let report = dpo_with(
            4,
            json!({"input": {"messages": user}, "preferred_output": good}),
        );
        only_error(&report, "missing_output", 4);
        assert!(report.errors[0].message.contains("non_preferred_output"));
        only_error(
            &dpo_with(4, dpo_line(user.clone(), json!([]), bad.clone())),
            "missing_output",
            4,
        );

        let two =
            json!([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]);
        only_error(
            &dpo_with(5, dpo_line(user.clone(), two, bad.clone())),
            "invalid_output",
            5,
        );
        let as_user = json!([{"role": "user", "content": "a"}]);
        only_error(
            &dpo_with(6, dpo_line(user.clone(), good.clone(), as_user)),
            "invalid_output",
            6,
        );
        let weighted = json!([{"role": "assistant", "content": "a", "weight": 1}]);
        only_error(
            &dpo_with(6, dpo_line(user.clone(), good.clone(), weighted)),
            "message_unrecognized_key",
            6,
        );

        only_error(
            &dpo_with(7, dpo_line(user.clone(), good.clone(), good.clone())),
            "identical_outputs",
            7,
        );

        let ends = json!([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]);
        only_error(
            &dpo_with(8, dpo_line(ends, good.clone(), bad.clone())),
            "input_ends_with_assistant",
            8,
        );

        let empty = json!([{"role": "assistant", "content": " "}]);
        only_error(
            &dpo_with(9, dpo_line(user.clone(), empty, bad.clone())),
            "missing_content",
            9,
        );

        only_error(
            &dpo_with(
                10,
                json!({"preferred_output": good, "non_preferred_output": bad}),
            ),
            "missing_messages_list",
            10,
        );

        // input may carry tools; a multi-turn input is fine.
        let report = dpo_with(
            11,
            json!({"input": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"}], "tools": [], "parallel_tool_calls": true},
                   "preferred_output": good, "non_preferred_output": bad}),
        );
        assert!(
            report.is_ok() && report.warnings.len() == 1,
            "{}",
            report.summary()
        );
    }

    #[test]
    fn trl_rules() {
        let user = json!([{"role": "user", "content": "q"}]);
        let good = json!([{"role": "assistant", "content": "good"}]);
        let bad = json!([{"role": "assistant", "content": "bad"}]);
        let line = |p: &serde_json::Value, c: &serde_json::Value, r: &serde_json::Value| json!({"prompt": p, "chosen": c, "rejected": r});

        only_error(
            &trl_with(3, line(&user, &good, &good)),
            "identical_outputs",
            3,
        );
        let ends = json!([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]);
        only_error(
            &trl_with(4, line(&ends, &good, &bad)),
            "input_ends_with_assistant",
            4,
        );
        only_error(
            &trl_with(5, json!({"prompt": user, "chosen": good})),
            "missing_output",
            5,
        );
        only_error(
            &trl_with(6, line(&json!("Review this"), &good, &bad)),
            "data_type",
            6,
        );
        only_error(
            &trl_with(
                7,
                line(&user, &json!([{"role": "tool", "content": "x"}]), &bad),
            ),
            "invalid_output",
            7,
        );
        only_error(
            &trl_with(8, line(&json!([]), &good, &bad)),
            "missing_messages_list",
            8,
        );
    }

    #[test]
    fn format_given_or_mixed() {
        // An SFT file checked as DPO.
        let report = run(&file(&lines(sft, 12)), Some(DatasetFormat::Dpo));
        assert_eq!(report.format, Some(DatasetFormat::Dpo));
        assert_eq!(error_lines(&report, "format_mismatch").len(), 12);
        assert_eq!(error_lines(&report, "missing_output").len(), 24);
        // A DPO line inside an SFT file.
        let mut all = lines(sft, 12);
        all[5] = dpo(6);
        let report = run(&file(&all), None);
        assert_eq!(error_lines(&report, "format_mismatch"), vec![6]);
        assert_eq!(error_lines(&report, "missing_messages_list"), vec![6]);
    }

    #[test]
    fn minimum_example_count() {
        let report = run(&file(&lines(sft, 9)), None);
        only_error(&report, "too_few_examples", 0);
        assert_eq!(report.examples, 9);
        assert!(
            report.errors[0]
                .to_string()
                .starts_with("file: too_few_examples: 9 examples")
        );
        assert!(run(&file(&lines(sft, 10)), None).is_ok());
        let empty = run("", None);
        only_error(&empty, "too_few_examples", 0);
        assert_eq!(empty.format, None);
    }

    #[test]
    fn token_counts_and_limit() {
        let line = json!({"messages": [
            {"role": "user", "content": "a b c"},
            {"role": "assistant", "content": "d e", "name": "bot"},
        ]});
        // user: 3 + role 1 + content 3 = 7; assistant: 3 + 1 + 2 + name 1 + 1 = 8; priming 3.
        assert_eq!(example_tokens(&line, DatasetFormat::Sft, &words), 18);
        let pair = json!({"input": {"messages": [{"role": "user", "content": "a b"}]},
            "preferred_output": [{"role": "assistant", "content": "c"}],
            "non_preferred_output": [{"role": "assistant", "content": "d e f"}]});
        // 6 + 5 + 7 + 3.
        assert_eq!(example_tokens(&pair, DatasetFormat::Dpo, &words), 21);

        let mut all = lines(sft, 12);
        let long = vec!["word"; 500].join(" ");
        all[7] = json!({"messages": [{"role": "user", "content": long}, {"role": "assistant", "content": "ok"}]}).to_string();
        let report = validate_jsonl(Cursor::new(file(&all)), None, 100, &words).unwrap();
        only_error(&report, "too_many_tokens", 8);
        let over = 3 + 1 + 500 + 3 + 1 + 1 + 3;
        assert_eq!(
            report.errors[0].message,
            format!("{over} tokens, over the limit of 100")
        );
        assert_eq!(report.tokens.over_limit, 1);
        assert_eq!(report.tokens.max, over);
        assert_eq!(report.tokens.counted, 12);
        let per_normal = example_tokens(
            &serde_json::from_str(&sft(1)).unwrap(),
            DatasetFormat::Sft,
            &words,
        );
        assert_eq!(report.tokens.total, over + 11 * per_normal);
        assert_eq!(report.tokens.billed, 100 + 11 * per_normal);
        // 12 examples: 100 / 12 = 8 epochs.
        assert_eq!(report.estimated_epochs(), 8);
        assert_eq!(report.estimated_training_tokens(), 8 * report.tokens.billed);
    }

    #[test]
    fn duplicates_warn_with_both_lines() {
        let mut all = lines(sft, 12);
        all[8] = all[1].clone();
        all[11] = all[1].clone();
        let report = run(&file(&all), None);
        assert!(report.is_ok());
        assert_eq!(warning_lines(&report, "duplicate"), vec![9, 12]);
        assert_eq!(report.warnings[0].message, "same as line 2");
        assert_eq!(report.warnings[1].message, "same as line 2");
    }

    #[test]
    fn blank_lines() {
        let all = lines(sft, 12);
        // One trailing newline is fine, and so is none.
        assert!(run(&file(&all), None).is_ok());
        assert!(run(&all.join("\n"), None).is_ok());
        // CRLF line ends are fine.
        assert!(run(&all.join("\r\n"), None).is_ok());
        // A blank line in the middle, a whitespace-only line, and two newlines at the end.
        let text = format!(
            "{}\n\n{}\n  \t\n{}\n\n",
            all[..3].join("\n"),
            all[3..6].join("\n"),
            all[6..].join("\n")
        );
        let report = run(&text, None);
        assert_eq!(error_lines(&report, "blank_line"), vec![4, 8, 15]);
        assert_eq!(report.error_count, 3);
        assert_eq!(report.examples, 12);
    }

    #[test]
    fn summary_is_bounded() {
        let mut all = lines(sft, 200);
        for (i, line) in all.iter_mut().enumerate().skip(20) {
            *line = format!("not json {i}");
        }
        let report = run(&file(&all), None);
        assert_eq!(report.error_count, 180);
        let summary = report.summary();
        assert!(summary.starts_with("FAILED: sft, 200 examples, 180 errors, 0 warnings"));
        assert!(summary.contains("errors by kind: data_type 180"));
        assert!(summary.contains("  error: line 21: data_type: invalid JSON"));
        assert_eq!(summary.matches("  error: line").count(), SUMMARY_PROBLEMS);
        assert!(summary.contains("… and 130 more errors, 0 more warnings"));
    }

    #[test]
    fn kept_problems_are_capped_but_counted() {
        let text = "[]\n".repeat(KEPT_PROBLEMS + 500);
        let report = run(&text, None);
        assert_eq!(report.error_count, KEPT_PROBLEMS + 500);
        assert_eq!(report.errors.len(), KEPT_PROBLEMS);
        assert_eq!(report.error_kinds["data_type"], KEPT_PROBLEMS + 500);
        assert_eq!(report.warning_count, KEPT_PROBLEMS + 499);
        assert_eq!(report.warnings.len(), KEPT_PROBLEMS);
    }

    /// Generates SFT lines on the fly, so neither side holds the file.
    struct Generated {
        next: usize,
        total: usize,
        pending: Vec<u8>,
        at: usize,
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.pending.len() {
                if self.next == self.total {
                    return Ok(0);
                }
                self.next += 1;
                self.pending = format!("{}\n", sft(self.next)).into_bytes();
                self.at = 0;
            }
            let n = out.len().min(self.pending.len() - self.at);
            out[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn streams_a_large_file() {
        let total = 100_000;
        let input = BufReader::new(Generated {
            next: 0,
            total,
            pending: Vec::new(),
            at: 0,
        });
        let report = validate_jsonl(input, None, 65_536, &words).unwrap();
        assert!(report.is_ok(), "{}", report.summary());
        assert_eq!(report.examples, total);
        assert_eq!(report.tokens.counted, total);
        assert!(report.warnings.is_empty());
        assert_eq!(report.estimated_epochs(), 1);
    }
}
