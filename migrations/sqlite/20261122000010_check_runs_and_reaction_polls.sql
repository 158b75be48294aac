-- The facts behind each completed `reviewbot` check run (JSON), so a triage can re-render its
-- verdict without reviewing again; the latest per head commit.
CREATE TABLE check_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    repo                TEXT NOT NULL,
    pr                  BIGINT NOT NULL,
    head_sha            TEXT NOT NULL,
    github_check_run_id BIGINT NOT NULL,
    facts               TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (repo, pr, head_sha)
);

-- The last reaction poll of each of our comments: its ETag makes the next poll conditional.
CREATE TABLE reaction_polls (
    github_comment_id BIGINT PRIMARY KEY,
    etag              TEXT,
    polled_at         TEXT NOT NULL
);

-- Which installation a pull request belongs to, and whether it is open: the periodic poll
-- visits open ones.
ALTER TABLE pull_requests ADD COLUMN installation_id BIGINT;
ALTER TABLE pull_requests ADD COLUMN is_open INTEGER NOT NULL DEFAULT 1;
