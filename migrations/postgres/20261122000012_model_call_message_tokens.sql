-- Tokens of a call's messages (o200k, counted as the fine-tuning validators count them),
-- recorded when the call is made so that exports do not tokenize every prompt again.
-- NULL for calls recorded before this column: exports count those themselves.
ALTER TABLE model_calls ADD COLUMN message_tokens BIGINT;
