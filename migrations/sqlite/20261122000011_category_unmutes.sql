-- `/reviewbot unmute <category>`: noise control counts only verdicts on suggestions made after
-- the latest unmute of a repository's category.
CREATE TABLE category_unmutes (
    repo        TEXT NOT NULL,
    category    TEXT NOT NULL,
    unmuted_by  TEXT NOT NULL,
    unmuted_at  TEXT NOT NULL,
    PRIMARY KEY (repo, category)
);

-- Recent suggestions of a repository by category or kind (noise control, learnings).
CREATE INDEX suggestions_repo_category ON suggestions (repo, category, id);
CREATE INDEX suggestions_repo_kind ON suggestions (repo, kind, id);
