import { randomBytes } from 'node:crypto';
import { decideScaling, type ScalingPolicy } from './scaling-policy';

/**
 * A teaching model of an EC2 Auto Scaling group, small enough to read in one sitting. Every
 * second the lab calls reconcile() with what it observed (is the process alive, does the load
 * balancer see it healthy, how busy is it); the group then does what the real one does, in the
 * same order: health checks, replacing unhealthy instances, its scaling policy, launching or
 * terminating to reach the desired capacity across Availability Zones, and rebalancing the AZs.
 * Each action is written to the activity history in the console's words.
 */

export type Lifecycle = 'Pending' | 'InService' | 'Terminating';
export type HealthStatus = 'Healthy' | 'Unhealthy';
/** The processes `aws autoscaling suspend-processes` can suspend, those this model has. */
export type ScalingProcess = 'Launch' | 'Terminate' | 'ReplaceUnhealthy' | 'AlarmNotification' | 'AZRebalance';

export interface GroupInstance {
  id: string;
  az: string;
  /** The load balancer slot it occupies (HAProxy server-template number). */
  slot: number;
  lifecycle: Lifecycle;
  health: HealthStatus;
  launchedAt: number;
  /** The release it runs: the launch template's version when it was launched. */
  release: string;
}

export interface InstanceObservation {
  /** The instance's process is running (EC2's instance status check). */
  alive: boolean;
  /** The load balancer's health check passes (ELB health check). */
  healthyInLoadBalancer: boolean;
  requestsPerSecond: number;
  cpuPercent: number;
}

/** What actually starts and stops instances: processes and HAProxy slots in the lab. */
export interface Fleet {
  launch(instance: GroupInstance): Promise<void>;
  terminate(instance: GroupInstance): Promise<void>;
}

export interface Activity {
  id: number;
  status: 'InProgress' | 'Successful' | 'Failed';
  description: string;
  cause: string;
  startTime: number;
  endTime?: number;
}

export interface GroupOptions {
  min: number;
  max: number;
  desired: number;
  availabilityZones: string[];
  /** Load balancer slots available; at least max, plus room for instances still terminating. */
  slots: number;
  /** How long a new instance may fail its load balancer health check before it is replaced. */
  healthCheckGracePeriodMs: number;
  policy?: ScalingPolicy;
  fleet: Fleet;
  /** The launch template's release: what every instance launched runs (default "initial"). */
  release?: string;
  now?: () => number;
  newInstanceId?: () => string;
}

const historyLength = 200;

export class AutoScalingGroup {
  min: number;
  max: number;
  desired: number;
  readonly availabilityZones: string[];
  readonly instances: GroupInstance[] = [];
  /** Newest first, like the console. */
  readonly activities: Activity[] = [];
  readonly suspended = new Set<ScalingProcess>();
  readonly unavailableZones = new Set<string>();
  policy: ScalingPolicy | undefined;
  /**
   * The launch template's release. A rolling release (release-roll.ts) points it at the new
   * build; every launch from then on, the group's own replacements included, runs that build.
   */
  launchTemplate: string;
  private lastScaleOutAt: number | undefined;
  private lastScaleInAt: number | undefined;
  /** Why desired capacity last changed: quoted in the cause of the launches and terminations that follow. */
  private desiredChangeCause: string | undefined;
  private nextActivityId = 1;
  private readonly options: GroupOptions;
  private readonly now: () => number;

  constructor(options: GroupOptions) {
    if (!(options.min <= options.desired && options.desired <= options.max)) {
      throw new Error(`capacity must satisfy min <= desired <= max, got ${options.min} <= ${options.desired} <= ${options.max}`);
    }
    if (options.slots < options.max) throw new Error(`the load balancer needs at least max (${options.max}) slots`);
    this.options = options;
    this.min = options.min;
    this.max = options.max;
    this.desired = options.desired;
    this.availabilityZones = options.availabilityZones;
    this.policy = options.policy;
    this.launchTemplate = options.release ?? 'initial';
    this.now = options.now ?? Date.now;
    // The cooldowns run from the group's creation, so an idle lab does not scale in the moment
    // it starts.
    this.lastScaleOutAt = this.lastScaleInAt = this.now();
  }

