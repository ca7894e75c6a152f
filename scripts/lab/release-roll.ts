import { setTimeout as sleep } from 'node:timers/promises';
import type { AutoScalingGroup, GroupInstance, ScalingProcess } from './auto-scaling-group';
import { defaultCanaryThresholds, judgeCanary, type CanarySide, type CanaryThresholds } from './canary';
import { fullWeight, slotName, type ServerStat } from './haproxy';
import type { AppCommand, ProcessFleet } from './instances';

/** A build the group can launch: its version (what /health reports) and how to start it. */
export interface LabRelease {
  version: string;
  app: AppCommand;
}

type RollState = 'rolling' | 'succeeded' | 'rolling-back' | 'rolled-back' | 'failed';

export interface RollRecord {
  id: number;
  from: string;
  to: string;
  state: RollState;
  startedAt: number;
  endedAt?: number;
  /** When an instance of the new release first took traffic (HAProxy had it UP). */
  firstTrafficAt?: number;
  /** When the new release was found bad: an instance that never passed its checks, or a failed canary. */
  detectedAt?: number;
  /** When no instance the load balancer sends traffic to ran the new release any more. */
  backOnPreviousAt?: number;
  reason?: string;
  canary?: { fresh: CanarySide; previous: CanarySide; verdict: string };
  /** Instances of the new release that were UP behind the load balancer (took traffic) at some point. */
  servedNewRelease: string[];
  /** Instances in service per release, recorded whenever that changes. */
  versions: { at: number; inService: Record<string, number> }[];
  events: { at: number; message: string }[];
}

export interface RollOptions {
  /** How long a new instance has to pass the load balancer's checks: the UpdatePolicy's PauseTime. */
  healthTimeoutMs: number;
  /** How long the first new instance is compared with the old ones before the roll goes on. */
  canaryMs: number;
  /** The page the roll itself views on each side of the canary. */
  canaryPath: string;
  /**
   * The canary's share of traffic until it passes, against each old instance's fullWeight (100):
   * 25 of 325 with three old instances, so a bad release reaches few users before it is caught.
   */
  canaryWeight: number;
  thresholds: CanaryThresholds;
  pollMs: number;
}

const defaultRollOptions: RollOptions = {
  healthTimeoutMs: 30_000,
  canaryMs: 10_000,
  canaryPath: '/wiki/Home',
  canaryWeight: 25,
  thresholds: defaultCanaryThresholds,
  pollMs: 250,
};

/** One page view sent straight to an instance: did it answer below 500, and how fast. */
export type Probe = (port: number, path: string) => Promise<{ ok: boolean; ms: number }>;

const httpProbe: Probe = async (port, path) => {
  const started = performance.now();
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return { ok: response.status < 500, ms: performance.now() - started };
  } catch {
    return { ok: false, ms: performance.now() - started };
  }
};

export class RollInProgressError extends Error {
  readonly status = 409;
}

/**
 * The processes CloudFormation's AutoScalingRollingUpdate documentation says to suspend during a
 * rolling update: the group must not replace (with either release) or scale while the roll
 * decides which instances live.
 */
const suspendedDuringRoll: ScalingProcess[] = ['ReplaceUnhealthy', 'AlarmNotification', 'AZRebalance'];

/**
 * Rolls a release through the lab's group as the template's UpdatePolicy does (MaxBatchSize 1,
 * MinInstancesInService = desired, WaitOnResourceSignals): launch one instance on the new
 * release above the desired capacity, wait until the load balancer finds it healthy (the lab's
 * cfn-signal), then retire one old instance; again until none is left. The first new instance is
 * also a canary: its error rate and page-view latency against the old instances' over a short
 * window. A new instance that never gets healthy, or a failed canary, stops the roll and rolls the
 * group back to the previous release the same way, so at most one instance ever served the bad one.
 */
export class ReleaseRoller {
  private readonly rolls: RollRecord[] = [];
  private running: Promise<void> | undefined;
  private cancelled = false;
  /** Instances HAProxy has had UP, seen by the roll before the group's pass marks them InService. */
  private readonly up = new Set<string>();
  private readonly options: RollOptions;

