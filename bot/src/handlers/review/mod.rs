//! The review job: a pull request's head commit, read from GitHub, analysed by the built-in
//! analyzers and the model, posted as one review per analysis plus a `reviewbot` check run.
//!
//! Order matters for "never twice, never lost": every GitHub read and model call happens
//! before anything is recorded; each model call is stored as soon as the stage ends; each
//! review is recorded, then posted, then marked posted (see `post`).

pub(in crate::handlers) mod check;
mod compose;
pub(in crate::handlers) mod gather;
mod incremental;
mod noise;
mod post;

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::Utc;
use feedback::ModelCallId;
use tracing::{info, warn};

use super::{Context, JobMeta};
use crate::github::InstallationClient;
use crate::github::checks::{CheckConclusion, CheckRunId, CheckState, CheckStatus};
use crate::github::ids::{CommitSha, InstallationId, PrNumber, RepoName};
use crate::handlers::verdicts::{adoption, triage};
use crate::repo_config::LoadedRepoConfig;
use crate::review::analyzers::test_gap::RepoTests;
use crate::review::context::ChangedFile;
use crate::review::diff::parse_diff;
use crate::review::model_review::{CallSite, ModelRun, ModelTask, run_model};
use crate::review::pipeline::review_with_files;
use crate::review::publish::plan_review;
use crate::review::render::SummaryFacts;
use crate::review::report::AnalysisStatus;
use crate::review::test_layout::is_test_file;
use check::{AnalysisResult, Blocking, CHECK_NAME, CheckFacts, render_check};
use compose::{Analysis, Draft};
use gather::ConfigState;
use post::{Planned, Published, Target};

pub use check::CHECK_NAME as REVIEW_CHECK_NAME;

/// A review job's request.
#[derive(Debug, Clone)]
pub struct ReviewRequest {
    /// The installation to act as.
    pub installation: InstallationId,
    /// The repository.
    pub repo: RepoName,
    /// The pull request.
    pub pr: PrNumber,
    /// The head commit to review.
    pub head_sha: CommitSha,
    /// Where `.github/reviewbot.yml` is read from, when the event said.
    pub default_branch: Option<String>,
    /// 0 for automatic reviews; a `/reviewbot review` command's comment id otherwise (such
    /// a review runs on drafts and paused pull requests too: a human asked for it).
    pub round: i64,
}

/// Hidden in the comment reporting an invalid config, so it is said once per pull request.
const CONFIG_ERROR_MARKER: &str = "<!-- reviewbot:config-error -->";

/// Runs one review job.
pub(crate) async fn handle(
    ctx: &Context,
    meta: &JobMeta,
    request: ReviewRequest,
) -> anyhow::Result<()> {
    let client = ctx
        .github
        .client(request.installation.clone())
        .await
        .context("act as the installation")?;
    let repo = &request.repo;
    let pr = client
        .pull_request(repo, &request.pr)
        .await
        .context("read the pull request")?;
    if pr.state != "open" {
        info!(state = %pr.state, "pull request no longer open; not reviewed");
        return Ok(());
    }
    if pr.head_sha != request.head_sha {
        // A newer push came in: its own job reviews it (and superseded this one if queued).
        info!(now = %pr.head_sha, "head moved on; this commit is not reviewed");
        return Ok(());
    }
    // Known open: the periodic reaction poll visits it from now on.
    ctx.store
        .upsert_pull_request(
            &repo.to_string(),
            request.pr.0 as i64,
            request.installation.0,
            true,
            Utc::now(),
        )
        .await?;
    let explicit = request.round != 0;
    if !explicit
        && ctx
            .store
            .is_paused(&repo.to_string(), request.pr.0 as i64)
            .await?
    {
        info!("reviews paused on this pull request (/reviewbot resume)");
        return Ok(());
    }
    let default_branch = match request.default_branch.clone().or(pr.default_branch.clone()) {
        Some(branch) => branch,
        None => anyhow::bail!("GitHub did not say which branch is the default one"),
    };
    let bot_login = ctx.github.bot_login().await.context("read the App")?;
    let config = match gather::load_config(&client, repo, &default_branch).await? {
        ConfigState::Valid(config) => config,
        ConfigState::Invalid(problem) => {
            report_config_error(&client, ctx, &request, &bot_login, &problem.to_string()).await?;
            return Ok(());
        }
    };
    if pr.draft && !config.config.drafts && !explicit {
        info!("draft pull request; `drafts: true` in .github/reviewbot.yml reviews drafts");
        return Ok(());
    }
    let check_run = ensure_check_run(&client, ctx, repo, &request.head_sha).await?;
    let result = review(ctx, meta, &client, &request, &config, &bot_login).await;
    match result {
        Ok(facts) => {
            let (conclusion, title, summary) = render_check(&facts);
            client
                .update_check_run(
                    repo,
                    &check_run,
                    CheckState::Completed(conclusion),
                    &title,
                    &summary,
                )
                .await
                .context("complete the check run")?;
            triage::record_check(ctx, &request, &check_run, &facts).await?;
            Ok(())
        }
        Err(e) => {
            // The last attempt says on the pull request why there is no review; earlier ones
            // leave the check running, since a retry is coming.
            if meta.is_last_attempt() {
                let summary = format!(
                    "The review could not be completed after {} attempts: {e:#}",
                    meta.attempt
                );
                if let Err(update) = client
                    .update_check_run(
                        repo,
                        &check_run,
                        CheckState::Completed(CheckConclusion::Neutral),
                        "Review failed",
                        &summary,
                    )
                    .await
                {
                    warn!(error = %update, "could not report the failure on the check run");
                }
            }
            Err(e)
        }
    }
}

