import type { Database } from '../db/db';

export interface Page {
  slug: string;
  title: string;
  body: string;
  revision: number;
  updatedAt: Date;
  updatedBy: string | null;
}

export interface Revision {
  revision: number;
  body: string;
  summary: string;
  author: string | null;
  createdAt: Date;
}

export interface RecentChange {
  slug: string;
  title: string;
  revision: number;
  summary: string;
  author: string | null;
  createdAt: Date;
}

export interface SearchHit {
  slug: string;
  title: string;
  /** The start of the page's text, for its snippet (app/pages/search-snippets.ts). */
  excerpt: string;
  rank: number;
}

export interface SearchResult {
  hits: SearchHit[];
  /** The query's lexemes in PostgreSQL's english configuration: the words a snippet marks. */
  lexemes: string[];
}

export interface SaveRequest {
  slug: string;
  title: string;
  body: string;
  summary: string;
  /** The revision the editor started from; null creates the page. */
  baseRevision: number | null;
  authorId: string | null;
}

export type SaveResult = { saved: true; revision: number; created: boolean } | { saved: false; current: Page | null };

export interface ReadOptions {
  /** Read-your-writes: the caller wrote recently, so the replica may still lag behind. */
  fromWriter?: boolean;
}

export interface ViewUpload {
  key: string;
  filename: string;
  contentType: string;
  size: number;
  createdAt: Date;
}

/** Everything a page view needs, read in one statement. */
export interface PageViewRow extends Omit<Page, 'body'> {
  /** Null when the page is still at the revision the caller already holds a rendering of. */
  body: string | null;
  uploads: ViewUpload[];
  /** Which of the caller's linked slugs exist as pages. */
  existing: string[];
}

/** A slice of a long list and where the next one starts (null on the last slice). */
export interface Slice<T> {
  items: T[];
  next: string | null;
}

export type PageListItem = Pick<Page, 'slug' | 'title' | 'revision' | 'updatedAt'>;

const pageColumns = `p.slug, p.title, p.body, p.revision, p.updated_at AS "updatedAt", u.username AS "updatedBy"`;

// Slices of the lists: each costs one index range scan however large the wiki grows.
const pageListSize = 100;
const recentSize = 50;
const historySize = 50;
// Search ranks at most this many matches (the most recently edited), so a common word costs the
// same at 2,000 pages as at 2 million; snippets come from this many characters of each hit.
const searchCandidates = 200;
const snippetSourceChars = 3_000;

/**
 * A slice of all pages: the first ($1 rows), or the one after the page with slug $2. Every column
 * it reads is in pages_title_order_covering_idx, so it is an index-only scan (a test holds it to
 * that): a column added here belongs in that index too.
 */
export const pageListSql = {
  first: 'SELECT slug, title, revision, updated_at AS "updatedAt" FROM pages ORDER BY lower(title), slug LIMIT $1',
  after: `SELECT slug, title, revision, updated_at AS "updatedAt" FROM pages
           WHERE (lower(title), slug) > (SELECT lower(title), slug FROM pages WHERE slug = $2)
           ORDER BY lower(title), slug LIMIT $1`,
};

/** "recent" slices resume after (created_at, page id, revision), written as one URL-safe token. */
const recentCursorPattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_(\d{1,19})_(\d{1,10})$/;

const bigintMax = 9_223_372_036_854_775_807n;
const integerMax = 2_147_483_647;

/**
 * Null unless every part is one PostgreSQL can take: a date that exists (no month 99, no year
 * 0000, which PostgreSQL lacks), a page id within bigint and a revision within integer. A cursor
 * that passed the pattern alone made the query fail, a 500 for a hand-edited URL.
 */
export function parseRecentCursor(value: unknown): [string, string, number] | null {
  const match = typeof value === 'string' ? recentCursorPattern.exec(value) : null;
  if (!match) return null;
  const [, at = '', pageId = '', revision = ''] = match;
  // The same instant printed back (to the millisecond, all Date holds) shows the date exists.
  const parsed = new Date(at);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 23) !== at.slice(0, 23) || at < '0001') return null;
  if (BigInt(pageId) > bigintMax || Number(revision) > integerMax) return null;
  return [at, pageId, Number(revision)];
}

function sliceOf<T>(rows: T[], size: number, cursor: (last: T) => string): Slice<T> {
  const items = rows.slice(0, size);
  return { items, next: rows.length > size ? cursor(items[items.length - 1]!) : null };
}

