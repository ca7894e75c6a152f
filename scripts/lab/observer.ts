import type { GroupInstance, InstanceObservation } from './auto-scaling-group';
import { backupServerName, slotName, type ServerStat } from './haproxy';

const rateWindowMs = 10_000;

interface Sample {
  at: number;
  total: number;
}

export interface InstanceTraffic {
  /** Requests HAProxy sent to this instance since it was registered. */
  requests: number;
  requestsPerSecond: number;
  loadBalancerStatus: string;
}

/**
 * Turns HAProxy's per-slot counters into per-instance figures. A slot is reused by the next
 * instance, so each instance's count starts from the slot's total when the instance was first seen.
 */
export class TrafficObserver {
  private readonly samples = new Map<string, Sample[]>();
  private readonly baseline = new Map<string, number>();
  private backupTotal = { first: undefined as number | undefined, latest: 0 };
  private lastStats: ServerStat[] = [];

  update(instances: readonly GroupInstance[], stats: ServerStat[], now = Date.now()): void {
    this.lastStats = stats;
    const bySlot = new Map(stats.map((stat) => [stat.name, stat]));
    for (const instance of instances) {
      const total = bySlot.get(slotName(instance.slot))?.totalRequests ?? 0;
      if (!this.baseline.has(instance.id)) this.baseline.set(instance.id, total);
      const samples = this.samples.get(instance.id) ?? [];
      samples.push({ at: now, total });
      while (samples.length > 1 && now - samples[0]!.at > rateWindowMs) samples.shift();
      this.samples.set(instance.id, samples);
    }
    const known = new Set(instances.map((instance) => instance.id));
    for (const id of this.samples.keys()) {
      if (!known.has(id)) {
        this.samples.delete(id);
        this.baseline.delete(id);
      }
    }
    const backup = bySlot.get(backupServerName)?.totalRequests ?? 0;
    this.backupTotal.first ??= backup;
    this.backupTotal.latest = backup;
  }

  traffic(instance: GroupInstance): InstanceTraffic {
    const samples = this.samples.get(instance.id) ?? [];
    const first = samples[0];
    const last = samples[samples.length - 1];
    const seconds = first && last ? (last.at - first.at) / 1000 : 0;
    return {
      requests: last ? last.total - (this.baseline.get(instance.id) ?? last.total) : 0,
      requestsPerSecond: first && last && seconds > 0 ? (last.total - first.total) / seconds : 0,
      loadBalancerStatus: this.lastStats.find((stat) => stat.name === slotName(instance.slot))?.status ?? 'unknown',
    };
  }

  /** Requests the backup site has answered since the lab started. */
  backupRequests(): number {
    return this.backupTotal.latest - (this.backupTotal.first ?? 0);
  }

  /** HAProxy sends traffic to the backup server only when no instance slot is UP. */
  servingBackup(): boolean {
    return !this.lastStats.some((stat) => stat.name !== backupServerName && stat.status.startsWith('UP'));
  }

  observation(instance: GroupInstance, alive: boolean, cpuPercent: number): InstanceObservation {
    const traffic = this.traffic(instance);
    return {
      alive,
      // "UP 1/2" is an UP server that failed one check: still in rotation.
      healthyInLoadBalancer: traffic.loadBalancerStatus.startsWith('UP'),
      requestsPerSecond: traffic.requestsPerSecond,
      cpuPercent,
    };
  }
}
