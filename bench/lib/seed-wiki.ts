import pg from 'pg';

export interface SeedSize {
  pages: number;
  revisionsPerPage: number;
}

/**
 * Fills the database with `pages` pages of `revisionsPerPage` revisions each, in a few statements.
 * Every page mentions "health" (so a search for it matches them all, the worst case for ranking)
 * and links to two neighbours, one of which does not exist.
 */
export async function seedWiki(databaseUrl: string, size: SeedSize): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `WITH made AS (
         INSERT INTO pages (slug, title, body, revision)
         SELECT 'Bench_' || lpad(n::text, 5, '0'), 'Bench ' || lpad(n::text, 5, '0'),
                '# Bench page ' || n || E'\\n\\n' ||
                repeat('The health of a web tier is checked by the load balancer every few seconds. ', 12) ||
                E'\\n\\nSee [[Bench ' || lpad((n % $1 + 1)::text, 5, '0') || ']] and [[Missing ' || n || E']].\\n\\n' ||
                repeat('Instances drain, replicas lag, and sessions live in DynamoDB. ', 8),
                $2
           FROM generate_series(1, $1) n
         ON CONFLICT (slug) DO NOTHING
         RETURNING id, body)
       INSERT INTO revisions (page_id, revision, body, summary)
       SELECT made.id, r, made.body, 'bench revision ' || r FROM made, generate_series(1, $2) r`,
      [size.pages, size.revisionsPerPage],
    );
    await client.query('COMMIT');
    // Vacuumed now rather than by autovacuum in the middle of a measured run: 20,000 inserted
    // revisions are past its insert threshold, and its work shares the cores with the figures.
    await client.query('VACUUM (ANALYZE) pages, revisions');
  } finally {
    await client.end();
  }
}
