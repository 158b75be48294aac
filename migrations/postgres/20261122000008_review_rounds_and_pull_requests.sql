-- Reviews get a round: 0 is the automatic review of a head commit; a `/reviewbot review`
-- command uses its comment id, so an explicit re-run of a reviewed head is a new review and
-- still recorded once. The unique key becomes (repo, pr, head_sha, analysis, round).
ALTER TABLE reviews ADD COLUMN round BIGINT NOT NULL DEFAULT 0;  -- 0 automatic; else the command's comment id
-- The old key was declared inline in 20261121000004, so it has Postgres's default name.
ALTER TABLE reviews DROP CONSTRAINT reviews_repo_pr_head_sha_analysis_key;
ALTER TABLE reviews ADD CONSTRAINT reviews_repo_pr_head_sha_analysis_round_key
    UNIQUE (repo, pr, head_sha, analysis, round);

-- A review's suggestions (prepare, finish and discard a review; list them).
CREATE INDEX suggestions_review ON suggestions (review_id);

-- Per pull request state: paused by `/reviewbot pause` until `/reviewbot resume`.
CREATE TABLE pull_requests (
    repo       TEXT NOT NULL,                         -- owner/name
    pr         BIGINT NOT NULL,
    paused     BOOLEAN NOT NULL DEFAULT FALSE,
    paused_by  TEXT,                                  -- the login that last paused or resumed
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (repo, pr)
);
