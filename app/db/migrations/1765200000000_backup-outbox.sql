-- Up Migration
-- The backup copy's outbox (app/backup/outbox.ts). Every acknowledged change leaves a row here in
-- its own transaction, so a save that commits is never lost to the backup, whatever happens to the
-- instance after the commit; publishers on any instance claim rows, write the page to the backup
-- bucket and delete the rows only then.
--
-- Triggers write the rows rather than the app's save code: during a rolling release the previous
-- release still saves pages, and it knows nothing of this table (migrations are expand-only). A
-- trigger catches its saves too, and every other way a revision or an upload is written.
CREATE TABLE backup_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug text NOT NULL,
  -- When the change was acknowledged: the backup's lag is the age of the oldest row.
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A publisher's claim on the row lasts until then (a lease: a crashed publisher's rows come back
  -- by themselves); after a failed write, when the next attempt may start.
  available_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX backup_outbox_available_idx ON backup_outbox (available_at, id);

-- The site-wide files (all pages, recent changes, the search index) are rewritten from the
-- database after pages are published. One row holds their state: changed_at is the oldest change
-- they do not show yet; in_flight_since the oldest one a claimed rebuild is writing; claim_id
-- tells a rebuild whose lease ran out that its claim has passed to another publisher.
CREATE TABLE backup_site (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  changed_at timestamptz,
  in_flight_since timestamptz,
  available_at timestamptz NOT NULL DEFAULT now(),
  claim_id bigint NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0
);
-- A wiki that has pages before this migration gets all of them published once.
INSERT INTO backup_site (changed_at) VALUES (now());
INSERT INTO backup_outbox (slug) SELECT slug FROM pages;

CREATE FUNCTION backup_outbox_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO backup_outbox (slug) SELECT slug FROM pages WHERE id = NEW.page_id;
  RETURN NULL;
END $$;
-- A save and a revert each insert one revision; an upload inserts one uploads row.
CREATE TRIGGER backup_outbox_on_revision AFTER INSERT ON revisions FOR EACH ROW EXECUTE FUNCTION backup_outbox_revision();
CREATE TRIGGER backup_outbox_on_upload AFTER INSERT ON uploads FOR EACH ROW EXECUTE FUNCTION backup_outbox_revision();

-- Down Migration
DROP TRIGGER backup_outbox_on_upload ON uploads;
DROP TRIGGER backup_outbox_on_revision ON revisions;
DROP FUNCTION backup_outbox_revision();
DROP TABLE backup_site;
DROP TABLE backup_outbox;
