import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deepHealthPath } from '../../app/contracts';
import { createS3Client } from '../../app/platform/aws-clients';
import { createDatabase } from '../../app/db/db';
import { createLogger } from '../../app/platform/logger';
import { LabClient } from '../chaos/local';
import { backupIntervals, type DomainFlip } from '../lab/domain';
import type { ActiveFault, LocalFault } from '../lab/faults';
import type { AppCommand } from '../lab/instances';
import { startLab, type LabStatus } from '../lab/lab';
import { stageRelease } from '../lab/release-builds';
import { freePort } from '../services/ports';
import { backupSiteBucket } from '../services/s3';
import { buildSite } from '../static-site/build';
import { publishSite } from '../static-site/publish';
import { servedBy } from '../wiki-client/client';
import { backupServer } from './analysis';
import { SteadyLoad } from './load';
import { isReleaseStep, type FaultStep, type GameDayPlan } from './plan';
import type { FaultRecord, GameDayRecord } from './samples';

interface GameDayOptions {
  root: string;
  stateDir: string;
  /** How to start one instance of the app: the built production entry, as the EC2 bootstrap does. */
  app: AppCommand;
  /** The version `app` reports in /health: the lab's first release. */
  release?: string;
  /**
   * What the release steps roll out: a built tree (as dist/) staged as a new release, and the same
   * behind the lab's 5xx fault for bad-release. Absent: the current tree is built for them.
   */
  releaseBuild?: string;
  sessionStore: 'dynamodb' | 'memory';
  /** Sticky sessions at the load balancer (the lab's --sticky): the virtual users keep its cookie. */
  sticky?: boolean;
  plan: GameDayPlan;
  log: (line: string) => void;
}

interface Observation {
  at: number;
  status?: LabStatus;
  /** /health/deep answered 200 from an instance (not the backup site). */
  deepHealthy?: boolean;
  /** /health/deep reported its reader check degraded (`checks.reader.status`). */
  readerDegraded?: boolean;
  /** /health/deep reported the writer not answering (`checks.writer.status`), or failed outright. */
  writerOut?: boolean;
}

/**
 * Every instance the group wants is in service, healthy and UP in the load balancer; no fault is
 * active; the database answers and its replica (when the lab has one) streams again, rebuilt
 * after a failover.
 */
export function atFullCapacity(status: LabStatus): boolean {
  const ready = status.instances.filter(
    (instance) => instance.lifecycle === 'InService' && instance.health === 'Healthy' && instance.loadBalancerStatus.startsWith('UP'),
  );
  return (
    ready.length >= status.group.desired &&
    status.faults.active.length === 0 &&
    status.services.postgres === 'running' &&
    (status.services.replica ?? 'none') !== 'stopped' &&
    status.services.replica !== 'rebuilding' &&
    status.services.dynamodb === 'running' &&
    !status.loadBalancer.servingBackupSite &&
    status.domain?.target !== 'backup'
  );
}

/** What shows that the system noticed a fault, per lab fault (names from scripts/lab/faults.ts). */
type Detection = 'victims out' | 'deep health fails' | 'writer out' | 'reader degraded' | 'backup site';

const detectionOf: Record<LocalFault, Detection> = {
  // The load balancer took every killed or signalled instance out of rotation.
  instance: 'victims out',
  sigterm: 'victims out',
  az: 'victims out',
  // The deep health check reports the writer gone; with the replica answering it stays 200, so
  // the domain stays on the live site, read-only.
  database: 'writer out',
  'db-freeze': 'writer out',
  'db-failover': 'writer out',
  // The deep health check that Route 53 watches failed: without sessions no page view works.
  sessions: 'deep health fails',
  // Losing the reader must not fail the site over: the deep check stays 200 and says degraded.
  replica: 'reader degraded',
  'all-web': 'backup site',
};

