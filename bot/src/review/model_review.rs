//! The model's part of a review: the change split into budgeted chunks, each sent with the
//! `tests` and/or `security` prompt, answers parsed (one repair retry on invalid output), and
//! items kept with the call that produced them. Used by `reviewbot review` when a model is
//! configured, and by the review job, which also records every call in the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use super::budget::{DEFAULT_CHUNK_TOKENS, change_units, count_tokens, plan_chunks};
use super::context::{ChangedFile, FileContext, parse_context};
use super::finding::{Finding, FindingKind, Severity};
use super::model_output::{
    SecurityFinding, TestSuggestion, parse_security_findings, parse_test_suggestions,
};
use super::prompt::{Prompt, PromptVars, RenderedPrompt, latest};
use super::test_layout::{Framework, test_location};
use crate::llm::{Completion, LlmClient};
use crate::repo_config::Analyses;
use feedback::export::dataset;
use feedback::export::redact::Redactor;
use feedback::{JobId, ModelCallStatus, NewModelCall};

/// Scans each call's messages when it is recorded (see `NewModelCall::messages_scan`).
static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::new);

/// One model call as the store records it (`model_calls`): what was sent and what came back,
/// or why nothing did.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The prompt's id.
    pub prompt_id: String,
    /// The prompt's version.
    pub prompt_version: String,
    /// The messages as rendered (for calls that failed before an answer).
    pub rendered: RenderedPrompt,
    /// The exchange, when the endpoint answered.
    pub completion: Option<Completion>,
    /// Whether the answer was usable.
    pub status: ModelCallStatus,
    /// Why not, when it was not.
    pub error: Option<String>,
    /// 1 for the first call on a chunk, 2 for the repair retry.
    pub attempt: i32,
}

/// Where a call was made: the store row's context.
#[derive(Debug, Clone, Default)]
pub struct CallSite {
    /// The installation.
    pub installation_id: Option<i64>,
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: Option<i64>,
    /// The head commit.
    pub head_sha: Option<String>,
    /// The job.
    pub job_id: Option<JobId>,
    /// `azure` or `openai-compatible`.
    pub provider: String,
    /// The Azure deployment, when Azure.
    pub deployment: Option<String>,
}

