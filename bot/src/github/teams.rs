//! Team membership on `InstallationClient`: whether a user belongs to a security-reviewer team
//! named as `org/team-slug` in the configuration.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::github::client::{InstallationClient, encode_component, send};
use crate::github::error::GitHubError;

#[derive(Deserialize)]
struct MembershipWire {
    state: String,
}

impl InstallationClient {
    /// True when `username` is an active member of team `team_slug` of organization `org`
    /// (`GET /orgs/{org}/teams/{team_slug}/memberships/{username}`). Members of child teams
    /// count, as GitHub reports them.
    ///
    /// A `pending` membership (an invitation not yet accepted) is false. So is a 404, which
    /// GitHub answers both when the user is not a member and when the team does not exist or
    /// is not visible to the installation (for instance an organization the App is not
    /// installed on): the two cannot be told apart, and both grant nothing. The call needs the
    /// App's "Members: read" organization permission; without it GitHub answers 403, which is
    /// an error ([`GitHubError::Forbidden`]), not a "no".
    pub async fn team_membership(
        &self,
        org: &str,
        team_slug: &str,
        username: &str,
    ) -> Result<bool, GitHubError> {
        let response = send(
            self.crab(),
            Method::GET,
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            format!(
                "/orgs/{}/teams/{}/memberships/{}",
                encode_component(org),
                encode_component(team_slug),
                encode_component(username)
            ),
            None,
            None,
        )
        .await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        let membership: MembershipWire = response.json()?;
        Ok(membership.state == "active")
    }
}
