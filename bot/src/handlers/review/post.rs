//! Posting one analysis's review, exactly once.
//!
//! The review and its suggestions are recorded first (the ids go into the comments' markers),
//! then posted, then marked posted. A retried job finds a review it already posted, in the
//! store or, if it died between posting and recording, on GitHub by the review's own marker,
//! and only completes what is missing. A 422 never loses the review: the inline comments are
//! retried as file-level comments, and what GitHub still refuses goes to the summary.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context as _;
use chrono::Utc;
use feedback::{JobId, ModelCallId, NewReview, NewSuggestion, Store, SuggestionId};
use tracing::{info, warn};

use super::compose::{Analysis, Draft};
use crate::github::ids::{CommitSha, InstallationId, PrNumber, RepoName};
use crate::github::reviews::{NewReview as GitHubReview, ReviewCommentDraft, ReviewError};
use crate::github::{GitHubError, InstallationClient};
use crate::review::anchor::Anchor;
use crate::review::publish::{Placed, ReviewPlan};
use crate::review::render::{SummaryFacts, parse_marker, render_summary};

/// Where a review goes and as whom.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The installation.
    pub installation: &'a InstallationId,
    /// The repository.
    pub repo: &'a RepoName,
    /// The pull request.
    pub pr: &'a PrNumber,
    /// The head commit reviewed.
    pub head: &'a CommitSha,
    /// 0 for automatic reviews; the command's comment id for a requested one.
    pub round: i64,
    /// The App's bot login (authors our reviews and comments).
    pub bot_login: &'a str,
    /// The job doing it.
    pub job: JobId,
}

/// One analysis's review, planned.
#[derive(Debug)]
pub struct Planned<'a> {
    /// Tests or security.
    pub analysis: Analysis,
    /// Everything found (the plan indexes into it).
    pub drafts: &'a [Draft],
    /// Where each goes.
    pub plan: &'a ReviewPlan,
    /// Stored model call ids, by the run's record index.
    pub calls: &'a [Option<ModelCallId>],
    /// The summary's facts apart from what this review places.
    pub facts: SummaryFacts,
}

/// What posting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Posted now (or completed after an earlier attempt posted part of it).
    Posted {
        /// Comments on GitHub.
        comments: usize,
        /// Mentioned in the summary only.
        in_summary: usize,
    },
    /// An earlier attempt posted it.
    AlreadyPosted,
}

/// Hidden in a review's body: a retry recognises its own review by it.
pub fn review_marker(analysis: Analysis, round: i64) -> String {
    format!(
        "<!-- reviewbot:review={} round={round} -->",
        analysis.as_str()
    )
}

/// One suggestion as recorded, with where it should go.
struct Entry {
    id: SuggestionId,
    path: String,
    body: String,
    anchor: Anchor,
    /// How the summary mentions it.
    summary_line: String,
}

fn summary_body(facts: &SummaryFacts, summary: Vec<String>, posted: usize, marker: &str) -> String {
    let facts = SummaryFacts {
        in_summary: summary,
        posted,
        ..facts.clone()
    };
    format!("{}\n{marker}", render_summary(&facts))
}

