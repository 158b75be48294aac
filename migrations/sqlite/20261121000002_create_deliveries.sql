-- Every webhook delivery we accepted, keyed by X-GitHub-Delivery (the same GUID on redelivery).
CREATE TABLE deliveries (
    delivery_id     TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    action          TEXT,
    installation_id BIGINT,
    repo            TEXT,
    outcome         TEXT NOT NULL,                    -- queued | ignored
    jobs_enqueued   INTEGER NOT NULL DEFAULT 0,
    received_at     TEXT NOT NULL
);
CREATE INDEX deliveries_received_at ON deliveries (received_at);
