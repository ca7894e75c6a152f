import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareVirtualUsers } from '../scripts/bees/virtual-users';
import { startServices } from '../scripts/services/stack';
import { startCountingProxy } from './lib/counting-proxy';
import { attack } from './lib/load';
import { freePort, memoryMiB, startNodeServer, type ManagedProcess } from './lib/processes';

// cloudwiki's web tier on real PostgreSQL 15 and DynamoDB Local, one instance, measured with bees
// and compared with a bare Express hello world measured in the same run on the same machine.

export interface CloudwikiFigures {
  helloRps: number;
  anonymousRps: number;
  loggedInRps: number;
  anonymousRatio: number;
  loggedInRatio: number;
  dynamoDbPerLoggedInView: Record<string, number>;
  dynamoDbPerSignup: Record<string, number>;
  halfPeakRate: number;
  halfPeakP99Ms: number;
  halfPeakP50Ms: number;
  peakP99Ms: number;
  coldStartToHealthyMs: number;
  warmStartToHealthyMs: number;
  peakMemoryMiB: number;
  idleMemoryMiB: number;
  errors: number;
  non2xx: number;
}

const root = path.resolve(__dirname, '..');

function non2xx(statusCodes: Record<string, number>): number {
  return Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
}

function perOperation(counts: Record<string, number>, divisor: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([operation, count]) => [operation, Math.round((count / divisor) * 1000) / 1000]));
}

async function startInstance(env: NodeJS.ProcessEnv, port: number): Promise<{ instance: ManagedProcess; startToHealthyMs: number }> {
  const startedAt = performance.now();
  const script = path.join(__dirname, 'cloudwiki-instance.cjs');
  const instance = await startNodeServer('cloudwiki', script, [], { ...env, PORT: String(port) }, `http://127.0.0.1:${port}/health`);
  return { instance, startToHealthyMs: Math.round(performance.now() - startedAt) };
}

