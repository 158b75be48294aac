-- Work an export would otherwise redo for every call, done once when the call is recorded:
-- answer_tokens: per item of raw_answer, its o200k tokens followed by the next item's start
--   and followed by the list's end, as a JSON array of pairs (exports add them up exactly);
-- messages_scan: the fingerprint of the redaction patterns, none of which matched in
--   messages (exports scan the messages again once the patterns change).
-- NULL for calls recorded before these columns: exports do that work themselves.
ALTER TABLE model_calls ADD COLUMN answer_tokens TEXT;
ALTER TABLE model_calls ADD COLUMN messages_scan TEXT;
