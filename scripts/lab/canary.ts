/**
 * The canary check of a rolling release: the first instance on the new release against the
 * instances still on the old one, over a short window. It is what a CloudWatch alarm on the
 * target group's 5xx count and response time would gate on AWS, decided here from HAProxy's
 * per-server counters (real traffic) and the roll's own page views sent to each instance.
 * Pure: the caller collects the evidence and the clock.
 */

export interface CanarySide {
  /** Requests answered (real traffic through the load balancer, and page-view probes). */
  requests: number;
  /** 5xx answers, broken responses and probes that got no answer. */
  errors: number;
  /** Page-view probe latencies, ms. */
  latenciesMs: number[];
}

export interface CanaryThresholds {
  /** Fewer errors than this never fail the canary: one unlucky request is not a bad release. */
  minErrors: number;
  /** The new release fails when its error rate exceeds the old one's by more than this (0–1). */
  errorRateMargin: number;
  /** ... or when its median page view is slower than the old median × factor + margin. */
  latencyFactor: number;
  latencyMarginMs: number;
  /** Probes needed on each side before latency is judged. */
  minLatencySamples: number;
}

export const defaultCanaryThresholds: CanaryThresholds = {
  minErrors: 3,
  errorRateMargin: 0.05,
  latencyFactor: 2,
  latencyMarginMs: 250,
  minLatencySamples: 5,
};

export type CanaryVerdict = { verdict: 'fail'; reason: string } | { verdict: 'pass'; reason: string } | { verdict: 'wait' };

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/**
 * Fails as soon as the evidence is clear — every failed request is a user's — and passes only
 * once the whole window has gone by without it.
 */
export function judgeCanary(
  fresh: CanarySide,
  old: CanarySide,
  elapsedMs: number,
  windowMs: number,
  thresholds: CanaryThresholds = defaultCanaryThresholds,
): CanaryVerdict {
  const rate = (side: CanarySide) => (side.requests === 0 ? 0 : side.errors / side.requests);
  if (fresh.errors >= thresholds.minErrors && rate(fresh) > rate(old) + thresholds.errorRateMargin) {
    return {
      verdict: 'fail',
      reason: `error rate ${percent(rate(fresh))} (${fresh.errors} of ${fresh.requests}) against ${percent(rate(old))} on the previous release`,
    };
  }
  if (fresh.latenciesMs.length >= thresholds.minLatencySamples && old.latenciesMs.length >= thresholds.minLatencySamples) {
    const [freshMedian, oldMedian] = [median(fresh.latenciesMs), median(old.latenciesMs)];
    if (freshMedian > oldMedian * thresholds.latencyFactor + thresholds.latencyMarginMs) {
      return {
        verdict: 'fail',
        reason: `median page view ${Math.round(freshMedian)} ms against ${Math.round(oldMedian)} ms on the previous release`,
      };
    }
  }
  if (elapsedMs < windowMs) return { verdict: 'wait' };
  return {
    verdict: 'pass',
    reason: `${fresh.errors} errors in ${fresh.requests} requests (${percent(rate(fresh))}; previous release ${percent(rate(old))}), median page view ${Math.round(median(fresh.latenciesMs))} ms against ${Math.round(median(old.latenciesMs))} ms`,
  };
}