  constructor(
    private readonly deps: {
      group: AutoScalingGroup;
      fleet: Pick<ProcessFleet, 'addRelease' | 'describe' | 'setWeight'>;
      stats: () => Promise<ServerStat[]>;
      probe?: Probe;
      log: (line: string) => void;
      now?: () => number;
      options?: Partial<RollOptions>;
    },
  ) {
    this.options = { ...defaultRollOptions, ...deps.options };
  }

  /** Newest first. */
  get history(): readonly RollRecord[] {
    return this.rolls;
  }

  get rolling(): boolean {
    return this.running !== undefined;
  }

  /** Starts a roll and returns its record at once; `finished()` waits for it. */
  start(release: LabRelease, options: Partial<RollOptions> = {}): RollRecord {
    if (this.cancelled) throw new Error('the lab is stopping');
    if (this.running) throw new RollInProgressError(`a roll to ${this.rolls[0]?.to} is under way; wait for it to end`);
    const { group } = this.deps;
    if (release.version === group.launchTemplate) throw new Error(`the group already runs ${release.version}`);
    this.deps.fleet.addRelease(release.version, release.app);
    const record: RollRecord = {
      id: (this.rolls[0]?.id ?? 0) + 1,
      from: group.launchTemplate,
      to: release.version,
      state: 'rolling',
      startedAt: this.now(),
      servedNewRelease: [],
      versions: [],
      events: [],
    };
    this.rolls.unshift(record);
    this.rolls.length = Math.min(this.rolls.length, 20);
    this.running = this.run(record, { ...this.options, ...options })
      .catch((error: unknown) => {
        record.state = 'failed';
        record.reason = `the roll itself failed: ${error instanceof Error ? error.message : String(error)}`;
        this.event(record, record.reason);
      })
      .finally(() => {
        record.endedAt = this.now();
        this.running = undefined;
        this.up.clear();
      });
    return record;
  }

