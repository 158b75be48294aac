//! Keeps our record of installations and the repositories they grant current, reading the
//! truth from GitHub rather than trusting the order deliveries arrive in.

use std::collections::BTreeSet;

use anyhow::Context as _;
use chrono::Utc;
use feedback::{Installation, InstallationRepository};
use tracing::info;

use super::Context;
use crate::events::RepositorySelection;
use crate::github::GitHubError;
use crate::github::ids::InstallationId;
use crate::jobs::InstallationChange;

/// Syncs one installation. Idempotent: a retried, redelivered or superseded job converges on
/// the same rows.
pub(super) async fn handle_sync(
    ctx: &Context,
    id: InstallationId,
    change: InstallationChange,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let Some(info) = ctx
        .github
        .installation(id.clone())
        .await
        .context("read the installation")?
    else {
        // GitHub no longer knows it: uninstalled (whatever the event said).
        ctx.store.delete_installation(id.0, now).await?;
        ctx.github.forget_installation(&id);
        info!(installation_id = id.0, ?change, "installation deleted");
        return Ok(());
    };
    let installation = Installation {
        id: id.0,
        account_login: info.account_login,
        account_type: info.account_type,
        repository_selection: match info.repository_selection {
            RepositorySelection::All => "all".into(),
            RepositorySelection::Selected => "selected".into(),
        },
        suspended: info.suspended,
    };
    ctx.store.upsert_installation(&installation, now).await?;
    if installation.suspended {
        // A suspended installation cannot get a token; its repository list stays as it was.
        info!(installation_id = id.0, ?change, "installation suspended");
        return Ok(());
    }
    let repositories = match ctx.github.client(id.clone()).await {
        Ok(client) => client.list_repositories().await,
        Err(e) => Err(e),
    };
    let (_, repositories) = match repositories {
        Ok(listed) => listed,
        // Uninstalled between the two calls: the next delivery (or retry) records the deletion.
        Err(GitHubError::NotFound) => anyhow::bail!("installation {id} disappeared while syncing"),
        Err(e) => return Err(e).context("list the installation's repositories"),
    };
    let now_granted: Vec<InstallationRepository> = repositories
        .iter()
        .map(|r| InstallationRepository {
            repo_id: r.id.0,
            full_name: r.name.to_string(),
        })
        .collect();
    let granted_ids: BTreeSet<i64> = now_granted.iter().map(|r| r.repo_id).collect();
    let removed: Vec<i64> = ctx
        .store
        .list_installation_repositories(id.0)
        .await?
        .into_iter()
        .map(|r| r.repo_id)
        .filter(|repo_id| !granted_ids.contains(repo_id))
        .collect();
    ctx.store
        .update_installation_repositories(id.0, &now_granted, &removed, now)
        .await?;
    info!(
        installation_id = id.0,
        ?change,
        account = %installation.account_login,
        repositories = now_granted.len(),
        removed = removed.len(),
        "installation synced"
    );
    Ok(())
}