export function createPageRepository(db: Database) {
  const saveListeners: Array<(slug: string) => void> = [];

  async function findBySlug(slug: string, options: ReadOptions = {}): Promise<Page | null> {
    const { rows } = await db.read<Page>(
      `SELECT ${pageColumns} FROM pages p LEFT JOIN users u ON u.id = p.updated_by WHERE p.slug = $1`,
      [slug],
      options,
    );
    return rows[0] ?? null;
  }

  return {
    findBySlug,

    /** Called after every saved revision on this instance (the form, the API, a revert). */
    onSave(listener: (slug: string) => void): void {
      saveListeners.push(listener);
    },

    /**
     * The page, its uploads and which of `linkedSlugs` exist, in one round trip. The body is left
     * out when the page is still at `knownRevision`: the caller has it rendered already.
     */
    async findForView(
      slug: string,
      knownRevision: number | null,
      linkedSlugs: string[],
      options: ReadOptions = {},
    ): Promise<PageViewRow | null> {
      const { rows } = await db.read<PageViewRow>(
        `SELECT p.slug, p.title, p.revision, p.updated_at AS "updatedAt", u.username AS "updatedBy",
                CASE WHEN p.revision = $2 THEN NULL ELSE p.body END AS body,
                ARRAY(SELECT e.slug FROM pages e WHERE e.slug = ANY($3::text[])) AS existing,
                ARRAY(SELECT json_build_object('key', f.key, 'filename', f.filename, 'contentType', f.content_type,
                                               'size', f.size, 'createdAt', f.created_at)
                        FROM uploads f WHERE f.page_id = p.id ORDER BY f.created_at) AS uploads
           FROM pages p LEFT JOIN users u ON u.id = p.updated_by
          WHERE p.slug = $1`,
        [slug, knownRevision ?? 0, linkedSlugs],
        { ...options, name: 'page-view' },
      );
      const row = rows[0];
      if (!row) return null;
      return { ...row, uploads: row.uploads.map((upload) => ({ ...upload, createdAt: new Date(upload.createdAt) })) };
    },

    async existing(slugs: string[], options: ReadOptions = {}): Promise<Set<string>> {
      if (slugs.length === 0) return new Set();
      const { rows } = await db.read<{ slug: string }>('SELECT slug FROM pages WHERE slug = ANY($1::text[])', [slugs], {
        ...options,
        name: 'pages-existing',
      });
      return new Set(rows.map((row) => row.slug));
    },

    /** One slice of all pages in title order, starting after the page `after`. */
    async listSlice(after: string | null): Promise<Slice<PageListItem>> {
      // One more row than a slice, to tell whether another slice follows.
      const [text, values, name] =
        after === null
          ? [pageListSql.first, [pageListSize + 1], 'pages-list-first']
          : [pageListSql.after, [pageListSize + 1, after], 'pages-list-after'];
      const { rows } = await db.read<PageListItem>(text, values, { name });
      return sliceOf(rows, pageListSize, (last) => last.slug);
    },

    async list(options: ReadOptions = {}): Promise<PageListItem[]> {
      const { rows } = await db.read<Page>(
        'SELECT slug, title, revision, updated_at AS "updatedAt" FROM pages ORDER BY lower(title), slug',
        [],
        options,
      );
      return rows;
    },

    async findRevision(slug: string, revision: number, options: ReadOptions = {}): Promise<Revision | null> {
      const { rows } = await db.read<Revision>(
        `SELECT r.revision, r.body, r.summary, u.username AS author, r.created_at AS "createdAt"
           FROM revisions r JOIN pages p ON p.id = r.page_id LEFT JOIN users u ON u.id = r.author_id
          WHERE p.slug = $1 AND r.revision = $2`,
        [slug, revision],
        options,
      );
      return rows[0] ?? null;
    },

    /** Revisions newest first, a slice at a time, starting below revision `before`. */
    async history(slug: string, before: number | null, options: ReadOptions = {}): Promise<Slice<Omit<Revision, 'body'>>> {
      const { rows } = await db.read<Revision>(
        `SELECT r.revision, r.summary, u.username AS author, r.created_at AS "createdAt"
           FROM revisions r JOIN pages p ON p.id = r.page_id LEFT JOIN users u ON u.id = r.author_id
          WHERE p.slug = $1 AND r.revision < $2::bigint ORDER BY r.revision DESC LIMIT $3`,
        [slug, before ?? Number.MAX_SAFE_INTEGER, historySize + 1],
        { ...options, name: 'page-history' },
      );
      return sliceOf(rows, historySize, (last) => String(last.revision));
    },

    /** Changes newest first, a slice at a time, starting after the cursor of the previous slice. */
    async recent(after: [string, string, number] | null, options: ReadOptions = {}): Promise<Slice<RecentChange>> {
      // Two statements rather than "cursor IS NULL OR ...": each keeps a plan that walks the index.
      const { rows } = await db.read<RecentChange & { cursor: string }>(
        `SELECT p.slug, p.title, r.revision, r.summary, u.username AS author, r.created_at AS "createdAt",
                to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '_' || r.page_id || '_' || r.revision AS cursor
           FROM revisions r JOIN pages p ON p.id = r.page_id LEFT JOIN users u ON u.id = r.author_id
          ${after ? 'WHERE (r.created_at, r.page_id, r.revision) < ($2::timestamptz, $3::bigint, $4::int)' : ''}
          ORDER BY r.created_at DESC, r.page_id DESC, r.revision DESC LIMIT $1`,
        [recentSize + 1, ...(after ?? [])],
        { ...options, name: after ? 'recent-changes-after' : 'recent-changes-first' },
      );
      return sliceOf(rows, recentSize, (last) => last.cursor);
    },

    /**
     * Ranks only the most recently edited matches (bounded by searchCandidates), and returns the
     * start of each hit's text for the web tier to build its snippet: ts_headline re-parsed every
     * hit, and was most of a search's database time.
     */
    async search(query: string, limit = 20): Promise<SearchResult> {
      const { rows } = await db.read<SearchHit & { lexemes: string[] }>(
        `WITH query AS (SELECT websearch_to_tsquery('english', $1) AS q, tsvector_to_array(to_tsvector('english', $1)) AS lexemes),
              candidates AS (
                SELECT p.id, p.updated_at FROM pages p, query WHERE p.search_vector @@ query.q
                 ORDER BY p.updated_at DESC LIMIT $3),
              top AS (
                SELECT c.id, c.updated_at, ts_rank(p.search_vector, query.q) AS rank
                  FROM candidates c JOIN pages p ON p.id = c.id, query
                 ORDER BY rank DESC, c.updated_at DESC LIMIT $2)
         SELECT p.slug, p.title, top.rank, left(p.body, $4) AS excerpt, query.lexemes
           FROM top JOIN pages p ON p.id = top.id, query
          ORDER BY top.rank DESC, top.updated_at DESC`,
        [query, limit, searchCandidates, snippetSourceChars],
        { name: 'search' },
      );
      return { hits: rows.map(({ lexemes: _lexemes, ...hit }) => hit), lexemes: rows[0]?.lexemes ?? [] };
    },

    /**
     * Saves a new revision only if the page is still at baseRevision: the conditional UPDATE is
     * the optimistic lock, so two editors racing can never overwrite each other silently.
     */
    async saveRevision(request: SaveRequest): Promise<SaveResult> {
      const outcome = await db.withTransaction(async (client) => {
        const written =
          request.baseRevision === null
            ? await client.query<{ id: string; revision: number }>(
                `INSERT INTO pages (slug, title, body, revision, updated_by) VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (slug) DO NOTHING RETURNING id, revision`,
                [request.slug, request.title, request.body, request.authorId],
              )
            : await client.query<{ id: string; revision: number }>(
                `UPDATE pages SET body = $3, revision = revision + 1, updated_at = now(), updated_by = $4
                  WHERE slug = $1 AND revision = $2 RETURNING id, revision`,
                [request.slug, request.baseRevision, request.body, request.authorId],
              );
        const row = written.rows[0];
        if (!row) return null;
        await client.query('INSERT INTO revisions (page_id, revision, body, summary, author_id) VALUES ($1, $2, $3, $4, $5)', [
          row.id,
          row.revision,
          request.body,
          request.summary,
          request.authorId,
        ]);
        return row.revision;
      });
      if (outcome === null) return { saved: false, current: await findBySlug(request.slug, { fromWriter: true }) };
      for (const listener of saveListeners) listener(request.slug);
      return { saved: true, revision: outcome, created: request.baseRevision === null };
    },
  };
}

export type PageRepository = ReturnType<typeof createPageRepository>;