export async function benchCloudwiki(seconds: number, connections: number, log: (line: string) => void): Promise<CloudwikiFigures> {
  log('building the web tier (npm run build) ...');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const cleanup: (() => Promise<void>)[] = [];
  try {
    // The same PostgreSQL 15, DynamoDB Local and s3rver as `npm run services`, in a scratch directory.
    const stateDir = mkdtempSync(path.join(tmpdir(), 'bench-services-'));
    // mkdtemp makes it private to root; initdb runs as the postgres user and reads files in it.
    chmodSync(stateDir, 0o755);
    cleanup.push(async () => rmSync(stateDir, { recursive: true, force: true }));
    const ports = { postgres: await freePort(), dynamodb: await freePort(), s3: await freePort() };
    const services = await startServices({ stateDir, ports, log });
    cleanup.push(services.stop);
    const proxy = await startCountingProxy(services.dynamodb.endpoint);
    cleanup.push(proxy.stop);

    const helloPort = await freePort();
    const helloUrl = `http://127.0.0.1:${helloPort}/`;
    const hello = await startNodeServer(
      'hello world',
      path.join(__dirname, 'express-hello.cjs'),
      [],
      { ...process.env, PORT: String(helloPort) },
      helloUrl,
    );
    cleanup.push(() => hello.stop());
    // Each target is warmed up before it is measured: V8 (and DynamoDB Local's JVM) compile the
    // hot paths in the first seconds, and the first of the runs would otherwise pay for that.
    const warmUpSeconds = Math.min(3, seconds / 2);
    log(`Express hello world: ${warmUpSeconds} s warm-up, then ${connections} connections for ${seconds} s ...`);
    await attack({ url: helloUrl, connections, durationSeconds: warmUpSeconds });
    const helloReport = await attack({ url: helloUrl, connections, durationSeconds: seconds });
    await hello.stop();

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...services.env,
      // Through the counting proxy, so every session-store operation is seen.
      DYNAMODB_ENDPOINT: proxy.url,
      SESSION_SECRET: 'bench-session-secret-that-is-long-enough-0123456789',
      AWS_EC2_METADATA_DISABLED: 'true',
      INSTANCE_ID: 'bench',
      INSTANCE_AZ: 'local',
      LOG_LEVEL: 'warn',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const port = await freePort();
    log('starting cloudwiki on an empty database (runs migrations) ...');
    const cold = await startInstance(env, port);
    await cold.instance.stop();
    log('starting cloudwiki again on the migrated database ...');
    const warm = await startInstance(env, port);
    cleanup.push(() => warm.instance.stop());
    const pid = warm.instance.pid;
    const idleMemoryMiB = memoryMiB(pid).current;
    const base = `http://127.0.0.1:${port}`;

    const withInstanceOutput = async <T>(work: Promise<T>): Promise<T> =>
      work.catch((error: Error) => {
        throw new Error(`${error.message}\n--- cloudwiki's last output ---\n${warm.instance.recentOutput()}`);
      });

    log(`anonymous page views: ${warmUpSeconds} s warm-up, then ${connections} connections for ${seconds} s ...`);
    await withInstanceOutput(attack({ url: `${base}/wiki/Home`, connections, durationSeconds: warmUpSeconds }));
    const anonymous = await attack({ url: `${base}/wiki/Home`, connections, durationSeconds: seconds });

    // The session store's cost of an account: measured apart so the page-view figure excludes it.
    proxy.reset();
    const signups = 10;
    await withInstanceOutput(
      prepareVirtualUsers(base, { mode: 'signup', password: 'bench-password-123' }, signups, `s${Date.now().toString(36)}`, 0),
    );
    const dynamoDbPerSignup = perOperation(proxy.counts(), signups);

    const scenarioFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-scenario-')), 'logged-in-views.json');
    writeFileSync(
      scenarioFile,
      JSON.stringify({ login: { mode: 'signup', password: 'bench-password-123' }, requests: [{ path: '/wiki/Home' }] }),
    );
    log(`logged-in page views: ${warmUpSeconds} s warm-up, then ${connections} virtual users for ${seconds} s ...`);
    await withInstanceOutput(attack({ url: base, connections, durationSeconds: warmUpSeconds, scenarioFile }));
    proxy.reset();
    const loggedIn = await withInstanceOutput(attack({ url: base, connections, durationSeconds: seconds, scenarioFile }));
    const peakMemoryMiB = memoryMiB(pid).peak;
    const viewCounts = proxy.counts();
    // Take the virtual users' own signups out, operation by operation, before dividing.
    for (const [operation, perSignup] of Object.entries(dynamoDbPerSignup)) {
      viewCounts[operation] = Math.max(0, (viewCounts[operation] ?? 0) - Math.round(perSignup * connections));
    }

    const halfPeakRate = Math.max(1, Math.round(anonymous.rps / 2));
    log(`anonymous page views at half of peak, open loop at ${halfPeakRate} req/s for ${seconds} s ...`);
    const halfPeak = await attack({ url: `${base}/wiki/Home`, connections, durationSeconds: seconds, rate: halfPeakRate });

    const reports = [anonymous, loggedIn, halfPeak];
    return {
      helloRps: helloReport.rps,
      anonymousRps: anonymous.rps,
      loggedInRps: loggedIn.rps,
      anonymousRatio: anonymous.rps / helloReport.rps,
      loggedInRatio: loggedIn.rps / helloReport.rps,
      dynamoDbPerLoggedInView: perOperation(viewCounts, loggedIn.requests),
      dynamoDbPerSignup,
      halfPeakRate,
      halfPeakP99Ms: halfPeak.latency.p99,
      halfPeakP50Ms: halfPeak.latency.p50,
      peakP99Ms: anonymous.latency.p99,
      coldStartToHealthyMs: cold.startToHealthyMs,
      warmStartToHealthyMs: warm.startToHealthyMs,
      peakMemoryMiB: Math.round(peakMemoryMiB),
      idleMemoryMiB: Math.round(idleMemoryMiB),
      errors: reports.reduce((sum, report) => sum + report.errors, 0),
      non2xx: reports.reduce((sum, report) => sum + non2xx(report.statusCodes), 0),
    };
  } finally {
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}
