import type { Database } from './db';

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
  /** ts_headline output with matches between \u0001 and \u0002; escape, then mark. */
  snippet: string;
  rank: number;
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

const pageColumns = `p.slug, p.title, p.body, p.revision, p.updated_at AS "updatedAt", u.username AS "updatedBy"`;

export function createPageRepository(db: Database) {
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

    async existing(slugs: string[], options: ReadOptions = {}): Promise<Set<string>> {
      if (slugs.length === 0) return new Set();
      const { rows } = await db.read<{ slug: string }>('SELECT slug FROM pages WHERE slug = ANY($1::text[])', [slugs], options);
      return new Set(rows.map((row) => row.slug));
    },

    async list(): Promise<Array<Pick<Page, 'slug' | 'title' | 'revision' | 'updatedAt'>>> {
      const { rows } = await db.read<Page>(
        'SELECT slug, title, revision, updated_at AS "updatedAt" FROM pages ORDER BY lower(title), slug',
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

    async history(slug: string, options: ReadOptions = {}): Promise<Array<Omit<Revision, 'body'>>> {
      const { rows } = await db.read<Revision>(
        `SELECT r.revision, r.summary, u.username AS author, r.created_at AS "createdAt"
           FROM revisions r JOIN pages p ON p.id = r.page_id LEFT JOIN users u ON u.id = r.author_id
          WHERE p.slug = $1 ORDER BY r.revision DESC LIMIT 500`,
        [slug],
        options,
      );
      return rows;
    },

    async recent(limit = 50): Promise<RecentChange[]> {
      const { rows } = await db.read<RecentChange>(
        `SELECT p.slug, p.title, r.revision, r.summary, u.username AS author, r.created_at AS "createdAt"
           FROM revisions r JOIN pages p ON p.id = r.page_id LEFT JOIN users u ON u.id = r.author_id
          ORDER BY r.created_at DESC, r.revision DESC LIMIT $1`,
        [limit],
      );
      return rows;
    },

    async search(query: string, limit = 20): Promise<SearchHit[]> {
      const { rows } = await db.read<SearchHit>(
        `SELECT slug, title, ts_rank(search_vector, q) AS rank,
                ts_headline('english', body, q, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxFragments=2, MaxWords=30, MinWords=10') AS snippet
           FROM pages, websearch_to_tsquery('english', $1) q
          WHERE search_vector @@ q
          ORDER BY rank DESC, updated_at DESC LIMIT $2`,
        [query, limit],
      );
      return rows;
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
      return { saved: true, revision: outcome, created: request.baseRevision === null };
    },
  };
}

export type PageRepository = ReturnType<typeof createPageRepository>;
