import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyze, chargeRequests, percentile, summarizeFault, timeline } from '../../../scripts/gameday/analysis';
import { formatText } from '../../../scripts/gameday/report-text';
import type { FaultSummary } from '../../../scripts/gameday/analysis';
import type { FaultRecord, GameDayRecord, RequestSample } from '../../../scripts/gameday/samples';
import { fault, record, sample } from './records';

test('percentile reads an HDR histogram to a tenth of a millisecond, and 0 for nothing', () => {
  expect(percentile([], 99)).toBe(0);
  expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
  expect(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      99,
    ),
  ).toBe(99);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([0.25, 1234.5], 100)).toBeCloseTo(1234.5, 0);
  expect(percentile([0.25, 1234.5], 1)).toBe(0.3);
});

test('when requests are bucketed, then each second counts them per instance with failures and p99', () => {
  const seconds = timeline(
    [
      sample(100, 'ok', 'i-a', 10),
      sample(200, 'ok', 'i-b', 30),
      sample(900, 'failed', 'i-b', 50),
      sample(1500, 'backup', '', 5),
      sample(1600, 'failed', '', 3000),
    ],
    2000,
  );
  expect(seconds).toHaveLength(2);
  expect(seconds[0]).toEqual({
    second: 0,
    byInstance: { 'i-a': 1, 'i-b': 2 },
    ok: 2,
    failed: 1,
    total: 3,
    p99ByInstance: { 'i-a': 10, 'i-b': 50 },
  });
  // A refused connection has no instance to count it against; it is still a failure.
  expect(seconds[1]).toEqual({
    second: 1,
    byInstance: { 'backup-site': 1 },
    ok: 0,
    failed: 1,
    total: 2,
    p99ByInstance: { 'backup-site': 5 },
  });
});

test('when an instance dies, then the fault window gives its failures, detection, recovery and downtime', () => {
  const requests = [
    sample(1000, 'ok'),
    sample(2100, 'ok', 'i-a', 20),
    sample(2200, 'failed', '', 1000), // in flight to the victim; answered (badly) at 3.2 s
    sample(3500, 'ok', 'i-a', 40),
    sample(4500, 'ok', 'i-a', 10),
    sample(6500, 'failed'), // after the window: belongs to the next fault
  ];
  const summary = summarizeFault(fault({}), chargeRequests(requests, [fault({})])[0]!, timeline(requests, 7000));
  expect(summary).toMatchObject({
    requests: 4,
    failedRequests: 1,
    failuresByStatus: { '503': 1 },
    backupResponses: 0,
    downtimeSeconds: 0,
    detectSeconds: 1,
    recoverSeconds: 1.2,
    capacityRestoredSeconds: 3,
    p99Ms: 1000,
  });
});

test('when no request gets a proper answer for whole seconds, then those seconds are downtime, backup or not', () => {
  const requests = [sample(2100, 'failed'), sample(3100, 'backup'), sample(4100, 'backup'), sample(5100, 'ok')];
  const allWeb = fault({ fault: 'all-web', detectedAt: undefined, capacityRestoredAt: undefined });
  const summary = summarizeFault(allWeb, chargeRequests(requests, [allWeb])[0]!, timeline(requests, 6000));
  expect(summary.downtimeSeconds).toBe(3);
  expect(summary.backupResponses).toBe(2);
  expect(summary.recoverSeconds).toBe(2.1);
  expect(summary.detectSeconds).toBeNull();
  expect(summary.capacityRestoredSeconds).toBeNull();
});

test('when nothing went wrong, then the verdict passes with every figure at zero', () => {
  const requests = [sample(2100, 'ok'), sample(3100, 'ok')];
  const report = analyze(record({ requests, faults: [fault({})], acknowledgedEdits: [{ slug: 'A', revision: 1, at: 2100 }] }));
  expect(report.verdict).toBe('pass');
  expect(report.reasons).toEqual([]);
  expect(report.faults[0]).toMatchObject({ failedRequests: 0, recoverSeconds: 0 });
  expect(report).toMatchObject({ sessionsLost: 0, editsLost: 0, editsAcknowledged: 1 });
});

