//! Keeps our record of installations and the repositories they grant current.

use chrono::Utc;
use feedback::{Installation, InstallationRepository, Store};
use tracing::info;

use crate::events::{RepoStub, RepositorySelection};
use crate::github::ids::InstallationId;
use crate::jobs::InstallationChange;

/// An installation change to apply.
#[derive(Debug)]
pub(super) struct Sync {
    pub installation: InstallationId,
    pub change: InstallationChange,
    pub account_login: String,
    pub account_type: String,
    pub repository_selection: RepositorySelection,
    pub added: Vec<RepoStub>,
    pub removed: Vec<RepoStub>,
}

/// Applies an `installation` or `installation_repositories` event. Idempotent: a retried or
/// redelivered job converges on the same rows.
pub(super) async fn handle_sync(store: &Store, sync: Sync) -> anyhow::Result<()> {
    let id = sync.installation.0;
    let now = Utc::now();
    if sync.change == InstallationChange::Deleted {
        store.delete_installation(id, now).await?;
        info!(installation_id = id, "installation deleted");
        return Ok(());
    }
    let suspended = match sync.change {
        InstallationChange::Suspended => true,
        InstallationChange::Active => false,
        // A repository change says nothing about suspension: keep what we know.
        _ => store
            .get_installation(id)
            .await?
            .is_some_and(|i| i.suspended),
    };
    let installation = Installation {
        id,
        account_login: sync.account_login,
        account_type: sync.account_type,
        repository_selection: match sync.repository_selection {
            RepositorySelection::All => "all".into(),
            RepositorySelection::Selected => "selected".into(),
        },
        suspended,
    };
    store.upsert_installation(&installation, now).await?;
    let added: Vec<InstallationRepository> = sync
        .added
        .iter()
        .map(|r| InstallationRepository {
            repo_id: r.id.0,
            full_name: r.name.to_string(),
        })
        .collect();
    let removed: Vec<i64> = sync.removed.iter().map(|r| r.id.0).collect();
    store
        .update_installation_repositories(id, &added, &removed, now)
        .await?;
    info!(
        installation_id = id,
        account = %installation.account_login,
        added = added.len(),
        removed = removed.len(),
        suspended,
        "installation updated"
    );
    Ok(())
}
