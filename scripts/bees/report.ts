import {
  decodeHistogram,
  logBuckets,
  mergeEncodedHistograms,
  summarizeLatency,
  type HistogramBucket,
  type LatencySummary,
} from './histograms';
import type { BeeResult, BeeSpec } from './spec';
import { failedRequests, judge, type Thresholds, type Verdict } from './verdict';

interface BeeLine {
  bee: number;
  requests: number;
  errors: number;
  rps: number;
  latency: LatencySummary;
  virtualUsers: number;
}

export interface TimelinePoint {
  second: number;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export interface AttackReport {
  target: string;
  bees: number;
  connections: number;
  mode: 'closed-loop' | 'open-loop';
  /** Requests a second the swarm was asked to send (open loop only). */
  targetRate?: number;
  requests: number;
  errors: number;
  /** Connection errors, timeouts and 5xx answers over all attempts: what the verdict judges. */
  failureRate: number;
  errorsByKind: Record<string, number>;
  statusCodes: Record<string, number>;
  /**
   * Answers per second of the swarm's wall time (first request sent by any bee to the last answer
   * to any bee). Summing each bee's own rate would overstate the swarm whenever bees start or
   * finish at different times; each bee's own rate is in `perBee`.
   */
  rps: number;
  rpsMeaning: string;
  /** The swarm's wall time in seconds: the denominator of `rps`. */
  wallSeconds: number;
  bytes: number;
  latency: LatencySummary & { unit: 'ms'; correctedForCoordinatedOmission: boolean };
  perBee: BeeLine[];
  timeline: TimelinePoint[];
  histogram: HistogramBucket[];
  virtualUsers: number;
  verdict: Verdict;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

const round = (value: number, places = 1): number => Math.round(value * 10 ** places) / 10 ** places;

/** First send to last answer over every bee, in milliseconds since 1970. */
function swarmSpan(results: readonly BeeResult[]): { startedAtMs: number; finishedAtMs: number } {
  if (results.length === 0) return { startedAtMs: 0, finishedAtMs: 0 };
  return {
    startedAtMs: Math.min(...results.map((result) => result.startedAtMs)),
    finishedAtMs: Math.max(...results.map((result) => result.finishedAtMs)),
  };
}

function mergeTimeline(results: readonly BeeResult[], swarmStartedAtMs: number): TimelinePoint[] {
  const seconds = new Map<number, { requests: number; errors: number; latencies: string[] }>();
  for (const result of results) {
    // Each bee counts seconds from its own start; the swarm's timeline counts from the first bee's.
    const offset = Math.round((result.startedAtMs - swarmStartedAtMs) / 1000);
    for (const slot of result.timeline) {
      const second = slot.second + offset;
      const merged = seconds.get(second) ?? { requests: 0, errors: 0, latencies: [] };
      merged.requests += slot.requests;
      merged.errors += slot.errors;
      merged.latencies.push(slot.latency);
      seconds.set(second, merged);
    }
  }
  return [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, merged]) => {
      const latency = summarizeLatency(mergeEncodedHistograms(merged.latencies));
      return { second, requests: merged.requests, errors: merged.errors, p50: latency.p50, p99: latency.p99, max: latency.max };
    });
}

/** One report for the swarm: counts add up, histograms merge exactly, the rate is over the swarm's wall time. */
export function buildReport(specs: readonly BeeSpec[], results: readonly BeeResult[], thresholds: Thresholds): AttackReport {
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Record<string, number> = {};
  for (const result of results) {
    addCounts(statusCodes, result.statusCodes);
    addCounts(errorsByKind, result.errorsByKind);
  }
  const requests = results.reduce((sum, result) => sum + result.requests, 0);
  const errors = results.reduce((sum, result) => sum + result.errors, 0);
  const attempts = requests + errors;
  const merged = mergeEncodedHistograms(results.map((result) => result.latency));
  const latency = summarizeLatency(merged);
  const openLoop = specs.some((spec) => spec.rate !== undefined);
  const perBee = results.map((result) => ({
    bee: result.bee,
    requests: result.requests,
    errors: result.errors,
    rps: round(result.requests / result.elapsedSeconds),
    latency: summarizeLatency(decodeHistogram(result.latency)),
    virtualUsers: result.virtualUsers,
  }));
  const span = swarmSpan(results);
  const wallSeconds = Math.max(0.001, (span.finishedAtMs - span.startedAtMs) / 1000);
  const report: Omit<AttackReport, 'verdict'> = {
    target: specs[0]?.url ?? '',
    bees: results.length,
    connections: specs.reduce((sum, spec) => sum + spec.connections, 0),
    mode: openLoop ? 'open-loop' : 'closed-loop',
    ...(openLoop ? { targetRate: round(specs.reduce((sum, spec) => sum + (spec.rate ?? 0), 0)) } : {}),
    requests,
    errors,
    failureRate: attempts === 0 ? 0 : failedRequests({ requests, errors, statusCodes }) / attempts,
    errorsByKind,
    statusCodes,
    rps: round(requests / wallSeconds),
    rpsMeaning: 'responses ÷ the swarm’s wall time, first request sent to last response',
    wallSeconds: round(wallSeconds, 3),
    bytes: results.reduce((sum, result) => sum + result.bytes, 0),
    latency: { ...latency, unit: 'ms', correctedForCoordinatedOmission: openLoop },
    perBee,
    timeline: mergeTimeline(results, span.startedAtMs),
    histogram: logBuckets(merged),
    virtualUsers: results.reduce((sum, result) => sum + result.virtualUsers, 0),
  };
  return { ...report, verdict: judge(report, thresholds) };
}