  /** `aws autoscaling set-desired-capacity` / update-auto-scaling-group. */
  setCapacity(change: { min?: number; max?: number; desired?: number }, cause: string): void {
    const min = change.min ?? this.min;
    const max = change.max ?? this.max;
    const desired = Math.min(max, Math.max(min, change.desired ?? this.desired));
    if (min > max) throw new Error(`min (${min}) must not exceed max (${max})`);
    if (max > this.options.slots) throw new Error(`max cannot exceed the ${this.options.slots} load balancer slots of this lab`);
    if (desired !== this.desired) this.desiredChangeCause = `${cause}, changing the desired capacity from ${this.desired} to ${desired}`;
    Object.assign(this, { min, max, desired });
  }

  suspend(processes: ScalingProcess[]): void {
    for (const process of processes) this.suspended.add(process);
  }

  resume(processes: ScalingProcess[]): void {
    for (const process of processes) this.suspended.delete(process);
  }

  /**
   * One instance above the desired capacity, at once, as a rolling update's batch: desired (and
   * max, if it is reached) grow by one so that the group keeps it. In `zone` when given (the
   * zone of the instance it will replace, so the zones stay balanced and AZRebalance has nothing
   * to undo). Undefined when no zone or load balancer slot is free.
   */
  launchExtra(cause: string, zone?: string): GroupInstance | undefined {
    const before = this.instances.length;
    if (!this.launch(cause, zone)) return undefined;
    const instance = this.instances[before]!;
    this.max = Math.max(this.max, this.counted.length);
    this.desired = this.counted.length;
    return instance;
  }

  /**
   * `aws autoscaling terminate-instance-in-auto-scaling-group --should-decrement-desired-capacity`:
   * this instance goes (drained by the fleet) and the group does not replace it. False if it is
   * not in the group or already terminating.
   */
  terminateAndDecrement(instanceId: string, cause: string, restoreMax?: number): boolean {
    const instance = this.counted.find((candidate) => candidate.id === instanceId);
    if (!instance) return false;
    this.desired = Math.max(this.min, this.desired - 1);
    if (restoreMax !== undefined) this.max = Math.max(restoreMax, this.desired);
    this.finishActivity(this.launchActivity.get(instance.id), instance.lifecycle === 'Pending' ? 'Failed' : 'Successful');
    this.terminate(instance, cause);
    return true;
  }

  /** An AZ outage: nothing is launched there until it is available again. */
  setZoneAvailable(az: string, available: boolean): void {
    if (!this.availabilityZones.includes(az))
      throw new Error(`unknown Availability Zone ${az}; the group uses ${this.availabilityZones.join(', ')}`);
    if (available) this.unavailableZones.delete(az);
    else this.unavailableZones.add(az);
  }

  /**
   * One pass of the group's control loop. It runs to the end in one turn of the event loop —
   * launches and terminations are started here and finish on their own — so two passes never
   * overlap, and each sees the instance list the previous one left.
   */
  async reconcile(observations: ReadonlyMap<string, InstanceObservation>): Promise<void> {
    this.checkHealth(observations);
    this.replaceUnhealthy();
    this.applyScalingPolicy(observations);
    this.launchOrTerminateToDesired();
    this.rebalanceZones();
  }

  private get counted(): GroupInstance[] {
    return this.instances.filter((instance) => instance.lifecycle !== 'Terminating');
  }

  private checkHealth(observations: ReadonlyMap<string, InstanceObservation>): void {
    const now = this.now();
    for (const instance of this.counted) {
      if (instance.health === 'Unhealthy') continue;
      const seen = observations.get(instance.id);
      if (!seen?.alive) {
        instance.health = 'Unhealthy';
        this.unhealthyCause.set(instance.id, 'an EC2 instance status check failure (its process is gone)');
        continue;
      }
      if (seen.healthyInLoadBalancer) {
        if (instance.lifecycle === 'Pending') {
          instance.lifecycle = 'InService';
          this.finishActivity(this.launchActivity.get(instance.id), 'Successful');
        }
        continue;
      }
      // The grace period lets a new instance boot before its failed checks count against it.
      const inGrace = now - instance.launchedAt < this.options.healthCheckGracePeriodMs;
      if (instance.lifecycle === 'InService' || !inGrace) {
        instance.health = 'Unhealthy';
        this.unhealthyCause.set(instance.id, 'an ELB system health check failure');
      }
    }
  }