/** When the system showed it had noticed the fault (see detectionOf); the fault's victims are data from the lab. */
export function detected(fault: ActiveFault, observation: Observation): boolean {
  const status = observation.status;
  switch (detectionOf[fault.fault]) {
    case 'victims out':
      return (
        status !== undefined &&
        fault.victims.every((victim) => {
          const instance = status.instances.find((candidate) => candidate.id === victim);
          return !instance || !instance.loadBalancerStatus.startsWith('UP');
        })
      );
    case 'reader degraded':
      return observation.readerDegraded === true;
    case 'backup site':
      return Boolean(status?.loadBalancer.servingBackupSite);
    case 'deep health fails':
      return observation.deepHealthy === false;
    case 'writer out':
      return observation.writerOut === true || observation.deepHealthy === false;
  }
}

/**
 * One game day: the lab up, logged-in users at a steady rate, the scripted faults through the
 * lab's control API, recovery after each, then the check that no acknowledged edit was lost.
 * Returns the raw record; analysis.ts turns it into figures and a verdict.
 */
export async function runGameDay(options: GameDayOptions): Promise<GameDayRecord> {
  const { plan, log } = options;
  // A fresh lab every time, but never by deleting a directory that is not a lab's.
  if (existsSync(options.stateDir) && readdirSync(options.stateDir).length > 0 && !existsSync(path.join(options.stateDir, 'haproxy.cfg')))
    throw new Error(`${options.stateDir} is not empty and is not a lab's state directory: choose another --state-dir`);
  rmSync(options.stateDir, { recursive: true, force: true });
  const [wikiPort, statusPort] = [await freePort(), await freePort()];
  const lab = await startLab({
    root: options.root,
    stateDir: options.stateDir,
    wikiPort,
    statusPort,
    capacity: { min: 3, max: 6, desired: 3 },
    app: options.app,
    release: options.release,
    sessionStore: options.sessionStore,
    sticky: options.sticky,
    // A real streaming replica as the app's reader, which the replica, az and failover faults need.
    replica: true,
    log: (line) => log(`lab: ${line}`),
  });
  // Ctrl-C must not leave PostgreSQL, DynamoDB Local and HAProxy running.
  const onSignal = (signal: string) => {
    log(`${signal}: stopping the lab ...`);
    void lab.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const client = new LabClient(lab.statusUrl);
  // Time zero is when the load starts: the report's timeline begins with the first request.
  let started = Date.now();
  const clock = () => Date.now() - started;
  const observations: Observation[] = [];
  let polling = true;
  let load: SteadyLoad | undefined;
  try {
    log(`lab up: wiki ${lab.wikiUrl}, status ${lab.statusUrl}; waiting for 3 instances in service ...`);
    await waitFor(async () => atFullCapacity(await client.status()), 120, 'the lab to have 3 instances in service');

    log('publishing the backup site from the lab database ...');
    await publishBackupSite(lab.services.env, options.stateDir);

    const releases = plan.steps.some((step) => isReleaseStep(step.fault)) ? stageGameDayReleases(options) : undefined;

    const poller = (async () => {
      while (polling) {
        const at = clock();
        const [status, deep] = await Promise.all([client.status().catch(() => undefined), deepHealth(lab.wikiUrl)]);
        observations.push({ at, status, ...deep });
        await sleep(Math.max(0, 1000 - (clock() - at)));
      }
    })();

    const runId = randomBytes(3).toString('hex');
    load = new SteadyLoad({ wikiUrl: lab.wikiUrl, users: plan.users, rate: plan.rate, editEvery: plan.editEvery, runId, clock });
    log(`signing up ${plan.users} virtual users (session store: ${options.sessionStore}) ...`);
    await load.signUp();
    started = Date.now();
    observations.length = 0;
    load.start();
    log(`steady load: ${plan.rate} requests/s from ${plan.users} logged-in users; warming up ${plan.warmUpSeconds} s`);
    await sleep(plan.warmUpSeconds * 1000);

    const faults: FaultRecord[] = [];
    const stepContext: StepContext = { client, load, observations, clock, settleSeconds: plan.settleSeconds, log };
    for (const step of plan.steps) {
      const record = isReleaseStep(step.fault) ? await runReleaseStep(step, releases!, stepContext) : await runStep(step, stepContext);
      const previous = faults.at(-1);
      if (previous) previous.windowEnd = record.injectedAt;
      faults.push(record);
    }
    await sleep(plan.settleSeconds * 1000);
    await load.stop();
    const endedAt = clock();
    faults.at(-1)!.windowEnd = endedAt;
    polling = false;
    await poller;

    const flips = (await client.status()).domain?.flips;
    if (flips) domainDuringFaults(faults, flips, started);

    log('checking that every acknowledged edit is in the database ...');
    const missingEdits = await missingAcknowledgedEdits(lab.wikiUrl, load);
    return {
      sessionStore: options.sessionStore,
      sticky: Boolean(options.sticky),
      startedAt: new Date(started).toISOString(),
      durationMs: endedAt,
      virtualUsers: plan.users,
      requests: load.requests.sort((a, b) => a.at - b.at),
      sessionLosses: load.sessionLosses,
      acknowledgedEdits: load.acknowledgedEdits,
      missingEdits,
      faults,
    };
  } finally {
    polling = false;
    await load?.stop();
    log('stopping the lab ...');
    await lab.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What every step of the day reads while it runs. */
interface StepContext {
  client: LabClient;
  load: SteadyLoad;
  observations: Observation[];
  clock: () => number;
  settleSeconds: number;
  log: (line: string) => void;
}

/** A step is over once the group is back at full capacity and the load has been clean for the settle time since. */
function settled(record: FaultRecord, { load, clock, settleSeconds }: StepContext): boolean {
  const cleanSince = clock() - settleSeconds * 1000;
  const recentBad = load.requests.some((request) => request.at >= cleanSince && request.outcome !== 'ok');
  return record.capacityRestoredAt !== undefined && record.capacityRestoredAt <= cleanSince && !recentBad;
}

async function runStep(step: FaultStep, context: StepContext): Promise<FaultRecord> {
  const { client, observations, clock, log } = context;
  const fault = step.fault;
  if (isReleaseStep(fault)) throw new Error(`${fault} is a release, not a fault the lab injects`);
  const az = step.replicaZone ? await replicaZoneOf(client) : undefined;
  const injectedAt = clock();
  const active = await client.inject({ fault, ...(step.seconds ? { seconds: step.seconds } : {}), ...(az ? { az } : {}) });
  // A failover answers once writes are back, which takes a while: what the lab showed before that is not the outcome.
  const answeredAt = clock();
  log(`fault: ${step.name}: ${active.description}`);
  const record: FaultRecord = {
    name: step.name,
    fault: step.fault,
    description: active.description,
    injectedAt,
    windowEnd: injectedAt,
    // The lab's own end of the fault, on the game day's clock (both read this machine's time).
    ...(active.endsAt !== undefined ? { undoneAt: clock() + (active.endsAt - Date.now()) } : {}),
  };
  const deadline = injectedAt + step.maxWaitSeconds * 1000;
  while (clock() < deadline) {
    await sleep(1000);
    const since = observations.filter((observation) => observation.at >= injectedAt);
    record.detectedAt ??= since.find((observation) => detected(active, observation))?.at;
    const latest = since.at(-1);
    const from = capacityCountsFrom(active, record, clock(), answeredAt);
    if (from !== undefined && latest?.status && latest.at > from && atFullCapacity(latest.status)) record.capacityRestoredAt ??= latest.at;
    if (settled(record, context)) break;
  }
  const seconds = (at?: number) => (at === undefined ? 'never' : `${((at - injectedAt) / 1000).toFixed(1)} s`);
  log(`  detected after ${seconds(record.detectedAt)}, full capacity after ${seconds(record.capacityRestoredAt)}`);
  return record;
}

/** The two builds the release steps roll: a good one, and the same failing page views. */
function stageGameDayReleases(options: GameDayOptions): { good: string; bad: string } {
  const progress = (line: string) => options.log(`release: ${line}`);
  const good = stageRelease({ root: options.root, stateDir: options.stateDir, build: options.releaseBuild, progress });
  const bad = stageRelease({ root: options.root, stateDir: options.stateDir, build: good.directory, fault: '5xx', progress });
  options.log(`staged releases ${good.version} and ${bad.version} (answers 500 to page views)`);
  return { good: good.directory, bad: bad.directory };
}

/**
 * A release as a game day step: the lab rolls the build through the group (release-roll.ts) while
 * the load runs; the step lasts until the roll has ended, the group is at full capacity and the
 * load has been clean for the settle time. A good build must go out; a bad one must be caught and
 * rolled back. The roll's own times (detection, back on the old release, versions in service)
 * are put on the game day's clock.
 */
async function runReleaseStep(step: FaultStep, releases: { good: string; bad: string }, context: StepContext): Promise<FaultRecord> {
  const { client, observations, clock, log } = context;
  const injectedAt = clock();
  const roll = await client.release({ directory: step.fault === 'release' ? releases.good : releases.bad });
  const onClock = (epochMs: number | undefined) => (epochMs === undefined ? undefined : epochMs - (Date.now() - clock()));
  log(`release: ${step.name}: rolling ${roll.from} → ${roll.to}`);
  const record: FaultRecord = {
    name: step.name,
    fault: step.fault,
    description: `roll ${roll.from} → ${roll.to} through the group, one instance at a time`,
    injectedAt,
    windowEnd: injectedAt,
  };
  const deadline = injectedAt + step.maxWaitSeconds * 1000;
  let endedAt: number | undefined;
  while (clock() < deadline) {
    await sleep(1000);
    const status = await client.status().catch(() => undefined);
    const latest = status?.releases?.rolls.find((candidate) => candidate.id === roll.id);
    if (latest) {
      record.release = {
        from: latest.from,
        to: latest.to,
        state: latest.state,
        reason: latest.reason,
        endedAt: onClock(latest.endedAt),
        firstTrafficAt: onClock(latest.firstTrafficAt),
        detectedAt: onClock(latest.detectedAt),
        backOnPreviousAt: onClock(latest.backOnPreviousAt),
        servedNewRelease: latest.servedNewRelease.length,
        versions: latest.versions.map((entry) => ({ at: onClock(entry.at)!, inService: entry.inService })),
      };
      record.detectedAt = record.release.detectedAt;
      endedAt = record.release.endedAt;
    }
    if (endedAt === undefined) continue;
    const since = observations.filter((observation) => observation.at >= endedAt!);
    const full = since.find((observation) => observation.status && atFullCapacity(observation.status));
    if (full) record.capacityRestoredAt ??= full.at;
    if (settled(record, context)) break;
  }
  const seconds = (at?: number) => (at === undefined ? 'n/a' : `${((at - injectedAt) / 1000).toFixed(1)} s`);
  log(
    `  ${record.release?.state ?? 'not ended'} after ${seconds(record.release?.endedAt)}; detected ${seconds(record.detectedAt)}; ` +
      `back on ${record.release?.from} ${seconds(record.release?.backOnPreviousAt)}; ${record.release?.servedNewRelease ?? 0} instance(s) served ${record.release?.to}`,
  );
  return record;
}

/** One look at /health/deep through the wiki's port, as Route 53 takes it. */
async function deepHealth(wikiUrl: string): Promise<Pick<Observation, 'deepHealthy' | 'readerDegraded' | 'writerOut'>> {
  try {
    const response = await fetch(new URL(deepHealthPath, wikiUrl), { signal: AbortSignal.timeout(3000) });
    const fromInstance = servedBy(response)?.instance !== backupServer;
    const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, { status?: string } | undefined> };
    const deepHealthy = response.status === 200 && fromInstance;
    return {
      deepHealthy,
      readerDegraded: body.checks?.reader?.status === 'degraded',
      writerOut: fromInstance && (!deepHealthy || (body.checks?.writer?.status ?? 'ok') !== 'ok'),
    };
  } catch {
    return { deepHealthy: false, readerDegraded: false, writerOut: false };
  }
}

/** Where the domain was during each fault's window, from the flips the lab recorded (epoch ms). */
export function domainDuringFaults(faults: FaultRecord[], flips: readonly DomainFlip[], startedAt: number): void {
  for (const fault of faults) {
    const from = startedAt + fault.injectedAt;
    const intervals = backupIntervals(flips, from, startedAt + fault.windowEnd);
    const first = intervals[0];
    fault.domain = {
      flipped: first !== undefined,
      flippedAfterSeconds: first === undefined ? null : Math.round((first.start - from) / 100) / 10,
      backupSeconds: Math.round(intervals.reduce((sum, interval) => sum + interval.end - interval.start, 0) / 100) / 10,
    };
  }
}

/**
 * From when a look at the lab can count as "back at full capacity", or undefined while it cannot:
 * once a fault with a duration is undone; once a kill has been noticed, since right after it the
 * load balancer still shows the dead instance UP; for a fault with nothing to undo and no victim
 * (a failover), from the lab's answer to the injection: mid-failover the promoted standby briefly
 * looks like a full set, and only after the answer is the old primary's rebuild under way, which
 * atFullCapacity waits for. Detection by the app (a degraded reader) is not required: full
 * capacity is the lab's state, not the app's.
 */
export function capacityCountsFrom(active: ActiveFault, record: FaultRecord, now: number, answeredAt: number): number | undefined {
  if (record.undoneAt !== undefined) return now >= record.undoneAt ? record.undoneAt : undefined;
  if (active.victims.length > 0) return record.detectedAt;
  return answeredAt;
}

async function replicaZoneOf(client: LabClient): Promise<string> {
  const zone = (await client.status()).database?.replicaZone;
  if (!zone) throw new Error('the lab reports no replica zone: the az step needs the lab started with its replica');
  return zone;
}

async function waitFor(check: () => Promise<boolean>, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(1000);
  }
  throw new Error(`gave up after ${seconds} s waiting for ${what}`);
}

/** The real backup site, built from the lab's database and published to its website bucket. */
async function publishBackupSite(env: Record<string, string>, stateDir: string): Promise<void> {
  const db = createDatabase({ writerUrl: env.DATABASE_URL!, logger: createLogger('warn'), poolSize: 2 });
  const s3 = createS3Client({ region: env.AWS_REGION!, endpoint: env.S3_ENDPOINT });
  try {
    const dir = path.join(stateDir, 'static-site');
    await buildSite(db, dir);
    await publishSite(s3, { dir, bucket: backupSiteBucket });
  } finally {
    s3.destroy();
    await db.close();
  }
}

type ListedPage = { slug: string; revision: number };

/** Every page through the JSON API, a slice at a time; undefined if any slice is not answered. */
async function listEveryPage(wikiUrl: string): Promise<ListedPage[] | undefined> {
  const pages: ListedPage[] = [];
  for (let after: string | null = ''; after !== null;) {
    const url = new URL('/api/pages', wikiUrl);
    if (after) url.searchParams.set('after', after);
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok || !response.headers.get('content-type')?.includes('json')) return undefined;
    const slice = (await response.json()) as { pages: ListedPage[]; next: string | null };
    pages.push(...slice.pages);
    after = slice.next;
  }
  return pages;
}

/** Reads the page list through the wiki once it answers, and names every acknowledged edit not in it. */
async function missingAcknowledgedEdits(wikiUrl: string, load: SteadyLoad): Promise<string[]> {
  let listed: ListedPage[] | undefined;
  await waitFor(
    async () => {
      listed = await listEveryPage(wikiUrl);
      return listed !== undefined;
    },
    60,
    'the wiki to list its pages',
  );
  const revisions = new Map(listed!.map((page) => [page.slug, page.revision]));
  return load.acknowledgedEdits.filter((edit) => (revisions.get(edit.slug) ?? 0) < edit.revision).map((edit) => edit.slug);
}
