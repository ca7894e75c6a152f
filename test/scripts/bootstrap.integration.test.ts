import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildRelease, type Release } from '../../scripts/release/cli';
import {
  availabilityZone,
  healthAfterSuccessfulBoot,
  instanceId,
  repositoryRoot,
  run,
  signalsSent,
  startBootHarness,
  stopApp,
  type BootHarness,
} from './bootstrap-harness';
import { servedByHeader } from '../../app/contracts';

// The boot with the real release: `npm run release` builds the artifact, the bootstrap installs it
// and the real app starts under the stand-in systemd. What differs from an instance is only where
// its dependencies are: the test's PostgreSQL, DynamoDB and S3 instead of RDS (and its secret),
// DynamoDB and S3 on AWS.

let harness: BootHarness;
let release: Release;

beforeAll(async () => {
  harness = await startBootHarness();
  release = buildRelease({ projectRoot: repositoryRoot, outDir: mkdtempSync(path.join(harness.scratch, 'release-')), skipBuild: false });
}, 300_000);

afterAll(() => harness?.close());

function localDependencies(): Record<string, string | null> {
  const { TEST_DATABASE_URL, TEST_DYNAMODB_ENDPOINT, TEST_S3_ENDPOINT } = process.env;
  if (!TEST_DATABASE_URL || !TEST_DYNAMODB_ENDPOINT || !TEST_S3_ENDPOINT) {
    throw new Error('TEST_DATABASE_URL, TEST_DYNAMODB_ENDPOINT and TEST_S3_ENDPOINT must be set (npm run test:integration sets them)');
  }
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_READ_URL: null,
    DATABASE_SECRET_ARN: null,
    NODE_EXTRA_CA_CERTS: null,
    DYNAMODB_ENDPOINT: TEST_DYNAMODB_ENDPOINT,
    S3_ENDPOINT: TEST_S3_ENDPOINT,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('EC2 bootstrap with the real release', () => {
  test('when npm run release is installed, then the real app starts under systemd, answers /health, success is signalled and SIGTERM stops it', async () => {
    const sha256 = await harness.publishRelease(release.id, release.artifact);
    expect(sha256).toBe(release.sha256);
    const result = await harness.boot(release.id, sha256, { serviceEnv: localDependencies() });
    const pidFile = path.join(result.root, 'run', 'cloudwiki.service.pid');
    try {
      const health = await healthAfterSuccessfulBoot(result);
      expect(health.status).toBe(200);
      // One node:cluster worker per vCPU: the worker's number follows the identity when there are several.
      expect(health.headers.get(servedByHeader)).toMatch(new RegExp(`^${instanceId}/${availabilityZone}(/w\\d+)?$`));
      const { version } = JSON.parse(readFileSync(path.join(repositoryRoot, 'package.json'), 'utf8')) as { version: string };
      expect(await health.json()).toMatchObject({ status: 'ok', instance: instanceId, az: availabilityZone, version });
      expect(signalsSent(result).map((signal) => signal.exitCode)).toEqual(['0']);
    } finally {
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
      await stopApp(result.root);
      if (pid) expect(await waitUntilGone(pid)).toBe(true);
    }
  }, 120_000);

  // systemd-analyze comes with systemd (Debian's systemd package), hence an integration test.
  test('when systemd-analyze rates the unit the bootstrap installs, then its exposure is below 3 (OK)', async () => {
    const sha256 = await harness.publishRelease(`${release.id}-security`, release.artifact);
    const result = await harness.boot(`${release.id}-security`, sha256, { serviceEnv: localDependencies() });
    try {
      expect(result.exitCode).toBe(0);
      const unit = path.join(result.root, 'etc', 'systemd', 'system', 'cloudwiki.service');
      // --threshold counts in tenths of the printed level (default 100 = 10.0): 30 fails anything above 3.0.
      const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=30', '--no-pager', unit]);
      expect(stdout).toMatch(/Overall exposure level for cloudwiki\.service: [0-2]\.\d/);
    } finally {
      await stopApp(result.root);
    }
  }, 120_000);
});
