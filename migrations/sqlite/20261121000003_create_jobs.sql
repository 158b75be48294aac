-- The durable job queue. A job is claimed under a lease; an expired lease makes it claimable again.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,                   -- serialized typed job (JSON text, kept verbatim)
    delivery_id      TEXT REFERENCES deliveries (delivery_id),
    supersede_key    TEXT,                            -- a newer queued job with the same key replaces older ones
    state            TEXT NOT NULL,                   -- queued | running | done | dead | superseded
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_at           TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    superseded_by    BIGINT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX jobs_claimable ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_supersede_key ON jobs (supersede_key) WHERE state = 'queued';
CREATE INDEX jobs_delivery ON jobs (delivery_id);