/// Records and posts one analysis's review. Nothing to say → nothing posted.
pub async fn publish(
    client: &InstallationClient,
    store: &Store,
    target: Target<'_>,
    planned: Planned<'_>,
) -> anyhow::Result<Option<Published>> {
    // Over the comment cap or not anchorable: mentioned in the summary, never commented.
    let placed: Vec<Placed> = planned
        .plan
        .comments
        .iter()
        .cloned()
        .chain(planned.plan.in_summary.iter().map(|p| Placed {
            anchor: Anchor::Summary,
            ..p.clone()
        }))
        .collect();
    if placed.is_empty() {
        return Ok(None);
    }
    let repo = target.repo.to_string();
    let pr = target.pr.0 as i64;
    let analysis = planned.analysis.as_str();
    let recorded = store
        .find_review_by_head(&repo, pr, target.head.as_str(), analysis, target.round)
        .await?;
    if recorded
        .as_ref()
        .is_some_and(|r| r.review.github_review_id.is_some())
    {
        return Ok(Some(Published::AlreadyPosted));
    }
    let marker = review_marker(planned.analysis, target.round);
    if let Some(recorded) = recorded {
        // An earlier attempt recorded this review; it may have died after posting it.
        let on_github = client
            .reviews_by_app(target.repo, target.pr, target.bot_login)
            .await
            .context("look for an earlier attempt's review")?
            .into_iter()
            .find(|r| r.commit_id.as_ref() == Some(target.head) && r.body.contains(&marker));
        if let Some(review) = on_github {
            info!(
                review_id = review.id.0,
                "an earlier attempt posted this review; completing it"
            );
            let entries: Vec<Entry> = store
                .review_suggestions(recorded.id)
                .await?
                .into_iter()
                .map(|s| Entry {
                    id: s.id,
                    summary_line: s.suggestion.title.clone(),
                    path: s.suggestion.path,
                    body: s.suggestion.body,
                    anchor: match (s.suggestion.anchor, s.suggestion.line) {
                        (feedback::Anchor::Summary, _) => Anchor::Summary,
                        (feedback::Anchor::Line, Some(line)) => Anchor::Line { line: line as u32 },
                        _ => Anchor::File,
                    },
                })
                .collect();
            let comments = client
                .review_comments_by_app(target.repo, target.pr, target.bot_login)
                .await
                .context("read the comments already posted")?;
            let mine: HashSet<SuggestionId> = entries.iter().map(|e| e.id).collect();
            let posted = comments
                .iter()
                .filter_map(|c| Some((parse_marker(&c.body)?, c.id.0)))
                .filter(|(id, _)| mine.contains(id))
                .collect();
            let published = complete(
                client,
                store,
                &target,
                recorded.id,
                review.id.0,
                &entries,
                posted,
            )
            .await?;
            return Ok(Some(published));
        }
    }

    let now = Utc::now();
    let rows: Vec<NewSuggestion> = placed
        .iter()
        .map(|p| {
            let draft = &planned.drafts[p.candidate];
            let c = &draft.candidate;
            NewSuggestion {
                model_call_id: draft
                    .record
                    .and_then(|r| planned.calls.get(r).copied().flatten()),
                review_id: None,
                repo: repo.clone(),
                pr,
                head_sha: target.head.as_str().to_owned(),
                kind: draft.kind(),
                source: draft.source,
                category: c.category.clone(),
                path: c.path.clone(),
                line: Some(c.line as i32),
                anchor: p.anchor.into(),
                severity: c.severity.map(|s| s.as_str().to_owned()),
                confidence: Some(f64::from(c.confidence)),
                cwe: draft.cwe(),
                fingerprint: p.fingerprint.clone(),
                title: c.title.clone(),
                body: String::new(),
                original: draft.original.clone(),
                created_at: now,
            }
        })
        .collect();
    let review = NewReview {
        installation_id: Some(target.installation.0),
        repo: repo.clone(),
        pr,
        head_sha: target.head.as_str().to_owned(),
        analysis: analysis.to_owned(),
        round: target.round,
        github_review_id: None,
        check_run_id: None,
        job_id: Some(target.job),
        created_at: now,
    };
    // Nothing of this review is on GitHub (checked above), so an earlier attempt's rows are
    // replaced, not reused.
    let render = |id: SuggestionId, i: usize| planned.drafts[placed[i].candidate].body(id);
    let prepared = store
        .prepare_review(&review, &rows, &render)
        .await
        .context("record the review")?;
    if prepared.posted.is_some() {
        return Ok(Some(Published::AlreadyPosted));
    }
    let entries: Vec<Entry> = placed
        .iter()
        .zip(&prepared.suggestions)
        .filter_map(|(p, id)| {
            let draft = &planned.drafts[p.candidate];
            id.map(|id| Entry {
                id,
                path: draft.candidate.path.clone(),
                body: draft.body(id),
                anchor: p.anchor,
                summary_line: draft.summary_line(),
            })
        })
        .collect();
    let mut facts = planned.facts.clone();
    // Posted on this pull request by a concurrent job between planning and recording.
    facts.duplicates += placed.len() - entries.len();
    let (github_review, posted) = post_new(client, &target, &entries, &facts, &marker).await?;
    let published = complete(
        client,
        store,
        &target,
        prepared.review_id,
        github_review,
        &entries,
        posted,
    )
    .await?;
    Ok(Some(published))
}

