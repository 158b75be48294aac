-- Postgres only (how it stores model_calls.messages); the SQLite twin keeps the two
-- migration folders in step. SQLite keeps a row's text together already.
SELECT 1;
