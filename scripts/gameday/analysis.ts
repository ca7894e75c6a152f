import type { FaultRecord, GameDayRecord, RequestSample, SessionLoss } from './samples';

export interface SecondStats {
  second: number;
  /** Requests answered per instance id ("backup-site" for the static copy). */
  byInstance: Record<string, number>;
  /** Requests an instance of the wiki answered as it should (not failed, not the backup site). */
  ok: number;
  failed: number;
  total: number;
  /** p99 latency of the requests sent in this second, per instance, in ms. */
  p99ByInstance: Record<string, number>;
}

export interface FaultSummary {
  name: string;
  fault: string;
  description: string;
  startSecond: number;
  endSecond: number;
  requests: number;
  failedRequests: number;
  /** Failed requests by HTTP status ("0" for no answer: refused, reset or timed out). */
  failuresByStatus: Record<string, number>;
  backupResponses: number;
  /** Seconds in which no request got a proper answer from an instance of the wiki. */
  downtimeSeconds: number;
  detectSeconds: number | null;
  /** From the injection to the end of the last second with a failed or backup-served request. */
  recoverSeconds: number;
  capacityRestoredSeconds: number | null;
  p99Ms: number;
  /** Virtual users found logged out during this fault's window. */
  sessionsLost: number;
}

export interface Thresholds {
  /** Per lab fault type: the most seconds users may see errors or the backup site. */
  recoverSeconds: Record<string, (fault: FaultRecord) => number>;
  /** Share of a fault window's requests that may fail. */
  failedShare: Record<string, number>;
}

export interface Verdict {
  passed: boolean;
  reasons: string[];
}

export interface GameDayReport {
  sessionStore: string;
  sticky: boolean;
  startedAt: string;
  durationSeconds: number;
  virtualUsers: number;
  requests: number;
  failedRequests: number;
  timeline: SecondStats[];
  faults: FaultSummary[];
  sessionsLost: number;
  /** Users logged out before the first fault: no fault needed (memory sessions, round robin). */
  sessionsLostBeforeFaults: number;
  loggedOutResponses: number;
  editsAcknowledged: number;
  editsLost: number;
  missingEdits: string[];
  verdict: 'pass' | 'fail';
  reasons: string[];
}

export const backupServer = 'backup-site';

/** Nearest-rank percentile; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function timeline(requests: readonly RequestSample[], durationMs: number): SecondStats[] {
  const seconds = Math.max(1, Math.ceil(durationMs / 1000));
  const latencies: Record<string, number[]>[] = Array.from({ length: seconds }, () => ({}));
  const stats: SecondStats[] = Array.from({ length: seconds }, (_, second) => ({
    second,
    byInstance: {},
    ok: 0,
    failed: 0,
    total: 0,
    p99ByInstance: {},
  }));
  for (const request of requests) {
    const second = Math.min(seconds - 1, Math.floor(request.at / 1000));
    const bucket = stats[second]!;
    bucket.total += 1;
    if (request.outcome === 'failed') bucket.failed += 1;
    if (request.outcome === 'ok') bucket.ok += 1;
    if (request.servedBy) {
      bucket.byInstance[request.servedBy] = (bucket.byInstance[request.servedBy] ?? 0) + 1;
      (latencies[second]![request.servedBy] ??= []).push(request.ms);
    }
  }
  stats.forEach((bucket, second) => {
    for (const [instance, values] of Object.entries(latencies[second]!)) bucket.p99ByInstance[instance] = percentile(values, 99);
  });
  return stats;
}

function distinctUsersLost(losses: readonly SessionLoss[], from: number, to: number): number {
  return new Set(losses.filter((loss) => loss.at >= from && loss.at < to).map((loss) => loss.vu)).size;
}

export function summarizeFault(
  fault: FaultRecord,
  requests: readonly RequestSample[],
  seconds: readonly SecondStats[],
  losses: readonly SessionLoss[] = [],
): FaultSummary {
  const inWindow = requests.filter((request) => request.at >= fault.injectedAt && request.at < fault.windowEnd);
  const startSecond = Math.floor(fault.injectedAt / 1000);
  const endSecond = Math.ceil(fault.windowEnd / 1000);
  const windowSeconds = seconds.filter((s) => s.second >= startSecond && s.second < endSecond && s.total > 0);
  // Every request is classified; the fault is over for users after the last bad one.
  const lastBad = inWindow
    .filter((request) => request.outcome !== 'ok')
    .reduce((latest, request) => Math.max(latest, request.at + request.ms), -1);
  const since = (at: number | undefined) => (at === undefined ? null : round((at - fault.injectedAt) / 1000));
  return {
    name: fault.name,
    fault: fault.fault,
    description: fault.description,
    startSecond,
    endSecond,
    requests: inWindow.length,
    failedRequests: inWindow.filter((request) => request.outcome === 'failed').length,
    failuresByStatus: countBy(inWindow.filter((request) => request.outcome === 'failed').map((request) => String(request.status))),
    backupResponses: inWindow.filter((request) => request.outcome === 'backup').length,
    downtimeSeconds: windowSeconds.filter((s) => s.ok === 0).length,
    detectSeconds: since(fault.detectedAt),
    recoverSeconds: lastBad < 0 ? 0 : round(Math.max(0, lastBad - fault.injectedAt) / 1000),
    capacityRestoredSeconds: since(fault.capacityRestoredAt),
    p99Ms: Math.round(
      percentile(
        inWindow.map((request) => request.ms),
        99,
      ),
    ),
    sessionsLost: distinctUsersLost(losses, fault.injectedAt, fault.windowEnd),
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The game day's pass marks: what a highly available wiki must do when each fault hits it. */
export const defaultThresholds: Thresholds = {
  recoverSeconds: {
    // HAProxy marks a dead instance down after 2 failed checks 1 s apart; retries cover the rest.
    instance: () => 10,
    // Users see errors while PostgreSQL is down, then pools reconnect.
    database: (fault) => seconds(fault) + 15,
    // The backup site serves while no instance is up; relaunched instances need 2 passed checks.
    'all-web': (fault) => seconds(fault) + 45,
  },
  failedShare: { instance: 0.05, database: 1, 'all-web': 1 },
};

