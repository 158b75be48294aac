-- Every model call, exactly as sent and received: the raw material of the fine-tuning exports.
-- messages, response_format and raw_answer are TEXT, not JSONB: JSONB reorders keys and
-- normalises whitespace, and exports must reproduce the request byte for byte.
CREATE TABLE model_calls (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    installation_id BIGINT,
    repo            TEXT NOT NULL,
    pr              BIGINT,
    head_sha        TEXT,
    job_id          BIGINT REFERENCES jobs (id),
    analysis        TEXT NOT NULL,                    -- tests | security
    prompt_id       TEXT NOT NULL,
    prompt_version  TEXT NOT NULL,
    provider        TEXT NOT NULL,                    -- azure | openai-compatible
    model           TEXT NOT NULL,
    deployment      TEXT,
    messages        TEXT NOT NULL,
    response_format TEXT,
    raw_answer      TEXT,
    finish_reason   TEXT,
    status          TEXT NOT NULL,                    -- ok | invalid_output | error
    error           TEXT,
    tokens_in       INTEGER,
    tokens_out      INTEGER,
    latency_ms      INTEGER NOT NULL,
    attempt         INTEGER NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX model_calls_repo_created ON model_calls (repo, created_at);
CREATE INDEX model_calls_prompt ON model_calls (prompt_id, prompt_version);
