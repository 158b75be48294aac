-- A suggested test or a security finding, as posted (or as it would have been posted).
CREATE TABLE suggestions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    model_call_id     BIGINT REFERENCES model_calls (id),  -- NULL for built-in analyzers
    review_id         BIGINT REFERENCES reviews (id),
    repo              TEXT NOT NULL,
    pr                BIGINT NOT NULL,
    head_sha          TEXT NOT NULL,
    kind              TEXT NOT NULL,                  -- test | security
    source            TEXT NOT NULL,                  -- model | analyzer
    category          TEXT NOT NULL,                  -- rule id, CWE or test kind: the noise-control unit
    path              TEXT NOT NULL,
    line              INTEGER,
    anchor            TEXT NOT NULL,                  -- line | file | summary
    severity          TEXT,
    confidence        REAL,
    cwe               TEXT,
    fingerprint       TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT NOT NULL,
    original          TEXT NOT NULL,                  -- the item as the model produced it (JSON text)
    github_comment_id BIGINT,
    created_at        TEXT NOT NULL,
    UNIQUE (repo, pr, fingerprint)
);
CREATE INDEX suggestions_model_call ON suggestions (model_call_id);
CREATE INDEX suggestions_comment ON suggestions (github_comment_id);
