import type { Services } from '../services/stack';
import type { AutoScalingGroup } from './auto-scaling-group';
import { freezeProcessTree } from './freeze';
import type { ProcessFleet } from './instances';

/** A contract with the game day and the chaos CLI: use these names exactly. */
export const localFaults = ['instance', 'sigterm', 'az', 'database', 'db-freeze', 'replica', 'db-failover', 'sessions', 'all-web'] as const;
export type LocalFault = (typeof localFaults)[number];

export interface FaultRequest {
  fault: LocalFault;
  /** How long the fault lasts before the lab undoes it (az, database, db-freeze, replica, sessions, all-web). */
  seconds?: number;
  /** The instance to kill (`instance`) or signal (`sigterm`); a random in-service one when unset. */
  instance?: string;
  /** The zone to fail (`az`): a full name (lab-b) or its letter (b); a random one when unset. */
  az?: string;
}

export interface ActiveFault {
  id: number;
  fault: LocalFault;
  /** For people only: tools read `victims` and `zone`, never this sentence. */
  description: string;
  /** Ids of the instances this fault killed or signalled; [] when it touched none. */
  victims: string[];
  /** The zone an `az` fault took out. */
  zone?: string;
  startedAt: number;
  /** When the lab undoes it; absent for faults with nothing to undo (a killed instance). */
  endsAt?: number;
  /** `db-failover`: from stopping the primary until a write through the writer endpoint succeeded. */
  writesBackAfterSeconds?: number;
}

export interface FaultTargets {
  group: AutoScalingGroup;
  fleet: ProcessFleet;
  services: Services;
  log: (line: string) => void;
}

export const defaultFaultSeconds = 20;

export class FaultInjectionError extends Error {
  constructor(
    message: string,
    /** 400: a bad request; 409: the lab is not in a state where this fault makes sense. */
    readonly status = 400,
  ) {
    super(message);
  }
}

