import { createLatencyHistogram, encodeHistogram, recordMillis } from '../../../scripts/bees/histograms';
import { buildReport } from '../../../scripts/bees/report';
import type { BeeResult, BeeSpec } from '../../../scripts/bees/spec';

const thresholds = { maxErrorRate: 0.01, maxP99Ms: 1000 };

function spec(bee: number): BeeSpec {
  return {
    bee,
    runId: 'r1',
    url: 'http://127.0.0.1:1/',
    connections: 1,
    durationSeconds: 10,
    rampUpSeconds: 0,
    timeoutSeconds: 10,
    method: 'GET',
    headers: {},
    timeline: false,
  };
}

/** What a bee reports after answering `requests` times between two wall-clock instants. */
function result(bee: number, requests: number, startedAtMs: number, finishedAtMs: number): BeeResult {
  const latency = createLatencyHistogram();
  for (let i = 0; i < requests; i++) recordMillis(latency, 2);
  return {
    bee,
    requests,
    errors: 0,
    errorsByKind: {},
    statusCodes: { 200: requests },
    elapsedSeconds: (finishedAtMs - startedAtMs) / 1000,
    startedAtMs,
    finishedAtMs,
    bytes: requests * 100,
    latency: encodeHistogram(latency),
    timeline: [],
    virtualUsers: 0,
    setupSeconds: 0,
  };
}

describe('bees report', () => {
  it('when two bees run one after the other, then the headline rate is over the swarm’s wall time, not the sum of their rates', () => {
    const t0 = Date.UTC(2026, 0, 1);
    // Each bee answers 1,000 requests in its own 10 s (100 req/s), the second starting as the first ends.
    const report = buildReport(
      [spec(0), spec(1)],
      [result(0, 1000, t0, t0 + 10_000), result(1, 1000, t0 + 10_000, t0 + 20_000)],
      thresholds,
    );

    expect(report.perBee.map((bee) => bee.rps)).toEqual([100, 100]);
    expect(report.wallSeconds).toBe(20);
    // 2,000 answers in 20 s of swarm time; the sum of per-bee rates would claim 200.
    expect(report.rps).toBe(100);
  });

  it('when bees overlap only in part, then the wall time runs from the earliest send to the latest answer', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const report = buildReport(
      [spec(0), spec(1), spec(2)],
      [result(0, 600, t0 + 1_000, t0 + 7_000), result(1, 900, t0, t0 + 9_000), result(2, 300, t0 + 2_000, t0 + 12_000)],
      thresholds,
    );

    expect(report.wallSeconds).toBe(12);
    expect(report.rps).toBe(150);
    expect(report.perBee.map((bee) => bee.rps)).toEqual([100, 100, 30]);
  });
});
