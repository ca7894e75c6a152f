import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../services/ports';
import type { ReplicaState } from '../services/replication';
import { backupSiteBucket } from '../services/s3';
import { startServices, type Services } from '../services/stack';
import { requireSystemCommands } from '../services/system';
import { AutoScalingGroup, type Activity, type HealthStatus, type Lifecycle } from './auto-scaling-group';
import { publishWholeBackupSite, watchBackupLag, type BackupLagReading } from './backup-site';
import { DomainWatch, type DomainStatus } from './domain';
import { FaultInjector, type ActiveFault } from './faults';
import { drainDelayMs, slotName, startHaproxy, type Haproxy } from './haproxy';
import { ProcessFleet, type AppCommand } from './instances';
import { TrafficObserver } from './observer';
import { ReleaseRoller, type RollOptions, type RollRecord } from './release-roll';
import type { ScalingPolicy } from './scaling-policy';
import { startStatusServer, type StatusServer } from './status-server';

const labZones = ['lab-a', 'lab-b', 'lab-c'];

export interface LabOptions {
  /** The project directory: instances run from here. */
  root: string;
  /** PostgreSQL's cluster, DynamoDB's tables, s3rver's objects, HAProxy's config and socket. */
  stateDir: string;
  wikiPort: number;
  statusPort: number;
  capacity: { min: number; max: number; desired: number };
  app: AppCommand;
  /** The version of `app` (what its /health reports): the launch template's first release. */
  release?: string;
  /** Overrides for rolling releases (tests shorten the canary window). */
  rollOptions?: Partial<RollOptions>;
  sessionStore: 'dynamodb' | 'memory';
  /**
   * A streaming replica of PostgreSQL in lab-b, the app's DATABASE_READ_URL, and a writer
   * endpoint the `db-failover` fault can move (off: one server, as `npm run services`).
   */
  replica?: boolean;
  /** Load balancer stickiness (a cookie pins a browser to one instance). */
  sticky?: boolean;
  policy?: ScalingPolicy;
  healthCheckGracePeriodMs?: number;
  drainTimeoutMs?: number;
  log: (line: string) => void;
  /** Lines the instances print (their pino logs); dropped when unset. */
  onInstanceLine?: (instanceId: string, line: string) => void;
}

export interface InstanceStatus {
  id: string;
  az: string;
  slot: number;
  pid?: number;
  port?: number;
  lifecycle: Lifecycle;
  health: HealthStatus;
  loadBalancerStatus: string;
  requests: number;
  requestsPerSecond: number;
  cpuPercent: number;
  launchedAt: string;
  /** The release it runs (its launch template's version). Optional: older records lack it. */
  release?: string;
}

export interface LabStatus {
  wikiUrl: string;
  statusUrl: string;
  group: { min: number; max: number; desired: number; suspendedProcesses: string[]; policy: ScalingPolicy | null };
  zones: { name: string; available: boolean; instances: number }[];
  instances: InstanceStatus[];
  loadBalancer: { servingBackupSite: boolean; backupSiteRequests: number };
  /** The backup copy: where it is and how far behind the wiki (optional: older records lack it). */
  backup?: BackupLagReading & { bucket: string; s3Endpoint: string };
  /** Where the DNS layer (Route 53's part) sends the wiki's port, and when it changed. */
  domain?: DomainStatus;
  services: {
    /** `frozen` during a db-freeze fault: the process is there, nothing answers. */
    postgres: 'running' | 'stopped' | 'frozen';
    /** `none` when the lab runs without a replica (optional: older records lack it). */
    replica?: ReplicaState | 'none';
    dynamodb: 'running' | 'stopped';
    s3: 'running';
  };
  /** Where the database's replica lives (the `az` fault takes it down with its zone). */
  database?: { replicaZone: string | null };
  faults: { active: ActiveFault[]; history: ActiveFault[] };
  /** The launch template's release, and the rolling releases (newest first). Optional: older records lack it. */
  releases?: { launchTemplate: string; rolling: boolean; rolls: RollRecord[] };
  activities: Activity[];
}

