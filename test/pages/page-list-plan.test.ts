import { pageListSql } from '../../app/pages/repository';
import { buildTestApp, type TestApp } from '../support/app';

// A slice of all pages costs one index range scan however large the wiki grows, and reads no table
// rows: every column it shows is in pages_title_order_covering_idx. PostgreSQL's own plan is the
// evidence. A column added to the query but not to the index turns the scan into an Index Scan.

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  Plans?: PlanNode[];
}

/** The scans that read the slice itself: not the InitPlan that looks up where a later slice starts. */
function sliceScans(node: PlanNode): PlanNode[] {
  if (node['Parent Relationship'] === 'InitPlan') return [];
  const own = node['Relation Name'] ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(sliceScans)];
}

let wiki: TestApp;
beforeAll(async () => {
  wiki = buildTestApp();
  // Index-only scans are planned from the visibility map, which VACUUM fills.
  await wiki.db.query('VACUUM (ANALYZE) pages');
});
afterAll(() => wiki.close());

test.each(Object.entries(pageListSql))(
  'when the %s slice of all pages is planned, then it reads the covering index only',
  async (_slice, sql) => {
    const plan = await wiki.db.withTransaction(async (client) => {
      // A test database holds a few pages, where reading the whole table is cheaper: plan as a large wiki would.
      await client.query(`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
      const params = sql.includes('$2') ? [101, 'Home'] : [101];
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      return rows[0]!['QUERY PLAN'][0].Plan;
    });
    expect(sliceScans(plan).map((scan) => [scan['Node Type'], scan['Index Name']])).toEqual([
      ['Index Only Scan', 'pages_title_order_covering_idx'],
    ]);
  },
);
