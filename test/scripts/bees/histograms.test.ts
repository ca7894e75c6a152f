import {
  createLatencyHistogram,
  encodeHistogram,
  logBuckets,
  mergeEncodedHistograms,
  recordMillis,
  summarizeLatency,
} from '../../../scripts/bees/histograms';

// A fixed pseudo-random sequence, so a failure can be reproduced.
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('bees latency histograms', () => {
  it('when bees histograms are merged, then the percentiles equal those of one histogram fed every sample', () => {
    const random = seededRandom(42);
    const bees = [createLatencyHistogram(), createLatencyHistogram(), createLatencyHistogram()];
    const everything = createLatencyHistogram();
    for (let i = 0; i < 30_000; i++) {
      // A long-tailed mix: mostly sub-millisecond, some seconds-long stalls.
      const millis = random() < 0.98 ? random() * 2 : 50 + random() * 3000;
      const bee = bees[Math.floor(random() * bees.length)]!;
      recordMillis(bee, millis);
      recordMillis(everything, millis);
    }

    const merged = mergeEncodedHistograms(bees.map(encodeHistogram));

    expect(summarizeLatency(merged)).toEqual(summarizeLatency(everything));
    expect(merged.totalCount).toBe(30_000);
    for (const percentile of [1, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100]) {
      expect(merged.getValueAtPercentile(percentile)).toBe(everything.getValueAtPercentile(percentile));
    }
  });

  it('when bees see different latencies, then the merged p99 is not an average of their p99s', () => {
    const fast = createLatencyHistogram();
    const slow = createLatencyHistogram();
    for (let i = 0; i < 990; i++) recordMillis(fast, 1);
    for (let i = 0; i < 10; i++) recordMillis(slow, 500);

    const merged = summarizeLatency(mergeEncodedHistograms([encodeHistogram(fast), encodeHistogram(slow)]));

    expect(merged.p99).toBeCloseTo(1, 1);
    expect(merged.p999).toBeCloseTo(500, -1);
  });

  it('when latencies are bucketed for the chart, then every sample lands in exactly one bucket', () => {
    const histogram = createLatencyHistogram();
    [0.05, 0.3, 1, 1, 7, 120, 2500].forEach((millis) => recordMillis(histogram, millis));

    const buckets = logBuckets(histogram);

    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(7);
    expect(buckets.at(-1)!.upToMs).toBeGreaterThanOrEqual(2500);
  });
});
