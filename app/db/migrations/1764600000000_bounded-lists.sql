-- Up Migration
-- Each list is read a slice at a time (app/data/pages.ts): these indexes let every slice start
-- where the previous one ended, so its cost does not grow with the wiki.
CREATE INDEX pages_title_order_idx ON pages (lower(title), slug);
CREATE INDEX revisions_recent_idx ON revisions (created_at DESC, page_id DESC, revision DESC);
DROP INDEX revisions_created_at_idx;

-- Down Migration
CREATE INDEX revisions_created_at_idx ON revisions (created_at DESC);
DROP INDEX revisions_recent_idx;
DROP INDEX pages_title_order_idx;
