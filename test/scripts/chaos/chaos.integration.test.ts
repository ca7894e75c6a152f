import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { local } from '../../../app/contracts';
import { root, settled, startTestLab, type TestLab } from '../support/lab';

const run = promisify(execFile);

/** `npm run chaos -- <args>` against the test lab, as a person would run it. */
async function chaos(lab: TestLab, ...args: string[]): Promise<string> {
  const { stdout } = await run(join(root, 'node_modules/.bin/tsx'), ['scripts/chaos/cli.ts', ...args, '--lab', lab.statusUrl], {
    cwd: root,
    timeout: 90_000,
  });
  return stdout;
}

async function databaseAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function sessionTables(endpoint: string): Promise<string[] | undefined> {
  const client = new DynamoDBClient({ endpoint, region: local.region, credentials: local.credentials, maxAttempts: 1 });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

describe('npm run chaos (local faults against the lab)', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab();
  }, 120_000);
  afterAll(() => lab?.dispose(), 60_000);
  beforeEach(() => lab.waitForStatus('the group settled', settled, 45_000), 60_000);

  test('instance: when one is killed, then chaos follows the group until it is replaced', async () => {
    const before = lab.status().instances.map((i) => i.id);
    const output = await chaos(lab, 'instance');
    expect(output).toMatch(/injected: killed (i-[0-9a-f]+)/);
    expect(output).toMatch(/recovered \d+ s after the fault began/);
    const [record] = lab.faults.history;
    expect(record).toMatchObject({ fault: 'instance', victims: [expect.stringMatching(/^i-[0-9a-f]+$/)] });
    expect(before).toContain(record!.victims[0]);
    expect(lab.status().instances.map((i) => i.id)).not.toContain(record!.victims[0]);
  }, 120_000);

  test('--json: when a fault is injected, then stdout is its record with the victims and the zone as data', async () => {
    const zoneInstances = lab
      .status()
      .instances.filter((i) => i.az === 'lab-c')
      .map((i) => i.id);
    const output = await chaos(lab, 'az', '--az', 'c', '--seconds', '2', '--no-follow', '--json');
    const record = JSON.parse(output) as { fault: string; victims: string[]; zone?: string };
    expect(record).toMatchObject({ fault: 'az', zone: 'lab-c' });
    expect(record.victims.sort()).toEqual(zoneInstances.sort());
  }, 60_000);

  test('az: when a zone fails, then its instances die and are replaced elsewhere until it returns', async () => {
    await chaos(lab, 'az', '--az', 'b', '--seconds', '8', '--no-follow');
    const during = await lab.waitForStatus('replacements outside lab-b', (s) => settled(s) && !s.instances.some((i) => i.az === 'lab-b'));
    expect(during.zones.find((zone) => zone.name === 'lab-b')).toMatchObject({ available: false, instances: 0 });
    // Once the zone is back, AZRebalance puts an instance there again.
    const after = await lab.waitForStatus(
      'an instance in lab-b again',
      (s) => settled(s) && s.zones.every((zone) => zone.instances === 1),
      45_000,
    );
    expect(after.zones.every((zone) => zone.available)).toBe(true);
  }, 120_000);

  test('database: when PostgreSQL is stopped, then it refuses connections, and answers again after the fault', async () => {
    await chaos(lab, 'database', '--seconds', '3', '--no-follow');
    expect(lab.faults.history[0]).toMatchObject({ fault: 'database', victims: [] });
    expect(lab.status().services.postgres).toBe('stopped');
    expect(await databaseAnswers(lab.services.postgres.url)).toBe(false);
    await lab.waitForStatus('PostgreSQL running', (s) => s.services.postgres === 'running', 30_000);
    expect(await databaseAnswers(lab.services.postgres.url)).toBe(true);
  }, 60_000);

  test('sessions: when DynamoDB Local is stopped, then it is unreachable, and comes back with the sessions table', async () => {
    await chaos(lab, 'sessions', '--seconds', '3', '--no-follow');
    expect(await sessionTables(lab.services.dynamodb.endpoint)).toBeUndefined();
    await lab.waitForStatus('DynamoDB Local running', (s) => s.services.dynamodb === 'running', 60_000);
    expect(await sessionTables(lab.services.dynamodb.endpoint)).toContain(local.sessionTable);
  }, 90_000);

  test('all-web: when every instance dies, then the load balancer serves the backup site until the group is back', async () => {
    const output = await chaos(lab, 'all-web', '--seconds', '4');
    expect(output).toContain('LB: BACKUP SITE');
    expect(output).toMatch(/recovered \d+ s after the fault began/);
  }, 120_000);

  test('when the fault is unknown, then chaos exits non-zero naming the faults it knows', async () => {
    await expect(chaos(lab, 'meteor')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /the local faults are instance, sigterm, az, database, db-freeze, replica, db-failover, sessions, all-web/,
      ),
    });
  });
});
