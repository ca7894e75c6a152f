import type { FaultRecord, GameDayRecord, RequestSample } from '../../../scripts/gameday/samples';

/** Game day records for tests: the shape `npm run gameday` writes, with what a test leaves out at rest. */

export function sample(at: number, outcome: RequestSample['outcome'], servedBy = 'i-a', ms = 10, vu = 0): RequestSample {
  return {
    at,
    ms,
    kind: 'read',
    outcome,
    status: outcome === 'failed' ? 503 : 200,
    servedBy: outcome === 'backup' ? 'backup-site' : servedBy,
    vu,
  };
}

export function fault(overrides: Partial<FaultRecord>): FaultRecord {
  return {
    name: 'kill one instance',
    fault: 'instance',
    description: 'killed i-b',
    injectedAt: 2000,
    windowEnd: 6000,
    detectedAt: 3000,
    capacityRestoredAt: 5000,
    ...overrides,
  };
}

export function record(overrides: Partial<GameDayRecord>): GameDayRecord {
  return {
    sessionStore: 'dynamodb',
    sticky: false,
    startedAt: '2026-11-25T18:00:00.000Z',
    durationMs: 6000,
    virtualUsers: 2,
    requests: [],
    sessionLosses: [],
    acknowledgedEdits: [],
    missingEdits: [],
    faults: [],
    ...overrides,
  };
}