  /** The lab is stopping: a roll under way ends at its next step, without rolling back. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    await this.running;
  }

  /** Resolves when the roll under way (if any) has ended. */
  async finished(): Promise<void> {
    await this.running;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private event(record: RollRecord, message: string): void {
    record.events.push({ at: this.now(), message });
    this.deps.log(`release ${record.to}: ${message}`);
  }

  private async run(record: RollRecord, options: RollOptions): Promise<void> {
    const { group } = this.deps;
    const added = suspendedDuringRoll.filter((process) => !group.suspended.has(process));
    group.suspend(added);
    const maxBefore = group.max;
    this.event(
      record,
      `rolling from ${record.from}, one instance at a time; suspended ${added.join(', ') || 'nothing (already suspended)'}`,
    );
    try {
      group.launchTemplate = record.to;
      if (await this.replaceAll(record, record.to, maxBefore, options, true)) {
        record.state = 'succeeded';
        this.event(record, `every instance runs ${record.to}`);
        return;
      }
      group.launchTemplate = record.from;
      if (this.cancelled) throw new Error('the lab stopped during the roll');
      record.state = 'rolling-back';
      this.event(record, `rolling back to ${record.from}: ${record.reason}`);
      if (await this.replaceAll(record, record.from, maxBefore, { ...options, healthTimeoutMs: options.healthTimeoutMs * 2 }, false)) {
        record.backOnPreviousAt ??= this.now();
        record.state = 'rolled-back';
        this.event(record, `rolled back: every instance runs ${record.from}`);
      } else {
        record.state = 'failed';
        this.event(record, `the rollback to ${record.from} did not complete: the group needs a person`);
      }
    } finally {
      group.resume(added);
      this.noteVersions(record);
    }
  }

  /** Replaces every instance not on `target`, one at a time; false at the first one that fails. */
  private async replaceAll(record: RollRecord, target: string, maxBefore: number, options: RollOptions, canary: boolean): Promise<boolean> {
    const { group } = this.deps;
    let canaryDone = !canary;
    for (;;) {
      if (this.cancelled) return false;
      const victim = group.instances
        .filter((instance) => instance.lifecycle !== 'Terminating' && instance.release !== target)
        .sort((a, b) => a.launchedAt - b.launchedAt)[0];
      if (!victim) return true;
      const fresh = group.launchExtra(`an instance was launched by a rolling release to ${target}, to replace ${victim.id}`, victim.az);
      if (!fresh) {
        record.reason ??= 'no instance could be launched (no zone or load balancer slot free)';
        return false;
      }
      // Before its registration (the launch is under way): the canary never takes a full share.
      if (!canaryDone) void this.deps.fleet.setWeight(fresh.id, options.canaryWeight);
      this.event(record, `launched ${fresh.id} (${fresh.az}) on ${target}; waiting for the load balancer's health checks`);
      const beforeTraffic = await this.deps.stats();
      if (!(await this.waitInService(record, fresh, options, !canaryDone))) {
        record.detectedAt ??= this.now();
        record.reason ??= `${fresh.id} did not pass the load balancer's health checks within ${options.healthTimeoutMs / 1000} s`;
        group.terminateAndDecrement(
          fresh.id,
          `an instance was taken out of service by a rolling release: it never became healthy`,
          maxBefore,
        );
        const served = this.up.has(fresh.id) || record.servedNewRelease.includes(fresh.id);
        this.event(
          record,
          `${fresh.id} never became healthy: terminated${served ? ' (HAProxy had it UP for a while)' : ', it took no traffic'}`,
        );
        this.noteVersions(record);
        return false;
      }
      this.event(record, `${fresh.id} is in service`);
      if (!canaryDone) {
        const verdict = await this.canary(record, fresh, beforeTraffic, options);
        if (verdict.verdict === 'fail') {
          record.detectedAt ??= this.now();
          record.reason ??= `the canary ${fresh.id} failed: ${verdict.reason}`;
          group.terminateAndDecrement(
            fresh.id,
            `an instance was taken out of service by a rolling release: its canary check failed`,
            maxBefore,
          );
          this.event(record, `canary failed (${verdict.reason}): ${fresh.id} out of the load balancer and draining`);
          this.noteVersions(record);
          if (!group.instances.some((instance) => instance.lifecycle !== 'Terminating' && instance.release === target))
            record.backOnPreviousAt = this.now();
          return false;
        }
        this.event(record, `canary passed: ${verdict.reason}`);
        await this.deps.fleet.setWeight(fresh.id, fullWeight);
        canaryDone = true;
        // The group counts it in service (the signal) before an old one may go.
        if (!(await this.waitInService(record, fresh, options, false))) {
          record.reason ??= `${fresh.id} left service after its canary passed`;
          return false;
        }
      }
      group.terminateAndDecrement(victim.id, `an instance was taken out of service by a rolling release to ${target}`, maxBefore);
      this.event(record, `retired ${victim.id} (${victim.release}): draining`);
      this.noteVersions(record);
    }
  }

  /**
   * Until the group has the instance InService (the lab's cfn-signal) — or, with `upIsEnough`, as
   * soon as HAProxy has it UP: HAProxy sends traffic from then on, up to a second before the
   * group's next pass marks it, and a canary must watch from the first request.
   */
  private async waitInService(record: RollRecord, instance: GroupInstance, options: RollOptions, upIsEnough: boolean): Promise<boolean> {
    const { group } = this.deps;
    const deadline = this.now() + options.healthTimeoutMs;
    for (;;) {
      if (this.cancelled) return false;
      if (!group.instances.includes(instance) || instance.lifecycle === 'Terminating' || instance.health === 'Unhealthy') return false;
      const up = (await this.deps.stats()).some((stat) => stat.name === slotName(instance.slot) && stat.status.startsWith('UP'));
      if (up) this.up.add(instance.id);
      if ((upIsEnough && up) || instance.lifecycle === 'InService') {
        if (instance.release === record.to) {
          record.firstTrafficAt ??= this.now();
          if (!record.servedNewRelease.includes(instance.id)) record.servedNewRelease.push(instance.id);
        }
        this.noteVersions(record);
        return true;
      }
      if (this.now() >= deadline) return false;
      this.noteVersions(record);
      await sleep(options.pollMs);
    }
  }

  /**
   * The new instance against the old ones, from the moment it takes traffic: HAProxy's request
   * and 5xx counters for each (real users), and one page view at a time sent straight to the new
   * instance and to an old one in turn (latency, and errors even when there is no traffic).
   */
  private async canary(record: RollRecord, fresh: GroupInstance, beforeTraffic: ServerStat[], options: RollOptions) {
    const { group } = this.deps;
    const probe = this.deps.probe ?? httpProbe;
    const previous = () => group.instances.filter((instance) => instance.lifecycle === 'InService' && instance.release !== fresh.release);
    const counters = (stats: ServerStat[], instance: GroupInstance) => {
      const stat = stats.find((candidate) => candidate.name === slotName(instance.slot));
      return { requests: stat?.totalRequests ?? 0, errors: stat?.serverErrors ?? 0 };
    };
    const baseline = new Map<string, { requests: number; errors: number }>();
    const initial = await this.deps.stats();
    baseline.set(fresh.id, counters(beforeTraffic, fresh));
    for (const instance of previous()) baseline.set(instance.id, counters(initial, instance));
    const probed = {
      fresh: { requests: 0, errors: 0, latenciesMs: [] as number[] },
      previous: { requests: 0, errors: 0, latenciesMs: [] as number[] },
    };
    const inFlight = { fresh: false, previous: false };
    let turn = 0;
    const send = (side: 'fresh' | 'previous', port: number | undefined) => {
      if (inFlight[side] || port === undefined) return;
      inFlight[side] = true;
      void probe(port, options.canaryPath).then((result) => {
        probed[side].requests += 1;
        if (!result.ok) probed[side].errors += 1;
        else probed[side].latenciesMs.push(result.ms);
        inFlight[side] = false;
      });
    };
    const started = this.now();
    for (;;) {
      if (this.cancelled) return { verdict: 'fail' as const, reason: 'the lab is stopping' };
      if (fresh.lifecycle === 'Terminating' || fresh.health === 'Unhealthy')
        return { verdict: 'fail' as const, reason: `${fresh.id} left service during its canary window` };
      this.noteVersions(record);
      const olds = previous();
      send('fresh', this.deps.fleet.describe(fresh.id)?.port);
      const old = olds[turn++ % Math.max(1, olds.length)];
      send('previous', old && this.deps.fleet.describe(old.id)?.port);
      await sleep(options.pollMs);
      const stats = await this.deps.stats();
      const traffic = (instance: GroupInstance) => {
        const now = counters(stats, instance);
        const base = baseline.get(instance.id) ?? now;
        baseline.set(instance.id, base);
        return { requests: now.requests - base.requests, errors: now.errors - base.errors };
      };
      const freshTraffic = traffic(fresh);
      const oldTraffic = olds
        .map(traffic)
        .reduce((sum, next) => ({ requests: sum.requests + next.requests, errors: sum.errors + next.errors }), {
          requests: 0,
          errors: 0,
        });
      const freshSide: CanarySide = {
        requests: freshTraffic.requests + probed.fresh.requests,
        errors: freshTraffic.errors + probed.fresh.errors,
        latenciesMs: [...probed.fresh.latenciesMs],
      };
      const previousSide: CanarySide = {
        requests: oldTraffic.requests + probed.previous.requests,
        errors: oldTraffic.errors + probed.previous.errors,
        latenciesMs: [...probed.previous.latenciesMs],
      };
      const verdict = judgeCanary(freshSide, previousSide, this.now() - started, options.canaryMs, options.thresholds);
      if (verdict.verdict !== 'wait') {
        record.canary = { fresh: freshSide, previous: previousSide, verdict: `${verdict.verdict}: ${verdict.reason}` };
        return verdict;
      }
    }
  }

  /** Appends the releases serving now (InService, or UP in HAProxy already), if they changed. */
  private noteVersions(record: RollRecord): void {
    const inService: Record<string, number> = {};
    for (const instance of this.deps.group.instances) {
      const serving = instance.lifecycle === 'InService' || (instance.lifecycle === 'Pending' && this.up.has(instance.id));
      if (!serving) continue;
      inService[instance.release] = (inService[instance.release] ?? 0) + 1;
      if (instance.release === record.to && !record.servedNewRelease.includes(instance.id)) record.servedNewRelease.push(instance.id);
    }
    const last = record.versions.at(-1);
    if (!last || JSON.stringify(last.inService) !== JSON.stringify(inService)) record.versions.push({ at: this.now(), inService });
  }
}
