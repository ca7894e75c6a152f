import { AutoScalingGroup, type Fleet, type GroupInstance, type InstanceObservation } from '../../../scripts/lab/auto-scaling-group';

/** A fleet whose launches and terminations complete when the test says so, like slow EC2. */
class FakeFleet implements Fleet {
  readonly launched: GroupInstance[] = [];
  readonly terminated: string[] = [];
  async launch(instance: GroupInstance) {
    this.launched.push(instance);
  }
  async terminate(instance: GroupInstance) {
    this.terminated.push(instance.id);
  }
}

function setUp(options: Partial<ConstructorParameters<typeof AutoScalingGroup>[0]> = {}) {
  let now = 1_000_000;
  let counter = 0;
  const fleet = new FakeFleet();
  const group = new AutoScalingGroup({
    min: 3,
    max: 6,
    desired: 3,
    availabilityZones: ['lab-a', 'lab-b', 'lab-c'],
    slots: 10,
    healthCheckGracePeriodMs: 30_000,
    fleet,
    now: () => now,
    newInstanceId: () => `i-${++counter}`,
    ...options,
  });
  const healthy: InstanceObservation = { alive: true, healthyInLoadBalancer: true, requestsPerSecond: 0, cpuPercent: 0 };
  /** Every instance alive and passing, except the overrides. */
  const observe = (overrides: Record<string, Partial<InstanceObservation>> = {}) =>
    new Map(group.instances.map((instance) => [instance.id, { ...healthy, ...overrides[instance.id] }]));
  const tick = async (overrides: Record<string, Partial<InstanceObservation>> = {}) => {
    await group.reconcile(observe(overrides));
    await new Promise((resolve) => setImmediate(resolve)); // let terminations settle
  };
  /** Launch the desired capacity and let every instance pass its checks. */
  const inService = async () => {
    await tick();
    await tick();
  };
  return { group, fleet, tick, inService, advance: (ms: number) => (now += ms) };
}

const zonesOf = (group: AutoScalingGroup) =>
  group.instances
    .filter((i) => i.lifecycle !== 'Terminating')
    .map((i) => i.az)
    .sort();

