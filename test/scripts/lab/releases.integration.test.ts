import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabStatus } from '../../../scripts/lab/lab';
import { releasesDir, type ReleaseFault } from '../../../scripts/lab/release-builds';
import type { RollRecord } from '../../../scripts/lab/release-roll';
import { root, settled, startTestLab, steadyLoad, type TestLab } from '../support/lab';
import { healthPath } from '../../../app/contracts';

/**
 * Rolling releases on the real lab parts (HAProxy, the group, PostgreSQL, DynamoDB Local) with the
 * stand-in app as the build: it reports the lab's release name as its version, and a drill's bad
 * release is the same file behind scripts/lab/release-faults.cjs.
 */
function stageStandIn(lab: TestLab, version: string, fault?: ReleaseFault): string {
  const directory = join(releasesDir(lab.stateDir), version);
  mkdirSync(join(directory, 'app'), { recursive: true });
  copyFileSync(join(root, 'test/scripts/lab/fixtures/stand-in-app.js'), join(directory, 'app/server.js'));
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ version }));
  if (fault) writeFileSync(join(directory, 'LAB_RELEASE_FAULT'), fault);
  return directory;
}

async function release(lab: TestLab, directory: string, body: Record<string, number> = {}): Promise<RollRecord> {
  const response = await fetch(new URL('api/releases', lab.statusUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ directory, canarySeconds: 4, healthTimeoutSeconds: 8, ...body }),
  });
  const record = (await response.json()) as RollRecord & { error?: string };
  if (response.status !== 202) throw new Error(`release refused: ${record.error}`);
  await lab.releases.finished();
  return lab.status().releases!.rolls.find((roll) => roll.id === record.id)!;
}

const releasesInService = (status: LabStatus) =>
  [...new Set(status.instances.filter((i) => i.lifecycle === 'InService').map((i) => i.release))].sort();

/** Page views through the load balancer while a roll runs: any answer but 200 is a failure. */
function pageViews(lab: TestLab) {
  return steadyLoad(async () => {
    const response = await fetch(new URL('/wiki/Home', lab.wikiUrl), { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    // About 150 page views a second in all: load that a shared machine bears, traffic the canary can read.
    await sleep(20);
    return response.status;
  }, 3);
}

async function versionsBehindLoadBalancer(lab: TestLab): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 12; i += 1) {
    const response = await fetch(new URL(healthPath, lab.wikiUrl));
    seen.add(((await response.json()) as { version: string }).version);
  }
  return [...seen].sort();
}

describe('npm run lab -- release', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab();
    await lab.waitForStatus('three instances in service', settled);
  }, 120_000);
  afterAll(() => lab?.dispose(), 60_000);

  test('when a good build is released under load, then it replaces all three instances one at a time with no failed request', async () => {
    const load = pageViews(lab);
    const record = await release(lab, stageStandIn(lab, 'good-1'));
    const { count, failures } = await load.stop();

    expect(record.state).toBe('succeeded');
    expect(record.servedNewRelease).toHaveLength(3);
    expect(failures).toEqual([]);
    expect(count).toBeGreaterThan(50);
    // Mixed on the way, never fewer than three in service: the old one goes only after its replacement is in.
    expect(record.versions.some((v) => v.inService['initial'] && v.inService['good-1'])).toBe(true);
    for (const { inService } of record.versions) expect(Object.values(inService).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    const status = await lab.waitForStatus('the old instances gone', settled);
    expect(releasesInService(status)).toEqual(['good-1']);
    expect(status.releases!.launchTemplate).toBe('good-1');
    expect(await versionsBehindLoadBalancer(lab)).toEqual(['good-1']);
  }, 120_000);

  test('when a release never becomes healthy, then the roll stops at its first instance, which gets no traffic, and the group stays on the previous release', async () => {
    const load = pageViews(lab);
    const record = await release(lab, stageStandIn(lab, 'never-healthy', 'unhealthy'));
    const { failures } = await load.stop();

    expect(record.state).toBe('rolled-back');
    expect(record.reason).toMatch(/did not pass the load balancer's health checks/);
    expect(record.servedNewRelease).toEqual([]);
    expect(failures).toEqual([]);
    const status = await lab.waitForStatus('the failed instance gone', settled);
    expect(releasesInService(status)).toEqual(['good-1']);
    expect(status.releases!.launchTemplate).toBe('good-1');
    expect(status.activities.some((a) => a.cause.includes('it never became healthy'))).toBe(true);
  }, 120_000);

  test('when a release passes /health but answers 500 to page views, then the canary catches it and the group rolls back with one instance having served it', async () => {
    const load = pageViews(lab);
    const record = await release(lab, stageStandIn(lab, 'bad-5xx', '5xx'));
    const { count, failures } = await load.stop();

    expect(record.state).toBe('rolled-back');
    expect(record.reason).toMatch(/canary .* failed: error rate/);
    expect(record.servedNewRelease).toHaveLength(1);
    expect(record.detectedAt! - record.startedAt).toBeLessThan(15_000);
    // What the canary needs to see (3 errors) and what was in flight when it pulled the instance:
    // a handful of requests, however long the window they are counted over.
    expect(failures.length).toBeLessThanOrEqual(10);
    expect(count).toBeGreaterThan(failures.length);
    const status = await lab.waitForStatus('the bad instance gone', settled);
    expect(releasesInService(status)).toEqual(['good-1']);
    expect(await versionsBehindLoadBalancer(lab)).toEqual(['good-1']);
  }, 120_000);

  test('when a release is far slower on page views, then the canary compares latencies and rolls it back', async () => {
    const record = await release(lab, stageStandIn(lab, 'slow', 'slow'), { canarySeconds: 8 });

    expect(record.state).toBe('rolled-back');
    expect(record.reason).toMatch(/median page view \d+ ms against \d+ ms/);
    expect(releasesInService(await lab.waitForStatus('the slow instance gone', settled))).toEqual(['good-1']);
  }, 120_000);

  test('when a release directory is outside the lab, then the control API refuses to run it', async () => {
    const response = await fetch(new URL('api/releases', lab.statusUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ directory: '/usr/lib' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/must be a directory under/);
  });
});
