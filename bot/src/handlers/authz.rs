//! Who may give a verdict. Developers' verdicts: the pull request's author or anyone with write
//! access. Triage: only security reviewers (`REVIEWBOT_SECURITY_REVIEWERS`, or the repository
//! config's `security_reviewers`; logins or `org/team` members). Answers from GitHub are cached
//! briefly, so a burst of replies costs one permission call per person.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::SecurityReviewer;
use crate::github::ids::RepoName;
use crate::github::{GitHubError, InstallationClient};

/// How long a permission or team answer is trusted: long enough for a burst of replies,
/// short enough that a revoked permission stops working within minutes.
const TTL: Duration = Duration::from_secs(120);

/// Cached answers, keyed by what was asked.
#[derive(Debug, Clone, Default)]
pub struct AuthzCache {
    answers: Arc<Mutex<HashMap<String, (bool, Instant)>>>,
}

impl AuthzCache {
    fn get(&self, key: &str) -> Option<bool> {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(answer, _)| *answer)
    }

    fn put(&self, key: String, answer: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a cache of a few thousand entries is plenty; start over past that.
        if answers.len() > 10_000 {
            answers.clear();
        }
        answers.insert(key, (answer, Instant::now()));
    }

    /// Whether `login` has write access to `repo` (admin, maintain or write).
    pub async fn can_write(
        &self,
        client: &InstallationClient,
        repo: &RepoName,
        login: &str,
    ) -> Result<bool, GitHubError> {
        let key = format!("write:{repo}:{}", login.to_ascii_lowercase());
        if let Some(answer) = self.get(&key) {
            return Ok(answer);
        }
        let answer = client
            .collaborator_permission(repo, login)
            .await?
            .can_write();
        self.put(key, answer);
        Ok(answer)
    }

    /// Whether `login` is one of `reviewers` (a login, or an active member of a team).
    pub async fn is_security_reviewer(
        &self,
        client: &InstallationClient,
        reviewers: &[SecurityReviewer],
        login: &str,
    ) -> Result<bool, GitHubError> {
        for reviewer in reviewers {
            match reviewer {
                SecurityReviewer::User(user) if user.eq_ignore_ascii_case(login) => {
                    return Ok(true);
                }
                SecurityReviewer::User(_) => {}
                SecurityReviewer::Team { org, slug } => {
                    let key = format!("team:{org}/{slug}:{}", login.to_ascii_lowercase());
                    let member = match self.get(&key) {
                        Some(answer) => answer,
                        None => {
                            let answer = client.team_membership(org, slug, login).await?;
                            self.put(key, answer);
                            answer
                        }
                    };
                    if member {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_for_a_while_then_forgotten() {
        let cache = AuthzCache::default();
        assert_eq!(cache.get("write:o/r:ann"), None);
        cache.put("write:o/r:ann".into(), true);
        assert_eq!(cache.get("write:o/r:ann"), Some(true));
        // An expired entry is not an answer.
        cache.answers.lock().unwrap().insert(
            "write:o/r:bob".into(),
            (
                true,
                Instant::now().checked_sub(TTL).expect("up for two minutes"),
            ),
        );
        assert_eq!(cache.get("write:o/r:bob"), None);
    }
}