test('when sessions or edits are lost, or a fault lasts too long for users, then the verdict fails and says why', () => {
  const requests = [
    ...Array.from({ length: 10 }, (_, i) => sample(2000 + i * 100, 'ok')),
    sample(2050, 'failed'),
    sample(14_000, 'failed'),
  ];
  const report = analyze(
    record({
      durationMs: 16_000,
      requests,
      faults: [
        fault({ windowEnd: 16_000 }),
        fault({ name: 'everything down', fault: 'all-web', injectedAt: 15_000, windowEnd: 16_000, undoneAt: 15_500 }),
      ],
      sessionLosses: [
        { at: 500, vu: 1, servedBy: 'i-c' },
        { at: 2000, vu: 0, servedBy: 'i-a' },
        { at: 3000, vu: 0, servedBy: 'i-b' },
        { at: 3000, vu: 1, servedBy: 'i-b' },
      ],
      missingEdits: ['Lost_page'],
    }),
  );
  expect(report.verdict).toBe('fail');
  expect(report.sessionsLost).toBe(2);
  expect(report.sessionsLostBeforeFaults).toBe(1);
  expect(report.faults.map((summary) => summary.sessionsLost)).toEqual([2, 0]);
  expect(report.loggedOutResponses).toBe(4);
  expect(report.editsLost).toBe(1);
  expect(report.reasons).toEqual([
    '2 of 2 virtual users were logged out (sessions lost)',
    '1 acknowledged edits are not in the database',
    'kill one instance: users saw errors for 12 s, more than 10 s',
    'kill one instance: 2 of 12 requests failed, more than 5%',
    'everything down: the backup site never answered',
  ]);
});

