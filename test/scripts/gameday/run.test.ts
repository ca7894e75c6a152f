import { atFullCapacity, capacityCountsFrom, detected } from '../../../scripts/gameday/run';
import type { FaultRecord } from '../../../scripts/gameday/samples';
import type { ActiveFault } from '../../../scripts/lab/faults';
import type { InstanceStatus, LabStatus } from '../../../scripts/lab/lab';

function instance(id: string, overrides: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    id,
    az: 'lab-a',
    slot: 1,
    lifecycle: 'InService',
    health: 'Healthy',
    loadBalancerStatus: 'UP',
    requests: 0,
    requestsPerSecond: 0,
    cpuPercent: 0,
    launchedAt: '2026-11-25T18:00:00.000Z',
    ...overrides,
  };
}

function status(instances: InstanceStatus[], overrides: Partial<LabStatus> = {}): LabStatus {
  return {
    wikiUrl: 'http://127.0.0.1:1/',
    statusUrl: 'http://127.0.0.1:2/',
    group: { min: 3, max: 6, desired: 3, suspendedProcesses: [], policy: null },
    zones: [],
    instances,
    loadBalancer: { servingBackupSite: false, backupSiteRequests: 0 },
    services: { postgres: 'running', dynamodb: 'running', s3: 'running' },
    faults: { active: [], history: [] },
    activities: [],
    ...overrides,
  };
}

const fault = (kind: ActiveFault['fault'], description: string, victims: string[] = []): ActiveFault => ({
  id: 1,
  fault: kind,
  description,
  victims,
  startedAt: 0,
});
const three = [instance('i-a'), instance('i-b'), instance('i-c')];

test('when every desired instance is in service and UP with no fault active, then the group is at full capacity', () => {
  expect(atFullCapacity(status(three))).toBe(true);
  expect(atFullCapacity(status([...three.slice(0, 2), instance('i-c', { loadBalancerStatus: 'DOWN 1/2' })]))).toBe(false);
  expect(atFullCapacity(status([...three.slice(0, 2), instance('i-c', { lifecycle: 'Pending' })]))).toBe(false);
  expect(atFullCapacity(status(three, { services: { postgres: 'stopped', dynamodb: 'running', s3: 'running' } }))).toBe(false);
  expect(atFullCapacity(status(three, { faults: { active: [fault('database', 'PostgreSQL stopped')], history: [] } }))).toBe(false);
  expect(atFullCapacity(status(three, { loadBalancer: { servingBackupSite: true, backupSiteRequests: 1 } }))).toBe(false);
  const replica = (state: 'streaming' | 'stopped' | 'rebuilding') => ({
    postgres: 'running' as const,
    replica: state,
    dynamodb: 'running' as const,
    s3: 'running' as const,
  });
  expect(atFullCapacity(status(three, { services: replica('streaming') }))).toBe(true);
  expect(atFullCapacity(status(three, { services: replica('rebuilding') }))).toBe(false);
  expect(atFullCapacity(status(three, { services: replica('stopped') }))).toBe(false);
});

test('when the load balancer takes the killed instance out, then the instance fault counts as detected', () => {
  // The victim comes from the record's data; the sentence names another instance and is not read.
  const kill = fault('instance', 'killed i-c in lab-a (SIGKILL: a crash, no draining)', ['i-b']);
  expect(detected(kill, { at: 1, status: status(three) })).toBe(false);
  expect(detected(kill, { at: 2, status: status([three[0]!, instance('i-b', { loadBalancerStatus: 'DOWN' }), three[2]!]) })).toBe(true);
  expect(detected(kill, { at: 3, status: status([three[0]!, three[2]!]) })).toBe(true);
  expect(detected(kill, { at: 4 })).toBe(false);
});

test('when every instance a zone loss killed is out of the load balancer, then the az fault counts as detected', () => {
  const zone = { ...fault('az', 'lab-a is out', ['i-a', 'i-b']), zone: 'lab-a' };
  expect(detected(zone, { at: 1, status: status([instance('i-a', { loadBalancerStatus: 'DOWN' }), three[1]!, three[2]!]) })).toBe(false);
  expect(detected(zone, { at: 2, status: status([instance('i-a', { loadBalancerStatus: 'DOWN' }), three[2]!]) })).toBe(true);
});

test('when the deep health check says the reader is degraded, then the replica fault counts as detected, while it stays 200', () => {
  const replica = fault('replica', 'replica stopped');
  expect(detected(replica, { at: 1, deepHealthy: true, readerDegraded: false })).toBe(false);
  expect(detected(replica, { at: 2, deepHealthy: true, readerDegraded: true })).toBe(true);
});

test('when the deep health check fails or the backup site serves, then database and all-web faults count as detected', () => {
  expect(detected(fault('database', 'PostgreSQL stopped'), { at: 1, deepHealthy: true })).toBe(false);
  expect(detected(fault('database', 'PostgreSQL stopped'), { at: 1, deepHealthy: false })).toBe(true);
  // With the replica answering, deep health stays 200 and reports the writer out: the site is read-only.
  expect(detected(fault('database', 'PostgreSQL stopped'), { at: 1, deepHealthy: true, writerOut: true })).toBe(true);
  const allWeb = fault('all-web', 'killed all 3 instances');
  expect(detected(allWeb, { at: 1, status: status(three) })).toBe(false);
  expect(detected(allWeb, { at: 1, status: status([], { loadBalancer: { servingBackupSite: true, backupSiteRequests: 3 } }) })).toBe(true);
});

test('when a fault is undone, killed victims are noticed, or a failover has nothing to notice, then full capacity may count from then', () => {
  const record = (extra: Partial<FaultRecord>): FaultRecord => ({
    name: 'x',
    fault: 'instance',
    description: '',
    injectedAt: 1000,
    windowEnd: 1000,
    ...extra,
  });
  // A replica stopped for 20 s: from its return, whether or not the app reported it degraded.
  expect(capacityCountsFrom(fault('replica', ''), record({ undoneAt: 21_000 }), 20_000, 1100)).toBeUndefined();
  expect(capacityCountsFrom(fault('replica', ''), record({ undoneAt: 21_000 }), 22_000, 1100)).toBe(21_000);
  // A kill: only once the load balancer has taken the victim out.
  expect(capacityCountsFrom(fault('instance', '', ['i-b']), record({}), 5000, 1100)).toBeUndefined();
  expect(capacityCountsFrom(fault('instance', '', ['i-b']), record({ detectedAt: 2500 }), 5000, 1100)).toBe(2500);
  // A failover: from the lab's answer, once writes are back (then the replica's rebuild is what atFullCapacity waits for).
  expect(capacityCountsFrom(fault('db-failover', ''), record({}), 5000, 2300)).toBe(2300);
});
