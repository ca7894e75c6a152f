import type { LocalFault } from '../lab/faults';

export interface FaultStep {
  name: string;
  fault: LocalFault;
  /** How long the lab keeps the fault before undoing it (not used by `instance`: it is a kill). */
  seconds?: number;
  /** Give up waiting for recovery after this long; the verdict then fails on capacity. */
  maxWaitSeconds: number;
}

export interface GameDayPlan {
  users: number;
  rate: number;
  editEvery: number;
  warmUpSeconds: number;
  /** Error-free seconds that count as "recovered" before the next fault. */
  settleSeconds: number;
  steps: FaultStep[];
}

/**
 * The scripted day: an instance crash (one of three), a database restart, and the whole web tier
 * gone so that the backup site takes over. --quick keeps the same story short enough for a
 * 5-minute budget; the full day holds each fault longer.
 */
export function gameDayPlan(quick: boolean): GameDayPlan {
  return {
    users: quick ? 6 : 12,
    rate: quick ? 20 : 40,
    editEvery: 5,
    warmUpSeconds: quick ? 8 : 30,
    settleSeconds: quick ? 3 : 10,
    steps: [
      { name: 'kill one instance of three', fault: 'instance', maxWaitSeconds: quick ? 45 : 90 },
      { name: 'database restart', fault: 'database', seconds: quick ? 6 : 20, maxWaitSeconds: quick ? 40 : 90 },
      { name: 'all web instances down: backup site', fault: 'all-web', seconds: quick ? 12 : 30, maxWaitSeconds: quick ? 75 : 150 },
    ],
  };
}
