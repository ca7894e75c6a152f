import type { Services } from '../services/stack';
import type { AutoScalingGroup } from './auto-scaling-group';
import type { ProcessFleet } from './instances';

export const localFaults = ['instance', 'az', 'database', 'sessions', 'all-web'] as const;
export type LocalFault = (typeof localFaults)[number];

export interface FaultRequest {
  fault: LocalFault;
  /** How long the fault lasts before the lab undoes it (az, database, sessions, all-web). */
  seconds?: number;
  /** The instance to kill (`instance`); a random in-service one when unset. */
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
}

export interface FaultTargets {
  group: AutoScalingGroup;
  fleet: ProcessFleet;
  services: Services;
  log: (line: string) => void;
}

export const defaultFaultSeconds = 20;

export class FaultInjectionError extends Error {
  readonly status = 400;
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
        const candidates = group.instances.filter((instance) => instance.lifecycle === 'InService');
        const victim = request.instance ? group.instances.find((instance) => instance.id === request.instance) : pickRandom(candidates);
        if (!victim)
          throw new FaultInjectionError(request.instance ? `no instance ${request.instance} in the group` : 'no instance is in service');
        fleet.kill(victim.id);
        return this.begin('instance', `killed ${victim.id} in ${victim.az} (SIGKILL: a crash, no draining)`, { victims: [victim.id] });
      }
      case 'az': {
        const az = this.resolveZone(request.az);
        group.setZoneAvailable(az, false);
        const victims = group.instances.filter((instance) => instance.az === az && instance.lifecycle !== 'Terminating');
        for (const victim of victims) fleet.kill(victim.id);
        return this.begin(
          'az',
          `${az} is out for ${seconds} s: killed ${victims.map((v) => v.id).join(', ') || 'no instance'}; no launches there`,
          { victims: victims.map((victim) => victim.id), zone: az },
          seconds,
          () => group.setZoneAvailable(az, true),
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

  /** Cancels pending restorations (the lab is stopping and takes everything down anyway). */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
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
    targets: Pick<ActiveFault, 'victims' | 'zone'>,
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