/// Posts, as file-level comments, whatever still has no comment (file-level ones, inline
/// ones moved after a 422, or ones a dead attempt never got to); GitHub refusing that too
/// leaves it in the summary. Then records the review as posted.
async fn complete(
    client: &InstallationClient,
    store: &Store,
    target: &Target<'_>,
    review: feedback::ReviewId,
    github_review: i64,
    entries: &[Entry],
    mut posted: BTreeMap<SuggestionId, i64>,
) -> anyhow::Result<Published> {
    let mut finished = Vec::new();
    let mut in_summary = 0;
    for entry in entries {
        if let Some(comment) = posted.get(&entry.id) {
            finished.push((entry.id, Some(*comment), entry.anchor.into()));
            continue;
        }
        if entry.anchor == Anchor::Summary {
            in_summary += 1;
            finished.push((entry.id, None, feedback::Anchor::Summary));
            continue;
        }
        match client
            .create_file_comment(
                target.repo,
                target.pr,
                target.head,
                &entry.path,
                &entry.body,
            )
            .await
        {
            Ok(comment) => {
                posted.insert(entry.id, comment.id.0);
                finished.push((entry.id, Some(comment.id.0), feedback::Anchor::File));
            }
            Err(GitHubError::Unexpected {
                status: 422,
                message,
            }) => {
                warn!(suggestion = %entry.id, %message, "GitHub refused a file-level comment; left in the summary");
                in_summary += 1;
                finished.push((entry.id, None, feedback::Anchor::Summary));
            }
            Err(e) => return Err(e).context("post a file-level comment"),
        }
    }
    store
        .finish_review(review, github_review, &finished)
        .await
        .context("record the posted review")?;
    Ok(Published::Posted {
        comments: posted.len(),
        in_summary,
    })
}

/// Creates the review with its inline comments; on 422, again with none (they follow as
/// file-level comments). Returns the review id and the inline comments posted, by suggestion.
async fn post_new(
    client: &InstallationClient,
    target: &Target<'_>,
    entries: &[Entry],
    facts: &SummaryFacts,
    marker: &str,
) -> anyhow::Result<(i64, BTreeMap<SuggestionId, i64>)> {
    let in_summary: Vec<String> = entries
        .iter()
        .filter(|e| e.anchor == Anchor::Summary)
        .map(|e| e.summary_line.clone())
        .collect();
    let not_summary = entries.len() - in_summary.len();
    let review = GitHubReview {
        commit_id: target.head.clone(),
        body: summary_body(facts, in_summary, not_summary, marker),
        comments: entries
            .iter()
            .filter_map(|e| match e.anchor {
                Anchor::Line { line } => Some(ReviewCommentDraft {
                    path: e.path.clone(),
                    body: e.body.clone(),
                    line: Some(line),
                }),
                _ => None,
            })
            .collect(),
    };
    let created = match client.create_review(target.repo, target.pr, &review).await {
        Ok(created) => created,
        Err(ReviewError::Rejected(rejection)) => {
            warn!(
                message = %rejection.message,
                errors = ?rejection.errors,
                "GitHub refused the inline comments (422); posting them as file-level comments"
            );
            let without_inline = GitHubReview {
                comments: Vec::new(),
                ..review
            };
            match client
                .create_review(target.repo, target.pr, &without_inline)
                .await
            {
                Ok(created) => created,
                Err(ReviewError::Rejected(again)) => anyhow::bail!(
                    "GitHub refused a review without comments: {} ({})",
                    again.message,
                    again.errors.join("; ")
                ),
                Err(ReviewError::GitHub(e)) => return Err(e).context("post the review"),
            }
        }
        Err(ReviewError::GitHub(e)) => return Err(e).context("post the review"),
    };
    let posted = created
        .comments
        .iter()
        .filter_map(|c| Some((parse_marker(&c.body)?, c.id.0)))
        .collect();
    Ok((created.id.0, posted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_markers_name_the_analysis_and_round() {
        assert_eq!(
            review_marker(Analysis::Security, 0),
            "<!-- reviewbot:review=security round=0 -->"
        );
        assert_ne!(
            review_marker(Analysis::Tests, 0),
            review_marker(Analysis::Tests, 77)
        );
        let body = summary_body(
            &SummaryFacts {
                analysis: "tests".into(),
                ..SummaryFacts::default()
            },
            vec!["a.py:3 Add a test".into()],
            2,
            &review_marker(Analysis::Tests, 0),
        );
        assert!(body.contains("2 comments") && body.contains("a.py:3 Add a test"));
        assert!(body.ends_with("<!-- reviewbot:review=tests round=0 -->"));
    }
}
