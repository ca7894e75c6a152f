import type { GameDayFault } from './plan';
/** What the game day records; kept apart from the code that records it so analysis stays pure. */

export type Outcome = 'ok' | 'backup' | 'failed';

export interface RequestSample {
  /** Milliseconds since the game day started, when the request was sent. */
  at: number;
  ms: number;
  /** A page read, a page save (PUT /api/pages/:slug), or the JSON "who am I" (whoAmIPath). */
  kind: 'read' | 'edit' | 'session';
  outcome: Outcome;
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** The instance id from X-Served-By; "backup-site" for the static copy; "" without an answer. */
  servedBy: string;
  vu: number;
}

export interface SessionLoss {
  at: number;
  vu: number;
  servedBy: string;
}

export interface AcknowledgedEdit {
  slug: string;
  revision: number;
  at: number;
}

export interface FaultRecord {
  name: string;
  /** The lab's fault type (instance, database, all-web ...) or a release step. */
  fault: GameDayFault;
  description: string;
  injectedAt: number;
  /** When the fault's duration ends (the lab undoes it); absent for a killed instance. */
  undoneAt?: number;
  /** End of the window measured for this fault: the next fault's start, or the end of the run. */
  windowEnd: number;
  /** When the lab showed it had noticed (see detectionOf in run.ts); absent if never seen. */
  detectedAt?: number;
  /** When the group was back at its desired capacity, every instance in service and UP. */
  capacityRestoredAt?: number;
  /** For a release step: how the roll went (times on the game day's clock). */
  release?: ReleaseRecord;
  /** Where the lab's DNS layer sent the domain during this fault's window (absent without one). */
  domain?: DomainDuringFault;
}

interface ReleaseRecord {
  from: string;
  to: string;
  /** The roll's end state: succeeded, rolled-back or failed. */
  state: string;
  reason?: string;
  endedAt?: number;
  /** When an instance of the new release first took traffic. */
  firstTrafficAt?: number;
  /** When the roll found the new release bad; absent for a good one. */
  detectedAt?: number;
  /** When no instance in service ran the new release any more. */
  backOnPreviousAt?: number;
  /** Instances that served the new release. */
  servedNewRelease: number;
  /** Instances in service per release, at each change. */
  versions: { at: number; inService: Record<string, number> }[];
}

export interface DomainDuringFault {
  /** The domain went to the backup copy at some point in the window. */
  flipped: boolean;
  /** From the injection to the first flip to the backup; null when it never flipped. */
  flippedAfterSeconds: number | null;
  /** Seconds of the window the domain spent on the backup copy. */
  backupSeconds: number;
}

export interface GameDayRecord {
  sessionStore: 'dynamodb' | 'memory';
  /** The load balancer pinned each user to an instance with a cookie. */
  sticky: boolean;
  startedAt: string;
  durationMs: number;
  virtualUsers: number;
  requests: RequestSample[];
  sessionLosses: SessionLoss[];
  acknowledgedEdits: AcknowledgedEdit[];
  /** Acknowledged edits missing from the database (or at an older revision) at the end. */
  missingEdits: string[];
  faults: FaultRecord[];
}
