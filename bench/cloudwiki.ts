import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { healthPath, productionRuntimeEnv } from '../app/contracts';
import { prepareVirtualUsers } from '../scripts/bees/virtual-users';
import { startServices } from '../scripts/services/stack';
import { startCountingProxy } from './lib/counting-proxy';
import type { AttackReport } from '../scripts/bees/report';
import { attack } from './lib/load';
import { freePort, memoryMiB, processTree, startNodeServer, type ManagedProcess } from './lib/processes';
import { median } from './lib/median';
import { seedWiki, type SeedSize } from './lib/seed-wiki';

// cloudwiki's web tier on real PostgreSQL 15 and DynamoDB Local, one instance (one process, then a
// worker per core), measured with bees and compared with a bare Express hello world on the same
// machine. Page views run in rounds that alternate with hello world, and each round is divided by
// the hello-world runs just before and after it: on this machine hello world alone moves by a
// fifth between back-to-back runs (docs/benchmarks.md), so one ratio from one pair of runs says
// more about the machine's moment than about the app. The figures are the medians of the rounds.

export interface ViewFigures {
  /** Medians over the rounds; each round's ratio is against the hello-world runs just before and after it. */
  anonymousRps: number;
  loggedInRps: number;
  anonymousRatio: number;
  loggedInRatio: number;
  /** The lowest and the highest ratio of any round. */
  anonymousRatioRange: [number, number];
  loggedInRatioRange: [number, number];
  /** Every hello-world run around these rounds, in order. */
  helloRps: number[];
}

export interface LatencyFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 with a few connections: the time one request takes when it does not queue. */
  lightP50Ms: number;
}

/** Search and the list of all pages, each for the same URL every time and for a new URL every time (nothing rendered before can be reused). */
export interface ListFigures {
  search: LatencyFigures;
  newSearches: LatencyFigures;
  pageList: LatencyFigures;
  newPageLists: LatencyFigures;
}

export interface CloudwikiFigures {
  /** Median of every hello-world run between the page-view rounds. */
  helloRps: number;
  helloRange: [number, number];
  single: ViewFigures;
  perCore: ViewFigures & { workers: number; processes: number };
  dynamoDbPerLoggedInView: Record<string, number>;
  dynamoDbPerSignup: Record<string, number>;
  seeded: SeedSize;
  /** With one process, and with the production start's worker per core. */
  lists: ListFigures;
  perCoreLists: ListFigures;
  halfPeakRate: number;
  halfPeakP99Ms: number;
  halfPeakP50Ms: number;
  peakP99Ms: number;
  coldStartToHealthyMs: number;
  warmStartToHealthyMs: number;
  perCoreStartToHealthyMs: number;
  peakMemoryMiB: number;
  idleMemoryMiB: number;
  /** The largest peak RSS of any one process of the worker-per-core start. */
  perCorePeakMemoryMiB: number;
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
  // The production start itself (a cluster primary and its workers when WEB_CONCURRENCY > 1).
  const script = path.join(root, 'dist', 'app', 'server.js');
  const instance = await startNodeServer(
    'cloudwiki',
    script,
    [],
    { ...env, HOST: '127.0.0.1', PORT: String(port) },
    `http://127.0.0.1:${port}${healthPath}`,
  );
  return { instance, startToHealthyMs: Math.round(performance.now() - startedAt) };
}

/** The wiki the search and list figures are taken at (issue 11's size). */
const seedSize: SeedSize = { pages: 2_000, revisionsPerPage: 10 };
/** Connections for the light-load latency runs: enough to keep a core busy, too few to queue. */
const lightConnections = 2;
/** URLs drawn from for the "new URL each time" runs: at a few hundred requests a second, a URL comes back about once a minute. */
const distinctUrls = 20_000;

/** Rounds of page views per instance start, each between two hello-world runs. */
const viewRounds = 5;

/** Sign-ups before the measured ones: DynamoDB Local's first writes are slow. */
const warmUpSignupCount = 3;

interface ViewRound {
  anonymous: AttackReport;
  loggedIn: AttackReport;
  /** Hello world's req/s: the mean of the runs just before and after this round. */
  baseline: number;
}

