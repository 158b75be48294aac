-- One posted review per pull request, analysis and head commit.
CREATE TABLE reviews (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    installation_id  BIGINT,
    repo             TEXT NOT NULL,
    pr               BIGINT NOT NULL,
    head_sha         TEXT NOT NULL,
    analysis         TEXT NOT NULL,                   -- tests | security
    github_review_id BIGINT,
    check_run_id     BIGINT,
    job_id           BIGINT REFERENCES jobs (id),
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (repo, pr, head_sha, analysis)
);