/// The check run on this head: ours from an earlier attempt, or a new one.
async fn ensure_check_run(
    client: &InstallationClient,
    ctx: &Context,
    repo: &RepoName,
    head: &CommitSha,
) -> anyhow::Result<CheckRunId> {
    let existing = client
        .check_runs_for_ref(repo, head.as_str(), CHECK_NAME, ctx.github.app_id())
        .await
        .context("look for our check run")?;
    if let Some(run) = existing.into_iter().next() {
        client
            .update_check_run(
                repo,
                &run.id,
                CheckState::Running(CheckStatus::InProgress),
                "Reviewing",
                "Reading the change.",
            )
            .await
            .context("restart the check run")?;
        return Ok(run.id);
    }
    client
        .create_check_run(repo, head, CHECK_NAME, CheckStatus::InProgress)
        .await
        .context("create the check run")
}

/// Says once on the pull request that `.github/reviewbot.yml` is invalid, and why.
async fn report_config_error(
    client: &InstallationClient,
    ctx: &Context,
    request: &ReviewRequest,
    bot_login: &str,
    problem: &str,
) -> anyhow::Result<()> {
    warn!(%problem, "invalid repository config; not reviewed");
    let check_run = ensure_check_run(client, ctx, &request.repo, &request.head_sha).await?;
    let text = format!(
        "reviewbot did not review this pull request: the repository's configuration on its default branch is invalid.\n\n```\n{}\n```\n\nFix `.github/reviewbot.yml` on the default branch (see the documented example); the next push is reviewed with it.",
        problem.replace("```", "'''")
    );
    client
        .update_check_run(
            &request.repo,
            &check_run,
            CheckState::Completed(CheckConclusion::ActionRequired),
            "Invalid .github/reviewbot.yml",
            &text,
        )
        .await
        .context("report the config error on the check run")?;
    let said = client
        .issue_comments_by_app(&request.repo, &request.pr, bot_login)
        .await
        .context("read our earlier comments")?
        .iter()
        .any(|c| c.body.contains(CONFIG_ERROR_MARKER));
    if !said {
        client
            .create_issue_comment(
                &request.repo,
                &request.pr,
                &format!("{text}\n{CONFIG_ERROR_MARKER}"),
            )
            .await
            .context("report the config error on the pull request")?;
    }
    Ok(())
}

/// After a push: the last reviewed head and what the push changed since (GitHub's compare).
/// `None` for a first or requested review, or when the last head is gone (force-pushed away)
/// or the comparison too large: then the whole change is reviewed again, and fingerprints
/// keep anything said before from being repeated.
async fn push_since_last_review(
    ctx: &Context,
    client: &InstallationClient,
    request: &ReviewRequest,
) -> anyhow::Result<Option<(String, crate::review::diff::Diff)>> {
    if request.round != 0 {
        return Ok(None);
    }
    let repo_text = request.repo.to_string();
    let Some(last) = ctx
        .store
        .last_reviewed_head(&repo_text, request.pr.0 as i64)
        .await?
        .filter(|last| last != request.head_sha.as_str())
    else {
        return Ok(None);
    };
    let compared = client
        .compare_diff(&request.repo, &CommitSha(last.clone()), &request.head_sha)
        .await
        .context("compare with the last reviewed commit")?;
    Ok(compared
        .as_deref()
        .and_then(|d| parse_diff(d).ok())
        .map(|push| (last, push)))
}

