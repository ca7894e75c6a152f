import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AppCommand } from '../../../scripts/lab/instances';
import { startLab, type Lab, type LabStatus } from '../../../scripts/lab/lab';
import { freePort } from '../../../scripts/services/ports';
import { waitUntil } from '../../../scripts/services/wait';
import { healthPath, servedByHeader } from '../../../app/contracts';

export const root = resolve(__dirname, '../../..');

/**
 * The lab's own tests run against a stand-in app (PORT, /health, X-Served-By, SIGTERM): they test
 * the load balancer, the group and the faults, not the wiki. LAB_TEST_APP=dist/app/server.js runs
 * them against the real, built app instead.
 */
const appEntry = resolve(root, process.env.LAB_TEST_APP ?? 'test/scripts/lab/fixtures/stand-in-app.js');

export interface TestLab extends Lab {
  stateDir: string;
  waitForStatus(what: string, predicate: (status: LabStatus) => boolean, timeoutMs?: number): Promise<LabStatus>;
  dispose(): Promise<void>;
}

/** The real wiki, from its TypeScript source (no build needed): for tests of the app under the lab's faults. */
export const realApp: AppCommand = { command: process.execPath, args: ['--import', 'tsx', resolve(root, 'app/server.ts')] };

/** `replica`: PostgreSQL streaming replication and the writer/reader endpoints (slower to start). */
export async function startTestLab(options: { replica?: boolean; app?: AppCommand } = {}): Promise<TestLab> {
  const stateDir = mkdtempSync(join(tmpdir(), 'cloudwiki-lab-'));
  // mkdtemp makes it private to root; PostgreSQL, running as postgres, must be able to enter it.
  chmodSync(stateDir, 0o711);
  const lab = await startLab({
    root,
    stateDir,
    wikiPort: await freePort(),
    statusPort: await freePort(),
    capacity: { min: 3, max: 5, desired: 3 },
    app: options.app ?? { command: process.execPath, args: [appEntry] },
    sessionStore: 'dynamodb',
    replica: options.replica ?? false,
    // The real app from source compiles as it boots: give it the time a slow machine needs.
    healthCheckGracePeriodMs: options.app ? 60_000 : 20_000,
    drainTimeoutMs: 2000,
    log: () => {},
  });
  const waitForStatus = async (what: string, predicate: (status: LabStatus) => boolean, timeoutMs = 30_000) => {
    let latest = lab.status();
    await waitUntil(async () => predicate((latest = lab.status())), { what, timeoutMs, intervalMs: 250 });
    return latest;
  };
  return Object.assign(lab, {
    stateDir,
    waitForStatus,
    async dispose() {
      await lab.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  });
}

export const inService = (status: LabStatus) => status.instances.filter((i) => i.lifecycle === 'InService' && i.health === 'Healthy');

/** The whole group is up: desired capacity in service, nothing else pending or terminating. */
export const settled = (status: LabStatus) =>
  inService(status).length === status.group.desired &&
  status.instances.length === status.group.desired &&
  !status.loadBalancer.servingBackupSite &&
  // The domain on the live site, with no failed check pending ("UP 2/3" may still flip it).
  (status.domain === undefined || status.domain.liveCheck === 'UP');

/** Who answered a request through the load balancer (X-Served-By), and the body. */
export async function servedBy(wikiUrl: string, path = healthPath): Promise<{ servedBy: string; status: number; body: string }> {
  const response = await fetch(new URL(path, wikiUrl), { signal: AbortSignal.timeout(5000) });
  return { servedBy: response.headers.get(servedByHeader) ?? '', status: response.status, body: await response.text() };
}

/**
 * Keeps `clients` loops sending requests until stop(): each call of `request` answers a status,
 * and anything but 200 (or an error) is recorded as a failure.
 */
export function steadyLoad(request: (n: number) => Promise<string | number>, clients = 2) {
  const failures: string[] = [];
  let count = 0;
  let running = true;
  const loop = async () => {
    while (running) {
      count += 1;
      try {
        const answer = await request(count);
        if (answer !== 200) failures.push(String(answer));
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { count, failures };
    },
  };
}