function pickRandom<T>(items: readonly T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

/**
 * The local faults behind `npm run chaos` and the status page's buttons. Each one breaks a real
 * part (kills a process, stops a server) and, where the fault has a duration, the lab itself puts
 * it back when the time is up, so a chaos client that dies mid-fault leaves no lasting damage.
 */
export class FaultInjector {
  readonly active: ActiveFault[] = [];
  readonly history: ActiveFault[] = [];
  private nextId = 1;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly targets: FaultTargets) {}

  async inject(request: FaultRequest): Promise<ActiveFault> {
    const seconds = request.seconds ?? defaultFaultSeconds;
    if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) throw new FaultInjectionError('seconds must be between 1 and 600');
    const { group, fleet, services } = this.targets;
    switch (request.fault) {
      case 'instance': {
        const victim = this.pickInstance(request.instance);
        fleet.kill(victim.id);
        return this.begin('instance', `killed ${victim.id} in ${victim.az} (SIGKILL: a crash, no draining)`, { victims: [victim.id] });
      }
      case 'sigterm': {
        // A bare SIGTERM, as a spot interruption or a person's `kill` would send: no deregistration
        // first. The app drains on its own; the group notices through HAProxy's checks and sends
        // the second SIGTERM an ASG would (the app ignores it while draining).
        const victim = this.pickInstance(request.instance);
        if (!fleet.signal(victim.id, 'SIGTERM')) throw new FaultInjectionError(`${victim.id} has no running process`, 409);
        return this.begin('sigterm', `sent SIGTERM to ${victim.id} in ${victim.az} (no help from the load balancer)`, {
          victims: [victim.id],
        });
      }
      case 'az': {
        const az = this.resolveZone(request.az);
        group.setZoneAvailable(az, false);
        const victims = group.instances.filter((instance) => instance.az === az && instance.lifecycle !== 'Terminating');
        for (const victim of victims) fleet.kill(victim.id);
        // The replica is in a zone too: losing the zone loses it (the primary's zone is db-failover's).
        const replication = services.replication;
        const replica = replication?.replicaZone() === az ? replication.replica() : undefined;
        if (replica?.isRunning()) await replica.stop();
        return this.begin(
          'az',
          `${az} is out for ${seconds} s: killed ${victims.map((v) => v.id).join(', ') || 'no instance'}${replica ? ' and the database replica' : ''}; no launches there`,
          { victims: victims.map((victim) => victim.id), zone: az },
          seconds,
          async () => {
            group.setZoneAvailable(az, true);
            await replica?.start();
          },
        );
      }
      case 'db-freeze': {
        const pid = services.postgres.pid();
        if (pid === undefined || !services.postgres.isRunning()) throw new FaultInjectionError('PostgreSQL is not running', 409);
        const thaw = freezeProcessTree(pid);
        this.thawOnStop.add(thaw);
        this.frozen = true;
        return this.begin(
          'db-freeze',
          `PostgreSQL (pid ${pid}) and its backends frozen (SIGSTOP) for ${seconds} s`,
          { victims: [] },
          seconds,
          () => {
            thaw();
            this.thawOnStop.delete(thaw);
            this.frozen = false;
          },
        );
      }
      case 'replica': {
        const replica = this.requireReplication().replica();
        if (!replica?.isRunning()) throw new FaultInjectionError('the replica is not running (stopped, or being rebuilt)', 409);
        await replica.stop();
        return this.begin('replica', `PostgreSQL replica stopped for ${seconds} s`, { victims: [] }, seconds, () => replica.start());
      }
      case 'db-failover': {
        const replication = this.requireReplication();
        let writesBackAfterMs: number;
        try {
          ({ writesBackAfterMs } = await replication.failover());
        } catch (error) {
          throw new FaultInjectionError(error instanceof Error ? error.message : String(error), 409);
        }
        const writesBackAfterSeconds = Math.round(writesBackAfterMs / 100) / 10;
        return this.begin(
          'db-failover',
          `primary stopped, replica promoted, writer endpoint moved: writes succeed again after ${writesBackAfterSeconds} s; the old primary is being rebuilt as the new replica`,
          { victims: [], writesBackAfterSeconds },
        );
      }
      case 'database':
        await services.postgres.stop();
        return this.begin('database', `PostgreSQL stopped for ${seconds} s`, { victims: [] }, seconds, () => services.postgres.start());
      case 'sessions':
        await services.dynamodb.stop();
        return this.begin('sessions', `DynamoDB Local stopped for ${seconds} s`, { victims: [] }, seconds, () => services.dynamodb.start());
      case 'all-web': {
        // Launch is suspended for the duration, or the group would replace the fleet within seconds
        // and the backup site would barely be seen: the regional web-tier outage being simulated.
        group.suspend(['Launch']);
        const victims = group.instances.filter((instance) => instance.lifecycle !== 'Terminating');
        for (const victim of victims) fleet.kill(victim.id);
        return this.begin(
          'all-web',
          `killed all ${victims.length} instances; launches suspended for ${seconds} s`,
          { victims: victims.map((victim) => victim.id) },
          seconds,
          () => group.resume(['Launch']),
        );
      }
      default:
        throw new FaultInjectionError(`unknown fault "${String(request.fault)}"; the local faults are ${localFaults.join(', ')}`);
    }
  }

  /** True while a db-freeze fault holds PostgreSQL stopped. */
  frozen = false;
  /** A frozen server cannot even shut down: thawed when the lab stops, whatever the fault's time. */
  private readonly thawOnStop = new Set<() => void>();

  /** Cancels pending restorations (the lab is stopping and takes everything down anyway). */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const thaw of this.thawOnStop) thaw();
    this.thawOnStop.clear();
  }

  private pickInstance(requested: string | undefined) {
    const { group } = this.targets;
    const victim = requested
      ? group.instances.find((instance) => instance.id === requested)
      : pickRandom(group.instances.filter((instance) => instance.lifecycle === 'InService'));
    if (!victim)
      throw new FaultInjectionError(
        requested ? `no instance ${requested} in the group` : 'no instance is in service',
        requested ? 400 : 409,
      );
    return victim;
  }

  private requireReplication() {
    const { replication } = this.targets.services;
    if (!replication) throw new FaultInjectionError('this lab runs without a database replica (it was started with --no-replica)', 409);
    return replication;
  }

  private resolveZone(requested: string | undefined): string {
    const zones = this.targets.group.availabilityZones;
    if (!requested) return pickRandom(zones.filter((zone) => !this.targets.group.unavailableZones.has(zone))) ?? zones[0]!;
    const zone = zones.find((candidate) => candidate === requested || candidate.endsWith(`-${requested}`));
    if (!zone) throw new FaultInjectionError(`unknown zone "${requested}"; the lab's zones are ${zones.join(', ')}`);
    return zone;
  }

  private begin(
    fault: LocalFault,
    description: string,
    targets: Pick<ActiveFault, 'victims' | 'zone' | 'writesBackAfterSeconds'>,
    seconds?: number,
    restore?: () => unknown,
  ): ActiveFault {
    const now = Date.now();
    const record: ActiveFault = {
      id: this.nextId++,
      fault,
      description,
      victims: targets.victims,
      ...(targets.zone ? { zone: targets.zone } : {}),
      ...(targets.writesBackAfterSeconds !== undefined ? { writesBackAfterSeconds: targets.writesBackAfterSeconds } : {}),
      startedAt: now,
      ...(restore && seconds ? { endsAt: now + seconds * 1000 } : {}),
    };
    this.targets.log(`chaos: ${description}`);
    this.history.unshift(record);
    if (!restore || !seconds) return record;
    this.active.push(record);
    const timer = setTimeout(async () => {
      this.timers.delete(timer);
      try {
        await restore();
        this.targets.log(`chaos: ${fault} fault over, restored`);
      } catch (error) {
        this.targets.log(`chaos: could not undo the ${fault} fault: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        this.active.splice(this.active.indexOf(record), 1);
      }
    }, seconds * 1000);
    this.timers.add(timer);
    return record;
  }
}