/** A game day's record as `npm run gameday` wrote it (trimmed to the faults under test). */
function recorded(name: string): GameDayRecord {
  return JSON.parse(readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')) as GameDayRecord;
}

test('when requests sent just before the web tier is killed fail under the kill, then they count against the kill, not the database restart', () => {
  const day = recorded('database-then-web-tier.json');
  const [database, webTier] = day.faults as [FaultRecord, FaultRecord];
  // Issue 9's two requests: sent 0.1-0.2 s before the kill (inside the database restart's window,
  // which ends at the kill) to instances that were then killed under them.
  const caughtByTheKill: RequestSample[] = [
    { at: webTier.injectedAt - 135, ms: 212.4, kind: 'read', outcome: 'failed', status: 0, servedBy: '', vu: 0 },
    { at: webTier.injectedAt - 44, ms: 96.1, kind: 'edit', outcome: 'failed', status: 502, servedBy: '', vu: 3 },
  ];
  const withoutThem = analyze(day);
  const report = analyze({ ...day, requests: [...day.requests, ...caughtByTheKill].sort((a, b) => a.at - b.at) });

  const [restart, kill] = report.faults as [FaultSummary, FaultSummary];
  expect(restart).toEqual(withoutThem.faults[0]);
  // PostgreSQL was back at 6 s; the last 503 finished 0.4 s later.
  expect({ recover: restart.recoverSeconds, afterRestored: restart.afterRestoredSeconds }).toEqual({ recover: 6.4, afterRestored: 0.4 });
  expect(restart.recoverSeconds).toBeLessThan((database.undoneAt! - database.injectedAt) / 1000 + 1);
  expect(kill.failedRequests).toBe(withoutThem.faults[1]!.failedRequests + 2);
  expect(kill.failuresByStatus['0']).toBe((withoutThem.faults[1]!.failuresByStatus['0'] ?? 0) + 1);
});

test("when an instance's 503 for the database and a reset by the kill overlap two faults, then each failure goes to the fault of its kind", () => {
  const database = fault({ name: 'database', fault: 'database', injectedAt: 1000, windowEnd: 5000, undoneAt: 3000 });
  const webTier = fault({ name: 'web tier', fault: 'all-web', injectedAt: 5000, windowEnd: 9000, undoneAt: 7000 });
  const requests = [
    sample(4900, 'failed', 'i-a', 400), // an instance's 503 finishing after the kill: the database's
    { ...sample(4950, 'failed', '', 300), status: 0 }, // reset by the kill
    sample(900, 'failed', '', 200), // in flight when the first fault struck
    sample(800, 'failed', '', 100), // over before any fault
  ];
  const [forDatabase, forWebTier] = chargeRequests(requests, [database, webTier]);
  expect(forDatabase).toEqual([requests[0], requests[2]]);
  expect(forWebTier).toEqual([requests[1]]);
});

test('when the backup site answers saves, then each is a failed request, and a 2xx from it fails the day as a save never stored', () => {
  const save = (at: number, status: number): RequestSample => ({ ...sample(at, 'failed'), kind: 'edit', status, servedBy: 'backup-site' });
  const refusedOnly = analyze(record({ requests: [save(2100, 503), save(2200, 405)], faults: [fault({ fault: 'all-web' })] }));
  expect(refusedOnly.backupSaves).toEqual({ refused: 2, acknowledged: 0 });
  expect(refusedOnly.faults[0]!.failedRequests).toBe(2);
  expect(refusedOnly.reasons).toEqual([]);
  expect(formatText(refusedOnly)).toContain('saves answered by the backup site: 2 refused, 0 acknowledged (never stored)');

  const lying = analyze(record({ requests: [save(2100, 503), save(2200, 200)], faults: [fault({ fault: 'all-web' })] }));
  expect(lying.backupSaves).toEqual({ refused: 1, acknowledged: 1 });
  expect(lying.verdict).toBe('fail');
  expect(lying.reasons).toEqual(['the backup site acknowledged 1 saves that were never stored']);
});

test('when a bare SIGTERM or a replica loss fails any request, or the database stays frozen for users, then the verdict says which', () => {
  const requests = [
    ...Array.from({ length: 50 }, (_, i) => sample(2000 + i * 20, 'ok')),
    sample(2500, 'failed'),
    sample(9000, 'failed', 'i-a', 2000),
  ];
  const report = analyze(
    record({
      durationMs: 16_000,
      requests,
      faults: [
        fault({ name: 'sigterm', fault: 'sigterm', windowEnd: 4000 }),
        fault({ name: 'freeze', fault: 'db-freeze', injectedAt: 4000, undoneAt: 5000, windowEnd: 16_000 }),
      ],
    }),
  );
  expect(report.reasons).toEqual(['sigterm: 1 of 51 requests failed, more than 0%', 'freeze: users saw errors for 7 s, more than 6 s']);
  expect(report.faults[1]!.afterRestoredSeconds).toBe(6);
});

describe('release steps', () => {
  const rolled = (overrides: Partial<NonNullable<FaultRecord['release']>>): NonNullable<FaultRecord['release']> => ({
    from: 'r1',
    to: 'r2',
    state: 'succeeded',
    endedAt: 30_000,
    servedNewRelease: 3,
    versions: [
      { at: 2500, inService: { r1: 3 } },
      { at: 8000, inService: { r1: 3, r2: 1 } },
      { at: 30_000, inService: { r2: 3 } },
    ],
    ...overrides,
  });
  const steady = Array.from({ length: 200 }, (_, i) => sample(2000 + i * 200, 'ok'));

  test('when a good release rolls through, then its row has the roll time and the releases in service over time, and it passes', () => {
    const report = analyze(
      record({
        durationMs: 42_000,
        requests: steady,
        faults: [fault({ name: 'release', fault: 'release', detectedAt: undefined, windowEnd: 42_000, release: rolled({}) })],
      }),
    );
    expect(report.faults[0]).toMatchObject({
      fault: 'release',
      requests: 200,
      failedRequests: 0,
      release: { state: 'succeeded', rollSeconds: 28, detectSeconds: null, servedNewRelease: 3 },
    });
    expect(report.faults[0]!.release!.versions.map((entry) => entry.second)).toEqual([2.5, 8, 30]);
    expect(report.verdict).toBe('pass');
    expect(formatText(report)).toContain('release: succeeded r1 → r2 in 28 s; 3 instance(s) served r2; 0 of 200 requests failed');
  });

  test('when a bad release is rolled back with 1% of the requests failed, then it passes; at 2 of 100 it fails', () => {
    const bad = (failed: number) =>
      analyze(
        record({
          durationMs: 42_000,
          requests: [...steady.slice(0, 100 - failed), ...Array.from({ length: failed }, (_, i) => sample(9000 + i * 10, 'failed'))],
          faults: [
            fault({
              name: 'bad',
              fault: 'bad-release',
              detectedAt: 9500,
              windowEnd: 42_000,
              release: rolled({ state: 'rolled-back', detectedAt: 9500, backOnPreviousAt: 9600, servedNewRelease: 1 }),
            }),
          ],
        }),
      );
    expect(bad(1).faults[0]!.release).toMatchObject({ detectSeconds: 7.5, backOnPreviousSeconds: 7.6 });
    expect(bad(1).verdict).toBe('pass');
    expect(bad(2).reasons).toEqual(['bad: 2 of 100 requests failed, more than 1%']);
  });

  test('when a release step ends the wrong way, then the verdict says so', () => {
    const report = analyze(
      record({
        durationMs: 42_000,
        requests: steady,
        faults: [
          fault({ name: 'good', fault: 'release', windowEnd: 20_000, release: rolled({ state: 'rolled-back', reason: 'canary failed' }) }),
          fault({ name: 'bad', fault: 'bad-release', injectedAt: 20_000, windowEnd: 42_000, release: rolled({ state: 'succeeded' }) }),
        ],
      }),
    );
    expect(report.reasons).toEqual([
      'good: the good release did not go out (rolled-back: canary failed)',
      'bad: the bad release was not rolled back (succeeded)',
    ]);
  });
});
