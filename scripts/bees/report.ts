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

export interface BeeLine {
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
  /** The sum of each bee's own completed requests per second of its own run time. */
  rps: number;
  rpsMeaning: string;
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

function mergeTimeline(results: readonly BeeResult[]): TimelinePoint[] {
  const seconds = new Map<number, { requests: number; errors: number; latencies: string[] }>();
  for (const result of results) {
    for (const slot of result.timeline) {
      const merged = seconds.get(slot.second) ?? { requests: 0, errors: 0, latencies: [] };
      merged.requests += slot.requests;
      merged.errors += slot.errors;
      merged.latencies.push(slot.latency);
      seconds.set(slot.second, merged);
    }
  }
  return [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, merged]) => {
      const latency = summarizeLatency(mergeEncodedHistograms(merged.latencies));
      return { second, requests: merged.requests, errors: merged.errors, p50: latency.p50, p99: latency.p99, max: latency.max };
    });
}

/** One report for the swarm: counts add up, histograms merge exactly, rates are summed per bee. */
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
    rps: round(perBee.reduce((sum, bee) => sum + bee.rps, 0)),
    rpsMeaning: 'sum over bees of each bee’s responses per second of its own run',
    bytes: results.reduce((sum, result) => sum + result.bytes, 0),
    latency: { ...latency, unit: 'ms', correctedForCoordinatedOmission: openLoop },
    perBee,
    timeline: mergeTimeline(results),
    histogram: logBuckets(merged),
    virtualUsers: results.reduce((sum, result) => sum + result.virtualUsers, 0),
  };
  return { ...report, verdict: judge(report, thresholds) };
}