impl CallRecord {
    /// The `model_calls` row. Messages are the exact bytes sent when the endpoint answered;
    /// for a call that failed first, the same messages serialised here.
    pub fn to_row(&self, site: &CallSite, at: chrono::DateTime<chrono::Utc>) -> NewModelCall {
        let messages = self
            .completion
            .as_ref()
            .map(|c| c.messages_json.clone())
            .unwrap_or_else(|| {
                serde_json::json!([
                    {"role": "system", "content": self.rendered.system},
                    {"role": "user", "content": self.rendered.user},
                ])
                .to_string()
            });
        let c = self.completion.as_ref();
        NewModelCall {
            installation_id: site.installation_id,
            repo: site.repo.clone(),
            pr: site.pr,
            head_sha: site.head_sha.clone(),
            job_id: site.job_id,
            analysis: self.prompt_id.clone(),
            prompt_id: self.prompt_id.clone(),
            prompt_version: self.prompt_version.clone(),
            provider: site.provider.clone(),
            model: c.map(|c| c.model.clone()).unwrap_or_default(),
            deployment: site.deployment.clone(),
            response_format: c.map(|c| c.response_format_json.clone()),
            raw_answer: c.and_then(|c| c.raw_answer.clone()),
            finish_reason: c.and_then(|c| c.finish_reason.clone()),
            status: self.status,
            error: self.error.clone(),
            tokens_in: c.and_then(|c| c.tokens_in).map(|t| t as i32),
            tokens_out: c.and_then(|c| c.tokens_out).map(|t| t as i32),
            latency_ms: c
                .map(|c| c.latency.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(0),
            attempt: self.attempt,
            created_at: at,
            // Counted and scanned once here so that exports need not redo it for every call.
            message_tokens: dataset::message_tokens(&messages, &count_tokens),
            answer_tokens: dataset::answer_tokens(
                &self.prompt_id,
                c.and_then(|c| c.raw_answer.as_deref()),
                &count_tokens,
            ),
            messages_scan: dataset::messages_scan(&messages, &REDACTOR),
            messages,
        }
    }
}

/// What the model stage did.
#[derive(Debug, Default)]
pub struct ModelRun {
    /// Every call, for the store.
    pub records: Vec<CallRecord>,
    /// Findings from valid answers, on lines of the change.
    pub findings: Vec<Finding>,
    /// Model calls made (repair retries included).
    pub calls: usize,
    /// Prompt and completion tokens.
    pub tokens: (u64, u64),
    /// What went wrong, per chunk (calls that failed, answers that stayed invalid, items refused).
    pub problems: Vec<String>,
    /// The items of valid answers, tied to the call that produced them.
    pub items: Vec<ModelItem>,
    /// Per analysis: chunks sent and chunks answered.
    outcomes: BTreeMap<String, AnalysisOutcome>,
}

/// The lines a hunk's unit shows: its enclosing function when short, else the hunk with a
/// little context; numbered, added lines marked `+`, so answers can name real lines.
fn numbered_excerpt(file: &ChangedFile, context: &FileContext, hunk: usize) -> String {
    /// Functions longer than this are shown as the hunk only: the budget is for changed code.
    const MAX_FUNCTION_LINES: u32 = 200;
    // `lines()`, not `split('\n')`: a final newline does not start another line.
    let lines: Vec<&str> = file.source.lines().collect();
    let changed = &file.hunks[hunk];
    let (mut start, mut end) = (
        changed.lines.start().saturating_sub(3).max(1),
        changed.lines.end() + 3,
    );
    if let Some(function) = context.hunks.get(hunk).and_then(|h| h.function.as_ref()) {
        let span = function.symbol.lines();
        if span.end() - span.start() < MAX_FUNCTION_LINES {
            (start, end) = (*span.start(), *span.end());
        }
    }
    let end = end.min(lines.len() as u32);
    (start..=end)
        .filter_map(|n| {
            let text = lines.get(n as usize - 1)?;
            let mark = if changed.added.contains(&n) { '+' } else { ' ' };
            Some(format!("{n:>5} {mark} {}", text.trim_end_matches('\r')))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One item a valid answer held, and the call that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelItem {
    /// Index into [`ModelRun::records`].
    pub record: usize,
    /// The item, as the model wrote it (after validation).
    pub suggestion: ModelSuggestion,
}

/// A validated item of either schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSuggestion {
    /// From the `tests` prompt.
    Test(TestSuggestion),
    /// From the `security` prompt.
    Security(SecurityFinding),
}

impl ModelSuggestion {
    /// The changed file it is about.
    pub fn path(&self) -> &str {
        match self {
            ModelSuggestion::Test(s) => &s.path,
            ModelSuggestion::Security(f) => &f.path,
        }
    }

    /// The item as JSON in its schema's shape: what the store keeps as `original`.
    pub fn to_json(&self) -> String {
        match self {
            ModelSuggestion::Test(s) => serde_json::to_string(s),
            ModelSuggestion::Security(f) => serde_json::to_string(f),
        }
        // Plain structs of strings and numbers always serialize.
        .unwrap_or_default()
    }

    /// The same item as a report finding (for `reviewbot review` and merging).
    pub fn to_finding(&self) -> Finding {
        match self {
            ModelSuggestion::Security(f) => Finding {
                rule_id: format!("model.{}", f.cwe.to_ascii_lowercase()),
                kind: FindingKind::Security,
                title: f.title.clone(),
                message: format!("{} Fix: {}", f.explanation, f.fix),
                path: f.path.clone(),
                line: f.line,
                column: None,
                end_line: None,
                cwe: Some(f.cwe.clone()),
                severity: f.severity,
                confidence: f.confidence,
            },
            ModelSuggestion::Test(s) => Finding {
                rule_id: format!("model.test.{}", s.kind),
                kind: FindingKind::TestGap,
                title: s.title.clone(),
                message: format!(
                    "{} Suggested test for {}:\n{}",
                    s.rationale, s.test_path, s.code
                ),
                path: s.path.clone(),
                line: s.line,
                column: None,
                end_line: None,
                cwe: None,
                severity: Severity::Low,
                confidence: s.confidence,
            },
        }
    }
}

/// Reads an answer to `prompt_id`'s schema, keeping only items about files of the chunk.
fn read_answer(
    prompt_id: &str,
    raw: &str,
    files: &BTreeMap<&str, &ChangedFile>,
) -> Result<(Vec<ModelSuggestion>, Vec<String>), String> {
    let (items, refused, noun) = match prompt_id {
        "security" => {
            let answer = parse_security_findings(raw).map_err(|e| e.to_string())?;
            let items = answer.items.into_iter().map(ModelSuggestion::Security);
            (items.collect::<Vec<_>>(), answer.refused, "finding")
        }
        _ => {
            let answer = parse_test_suggestions(raw).map_err(|e| e.to_string())?;
            let items = answer.items.into_iter().map(ModelSuggestion::Test);
            (items.collect::<Vec<_>>(), answer.refused, "suggestion")
        }
    };
    let mut problems: Vec<String> = refused
        .iter()
        .map(|(i, why)| format!("{noun} {i} refused: {why}"))
        .collect();
    let mut kept = Vec::new();
    for item in items {
        if files.contains_key(item.path()) {
            kept.push(item);
        } else {
            problems.push(format!(
                "{noun} on {} refused: not a file of this chunk",
                item.path()
            ));
        }
    }
    Ok((kept, problems))
}

/// What the model is asked to review, and as whom.
#[derive(Debug, Clone, Copy)]
pub struct ModelTask<'a> {
    /// `owner/name` (or the local directory's name).
    pub repo: &'a str,
    /// Which prompts run.
    pub analyses: &'a Analyses,
    /// Test frameworks found in the repository.
    pub frameworks: &'a [(super::languages::Language, Framework)],
    /// The repository's test files.
    pub test_files: &'a [&'a str],
    /// The installation whose concurrency limit the calls share (none for local reviews).
    pub installation_id: Option<i64>,
    /// A deployment named by the repository's config instead of the configured one.
    pub deployment: Option<&'a str>,
    /// The repository's learnings per prompt id (`tests`, `security`).
    pub learnings: &'a HashMap<String, Vec<String>>,
}

/// How one analysis fared over the chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalysisOutcome {
    /// Chunks sent.
    pub chunks: usize,
    /// Chunks whose answer (or repaired answer) was usable.
    pub answered: usize,
}

