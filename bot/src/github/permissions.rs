//! Repository permissions on `InstallationClient`: who may answer the bot's comments.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::github::client::{InstallationClient, encode_component, send};
use crate::github::error::GitHubError;
use crate::github::ids::RepoName;
use crate::github::pulls::repo_path;

/// A user's role on a repository, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// No access (or not a user GitHub knows).
    None,
    /// Read.
    Read,
    /// Triage: read, plus managing issues and pull requests; no pushing.
    Triage,
    /// Write: push.
    Write,
    /// Maintain: write, plus managing the repository without admin settings.
    Maintain,
    /// Admin.
    Admin,
}

impl Permission {
    /// True for roles that can push (admin, maintain, write): the ones allowed to answer
    /// suggestions on someone else's pull request.
    pub fn can_write(self) -> bool {
        matches!(self, Self::Admin | Self::Maintain | Self::Write)
    }

    /// A GitHub role or permission name; `None` for custom roles and anything unknown.
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "admin" => Some(Self::Admin),
            "maintain" => Some(Self::Maintain),
            "write" => Some(Self::Write),
            "triage" => Some(Self::Triage),
            "read" => Some(Self::Read),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct PermissionWire {
    permission: String,
    #[serde(default)]
    role_name: Option<String>,
}

impl InstallationClient {
    /// `username`'s role on `repo` (`GET /repos/{o}/{r}/collaborators/{username}/permission`).
    ///
    /// `role_name` is read first because the legacy `permission` folds maintain into write and
    /// triage into read; a custom role's name means nothing to us, so its base `permission`
    /// is used. A user GitHub does not know (404), or a permission we cannot read, is
    /// [`Permission::None`].
    pub async fn collaborator_permission(
        &self,
        repo: &RepoName,
        username: &str,
    ) -> Result<Permission, GitHubError> {
        let response = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            format!(
                "{}/collaborators/{}/permission",
                repo_path(repo),
                encode_component(username)
            ),
            None,
            None,
        )
        .await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(Permission::None);
        }
        let wire: PermissionWire = response.json()?;
        let permission = wire
            .role_name
            .as_deref()
            .and_then(Permission::from_name)
            .or_else(|| Permission::from_name(&wire.permission));
        // Fail closed: a permission we cannot read grants nothing.
        Ok(permission.unwrap_or_else(|| {
            tracing::warn!(repo = %repo, permission = %wire.permission, "unknown repository permission; treated as none");
            Permission::None
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_maintain_and_write_can_write() {
        let writers: Vec<_> = [
            Permission::Admin,
            Permission::Maintain,
            Permission::Write,
            Permission::Triage,
            Permission::Read,
            Permission::None,
        ]
        .into_iter()
        .filter(|p| p.can_write())
        .collect();
        assert_eq!(
            writers,
            [Permission::Admin, Permission::Maintain, Permission::Write]
        );
        assert!(Permission::Admin > Permission::Read);
    }
}