export interface Lab {
  readonly wikiUrl: string;
  readonly statusUrl: string;
  readonly group: AutoScalingGroup;
  readonly fleet: ProcessFleet;
  readonly services: Services;
  readonly haproxy: Haproxy;
  readonly faults: FaultInjector;
  readonly releases: ReleaseRoller;
  readonly status: () => LabStatus;
  readonly stop: () => Promise<void>;
}

const tickMs = 1000;

/**
 * Starts the whole lab on loopback and returns once the group is launching its instances:
 * services, HAProxy, the Auto Scaling group's control loop and the status/control server.
 * If any step fails, what was started is stopped again before the error is thrown.
 */
export async function startLab(options: LabOptions): Promise<Lab> {
  requireSystemCommands(['postgres', 'java', 'haproxy']);
  mkdirSync(options.stateDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const stopStarted = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => options.log(`while stopping: ${String(error)}`));
  };
  try {
    const [postgresPort, dynamodbPort, s3Port, backupSitePort, loadBalancerPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const services = await startServices({
      stateDir: options.stateDir,
      ports: { postgres: postgresPort, dynamodb: dynamodbPort, s3: s3Port },
      persistDynamoDb: true,
      ...(options.replica ? { replica: { zones: [labZones[0]!, labZones[1]!] as [string, string] } } : {}),
      log: options.log,
    });
    cleanups.push(services.stop);
    await publishWholeBackupSite({ env: services.env, stateDir: options.stateDir, log: options.log });
    const backupLag = watchBackupLag(services.env.DATABASE_URL!);
    cleanups.push(backupLag.stop);

    const slots = options.capacity.max + 4;
    options.log('starting HAProxy ...');
    const haproxy = await startHaproxy({
      frontendPort: options.wikiPort,
      // The wiki's port is the domain's: Route 53's layer in front of the load balancer.
      loadBalancerPort,
      backupSitePort,
      s3Port,
      slots,
      sticky: options.sticky,
      socketPath: join(options.stateDir, 'haproxy.sock'),
      configPath: join(options.stateDir, 'haproxy.cfg'),
    });
    cleanups.push(haproxy.stop);

    const drainTimeoutMs = options.drainTimeoutMs ?? 5000;
    const fleet = new ProcessFleet({
      app: options.app,
      cwd: options.root,
      haproxy,
      // Derived from HAProxy's check settings, as DRAIN_DELAY_MS on AWS is from the target group's.
      drainDelayMs,
      drainTimeoutMs,
      onLine: options.onInstanceLine,
      env: {
        ...services.env,
        SESSION_STORE: options.sessionStore,
        // Shared by every instance, as it would be from Secrets Manager: any instance can read
        // any session cookie. Fresh per lab run, so restarting the lab logs everyone out.
        SESSION_SECRET: randomBytes(32).toString('base64url'),
        TRUST_PROXY: 'loopback',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // Every instance publishes each change to the lab's backup bucket, as on AWS.
        BACKUP_SITE_BUCKET: backupSiteBucket,
      },
    });
    cleanups.push(() => fleet.stopAll());

    const group = new AutoScalingGroup({
      ...options.capacity,
      availabilityZones: labZones,
      slots,
      healthCheckGracePeriodMs: options.healthCheckGracePeriodMs ?? 30_000,
      policy: options.policy,
      fleet,
      release: options.release,
    });
    fleet.addRelease(group.launchTemplate, options.app);
    const releases = new ReleaseRoller({ group, fleet, stats: () => haproxy.stats(), log: options.log, options: options.rollOptions });
    const observer = new TrafficObserver();
    const domain = new DomainWatch();
    const faults = new FaultInjector({ group, fleet, services, log: options.log });
    cleanups.push(async () => faults.cancelAll());
    // A roll under way ends at its next step (its record says the lab stopped) before the fleet closes.
    cleanups.push(() => releases.cancel());

    const wikiUrl = `http://127.0.0.1:${options.wikiPort}/`;
    let statusUrl = '';
    const cpu = new Map<string, number>();
    const status = (): LabStatus => ({
      wikiUrl,
      statusUrl,
      group: {
        min: group.min,
        max: group.max,
        desired: group.desired,
        suspendedProcesses: [...group.suspended],
        policy: group.policy ?? null,
      },
      zones: group.availabilityZones.map((name) => ({
        name,
        available: !group.unavailableZones.has(name),
        instances: group.instances.filter((instance) => instance.az === name && instance.lifecycle !== 'Terminating').length,
      })),
      instances: group.instances.map((instance) => {
        const traffic = observer.traffic(instance);
        const running = fleet.describe(instance.id);
        return {
          id: instance.id,
          az: instance.az,
          slot: instance.slot,
          pid: running?.pid,
          port: running?.port,
          lifecycle: instance.lifecycle,
          health: instance.health,
          loadBalancerStatus: traffic.loadBalancerStatus,
          requests: traffic.requests,
          requestsPerSecond: Math.round(traffic.requestsPerSecond * 10) / 10,
          cpuPercent: Math.round(cpu.get(instance.id) ?? 0),
          launchedAt: new Date(instance.launchedAt).toISOString(),
          release: instance.release,
        };
      }),
      loadBalancer: { servingBackupSite: observer.servingBackup(), backupSiteRequests: observer.backupRequests() },
      backup: { bucket: backupSiteBucket, s3Endpoint: services.s3.endpoint, ...backupLag.reading() },
      domain: domain.status(),
      services: {
        postgres: faults.frozen ? 'frozen' : services.postgres.isRunning() ? 'running' : 'stopped',
        replica: services.replication?.replicaState() ?? 'none',
        dynamodb: services.dynamodb.isRunning() ? 'running' : 'stopped',
        s3: 'running',
      },
      database: { replicaZone: services.replication?.replicaZone() ?? null },
      faults: { active: faults.active, history: faults.history.slice(0, 50) },
      releases: { launchTemplate: group.launchTemplate, rolling: releases.rolling, rolls: [...releases.history] },
      activities: group.activities,
    });

    let ticking = false;
    const tick = async () => {
      if (ticking) return;
      ticking = true;
      try {
        const readAt = Date.now();
        const stats = await haproxy.stats();
        observer.update(group.instances, stats);
        const liveCheck = await haproxy.domainStatus();
        if (liveCheck) domain.update(liveCheck, readAt);
        const bySlot = new Map(stats.map((stat) => [stat.name, stat.status]));
        const repaired = await fleet.reassertRegistrations({ readAt, slotStatus: (slot) => bySlot.get(slotName(slot)) });
        for (const id of repaired) options.log(`supervisor: ${id}'s HAProxy slot was in maintenance although it runs: registered it again`);
        const observations = new Map(
          group.instances.map((instance) => {
            const cpuPercent = fleet.cpuPercent(instance.id);
            cpu.set(instance.id, cpuPercent);
            return [instance.id, observer.observation(instance, fleet.isAlive(instance.id), cpuPercent)];
          }),
        );
        await group.reconcile(observations);
      } catch (error) {
        options.log(`supervisor: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        ticking = false;
      }
    };
    const timer = setInterval(() => void tick(), tickMs);
    cleanups.push(async () => clearInterval(timer));
    await tick();

    const sendDomainTo = async (target: 'backup' | 'live') => {
      await haproxy.forceDomainToBackup(target === 'backup');
      options.log(target === 'backup' ? 'domain: sent to the backup copy by hand' : 'domain: released; the health check decides again');
      // Seen at once, not at the next tick: the lever's caller reads the status it answers with.
      const liveCheck = await haproxy.domainStatus();
      if (liveCheck) domain.update(liveCheck);
    };
    const statusServer: StatusServer = await startStatusServer({
      port: options.statusPort,
      status,
      group,
      faults,
      releases,
      stateDir: options.stateDir,
      sendDomainTo,
    });
    cleanups.push(statusServer.stop);
    statusUrl = statusServer.url;

    let stopped: Promise<void> | undefined;
    return {
      wikiUrl,
      statusUrl,
      group,
      fleet,
      services,
      haproxy,
      faults,
      releases,
      status,
      stop: () => (stopped ??= stopStarted()),
    };
  } catch (error) {
    await stopStarted();
    throw error;
  }
}