function seconds(fault: FaultRecord): number {
  return fault.undoneAt === undefined ? 0 : (fault.undoneAt - fault.injectedAt) / 1000;
}

export function verdict(record: GameDayRecord, summaries: readonly FaultSummary[], thresholds = defaultThresholds): Verdict {
  const reasons: string[] = [];
  const lostSessions = new Set(record.sessionLosses.map((loss) => loss.vu)).size;
  if (lostSessions > 0) reasons.push(`${lostSessions} of ${record.virtualUsers} virtual users were logged out (sessions lost)`);
  if (record.missingEdits.length > 0) reasons.push(`${record.missingEdits.length} acknowledged edits are not in the database`);
  summaries.forEach((summary, index) => {
    const fault = record.faults[index]!;
    const limit = thresholds.recoverSeconds[summary.fault]?.(fault);
    if (limit !== undefined && summary.recoverSeconds > limit)
      reasons.push(`${summary.name}: users saw errors for ${summary.recoverSeconds} s, more than ${limit} s`);
    const share = thresholds.failedShare[summary.fault];
    if (share !== undefined && summary.requests > 0 && summary.failedRequests / summary.requests > share)
      reasons.push(`${summary.name}: ${summary.failedRequests} of ${summary.requests} requests failed, more than ${share * 100}%`);
    if (summary.fault === 'all-web' && summary.backupResponses === 0) reasons.push(`${summary.name}: the backup site never answered`);
    if (summary.capacityRestoredSeconds === null) reasons.push(`${summary.name}: the group never got back to full capacity`);
  });
  return { passed: reasons.length === 0, reasons };
}

export function analyze(record: GameDayRecord, thresholds = defaultThresholds): GameDayReport {
  const seconds = timeline(record.requests, record.durationMs);
  const faults = record.faults.map((fault) => summarizeFault(fault, record.requests, seconds, record.sessionLosses));
  const result = verdict(record, faults, thresholds);
  return {
    sessionStore: record.sessionStore,
    sticky: record.sticky,
    startedAt: record.startedAt,
    durationSeconds: round(record.durationMs / 1000),
    virtualUsers: record.virtualUsers,
    requests: record.requests.length,
    failedRequests: record.requests.filter((request) => request.outcome === 'failed').length,
    timeline: seconds,
    faults,
    sessionsLost: new Set(record.sessionLosses.map((loss) => loss.vu)).size,
    sessionsLostBeforeFaults: distinctUsersLost(record.sessionLosses, 0, record.faults[0]?.injectedAt ?? record.durationMs),
    loggedOutResponses: record.sessionLosses.length,
    editsAcknowledged: record.acknowledgedEdits.length,
    editsLost: record.missingEdits.length,
    missingEdits: record.missingEdits,
    verdict: result.passed ? 'pass' : 'fail',
    reasons: result.reasons,
  };
}