impl AnalysisOutcome {
    /// True when chunks were sent and none got a usable answer: the analysis did not happen.
    pub fn failed(&self) -> bool {
        self.chunks > 0 && self.answered == 0
    }
}

/// Runs the enabled analyses over `files` with the model.
pub async fn run_model(client: &LlmClient, task: ModelTask<'_>, files: &[ChangedFile]) -> ModelRun {
    let mut run = ModelRun::default();
    let contexts: Vec<FileContext> = files.iter().filter_map(|f| parse_context(f).ok()).collect();
    if contexts.len() != files.len() {
        run.problems
            .push("code context unavailable for some files; model stage skipped".into());
        return run;
    }
    let units = change_units(files, &contexts);
    let plan = plan_chunks(&units, DEFAULT_CHUNK_TOKENS);
    for (unit, reason) in &plan.skipped {
        run.problems.push(format!(
            "{} hunk {} not sent: {reason}",
            units[*unit].path, units[*unit].hunk
        ));
    }
    let by_path: BTreeMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let prompts: Vec<Prompt> = [
        (task.analyses.tests, "tests"),
        (task.analyses.security, "security"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .filter_map(|(_, id)| latest(id).ok())
    .collect();
    for chunk in &plan.chunks {
        let mut sections = Vec::new();
        let mut chunk_files: BTreeMap<&str, &ChangedFile> = BTreeMap::new();
        for &index in &chunk.units {
            let unit = &units[index];
            let file_index = by_path[unit.path.as_str()];
            let file = &files[file_index];
            chunk_files.insert(&file.path, file);
            let language = file.language.map(|l| l.name()).unwrap_or("text");
            sections.push(format!(
                "File: {} ({language})\n{}",
                file.path,
                numbered_excerpt(file, &contexts[file_index], unit.hunk)
            ));
        }
        let first = chunk_files.values().next().copied();
        let language = first.and_then(|f| f.language);
        let framework = language.map(|l| {
            task.frameworks
                .iter()
                .find(|(fl, _)| *fl == l)
                .map(|(_, fw)| *fw)
                .unwrap_or_else(|| Framework::default_for(l))
        });
        let hint = match (first, language) {
            (Some(file), Some(language)) => {
                test_location(&file.path, "", language, framework, task.test_files).path
            }
            _ => "next to the changed code".into(),
        };
        let vars = PromptVars {
            repo: task.repo.into(),
            language: language.map(|l| l.name()).unwrap_or("text").into(),
            framework: framework
                .map(|f| f.as_str())
                .unwrap_or("the repository's usual one")
                .into(),
            test_path_hint: hint,
            change: sections.join("\n\n"),
            learnings: vec![],
        };
        for prompt in &prompts {
            let vars = PromptVars {
                learnings: task.learnings.get(&prompt.id).cloned().unwrap_or_default(),
                ..vars.clone()
            };
            let Ok(rendered) = prompt.render(&vars) else {
                run.problems
                    .push(format!("prompt {} could not be rendered", prompt.id));
                continue;
            };
            run.outcome_mut(&prompt.id).chunks += 1;
            match ask(client, &task, prompt, &rendered, &chunk_files, &mut run).await {
                Ok((items, problems)) => {
                    run.outcome_mut(&prompt.id).answered += 1;
                    let record = run.records.len() - 1;
                    run.findings
                        .extend(items.iter().map(ModelSuggestion::to_finding));
                    run.items.extend(
                        items
                            .into_iter()
                            .map(|suggestion| ModelItem { record, suggestion }),
                    );
                    run.problems.extend(problems);
                }
                Err(why) => run
                    .problems
                    .push(format!("{} chunk dropped: {why}", prompt.id)),
            }
        }
    }
    run
}

impl ModelRun {
    fn outcome_mut(&mut self, analysis: &str) -> &mut AnalysisOutcome {
        self.outcomes.entry(analysis.to_owned()).or_default()
    }

    /// How `analysis` (`tests` or `security`) fared; zero chunks when it did not run.
    pub fn outcome(&self, analysis: &str) -> AnalysisOutcome {
        self.outcomes.get(analysis).copied().unwrap_or_default()
    }
}

/// One call, and one repair retry if the answer cannot be used. Every call is recorded.
async fn ask(
    client: &LlmClient,
    task: &ModelTask<'_>,
    prompt: &Prompt,
    rendered: &RenderedPrompt,
    files: &BTreeMap<&str, &ChangedFile>,
    run: &mut ModelRun,
) -> Result<(Vec<ModelSuggestion>, Vec<String>), String> {
    let mut request = rendered.clone();
    let mut last_problem = String::new();
    for attempt in 1..=2 {
        let answer = call(client, task, prompt, &request, attempt, run).await?;
        match read_answer(&prompt.id, &answer, files) {
            Ok(result) => return Ok(result),
            Err(why) => {
                if let Some(record) = run.records.last_mut() {
                    record.status = ModelCallStatus::InvalidOutput;
                    record.error = Some(why.clone());
                }
                request.user = format!(
                    "{}\n\nYour previous answer could not be used ({why}). Answer again with JSON only, following the schema.",
                    rendered.user
                );
                last_problem = why;
            }
        }
    }
    Err(format!("invalid output twice: {last_problem}"))
}

/// Makes a call, records it, and returns the answer text (empty when the model gave none).
async fn call(
    client: &LlmClient,
    task: &ModelTask<'_>,
    prompt: &Prompt,
    request: &RenderedPrompt,
    attempt: i32,
    run: &mut ModelRun,
) -> Result<String, String> {
    let result = match task.installation_id {
        Some(installation) => {
            client
                .complete_for(installation, prompt, request, task.deployment)
                .await
        }
        None => client.complete(prompt, request, task.deployment).await,
    };
    let mut record = CallRecord {
        prompt_id: prompt.id.clone(),
        prompt_version: prompt.version.clone(),
        rendered: request.clone(),
        completion: None,
        status: ModelCallStatus::Ok,
        error: None,
        attempt,
    };
    match result {
        Ok(completion) => {
            run.calls += 1;
            run.tokens.0 += u64::from(completion.tokens_in.unwrap_or(0));
            run.tokens.1 += u64::from(completion.tokens_out.unwrap_or(0));
            let answer = completion.raw_answer.clone().unwrap_or_default();
            record.completion = Some(completion);
            run.records.push(record);
            Ok(answer)
        }
        Err(e) => {
            record.status = ModelCallStatus::Error;
            record.error = Some(e.to_string());
            run.records.push(record);
            Err(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::context::ChangedHunk;

    fn file() -> ChangedFile {
        let source = "import os\n\n\ndef run(cmd):\n    x = 1\n    return os.system(cmd)\n";
        ChangedFile::new(
            "app.py",
            source,
            vec![ChangedHunk {
                lines: 5..=6,
                added: [6].into_iter().collect(),
            }],
        )
    }

    #[test]
    fn excerpts_show_the_whole_short_function_numbered_with_added_lines_marked() {
        let file = file();
        let context = parse_context(&file).unwrap();
        let excerpt = numbered_excerpt(&file, &context, 0);
        assert_eq!(
            excerpt,
            "    4   def run(cmd):\n    5       x = 1\n    6 +     return os.system(cmd)"
        );
    }

    #[test]
    fn call_records_become_store_rows_with_the_exact_messages() {
        let rendered = RenderedPrompt {
            system: "s".into(),
            user: "u \"quoted\"".into(),
        };
        let completion = Completion {
            messages_json: "[{\"role\":\"system\",\"content\":\"s\"}, {\"role\":\"user\"}]".into(),
            response_format_json: "{\"type\":\"json_schema\"}".into(),
            raw_answer: Some("{\"findings\": []}".into()),
            model: "gpt-4o".into(),
            finish_reason: Some("stop".into()),
            tokens_in: Some(120),
            tokens_out: Some(8),
            latency: std::time::Duration::from_millis(345),
            attempts: 1,
        };
        let record = CallRecord {
            prompt_id: "security".into(),
            prompt_version: "v1".into(),
            rendered: rendered.clone(),
            completion: Some(completion.clone()),
            status: ModelCallStatus::Ok,
            error: None,
            attempt: 1,
        };
        let site = CallSite {
            repo: "octo/app".into(),
            provider: "azure".into(),
            deployment: Some("review".into()),
            ..CallSite::default()
        };
        let row = record.to_row(&site, chrono::Utc::now());
        assert_eq!(
            row.messages, completion.messages_json,
            "byte for byte what was sent"
        );
        assert_eq!(
            (row.tokens_in, row.tokens_out, row.latency_ms),
            (Some(120), Some(8), 345)
        );
        assert_eq!(
            (row.prompt_id.as_str(), row.prompt_version.as_str()),
            ("security", "v1")
        );

        let failed = CallRecord {
            completion: None,
            status: ModelCallStatus::Error,
            error: Some("timeout".into()),
            ..record
        };
        let row = failed.to_row(&site, chrono::Utc::now());
        let messages: serde_json::Value = serde_json::from_str(&row.messages).unwrap();
        assert_eq!(messages[1]["content"], "u \"quoted\"");
        assert_eq!(
            (row.status, row.raw_answer, row.error.as_deref()),
            (ModelCallStatus::Error, None, Some("timeout"))
        );
    }

    #[test]
    fn answers_about_files_outside_the_chunk_are_refused() {
        let file = file();
        let files: BTreeMap<&str, &ChangedFile> = [("app.py", &file)].into();
        let raw = r#"{"findings": [
            {"path": "app.py", "line": 6, "cwe": "CWE-78", "severity": "high", "confidence": 0.9,
             "title": "t", "explanation": "e", "fix": "f"},
            {"path": "other.py", "line": 1, "cwe": "CWE-78", "severity": "high", "confidence": 0.9,
             "title": "t", "explanation": "e", "fix": "f"}]}"#;
        let (items, problems) = read_answer("security", raw, &files).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].to_finding().rule_id, "model.cwe-78");
        let original: serde_json::Value = serde_json::from_str(&items[0].to_json()).unwrap();
        assert_eq!(
            original,
            serde_json::json!({"path": "app.py", "line": 6, "cwe": "CWE-78", "severity": "high",
                "confidence": 0.9, "title": "t", "explanation": "e", "fix": "f"}),
            "the stored original is the item in its schema's shape"
        );
        assert!(problems[0].contains("other.py"), "{problems:?}");
        assert!(read_answer("tests", "nonsense", &files).is_err());
    }
}
