-- Up Migration
-- The per-user upload quota (app/uploads/router.ts) sums one user's upload sizes before each
-- upload: with the size in the index, that is an index-only scan of that user's rows.
CREATE INDEX uploads_uploaded_by_idx ON uploads (uploaded_by) INCLUDE (size);

-- Down Migration
DROP INDEX uploads_uploaded_by_idx;
