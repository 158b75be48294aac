-- GitHub App installations and the repositories each one grants us.
-- Timestamps are TEXT in one fixed-width UTC format (YYYY-MM-DDTHH:MM:SS.ffffffZ) so they sort and compare as strings.
CREATE TABLE installations (
    id                   BIGINT PRIMARY KEY,          -- GitHub's installation id
    account_login        TEXT NOT NULL,
    account_type         TEXT NOT NULL,               -- User | Organization | Enterprise
    repository_selection TEXT NOT NULL,               -- all | selected
    suspended            INTEGER NOT NULL DEFAULT 0,
    deleted_at           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE installation_repositories (
    installation_id BIGINT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    repo_id         BIGINT NOT NULL,                  -- GitHub's repository id
    full_name       TEXT NOT NULL,                    -- owner/name, lowercase
    added_at        TEXT NOT NULL,
    PRIMARY KEY (installation_id, repo_id)
);
CREATE INDEX installation_repositories_full_name ON installation_repositories (full_name);
