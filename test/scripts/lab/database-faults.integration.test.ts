import pg from 'pg';
import { startTestLab, type TestLab } from '../support/lab';

/** One query on a fresh connection, as an app instance would open after a failover. */
async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = [], timeoutMs = 3000): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A client whose server vanished reports the error here too; the caller sees it as a rejection.
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

const answers = (url: string) =>
  query(url, 'SELECT 1', [], 1000).then(
    () => true,
    () => false,
  );

describe('the lab database: a primary, a streaming replica in lab-b, and the faults against them', () => {
  let lab: TestLab;
  let writerUrl: string;
  let readerUrl: string;
  beforeAll(async () => {
    lab = await startTestLab({ replica: true });
    writerUrl = lab.services.env.DATABASE_URL!;
    readerUrl = lab.services.env.DATABASE_READ_URL!;
    await query(writerUrl, 'CREATE TABLE IF NOT EXISTS edits (id serial PRIMARY KEY, body text NOT NULL)');
  }, 120_000);
  afterAll(() => lab?.dispose(), 60_000);
  const streaming = () => lab.waitForStatus('the replica streaming', (s) => s.services.replica === 'streaming', 60_000);

  test('when started with a replica, then the instances get a reader URL, and the reader sees the writer’s rows read-only', async () => {
    expect(readerUrl).toMatch(/^postgres:\/\//);
    expect(readerUrl).not.toBe(writerUrl);
    expect(lab.status().database).toEqual({ replicaZone: 'lab-b' });
    const [inserted] = await query<{ id: number }>(writerUrl, 'INSERT INTO edits (body) VALUES ($1) RETURNING id', ['first']);
    await lab.services.replication!.lag(); // the replica is attached: pg_stat_replication has its row
    let seen: { body: string }[] = [];
    for (let attempt = 0; attempt < 50 && seen.length === 0; attempt += 1)
      seen = await query<{ body: string }>(readerUrl, 'SELECT body FROM edits WHERE id = $1', [inserted!.id]);
    expect(seen).toEqual([{ body: 'first' }]);
    await expect(query(readerUrl, "INSERT INTO edits (body) VALUES ('no')")).rejects.toThrow(/read-only/);
  });

  test('replica: when stopped, then the reader refuses and the writer works; after the fault it streams again and catches up', async () => {
    await streaming();
    const fault = await lab.faults.inject({ fault: 'replica', seconds: 3 });
    expect(fault).toMatchObject({ fault: 'replica', victims: [] });
    expect(lab.status().services.replica).toBe('stopped');
    expect(await answers(readerUrl)).toBe(false);
    await query(writerUrl, "INSERT INTO edits (body) VALUES ('while the replica was down')");
    await streaming();
    await lab.waitForStatus('the fault over', (s) => s.faults.active.length === 0, 10_000);
    const rows = await query(readerUrl, "SELECT 1 FROM edits WHERE body = 'while the replica was down'");
    expect(rows).toHaveLength(1);
  }, 60_000);

  test('az: when the replica’s zone fails, then the replica goes down with it and comes back with the zone', async () => {
    await streaming();
    const fault = await lab.faults.inject({ fault: 'az', az: 'b', seconds: 3 });
    expect(fault.zone).toBe('lab-b');
    expect(fault.description).toContain('database replica');
    expect(lab.status().services.replica).toBe('stopped');
    expect(await answers(writerUrl)).toBe(true);
    await streaming();
  }, 60_000);

  test('db-freeze: when PostgreSQL is frozen, then nothing answers although it runs, and it answers again afterwards', async () => {
    await lab.faults.inject({ fault: 'db-freeze', seconds: 4 });
    expect(lab.status().services.postgres).toBe('frozen');
    const started = Date.now();
    expect(await answers(writerUrl)).toBe(false);
    // Frozen, not stopped: the kernel accepts the connection and nothing ever answers it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await lab.waitForStatus('PostgreSQL thawed', (s) => s.services.postgres === 'running', 15_000);
    expect(await answers(writerUrl)).toBe(true);
  }, 30_000);

  test('db-failover: when the primary fails over while edits are written, then writes come back and no acknowledged edit is lost, twice', async () => {
    for (const round of [1, 2]) {
      await streaming();
      const acknowledged: string[] = [];
      let writing = true;
      const writer = (async () => {
        for (let n = 0; writing; n += 1) {
          const body = `round ${round} edit ${n}`;
          try {
            await query(writerUrl, 'INSERT INTO edits (body) VALUES ($1)', [body], 1000);
            acknowledged.push(body);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const fault = await lab.faults.inject({ fault: 'db-failover' });
      expect(fault.writesBackAfterSeconds).toBeGreaterThan(0);
      expect(fault.writesBackAfterSeconds).toBeLessThan(30);
      await new Promise((resolve) => setTimeout(resolve, 500));
      writing = false;
      await writer;
      const stored = new Set(
        (await query<{ body: string }>(writerUrl, 'SELECT body FROM edits WHERE body LIKE $1', [`round ${round} %`])).map((r) => r.body),
      );
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(acknowledged.filter((body) => !stored.has(body))).toEqual([]);
      // The old primary comes back as the new replica, in the other zone: the next failover has a standby.
      const status = await streaming();
      expect(status.database?.replicaZone).toBe(round === 1 ? 'lab-a' : 'lab-b');
    }
  }, 120_000);

  test('db-failover: when there is no running replica, then the fault is refused with 409 and nothing changes', async () => {
    await streaming();
    await lab.faults.inject({ fault: 'replica', seconds: 2 });
    await expect(lab.faults.inject({ fault: 'db-failover' })).rejects.toMatchObject({ status: 409 });
    expect(await answers(writerUrl)).toBe(true);
    await streaming();
  }, 30_000);
});
