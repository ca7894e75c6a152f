export interface Thresholds {
  /** Highest acceptable share of failed requests (connection errors, timeouts, 5xx), 0–1. */
  maxErrorRate: number;
  /** Highest acceptable p99 latency in milliseconds. */
  maxP99Ms: number;
}

export interface Verdict {
  passed: boolean;
  assessment: string;
  reasons: string[];
}

interface Figures {
  requests: number;
  errors: number;
  statusCodes: Record<string, number>;
  latency: { p99: number };
}

/** Server errors count as failures for the verdict: a 503 from a drained instance is a lost request. */
export function failedRequests(figures: Omit<Figures, 'latency'>): number {
  const serverErrors = Object.entries(figures.statusCodes)
    .filter(([code]) => code.startsWith('5'))
    .reduce((sum, [, count]) => sum + count, 0);
  return figures.errors + serverErrors;
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/**
 * The original bees judged the target by its mean response time. These verdicts keep its voice
 * but judge what users feel: the failure rate and the p99, against thresholds the caller sets.
 */
export function judge(figures: Figures, thresholds: Thresholds): Verdict {
  const attempts = figures.requests + figures.errors;
  if (attempts === 0) {
    return { passed: false, assessment: 'The swarm never reached the target.', reasons: ['no request completed'] };
  }
  const failureRate = failedRequests(figures) / attempts;
  const reasons: string[] = [];
  if (failureRate > thresholds.maxErrorRate) {
    reasons.push(`failure rate ${percent(failureRate)} is above the ${percent(thresholds.maxErrorRate)} threshold`);
  }
  if (figures.latency.p99 > thresholds.maxP99Ms) {
    reasons.push(`p99 ${figures.latency.p99} ms is above the ${thresholds.maxP99Ms} ms threshold`);
  }
  if (reasons.length === 2) return { passed: false, assessment: 'Swarm annihilated target.', reasons };
  if (reasons.length === 1) return { passed: false, assessment: 'Target severely compromised.', reasons };
  if (failureRate > 0) return { passed: true, assessment: 'Target wounded, but operational.', reasons };
  if (figures.latency.p99 > thresholds.maxP99Ms / 2) {
    return { passed: true, assessment: 'Target successfully fended off the swarm.', reasons };
  }
  return { passed: true, assessment: 'Target crushed bee offensive.', reasons };
}
