-- Up Migration
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- pages holds the current text of each page (one row read per page view); revisions keeps
-- every version. revision is the page's own counter: 1, 2, 3 ... and the optimistic-lock token.
CREATE TABLE pages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  body text NOT NULL,
  revision integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by bigint REFERENCES users (id),
  search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
  ) STORED
);
CREATE INDEX pages_search_idx ON pages USING gin (search_vector);
CREATE INDEX pages_updated_at_idx ON pages (updated_at DESC);

CREATE TABLE revisions (
  page_id bigint NOT NULL REFERENCES pages (id),
  revision integer NOT NULL,
  body text NOT NULL,
  summary text NOT NULL DEFAULT '',
  author_id bigint REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (page_id, revision)
);
CREATE INDEX revisions_created_at_idx ON revisions (created_at DESC);

-- Files live in S3 only; this row is what the wiki knows about each one.
CREATE TABLE uploads (
  key text PRIMARY KEY,
  page_id bigint NOT NULL REFERENCES pages (id),
  filename text NOT NULL,
  content_type text NOT NULL,
  size integer NOT NULL,
  uploaded_by bigint REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_page_idx ON uploads (page_id, created_at);

-- Down Migration
DROP TABLE uploads;
DROP TABLE revisions;
DROP TABLE pages;
DROP TABLE users;
