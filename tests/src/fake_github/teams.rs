//! The fake GitHub's team memberships, for security-reviewer teams named `org/team-slug`.
//!
//! A team is visible to an installation only on the organization the App is installed on;
//! anything else (another organization, an unknown team, a non-member) is GitHub's 404.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::FakeGitHub;
use super::routes::{Shared, github_error, lock, require_installation_token};

impl FakeGitHub {
    /// Makes `login` a member of team `team` of organization `org` in `state` `active` or
    /// `pending` (invited, not yet accepted); the team exists from then on.
    pub fn set_team_member(&self, org: &str, team: &str, login: &str, state: &str) {
        assert!(
            matches!(state, "active" | "pending"),
            "a team membership is active or pending: {state:?}"
        );
        lock(&self.world)
            .teams
            .entry((org.to_lowercase(), team.to_lowercase()))
            .or_default()
            .insert(login.to_lowercase(), state.to_owned());
    }

    /// Takes `login` out of team `team` of `org` (the team stays).
    pub fn remove_team_member(&self, org: &str, team: &str, login: &str) {
        if let Some(members) = lock(&self.world)
            .teams
            .get_mut(&(org.to_lowercase(), team.to_lowercase()))
        {
            members.remove(&login.to_lowercase());
        }
    }

    /// Takes the "Members: read" organization permission away from installation
    /// `installation_id`: its team membership requests get GitHub's 403.
    pub fn deny_members_permission(&self, installation_id: i64) {
        lock(&self.world).members_denied.insert(installation_id);
    }
}

/// A membership as GitHub's `team-membership` schema describes it.
pub(crate) fn membership_json(
    base_url: &str,
    org: &str,
    team: &str,
    login: &str,
    state: &str,
) -> Value {
    json!({
        "url": format!("{base_url}/orgs/{org}/teams/{team}/memberships/{login}"),
        "role": "member",
        "state": state,
    })
}

/// `GET /orgs/{org}/teams/{team_slug}/memberships/{username}`: the membership's `state`; 404
/// when the user is not a member, the team does not exist, or the installation is on another
/// account (the team is not visible); 403 without the "Members: read" permission.
pub(crate) async fn get_team_membership(
    State(world): State<Shared>,
    Path((org, team, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let installation_id = match require_installation_token(&world, &headers) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let guard = lock(&world);
    if guard.members_denied.contains(&installation_id) {
        return github_error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        );
    }
    let visible = guard
        .installations
        .get(&installation_id)
        .is_some_and(|i| i.account_login.eq_ignore_ascii_case(&org));
    let state = guard
        .teams
        .get(&(org.to_lowercase(), team.to_lowercase()))
        .and_then(|members| members.get(&username.to_lowercase()));
    match state {
        Some(state) if visible => axum::Json(membership_json(
            &guard.base_url,
            &org,
            &team,
            &username,
            state,
        ))
        .into_response(),
        _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}