describe('the Auto Scaling group model', () => {
  test('when it starts, then it launches the desired capacity spread over the zones', async () => {
    const { group, fleet, tick } = setUp();
    await tick();
    expect(fleet.launched).toHaveLength(3);
    expect(zonesOf(group)).toEqual(['lab-a', 'lab-b', 'lab-c']);
    expect(new Set(group.instances.map((i) => i.slot)).size).toBe(3);
  });

  test('when the load balancer sees an instance healthy, then it goes InService and its launch succeeds', async () => {
    const { group, tick } = setUp();
    await tick();
    expect(group.instances.every((i) => i.lifecycle === 'Pending')).toBe(true);
    await tick();
    expect(group.instances.every((i) => i.lifecycle === 'InService')).toBe(true);
    expect(group.activities.filter((a) => a.description.startsWith('Launching')).every((a) => a.status === 'Successful')).toBe(true);
  });

  test('when an instance process dies, then it is terminated and replaced in the same zone', async () => {
    const { group, fleet, tick } = setUp();
    await tick();
    const victim = group.instances[1]!;
    await tick({ [victim.id]: { alive: false, healthyInLoadBalancer: false } });
    expect(fleet.terminated).toEqual([victim.id]);
    await tick();
    expect(group.instances.map((i) => i.id)).not.toContain(victim.id);
    expect(zonesOf(group)).toEqual(['lab-a', 'lab-b', 'lab-c']);
    const [launch, terminate] = group.activities;
    expect(terminate?.description).toBe(`Terminating EC2 instance: ${victim.id}`);
    expect(terminate?.cause).toMatch(/instance status check failure/);
    expect(launch?.description).toMatch(/^Launching a new EC2 instance/);
  });

  test('when an in-service instance fails its load balancer checks, then it is replaced', async () => {
    const { group, fleet, tick, inService } = setUp();
    await inService();
    const victim = group.instances[0]!;
    await tick({ [victim.id]: { healthyInLoadBalancer: false } });
    expect(fleet.terminated).toEqual([victim.id]);
    expect(group.activities.find((a) => a.description.includes(victim.id) && a.description.startsWith('Terminating'))?.cause).toMatch(
      /ELB system health check failure/,
    );
  });

  test('when a new instance has not passed its checks yet, then the grace period protects it', async () => {
    const { group, fleet, tick, advance } = setUp();
    await tick();
    const unhealthy = Object.fromEntries(group.instances.map((i) => [i.id, { healthyInLoadBalancer: false }]));
    advance(10_000);
    await tick(unhealthy);
    expect(fleet.terminated).toEqual([]);
    advance(30_000);
    await tick(unhealthy);
    expect(fleet.terminated).toHaveLength(3);
  });

  test('when ReplaceUnhealthy is suspended, then a dead instance stays', async () => {
    const { group, fleet, tick } = setUp();
    await tick();
    group.suspend(['ReplaceUnhealthy']);
    await tick({ [group.instances[0]!.id]: { alive: false } });
    expect(fleet.terminated).toEqual([]);
    expect(group.instances[0]!.health).toBe('Unhealthy');
  });

  test('when Launch is suspended, then dead instances are removed but not replaced until it resumes', async () => {
    const { group, fleet, tick } = setUp();
    await tick();
    group.suspend(['Launch']);
    await tick(Object.fromEntries(group.instances.map((i) => [i.id, { alive: false }])));
    await tick();
    expect(group.instances).toHaveLength(0);
    group.resume(['Launch']);
    await tick();
    expect(fleet.launched).toHaveLength(6);
  });

  test('when a zone is out, then replacements go to the other zones, and it rebalances once the zone is back', async () => {
    const { group, fleet, tick } = setUp();
    await tick();
    group.setZoneAvailable('lab-b', false);
    const inB = group.instances.find((i) => i.az === 'lab-b')!;
    await tick({ [inB.id]: { alive: false } });
    await tick();
    expect(zonesOf(group)).not.toContain('lab-b');
    expect(group.instances.filter((i) => i.lifecycle !== 'Terminating')).toHaveLength(3);

    group.setZoneAvailable('lab-b', true);
    await tick(); // AZRebalance launches in lab-b first: capacity 4 for a moment
    expect(group.instances.filter((i) => i.lifecycle !== 'Terminating')).toHaveLength(4);
    await tick(); // then the extra one in the fullest zone is terminated
    await tick();
    expect(zonesOf(group)).toEqual(['lab-a', 'lab-b', 'lab-c']);
    expect(fleet.terminated).toHaveLength(2);
    expect(group.activities.some((a) => a.cause.includes('AZRebalance'))).toBe(true);
  });

  test('when every zone is out, then launching fails once in the history, not every second', async () => {
    const { group, tick } = setUp({ desired: 1, min: 1 });
    for (const zone of group.availabilityZones) group.setZoneAvailable(zone, false);
    await tick();
    await tick();
    await tick();
    expect(group.activities.filter((a) => a.status === 'Failed')).toHaveLength(1);
    expect(group.activities[0]?.cause).toMatch(/no Availability Zone of the group is available/);
  });

  test('when desired capacity is lowered, then it terminates from the fullest zone, oldest first', async () => {
    const { group, fleet, tick, advance } = setUp({ min: 1, desired: 4 });
    await tick();
    advance(1000);
    const [oldest] = group.instances;
    group.setCapacity({ desired: 3 }, 'a test');
    await tick();
    expect(fleet.terminated).toEqual([oldest!.id]);
    expect(group.activities[0]?.cause).toMatch(/a test, changing the desired capacity from 4 to 3, shrinking the capacity from 4 to 3/);
  });

  test('when the request rate per instance is above target, then the policy raises desired capacity', async () => {
    const { group, tick, advance } = setUp({
      policy: { metric: 'requests', target: 50, scaleOutCooldownMs: 30_000, scaleInCooldownMs: 60_000 },
    });
    await tick();
    advance(31_000);
    await tick(Object.fromEntries(group.instances.map((i) => [i.id, { requestsPerSecond: 100 }])));
    expect(group.desired).toBe(6);
    expect(group.activities[0]?.cause).toMatch(/target tracking policy/);
  });

  test('when a rolling release launches an extra instance, then it runs the launch template release and the group keeps it, even above max', async () => {
    const { group, fleet, inService, tick } = setUp({ max: 3, release: 'r1' });
    await inService();
    group.launchTemplate = 'r2';
    const extra = group.launchExtra('a rolling release');
    await tick();
    expect(extra?.release).toBe('r2');
    expect([group.desired, group.max]).toEqual([4, 4]);
    expect(fleet.terminated).toEqual([]);
    expect(group.instances.map((i) => i.release).sort()).toEqual(['r1', 'r1', 'r1', 'r2']);
  });

  test('when a rolling release retires an instance, then desired capacity (and max) come back down and nothing replaces it', async () => {
    const { group, fleet, inService, tick } = setUp({ max: 3 });
    await inService();
    group.launchExtra('a rolling release');
    await tick();
    const [old] = group.instances;
    expect(group.terminateAndDecrement(old!.id, 'a rolling release', 3)).toBe(true);
    await tick();
    await tick();
    expect(fleet.terminated).toEqual([old!.id]);
    expect([group.desired, group.max]).toEqual([3, 3]);
    expect(fleet.launched).toHaveLength(4);
    expect(group.terminateAndDecrement(old!.id, 'again', 3)).toBe(false);
  });

  test('when capacity settings contradict each other, then they are refused', () => {
    expect(() => setUp({ min: 4, desired: 3 })).toThrow(/min <= desired <= max/);
    const { group } = setUp();
    expect(() => group.setCapacity({ min: 5, max: 4 }, 'a test')).toThrow(/must not exceed/);
    expect(() => group.setCapacity({ max: 11 }, 'a test')).toThrow(/slots/);
  });
});