  private readonly unhealthyCause = new Map<string, string>();
  private readonly launchActivity = new Map<string, Activity>();
  private lastLaunchFailure: string | undefined;

  private replaceUnhealthy(): void {
    if (this.suspended.has('ReplaceUnhealthy')) return;
    for (const instance of this.counted.filter((candidate) => candidate.health === 'Unhealthy')) {
      const reason = this.unhealthyCause.get(instance.id) ?? 'a health check failure';
      this.finishActivity(this.launchActivity.get(instance.id), 'Failed');
      this.terminate(instance, `an instance was taken out of service in response to ${reason}`);
    }
  }

  private applyScalingPolicy(observations: ReadonlyMap<string, InstanceObservation>): void {
    if (!this.policy || this.suspended.has('AlarmNotification')) return;
    // Instances still warming up would skew the metric (AWS excludes them too): wait for them.
    if (this.counted.some((instance) => instance.lifecycle === 'Pending')) return;
    const inService = this.counted.filter((instance) => instance.lifecycle === 'InService' && instance.health === 'Healthy');
    const samples = inService.map((instance) => observations.get(instance.id)).filter((seen) => seen !== undefined);
    if (samples.length === 0) return;
    const metric = this.policy.metric === 'requests' ? 'requestsPerSecond' : 'cpuPercent';
    const metricPerInstance = samples.reduce((sum, seen) => sum + seen[metric], 0) / samples.length;
    const decision = decideScaling({
      policy: this.policy,
      desired: this.desired,
      min: this.min,
      max: this.max,
      metricPerInstance,
      inService: samples.length,
      now: this.now(),
      lastScaleOutAt: this.lastScaleOutAt,
      lastScaleInAt: this.lastScaleInAt,
    });
    if (!decision) return;
    if (decision.direction === 'out') this.lastScaleOutAt = this.now();
    else this.lastScaleInAt = this.now();
    this.setCapacity({ desired: decision.desired }, `a target tracking policy (${decision.reason})`);
  }

  private launchOrTerminateToDesired(): void {
    const counted = this.counted;
    if (counted.length < this.desired && !this.suspended.has('Launch')) {
      const cause = this.desiredChangeCause ?? 'a difference between desired and actual capacity';
      for (let capacity = counted.length; capacity < this.desired; capacity += 1) {
        if (!this.launch(`an instance was started in response to ${cause}, increasing the capacity from ${capacity} to ${capacity + 1}`))
          break;
      }
    }
    // Wait for launches to finish first, so scale-in and rebalancing never cut below the desired
    // number of running instances.
    const pending = counted.some((instance) => instance.lifecycle === 'Pending');
    if (this.counted.length > this.desired && !pending && !this.suspended.has('Terminate')) {
      const cause = this.desiredChangeCause ?? 'a difference between desired and actual capacity';
      for (let capacity = this.counted.length; capacity > this.desired; capacity -= 1) {
        const victim = this.chooseInstanceToTerminate();
        if (!victim) break;
        this.terminate(
          victim,
          `an instance was taken out of service in response to ${cause}, shrinking the capacity from ${capacity} to ${capacity - 1}`,
        );
      }
    }
    if (this.counted.length === this.desired) this.desiredChangeCause = undefined;
  }

  /**
   * After an AZ comes back the group is lopsided. Like the real AZRebalance process it launches
   * first, in the emptiest zone, and lets scale-in above remove the extra one from the fullest
   * zone: capacity never drops during a rebalance.
   */
  private rebalanceZones(): void {
    if (this.suspended.has('AZRebalance') || this.suspended.has('Launch')) return;
    const counted = this.counted;
    if (counted.length !== this.desired || counted.length >= this.max) return;
    if (counted.some((instance) => instance.lifecycle !== 'InService' || instance.health !== 'Healthy')) return;
    const sizes = this.zoneSizes().filter(([az]) => !this.unavailableZones.has(az));
    if (sizes.length < 2) return;
    const counts = sizes.map(([, count]) => count);
    if (Math.max(...counts) - Math.min(...counts) <= 1) return;
    this.desiredChangeCause = 'an Availability Zone rebalancing (AZRebalance)';
    this.launch('an instance was launched to rebalance instances across Availability Zones (AZRebalance)');
  }

