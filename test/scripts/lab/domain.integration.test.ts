import { randomBytes } from 'node:crypto';
import { logIn } from '../../../scripts/bees/virtual-users';
import type { WikiClient } from '../../../scripts/wiki-client/client';
import { LabClient } from '../../../scripts/chaos/local';
import type { DomainTarget } from '../../../scripts/lab/domain';
import { domainHealthCheck } from '../../../scripts/lab/haproxy';
import { realApp, settled, startTestLab, type TestLab } from '../support/lab';
import { servedByHeader } from '../../../app/contracts';

// The lab's DNS layer (Route 53's part) in front of the real wiki on a replicated database: the
// domain moves to the backup copy only when page views are impossible (docs/architecture.md).
// The database faults leave it on the live site, read-only while the writer is away; losing the
// whole web tier moves it; the manual lever moves it and brings it back.

/** How long the DNS layer needs to move the domain: its checks, plus one round of the app's deep check. */
const flipWithinMs = domainHealthCheck.intervalMs * (domainHealthCheck.fall + 1) + 5_000 + 3_000;

/** Where the domain was, every 250 ms, while `during` runs. */
async function domainWhile(lab: TestLab, during: () => Promise<void>): Promise<DomainTarget[]> {
  const seen: DomainTarget[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.push(lab.status().domain!.target);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  try {
    await during();
  } finally {
    watching = false;
    await watcher;
  }
  return seen;
}

async function call(lab: TestLab, method: string, path: string, jar?: WikiClient, json?: unknown) {
  const response = await fetch(new URL(path, lab.wikiUrl), {
    method,
    headers: {
      accept: 'application/json',
      ...(jar ? { cookie: jar.cookieHeader() } : {}),
      ...(json ? { 'content-type': 'application/json' } : {}),
    },
    body: json ? JSON.stringify(json) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, servedBy: response.headers.get(servedByHeader) ?? '', body: await response.text() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the lab’s domain, as Route 53 moves it', () => {
  let lab: TestLab;
  let jar: WikiClient;
  beforeAll(async () => {
    lab = await startTestLab({ replica: true, app: realApp });
    await lab.waitForStatus('three instances of the wiki in service and the domain live', settled, 180_000);
    jar = await logIn(lab.wikiUrl, 'signup', `dns-${randomBytes(4).toString('hex')}`, `pw-${randomBytes(12).toString('hex')}`);
  }, 240_000);
  afterAll(() => lab?.dispose(), 60_000);
  const streaming = () => lab.waitForStatus('the replica streaming', (s) => s.services.replica === 'streaming', 60_000);

  test.each(['database', 'db-freeze'] as const)(
    '%s: when the writer is away, then the domain stays on the live site, which serves reads and refuses saves',
    async (fault) => {
      await streaming();
      let during: { read: number; readServedBy: string; save: number } | undefined;
      const seen = await domainWhile(lab, async () => {
        await lab.faults.inject({ fault, seconds: 25 });
        // Long enough for the DNS layer to have moved the domain, had the deep check failed.
        await sleep(flipWithinMs);
        const [read, save] = await Promise.all([
          call(lab, 'GET', '/wiki/Home'),
          call(lab, 'PUT', `/api/pages/Dns-${fault}`, jar, { body: 'while the writer is away', baseRevision: null }),
        ]);
        during = { read: read.status, readServedBy: read.servedBy, save: save.status };
        await lab.waitForStatus('the fault over', (s) => s.faults.active.length === 0, 30_000);
      });
      expect(seen.length).toBeGreaterThan(20);
      expect(seen.filter((target) => target === 'backup')).toEqual([]);
      expect(during).toMatchObject({ read: 200, save: 503 });
      expect(during!.readServedBy).not.toMatch(/^backup/);
    },
    120_000,
  );

  test('db-failover: when the primary fails over, then the domain stays on the live site', async () => {
    await streaming();
    const seen = await domainWhile(lab, async () => {
      await lab.faults.inject({ fault: 'db-failover' });
      await sleep(flipWithinMs);
    });
    expect(seen.filter((target) => target === 'backup')).toEqual([]);
    await streaming();
  }, 120_000);

  test('the manual lever: when an operator sends the domain to the backup, then the wiki’s port serves the backup copy until it is released', async () => {
    const client = new LabClient(lab.statusUrl);
    expect(await client.sendDomainTo('backup')).toMatchObject({ target: 'backup', forcedToBackup: true });
    const onBackup = await call(lab, 'GET', '/wiki/Home');
    expect(onBackup.servedBy).toMatch(/^backup-site/);
    // Held by hand: a healthy site does not take the name back.
    await sleep(domainHealthCheck.intervalMs * (domainHealthCheck.rise + 1));
    expect(lab.status().domain).toMatchObject({ target: 'backup', forcedToBackup: true });

    await client.sendDomainTo('live');
    await lab.waitForStatus('the domain live again', (s) => s.domain?.target === 'live', flipWithinMs);
    expect((await call(lab, 'GET', '/wiki/Home')).servedBy).not.toMatch(/^backup/);
  }, 60_000);

  test('all-web: when every instance is gone, then the domain moves to the backup copy, and back once the group has recovered', async () => {
    await lab.waitForStatus('settled', settled, 60_000);
    // A few passed checks after the lever test, so the DNS layer counts from a steady state.
    await sleep(domainHealthCheck.intervalMs * (domainHealthCheck.rise + 1));
    const checks: string[] = [];
    const recordChecks = setInterval(() => checks.push(lab.status().domain!.liveCheck), 250);
    const fault = await lab.faults.inject({ fault: 'all-web', seconds: 15 });
    const flipped = await lab.waitForStatus('the domain on the backup', (s) => s.domain?.target === 'backup', flipWithinMs);
    clearInterval(recordChecks);
    const flip = flipped.domain!.flips.at(-1)!;
    expect(flip).toMatchObject({ to: 'backup', forced: false });
    const back = await lab.waitForStatus('the domain live again', (s) => s.domain?.target === 'live', 180_000);
    const backAt = back.domain!.flips.at(-1)!.at;
    console.info(
      `all-web: domain to the backup ${((flip.at - fault.startedAt) / 1000).toFixed(1)} s after the kill, ` +
        `back ${((backAt - fault.endsAt!) / 1000).toFixed(1)} s after launches resumed (on the backup ${((backAt - flip.at) / 1000).toFixed(1)} s); ` +
        `the live server's checks until the flip: ${[...new Set(checks)].join(' → ')}`,
    );
  }, 240_000);
});