/// The model's part, when one is configured: on the whole change, or after a push on what
/// the push added. Every call is stored before anything is posted.
async fn model_stage(
    ctx: &Context,
    meta: &JobMeta,
    request: &ReviewRequest,
    config: &LoadedRepoConfig,
    files: &[ChangedFile],
    repo_tests: RepoTests<'_>,
    push: Option<&crate::review::diff::Diff>,
) -> anyhow::Result<Option<(ModelRun, Vec<Option<ModelCallId>>)>> {
    let Some(model) = &ctx.model else {
        return Ok(None);
    };
    let repo_text = request.repo.to_string();
    let pr = request.pr.0 as i64;
    let to_model: Vec<ChangedFile> = match push {
        Some(push) => incremental::only_new_lines(files, push),
        None => files.to_vec(),
    };
    let deployment = config
        .config
        .deployment
        .as_deref()
        .or(model.deployment.as_deref());
    let task = ModelTask {
        repo: &repo_text,
        analyses: &config.config.analyses,
        frameworks: repo_tests.frameworks,
        test_files: repo_tests.test_files,
        installation_id: Some(request.installation.0),
        deployment: config.config.deployment.as_deref(),
        learnings: &learnings(ctx, &repo_text).await?,
    };
    let run = if to_model.is_empty() {
        ModelRun::default()
    } else {
        run_model(&model.client, task, &to_model).await
    };
    let site = CallSite {
        installation_id: Some(request.installation.0),
        repo: repo_text.clone(),
        pr: Some(pr),
        head_sha: Some(request.head_sha.as_str().to_owned()),
        job_id: Some(meta.id),
        provider: model.provider.to_owned(),
        deployment: deployment.map(str::to_owned),
    };
    let mut ids = Vec::with_capacity(run.records.len());
    for record in &run.records {
        let id = ctx
            .store
            .insert_model_call(&record.to_row(&site, Utc::now()))
            .await
            .context("record a model call")?;
        ids.push(Some(id));
    }
    for analysis in Analysis::ALL {
        let outcome = run.outcome(analysis.as_str());
        if outcome.failed() {
            anyhow::bail!(
                "the model gave no usable answer for the {} analysis ({} chunk{}): {}",
                analysis.as_str(),
                outcome.chunks,
                if outcome.chunks == 1 { "" } else { "s" },
                run.problems
                    .last()
                    .map(String::as_str)
                    .unwrap_or("no detail")
            );
        }
    }
    Ok(Some((run, ids)))
}