function viewFigures({ rounds, hello }: { rounds: ViewRound[]; hello: number[] }): ViewFigures {
  const anonymousRatios = rounds.map((round) => round.anonymous.rps / round.baseline);
  const loggedInRatios = rounds.map((round) => round.loggedIn.rps / round.baseline);
  return {
    anonymousRps: median(rounds.map((round) => round.anonymous.rps)),
    loggedInRps: median(rounds.map((round) => round.loggedIn.rps)),
    anonymousRatio: median(anonymousRatios),
    loggedInRatio: median(loggedInRatios),
    anonymousRatioRange: [Math.min(...anonymousRatios), Math.max(...anonymousRatios)],
    loggedInRatioRange: [Math.min(...loggedInRatios), Math.max(...loggedInRatios)],
    helloRps: hello,
  };
}

/** The process of a cluster (primary and workers) with the highest peak RSS, from /proc. */
function largestProcessMemory(rootPid: number): { peak: number; current: number } {
  return processTree(rootPid)
    .map((member) => memoryMiB(member))
    .reduce((largest, next) => (next.peak > largest.peak ? next : largest));
}

export async function benchCloudwiki(
  seconds: number,
  connections: number,
  log: (line: string) => void,
  nodeOptions?: string,
): Promise<CloudwikiFigures> {
  log('building the web tier (npm run build) ...');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const cleanup: (() => Promise<void>)[] = [];
  const reports: AttackReport[] = [];
  const measured = async (report: Promise<AttackReport>) => {
    const done = await report;
    reports.push(done);
    return done;
  };
  try {
    // The same PostgreSQL 15, DynamoDB Local and s3rver as `npm run services`, in a scratch directory.
    const stateDir = mkdtempSync(path.join(tmpdir(), 'bench-services-'));
    // mkdtemp makes it private to root; initdb runs as the postgres user and reads files in it.
    chmodSync(stateDir, 0o755);
    cleanup.push(async () => rmSync(stateDir, { recursive: true, force: true }));
    // bees scenario files, written as the runs need them.
    const scenarioDir = mkdtempSync(path.join(tmpdir(), 'bench-scenarios-'));
    cleanup.push(async () => rmSync(scenarioDir, { recursive: true, force: true }));
    let scenarios = 0;
    const writeScenario = (scenario: object): string => {
      const file = path.join(scenarioDir, `scenario-${(scenarios += 1)}.json`);
      writeFileSync(file, JSON.stringify(scenario));
      return file;
    };
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
    const helloRun = async (durationSeconds: number) => (await attack({ url: helloUrl, connections, durationSeconds })).rps;

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
      // Every virtual user signs up and searches from 127.0.0.1: the per-address abuse limits
      // (docs/operations.md) would answer 429 to a load test, which measures nothing.
      SIGNUPS_PER_HOUR: '0',
      PASSWORD_HASHES_PER_ADDRESS: '0',
      ANONYMOUS_SEARCHES_PER_MINUTE: '0',
      // The production start's heap cap and allocator setting (app/contracts.ts), unless overridden.
      ...productionRuntimeEnv,
      ...(nodeOptions !== undefined ? { NODE_OPTIONS: nodeOptions } : {}),
    };
    const single = { ...env, WEB_CONCURRENCY: '1' };
    const perCoreWorkers = availableParallelism();
    const perCore = { ...env, WEB_CONCURRENCY: String(perCoreWorkers) };
    const port = await freePort();
    log('starting cloudwiki on an empty database (runs migrations) ...');
    const cold = await startInstance(single, port);
    await cold.instance.stop();
    log(`seeding ${seedSize.pages} pages × ${seedSize.revisionsPerPage} revisions ...`);
    await seedWiki(services.env.DATABASE_URL!, seedSize);

    log('starting cloudwiki again on the migrated database, one process ...');
    const warm = await startInstance(single, port);
    let running = warm.instance;
    cleanup.push(() => running.stop());
    const pid = warm.instance.pid;
    const idleMemoryMiB = memoryMiB(pid).current;
    const base = `http://127.0.0.1:${port}`;
    // Peak RSS only grows: logged after each phase, it shows which phase raised it.
    const logMemory = (after: string) => {
      const largest = largestProcessMemory(running.pid);
      log(`memory after ${after}: largest process ${Math.round(largest.current)} MiB now, peak ${Math.round(largest.peak)} MiB`);
    };

    const withInstanceOutput = async <T>(work: Promise<T>): Promise<T> =>
      work.catch((error: Error) => {
        throw new Error(`${error.message}\n--- cloudwiki's last output ---\n${running.recentOutput()}`);
      });

    const scenarioFile = writeScenario({ login: { mode: 'signup', password: 'bench-password-123' }, requests: [{ path: '/wiki/Home' }] });
    // Rounds of anonymous views, logged-in views and hello world, each `roundSeconds` long, after
    // one warm-up of each.
    const roundSeconds = seconds / 2;
    const pageViews = async (label: string) => {
      log(`${label}: ${warmUpSeconds} s warm-ups of hello world, anonymous and logged-in page views ...`);
      await helloRun(warmUpSeconds);
      await withInstanceOutput(attack({ url: `${base}/wiki/Home`, connections, durationSeconds: warmUpSeconds }));
      await withInstanceOutput(attack({ url: base, connections, durationSeconds: warmUpSeconds, scenarioFile }));
      proxy.reset();
      const hello = [await helloRun(roundSeconds)];
      const rounds: ViewRound[] = [];
      for (let round = 1; round <= viewRounds; round += 1) {
        log(
          `${label}: round ${round} of ${viewRounds}, ${connections} connections: anonymous views, logged-in views, hello world, ${roundSeconds} s each ...`,
        );
        const anonymous = await measured(
          withInstanceOutput(attack({ url: `${base}/wiki/Home`, connections, durationSeconds: roundSeconds })),
        );
        const loggedIn = await measured(
          withInstanceOutput(attack({ url: base, connections, durationSeconds: roundSeconds, scenarioFile })),
        );
        hello.push(await helloRun(roundSeconds));
        rounds.push({ anonymous, loggedIn, baseline: (hello[round - 1]! + hello[round]!) / 2 });
      }
      logMemory(`${label}: page views`);
      return { rounds, hello, dynamoDbCounts: proxy.counts() };
    };
    // `paths`: one URL, which the app may answer from what it rendered for the previous request
    // (app/pages/anonymous-lists.ts), or many, drawn at random, so that (almost) every request is new.
    const latencyOf = async (label: string, paths: string[]): Promise<LatencyFigures> => {
      log(
        `${label}: ${warmUpSeconds} s warm-up, ${connections} connections for ${seconds} s, then ${lightConnections} for ${seconds} s ...`,
      );
      const scenario = paths.length > 1 ? writeScenario({ requests: paths.map((route) => ({ path: route })) }) : undefined;
      const target = { url: `${base}${paths[0]}`, scenarioFile: scenario };
      await withInstanceOutput(attack({ ...target, connections, durationSeconds: warmUpSeconds }));
      const loaded = await measured(attack({ ...target, connections, durationSeconds: seconds }));
      const light = await measured(attack({ ...target, connections: lightConnections, durationSeconds: seconds }));
      logMemory(label);
      return { rps: loaded.rps, p50Ms: loaded.latency.p50, p99Ms: loaded.latency.p99, lightP50Ms: light.latency.p50 };
    };
    const listLatencies = async (label: string): Promise<ListFigures> => ({
      search: await latencyOf(`${label}: search for a word on every page, one URL`, ['/search?q=health']),
      // The same search, made a new URL each time by a parameter the app ignores.
      newSearches: await latencyOf(
        `${label}: search for a word on every page, a new URL each time`,
        Array.from({ length: distinctUrls }, (_, n) => `/search?q=health&n=${n}`),
      ),
      pageList: await latencyOf(`${label}: all pages, first slice, one URL`, ['/pages']),
      newPageLists: await latencyOf(
        `${label}: all pages, a slice from a random page each time`,
        Array.from({ length: distinctUrls }, (_, n) => `/pages?after=Bench_${String(n % seedSize.pages).padStart(5, '0')}&n=${n}`),
      ),
    });

    // DynamoDB Local (a JVM) answers its first writes slowly, and on a busy machine slowly enough
    // for the SDK's 3 s timeout (a 503 from the signup): a few signups first, retried once.
    const warmUpSignups = () =>
      prepareVirtualUsers(base, { mode: 'signup', password: 'bench-password-123' }, warmUpSignupCount, `w${Date.now().toString(36)}`, 0);
    await warmUpSignups().catch(() => withInstanceOutput(warmUpSignups()));
    // The session store's cost of an account: measured apart so the page-view figure excludes it.
    proxy.reset();
    const signups = 10;
    await withInstanceOutput(
      prepareVirtualUsers(base, { mode: 'signup', password: 'bench-password-123' }, signups, `s${Date.now().toString(36)}`, 0),
    );
    const dynamoDbPerSignup = perOperation(proxy.counts(), signups);
    logMemory(`${warmUpSignupCount + signups} sign-ups`);

    const one = await pageViews('one process');
    const viewCounts = one.dynamoDbCounts;
    // Take the virtual users' own signups out (each logged-in run signs up its own), operation by
    // operation, before dividing.
    for (const [operation, perSignup] of Object.entries(dynamoDbPerSignup)) {
      viewCounts[operation] = Math.max(0, (viewCounts[operation] ?? 0) - Math.round(perSignup * connections * viewRounds));
    }
    const oneViews = viewFigures(one);
    const lists = await listLatencies('one process');
    const halfPeakRate = Math.max(1, Math.round(oneViews.anonymousRps / 2));
    log(`anonymous page views at half of peak, open loop at ${halfPeakRate} req/s for ${seconds} s ...`);
    const halfPeak = await measured(attack({ url: `${base}/wiki/Home`, connections, durationSeconds: seconds, rate: halfPeakRate }));
    const peakMemoryMiB = memoryMiB(pid).peak;
    await warm.instance.stop();

    log(`starting cloudwiki with WEB_CONCURRENCY=${perCoreWorkers} (a worker per core) ...`);
    const cores = await startInstance(perCore, port);
    running = cores.instance;
    const many = await pageViews(`WEB_CONCURRENCY=${perCoreWorkers}`);
    const perCoreLists = await listLatencies(`WEB_CONCURRENCY=${perCoreWorkers}`);
    const processes = processTree(cores.instance.pid);
    const perCorePeakMemoryMiB = largestProcessMemory(cores.instance.pid).peak;
    await cores.instance.stop();

    const helloRuns = [...one.hello, ...many.hello];
    return {
      helloRps: median(helloRuns),
      helloRange: [Math.min(...helloRuns), Math.max(...helloRuns)],
      single: oneViews,
      // A cluster primary and its workers; 1 means the start ran a single process.
      perCore: { ...viewFigures(many), workers: perCoreWorkers, processes: processes.length },
      dynamoDbPerLoggedInView: perOperation(
        viewCounts,
        one.rounds.reduce((sum, round) => sum + round.loggedIn.requests, 0),
      ),
      dynamoDbPerSignup,
      seeded: seedSize,
      lists,
      perCoreLists,
      halfPeakRate,
      halfPeakP99Ms: halfPeak.latency.p99,
      halfPeakP50Ms: halfPeak.latency.p50,
      peakP99Ms: median(one.rounds.map((round) => round.anonymous.latency.p99)),
      coldStartToHealthyMs: cold.startToHealthyMs,
      warmStartToHealthyMs: warm.startToHealthyMs,
      perCoreStartToHealthyMs: cores.startToHealthyMs,
      peakMemoryMiB: Math.round(peakMemoryMiB),
      idleMemoryMiB: Math.round(idleMemoryMiB),
      perCorePeakMemoryMiB: Math.round(perCorePeakMemoryMiB),
      errors: reports.reduce((sum, report) => sum + report.errors, 0),
      non2xx: reports.reduce((sum, report) => sum + non2xx(report.statusCodes), 0),
    };
  } finally {
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}
