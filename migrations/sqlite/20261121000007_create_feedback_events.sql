-- Append-only human (and implicit) verdicts on suggestions; redelivery is a no-op thanks to github_id.
CREATE TABLE feedback_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    suggestion_id BIGINT NOT NULL REFERENCES suggestions (id),
    github_id     TEXT NOT NULL UNIQUE,               -- e.g. comment:123, reaction:456, adoption:<sha>:<id>
    source        TEXT NOT NULL,                      -- command | reaction | adoption | thread | close
    action        TEXT NOT NULL,                      -- accept | reject | modify | triage | ignore | retract | resolve | unresolve
    actor         TEXT NOT NULL,
    role          TEXT NOT NULL,                      -- author | writer | security_reviewer | system
    reason        TEXT,                               -- reject reason or triage state
    note          TEXT,
    human_text    TEXT,                               -- the human's version for modify
    occurred_at   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX feedback_events_suggestion ON feedback_events (suggestion_id, occurred_at);