/// Reads the change, runs the analyses, posts the reviews; returns what the check run says.
async fn review(
    ctx: &Context,
    meta: &JobMeta,
    client: &InstallationClient,
    request: &ReviewRequest,
    config: &LoadedRepoConfig,
    bot_login: &str,
) -> anyhow::Result<CheckFacts> {
    let repo = &request.repo;
    let (diff, from_files_api) = gather::fetch_diff(client, repo, &request.pr).await?;
    let sources = gather::fetch_sources(client, repo, &request.head_sha, &diff, config).await?;
    let (frameworks, test_files) =
        gather::fetch_repo_tests(client, repo, &request.head_sha).await?;
    let test_files: Vec<&str> = test_files.iter().map(String::as_str).collect();
    let model_status = AnalysisStatus {
        name: "model".into(),
        ran: ctx.model.is_some(),
        note: String::new(),
    };
    let repo_tests = RepoTests {
        frameworks: &frameworks,
        test_files: &test_files,
    };
    let (report, files) =
        review_with_files(&diff, Some(&sources), &[], repo_tests, config, model_status);
    let push = push_since_last_review(ctx, client, request).await?;
    let model = model_stage(
        ctx,
        meta,
        request,
        config,
        &files,
        repo_tests,
        push.as_ref().map(|(_, diff)| diff),
    )
    .await?;

    let mut model_drafts: Vec<Draft> = Vec::new();
    let mut facts = CheckFacts {
        skipped: report
            .skipped
            .iter()
            .map(|s| (s.path.clone(), s.reason.to_string()))
            .collect(),
        block_on: config.config.block_on,
        ..CheckFacts::default()
    };
    if from_files_api {
        facts.problems.push(
            "GitHub would not send the whole diff (too large); files were read one by one".into(),
        );
    }
    let empty = Vec::new();
    let calls = match &model {
        Some((run, ids)) => {
            let language_of = |path: &str| {
                files
                    .iter()
                    .find(|f| f.path == path)
                    .and_then(|f| f.language)
                    .map(|l| l.name())
                    .unwrap_or("text")
            };
            model_drafts.extend(
                run.items
                    .iter()
                    .map(|item| Draft::from_model(item, language_of(item.suggestion.path()))),
            );
            facts.model = Some((run.calls, run.tokens.0, run.tokens.1));
            facts.problems.extend(run.problems.iter().cloned());
            facts.incremental_since = push.as_ref().map(|(last, _)| last.clone());
            ids
        }
        None => &empty,
    };
    // Everything the change holds now decides the check; what gets posted is narrower.
    let all = compose::merge(&report.findings, model_drafts);
    let (drafts, quietened) = quieten(ctx, &repo.to_string(), config, all.clone()).await?;
    // After a push, the built-in analyzers speak only about the push's lines too: the rest
    // was said (or deliberately left unsaid) at the last review.
    let drafts = match &push {
        Some((_, push)) => {
            let fresh = incremental::added_lines(push);
            drafts
                .into_iter()
                .filter(|d| {
                    d.source == feedback::SuggestionSource::Model
                        || fresh
                            .get(&d.candidate.path)
                            .is_some_and(|lines| lines.contains(&d.candidate.line))
                })
                .collect()
        }
        None => drafts,
    };
    facts
        .problems
        .extend(quietened.iter().map(|(_, line)| line.clone()));
    let tokens = facts.model.map(|(_, i, o)| (i, o)).unwrap_or_default();
    // Findings still in the code count toward block_on whether or not they were posted
    // before: triage (or a fix) is what clears them.
    let thresholds = &config.config;
    let current: Vec<&Draft> = all
        .iter()
        .filter(|d| {
            d.candidate.confidence >= thresholds.min_confidence
                && d.candidate
                    .severity
                    .is_none_or(|s| s >= thresholds.min_severity)
        })
        .collect();
    facts.found = current.len();
    let blocking: Vec<Blocking> = match config.config.block_on {
        Some(block_on) if config.config.analyses.security => current
            .iter()
            .filter(|d| d.candidate.severity.is_some_and(|s| s >= block_on))
            .map(|d| Blocking {
                fingerprint: d.candidate.fingerprint(),
                line: d.summary_line(),
            })
            .collect(),
        _ => Vec::new(),
    };

    let target = Target {
        installation: &request.installation,
        repo,
        pr: &request.pr,
        head: &request.head_sha,
        round: request.round,
        bot_login,
        job: meta.id,
    };
    let repo_text = repo.to_string();
    for analysis in Analysis::ALL {
        let on = match analysis {
            Analysis::Tests => config.config.analyses.tests,
            Analysis::Security => config.config.analyses.security,
        };
        if !on {
            facts
                .analyses
                .push((analysis.as_str().to_owned(), AnalysisResult::Off, 0));
            continue;
        }
        let mine: Vec<Draft> = drafts
            .iter()
            .filter(|d| d.analysis == analysis)
            .cloned()
            .collect();
        let candidates: Vec<_> = mine.iter().map(|d| d.candidate.clone()).collect();
        let posted: HashSet<String> = ctx
            .store
            .posted_fingerprints(&repo_text, request.pr.0 as i64)
            .await?
            .into_iter()
            .collect();
        let plan = plan_review(&diff, &candidates, &posted, &config.config);
        let summary = SummaryFacts {
            analysis: analysis.as_str().to_owned(),
            duplicates: plan.duplicates,
            below_threshold: plan.below_threshold,
            skipped: facts.skipped.clone(),
            tokens,
            quietened: quietened
                .iter()
                .filter(|(a, _)| *a == analysis)
                .map(|(_, line)| line.clone())
                .collect(),
            ..SummaryFacts::default()
        };
        let planned = Planned {
            analysis,
            drafts: &mine,
            plan: &plan,
            calls,
            facts: summary,
        };
        let result = match post::publish(client, &ctx.store, target, planned).await? {
            None => AnalysisResult::Quiet,
            Some(Published::AlreadyPosted) => AnalysisResult::AlreadyPosted,
            Some(Published::Posted {
                comments,
                in_summary,
            }) => AnalysisResult::Posted {
                comments,
                in_summary,
            },
        };
        info!(
            analysis = analysis.as_str(),
            ?result,
            duplicates = plan.duplicates,
            "analysis done"
        );
        facts
            .analyses
            .push((analysis.as_str().to_owned(), result, plan.duplicates));
    }
    // Suggested tests that landed in this push: accepted, or modified as they landed.
    let changed_tests: Vec<String> = files
        .iter()
        .filter(|f| f.language.is_some_and(|l| is_test_file(&f.path, l)))
        .map(|f| f.path.clone())
        .collect();
    adoption::check(
        ctx,
        client,
        repo,
        &request.pr,
        &request.head_sha,
        &changed_tests,
    )
    .await?;
    // After posting, every blocking finding has its suggestion, and so its triage.
    let (blocking, triaged) =
        triage::split_triaged(&ctx.store, &repo_text, request.pr.0 as i64, blocking).await?;
    facts.blocking = blocking;
    facts.triaged = triaged;
    Ok(facts)
}

