-- Exports read every call's messages (about 4.5 KB of JSON each) and answer. Postgres's
-- default stores such text out of the row, pglz-compressed: every read is then a TOAST index
-- lookup, two or three chunk reads and a slow decompression, which at a million calls was
-- most of the server's export work. Kept in the row (STORAGE MAIN: out of it only when the
-- row would not fit a page) and compressed with lz4, the same messages were served with
-- about half the CPU (measured on 100,000 benchmark calls), for 12% more space than pglz.
-- Answers stay where Postgres puts them, but are compressed with lz4 too: pglz showed in
-- profiles of the export.
-- lz4 needs Postgres 14 or later built with it (Debian's and the official images are);
-- elsewhere the compression stays the server's default. Rows already stored keep their form
-- until rewritten.
DO $$
BEGIN
    ALTER TABLE model_calls
        ALTER COLUMN messages SET COMPRESSION lz4,
        ALTER COLUMN raw_answer SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available: model_calls keeps the default compression';
END
$$;
ALTER TABLE model_calls ALTER COLUMN messages SET STORAGE MAIN;
