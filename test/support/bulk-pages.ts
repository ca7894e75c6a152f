import type { Database } from '../../app/db/db';

/**
 * Inserts `count` one-revision pages named `<prefix>_001`, `<prefix>_002`, ... in one statement,
 * behind the app's back (as another instance would write them), and returns their slugs in order.
 */
export async function insertPages(db: Database, prefix: string, count: number): Promise<string[]> {
  await db.query(
    `WITH made AS (
       INSERT INTO pages (slug, title, body, revision)
       SELECT $1 || '_' || lpad(n::text, 3, '0'), $1 || ' ' || lpad(n::text, 3, '0'), 'bulk text', 1 FROM generate_series(1, $2::int) n
       RETURNING id, body)
     INSERT INTO revisions (page_id, revision, body) SELECT id, 1, body FROM made`,
    [prefix, count],
  );
  return Array.from({ length: count }, (_, index) => `${prefix}_${String(index + 1).padStart(3, '0')}`);
}
