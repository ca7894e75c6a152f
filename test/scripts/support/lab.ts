import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLab, type Lab, type LabStatus } from '../../../scripts/lab/lab';
import { freePort } from '../../../scripts/services/ports';
import { waitUntil } from '../../../scripts/services/wait';

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

/** `replica`: PostgreSQL streaming replication and the writer/reader endpoints (slower to start). */
export async function startTestLab(options: { replica?: boolean; app?: string } = {}): Promise<TestLab> {
  const stateDir = mkdtempSync(join(tmpdir(), 'cloudwiki-lab-'));
  // mkdtemp makes it private to root; PostgreSQL, running as postgres, must be able to enter it.
  chmodSync(stateDir, 0o711);
  const lab = await startLab({
    root,
    stateDir,
    wikiPort: await freePort(),
    statusPort: await freePort(),
    capacity: { min: 3, max: 5, desired: 3 },
    app: { command: process.execPath, args: [options.app ?? appEntry] },
    sessionStore: 'dynamodb',
    replica: options.replica ?? false,
    healthCheckGracePeriodMs: 20_000,
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
  !status.loadBalancer.servingBackupSite;

/** Who answered a request through the load balancer (X-Served-By), and the body. */
export async function servedBy(wikiUrl: string, path = '/health'): Promise<{ servedBy: string; status: number; body: string }> {
  const response = await fetch(new URL(path, wikiUrl), { signal: AbortSignal.timeout(5000) });
  return { servedBy: response.headers.get('x-served-by') ?? '', status: response.status, body: await response.text() };
}