/// How far back learnings and noise control look.
const FEEDBACK_HORIZON: chrono::Duration = chrono::Duration::days(90);

/// The repository's recent decided suggestions of `kind`, with their verdicts and events,
/// newest first.
async fn decided(
    ctx: &Context,
    repo: &str,
    kind: feedback::SuggestionKind,
) -> anyhow::Result<
    Vec<(
        feedback::Suggestion,
        feedback::verdict::Verdict,
        Vec<feedback::FeedbackEvent>,
    )>,
> {
    let recent = ctx
        .store
        .recent_feedback_of_kind(repo, kind, Utc::now() - FEEDBACK_HORIZON, 50)
        .await?;
    Ok(recent
        .into_iter()
        .map(|(s, events)| {
            let verdict = feedback::verdict::derive_verdict(
                s.suggestion.kind,
                s.suggestion.created_at,
                &events,
            );
            (s, verdict, events)
        })
        .collect())
}

/// Learnings per prompt: what this repository's reviewers rejected or rewrote lately.
async fn learnings(ctx: &Context, repo: &str) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let mut out = HashMap::new();
    for (prompt, kind) in [
        ("tests", feedback::SuggestionKind::Test),
        ("security", feedback::SuggestionKind::Security),
    ] {
        let notes = crate::review::learnings::learnings(&decided(ctx, repo, kind).await?);
        if !notes.is_empty() {
            out.insert(prompt.to_owned(), notes);
        }
    }
    Ok(out)
}

/// Noise control over `drafts`: muted categories dropped, categories on probation cut to
/// confident suggestions. Returns what remains and one line per category held back, with the
/// analysis whose review it belongs to.
async fn quieten(
    ctx: &Context,
    repo: &str,
    config: &LoadedRepoConfig,
    drafts: Vec<Draft>,
) -> anyhow::Result<(Vec<Draft>, Vec<(Analysis, String)>)> {
    let noise = &config.config.noise_control;
    let categories: std::collections::BTreeMap<String, Analysis> = drafts
        .iter()
        .map(|d| (d.candidate.category.clone(), d.analysis))
        .collect();
    let mut gates = HashMap::new();
    for category in categories.keys().cloned() {
        let since = ctx
            .store
            .category_unmuted_at(repo, &category)
            .await?
            .unwrap_or_else(|| Utc::now() - FEEDBACK_HORIZON);
        let verdicts: Vec<_> = ctx
            .store
            .recent_feedback_in_category(repo, &category, since, i64::from(noise.window) * 3)
            .await?
            .into_iter()
            .map(|(s, events)| {
                feedback::verdict::derive_verdict(
                    s.suggestion.kind,
                    s.suggestion.created_at,
                    &events,
                )
            })
            .collect();
        gates.insert(category, noise::gate(&verdicts, noise));
    }
    let mut held: HashMap<String, usize> = HashMap::new();
    let kept = drafts
        .into_iter()
        .filter(|d| {
            let pass = match &gates[&d.candidate.category] {
                noise::Gate::Open => true,
                noise::Gate::Probation { .. } => {
                    d.candidate.confidence >= noise::PROBATION_CONFIDENCE
                }
                noise::Gate::Muted { .. } => false,
            };
            if !pass {
                *held.entry(d.candidate.category.clone()).or_default() += 1;
            }
            pass
        })
        .collect();
    let mut lines: Vec<(Analysis, String)> = gates
        .iter()
        .filter_map(|(category, gate)| {
            let line = noise::explain(category, gate, held.get(category).copied().unwrap_or(0))?;
            Some((categories[category], line))
        })
        .collect();
    lines.sort();
    Ok((kept, lines))
}
