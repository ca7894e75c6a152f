import type { LocalFault } from '../lab/faults';

/** Game day steps that are releases rolled through the group, not faults the lab injects. */
const releaseSteps = ['release', 'bad-release'] as const;
export type ReleaseStep = (typeof releaseSteps)[number];

/** Every kind of step a game day takes: each table keyed by it must name them all (a compile error otherwise). */
export type GameDayFault = LocalFault | ReleaseStep;

export function isReleaseStep(fault: string): fault is ReleaseStep {
  return (releaseSteps as readonly string[]).includes(fault);
}

export interface FaultStep {
  name: string;
  /**
   * A lab fault, or a release: `release` rolls a good build through the group, `bad-release` one
   * that passes /health and answers 500 to page views (the canary must roll it back).
   */
  fault: GameDayFault;
  /** How long the lab keeps the fault before undoing it (faults with nothing to undo ignore it). */
  seconds?: number;
  /** `az`: take out the zone that holds the database's replica, so the replica goes with it. */
  replicaZone?: boolean;
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
 * The scripted day, one fault after another (names are the lab's, scripts/lab/faults.ts): the web
 * tier losing an instance to a crash and to a bare SIGTERM, then a zone with the replica in it, the
 * replica alone, the database frozen, restarted and failed over to its replica, and last the whole
 * web tier gone so that the backup site takes over. The failover comes late because the lab then
 * rebuilds the old primary as the new replica, which the faults before it need in place.
 * Two releases come first, on the steady fleet: a good build rolled through all three instances,
 * then a build that fails page views, which the roll's canary must catch and roll back.
 * --quick keeps the releases, the web-tier faults, the database restart and the freeze, held
 * shorter: about four minutes in all.
 */
export function gameDayPlan(quick: boolean): GameDayPlan {
  const releases: FaultStep[] = [
    { name: 'release a good build (3 instances)', fault: 'release', maxWaitSeconds: 150 },
    { name: 'release a build failing page views', fault: 'bad-release', maxWaitSeconds: 90 },
  ];
  const full: FaultStep[] = [
    ...releases,
    { name: 'kill one instance of three', fault: 'instance', maxWaitSeconds: 90 },
    { name: 'bare SIGTERM to one instance', fault: 'sigterm', maxWaitSeconds: 90 },
    { name: 'zone lost, with the replica in it', fault: 'az', seconds: 20, replicaZone: true, maxWaitSeconds: 120 },
    { name: 'replica stopped', fault: 'replica', seconds: 20, maxWaitSeconds: 90 },
    { name: 'database frozen (SIGSTOP)', fault: 'db-freeze', seconds: 20, maxWaitSeconds: 90 },
    { name: 'database restart', fault: 'database', seconds: 20, maxWaitSeconds: 90 },
    { name: 'database failover to the replica', fault: 'db-failover', maxWaitSeconds: 150 },
    { name: 'all web instances down: backup site', fault: 'all-web', seconds: 30, maxWaitSeconds: 150 },
  ];
  const short: FaultStep[] = [
    ...releases,
    { name: 'kill one instance of three', fault: 'instance', maxWaitSeconds: 45 },
    { name: 'bare SIGTERM to one instance', fault: 'sigterm', maxWaitSeconds: 45 },
    { name: 'database restart', fault: 'database', seconds: 6, maxWaitSeconds: 40 },
    { name: 'database frozen (SIGSTOP)', fault: 'db-freeze', seconds: 6, maxWaitSeconds: 40 },
    { name: 'all web instances down: backup site', fault: 'all-web', seconds: 12, maxWaitSeconds: 75 },
  ];
  return {
    users: quick ? 6 : 12,
    rate: quick ? 20 : 40,
    editEvery: 5,
    warmUpSeconds: quick ? 8 : 30,
    settleSeconds: quick ? 3 : 10,
    steps: quick ? short : full,
  };
}