  /** [az, instance count] for every zone of the group, in the group's order. */
  private zoneSizes(): [string, number][] {
    return this.availabilityZones.map((az) => [az, this.counted.filter((instance) => instance.az === az).length]);
  }

  /** The default termination policy, simplified: the zone with the most instances, then its oldest. */
  private chooseInstanceToTerminate(): GroupInstance | undefined {
    const [fullestZone] = this.zoneSizes().sort((a, b) => b[1] - a[1])[0] ?? [];
    return this.counted.filter((instance) => instance.az === fullestZone).sort((a, b) => a.launchedAt - b.launchedAt)[0];
  }

  private launch(cause: string, preferredZone?: string): boolean {
    const [az] =
      preferredZone !== undefined && !this.unavailableZones.has(preferredZone)
        ? [preferredZone]
        : (this.zoneSizes()
            .filter(([zone]) => !this.unavailableZones.has(zone))
            .sort((a, b) => a[1] - b[1])[0] ?? []);
    const slot = this.freeSlot();
    if (az === undefined || slot === undefined) {
      const why = az === undefined ? 'no Availability Zone of the group is available' : 'every load balancer slot is in use';
      // Retried every second: record the failure once, not once a second.
      if (this.lastLaunchFailure !== why) this.record('Failed', 'Launching a new EC2 instance', `${cause}; it failed: ${why}`);
      this.lastLaunchFailure = why;
      return false;
    }
    this.lastLaunchFailure = undefined;
    const instance: GroupInstance = {
      id: this.options.newInstanceId?.() ?? `i-${randomBytes(8).toString('hex').slice(0, 17)}`,
      az,
      slot,
      lifecycle: 'Pending',
      health: 'Healthy',
      launchedAt: this.now(),
      release: this.launchTemplate,
    };
    this.instances.push(instance);
    const activity = this.record('InProgress', `Launching a new EC2 instance: ${instance.id}`, cause);
    this.launchActivity.set(instance.id, activity);
    this.options.fleet.launch(instance).catch((error: unknown) => {
      instance.health = 'Unhealthy';
      this.unhealthyCause.set(instance.id, `a failed launch (${error instanceof Error ? error.message : String(error)})`);
    });
    return true;
  }

  private terminate(instance: GroupInstance, cause: string): void {
    instance.lifecycle = 'Terminating';
    const activity = this.record('InProgress', `Terminating EC2 instance: ${instance.id}`, cause);
    this.options.fleet
      .terminate(instance)
      .then(
        () => this.finishActivity(activity, 'Successful'),
        () => this.finishActivity(activity, 'Failed'),
      )
      .finally(() => {
        this.instances.splice(this.instances.indexOf(instance), 1);
        this.unhealthyCause.delete(instance.id);
        this.launchActivity.delete(instance.id);
      });
  }

  private freeSlot(): number | undefined {
    const used = new Set(this.instances.map((instance) => instance.slot));
    for (let slot = 1; slot <= this.options.slots; slot += 1) if (!used.has(slot)) return slot;
    return undefined;
  }

  private record(status: Activity['status'], description: string, cause: string): Activity {
    const startTime = this.now();
    const activity: Activity = {
      id: this.nextActivityId++,
      status,
      description,
      cause: `At ${new Date(startTime).toISOString()} ${cause}.`,
      startTime,
      ...(status === 'InProgress' ? {} : { endTime: startTime }),
    };
    this.activities.unshift(activity);
    this.activities.length = Math.min(this.activities.length, historyLength);
    return activity;
  }

  private finishActivity(activity: Activity | undefined, status: 'Successful' | 'Failed'): void {
    if (!activity || activity.status !== 'InProgress') return;
    activity.status = status;
    activity.endTime = this.now();
  }
}
