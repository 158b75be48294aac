-- Reviews get a round: 0 is the automatic review of a head commit; a `/reviewbot review`
-- command uses its comment id, so an explicit re-run of a reviewed head is a new review and
-- still recorded once. The unique key becomes (repo, pr, head_sha, analysis, round).
--
-- SQLite cannot alter a constraint, so the table is rebuilt. sqlx runs this file in a
-- transaction, where `PRAGMA foreign_keys = OFF` is a no-op, and our connections enforce
-- foreign keys: dropping `reviews` while suggestions point at it fails at once. With
-- `defer_foreign_keys` the check waits for the commit instead; dropping the table counts the
-- orphaned suggestions and re-inserting their reviews (same ids) into the new `reviews`
-- counts them back, so the commit succeeds exactly when every reference is valid again. The
-- new table is created under its final name (not renamed into place): a rename adds no rows
-- and would leave the count unbalanced. `defer_foreign_keys` resets itself at the commit.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE reviews_before_rounds AS SELECT * FROM reviews;
-- DROP TABLE forgets the AUTOINCREMENT high-water mark; keep it so ids are never reused.
CREATE TABLE reviews_before_rounds_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'reviews';

DROP TABLE reviews;

-- One review per pull request, analysis, head commit and round.
CREATE TABLE reviews (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    installation_id  BIGINT,
    repo             TEXT NOT NULL,
    pr               BIGINT NOT NULL,
    head_sha         TEXT NOT NULL,
    analysis         TEXT NOT NULL,                   -- tests | security
    github_review_id BIGINT,                          -- NULL until posted
    check_run_id     BIGINT,
    job_id           BIGINT REFERENCES jobs (id),
    created_at       TEXT NOT NULL,
    round            BIGINT NOT NULL DEFAULT 0,       -- 0 automatic; else the command's comment id
    UNIQUE (repo, pr, head_sha, analysis, round)
);

INSERT INTO reviews (id, installation_id, repo, pr, head_sha, analysis, github_review_id,
                     check_run_id, job_id, created_at, round)
SELECT id, installation_id, repo, pr, head_sha, analysis, github_review_id,
       check_run_id, job_id, created_at, 0
FROM reviews_before_rounds ORDER BY id;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'reviews', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'reviews');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM reviews_before_rounds_seq), 0))
WHERE name = 'reviews';

DROP TABLE reviews_before_rounds;
DROP TABLE reviews_before_rounds_seq;

-- A review's suggestions (prepare, finish and discard a review; list them).
CREATE INDEX suggestions_review ON suggestions (review_id);

-- Per pull request state: paused by `/reviewbot pause` until `/reviewbot resume`.
CREATE TABLE pull_requests (
    repo       TEXT NOT NULL,                         -- owner/name
    pr         BIGINT NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0,
    paused_by  TEXT,                                  -- the login that last paused or resumed
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repo, pr)
);
