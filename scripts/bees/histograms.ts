import * as hdr from 'hdr-histogram-js';

/**
 * Latencies are recorded in microseconds so sub-millisecond loopback responses keep their
 * resolution; reports convert to milliseconds. The range (1 µs to 1 hour, 3 significant digits)
 * covers a stalled server without the histogram resizing mid-attack.
 */
const lowestMicros = 1;
const highestMicros = 3_600_000_000;
const significantDigits = 3;

export type LatencyHistogram = hdr.Histogram;

const range = {
  lowestDiscernibleValue: lowestMicros,
  highestTrackableValue: highestMicros,
  numberOfSignificantValueDigits: significantDigits,
  bitBucketSize: 32,
} as const;

export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build(range);
}

/**
 * The histogram a bee records into, once per response. HdrHistogram's WebAssembly build (the one
 * autocannon records with) takes 50–75 ns a value where the JavaScript build takes about 300 ns
 * (Node 20 here): on a trivial target, that gap alone is about 1% of the cost of a response. Its
 * memory lives outside the JavaScript heap: destroy() it when done.
 */
export function createRecordingHistogram(): LatencyHistogram {
  hdr.initWebAssemblySync();
  return hdr.build({ ...range, useWebAssembly: true });
}

export function recordMillis(histogram: LatencyHistogram, millis: number): void {
  const micros = Math.round(millis * 1000);
  histogram.recordValue(Math.min(highestMicros, Math.max(lowestMicros, micros)));
}

/** Histograms cross process and machine boundaries in HdrHistogram's own compressed format. */
export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  return hdr.decodeFromCompressedBase64(encoded, 32);
}

/**
 * Adds the bees' histograms bucket by bucket. The result is the histogram one bee would have
 * recorded had it sent every request itself, so its percentiles are exact, not averages.
 */
export function mergeEncodedHistograms(encoded: readonly string[]): LatencyHistogram {
  const merged = createLatencyHistogram();
  for (const one of encoded) merged.add(decodeHistogram(one));
  return merged;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
}

const microsToMillis = (micros: number): number => Math.round(micros) / 1000;

export function summarizeLatency(histogram: LatencyHistogram): LatencySummary {
  const empty = histogram.totalCount === 0;
  const at = (percentile: number): number => (empty ? 0 : microsToMillis(histogram.getValueAtPercentile(percentile)));
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    // The top of the max's bucket, not the raw max, so a merged histogram reports the same value.
    max: at(100),
    mean: empty ? 0 : Math.round(histogram.mean) / 1000,
    count: histogram.totalCount,
  };
}

export interface HistogramBucket {
  /** Upper bound of the bucket in milliseconds. */
  upToMs: number;
  count: number;
}

/** Buckets on a logarithmic scale for the HTML report's histogram chart. */
export function logBuckets(histogram: LatencyHistogram): HistogramBucket[] {
  if (histogram.totalCount === 0) return [];
  // Four buckets per power of ten (10, 18, 32, 56, 100 ... µs), so loopback and WAN runs both read.
  const bounds: number[] = [];
  for (let decade = 10; bounds.length === 0 || (bounds.at(-1) as number) < histogram.maxValue; decade *= 10) {
    bounds.push(...[1, 1.8, 3.2, 5.6].map((step) => Math.round(decade * step)));
  }
  const counts = bounds.map(() => 0);
  const values = (histogram as unknown as hdr.JsHistogram).recordedValuesIterator;
  values.reset();
  let bucket = 0;
  while (values.hasNext()) {
    const step = values.next();
    while ((bounds[bucket] as number) < step.valueIteratedTo && bucket < bounds.length - 1) bucket++;
    counts[bucket] = (counts[bucket] as number) + step.countAtValueIteratedTo;
  }
  return bounds.map((upper, index) => ({ upToMs: upper / 1000, count: counts[index] as number }));
}
