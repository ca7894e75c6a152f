import { analyze } from '../../../scripts/gameday/analysis';
import { formatText } from '../../../scripts/gameday/report-text';
import { domainDuringFaults } from '../../../scripts/gameday/run';
import { fault, record, sample } from './records';

// Route 53's part of the game day: per fault, whether the lab's domain went to the backup copy,
// and for how long (docs/architecture.md: only when page views are impossible).

const startedAt = 1_800_000_000_000;

test('when the lab recorded flips, then each fault row says whether the domain flipped, after how long and for how long', () => {
  const faults = [
    fault({ name: 'stop PostgreSQL', fault: 'database', injectedAt: 2_000, windowEnd: 30_000 }),
    fault({ name: 'kill the web tier', fault: 'all-web', injectedAt: 30_000, windowEnd: 70_000 }),
  ];
  domainDuringFaults(
    faults,
    [
      { at: startedAt + 37_500, to: 'backup', forced: false },
      { at: startedAt + 61_000, to: 'live', forced: false },
    ],
    startedAt,
  );
  expect(faults.map((recorded) => recorded.domain)).toEqual([
    { flipped: false, flippedAfterSeconds: null, backupSeconds: 0 },
    { flipped: true, flippedAfterSeconds: 7.5, backupSeconds: 23.5 },
  ]);
});

test('when the domain stays live through a database fault and flips for all-web, then the verdict passes; otherwise it says which went wrong', () => {
  const requests = [sample(2_100, 'ok'), sample(40_000, 'backup')];
  const faults = (databaseFlipped: boolean, allWebFlipped: boolean) => [
    fault({
      name: 'stop PostgreSQL',
      fault: 'database',
      windowEnd: 30_000,
      undoneAt: 22_000,
      domain: { flipped: databaseFlipped, flippedAfterSeconds: databaseFlipped ? 8 : null, backupSeconds: databaseFlipped ? 12 : 0 },
    }),
    fault({
      name: 'kill the web tier',
      fault: 'all-web',
      injectedAt: 30_000,
      windowEnd: 70_000,
      undoneAt: 50_000,
      capacityRestoredAt: 60_000,
      domain: { flipped: allWebFlipped, flippedAfterSeconds: allWebFlipped ? 7 : null, backupSeconds: allWebFlipped ? 25 : 0 },
    }),
  ];
  const good = analyze(record({ durationMs: 70_000, requests, faults: faults(false, true) }));
  expect(good.faults.map((summary) => summary.domain?.flipped)).toEqual([false, true]);
  expect(good.reasons).toEqual([]);
  expect(formatText(good)).toMatch(/kill the web tier .* 25 s/);

  const bad = analyze(record({ durationMs: 70_000, requests, faults: faults(true, false) }));
  expect(bad.reasons).toEqual([
    'stop PostgreSQL: the domain went to the backup for 12 s although the replica could serve reads',
    'kill the web tier: the domain never went to the backup',
  ]);
});
