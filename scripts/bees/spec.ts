// What the queen sends to each bee and what each bee sends back. Plain JSON both ways, so the same
// shapes travel over a local IPC channel and through SSM Run Command's stdout.

export interface Route {
  method: string;
  /**
   * Path and query. Placeholders: `[<run>]` the attack's id, `[<bee>]` the bee's number, `[<vu>]`
   * the virtual user's number within its bee, `[<n>]` that user's request count (unique names).
   */
  path: string;
  weight: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoginPlan {
  /** `signup` creates a fresh account per virtual user; `login` reuses the listed accounts. */
  mode: 'signup' | 'login';
  password: string;
  users?: string[];
}

export interface BeeSpec {
  bee: number;
  runId: string;
  url: string;
  connections: number;
  /** Requests this bee sends; when absent the bee runs for `durationSeconds`. */
  amount?: number;
  durationSeconds?: number;
  /** Open loop: requests per second this bee schedules, whatever the responses do. */
  rate?: number;
  rampUpSeconds: number;
  timeoutSeconds: number;
  method: string;
  headers: Record<string, string>;
  body?: string;
  routes?: Route[];
  login?: LoginPlan;
  /** Per-second histograms make the result bigger; SSM's inline output cannot hold many. */
  timeline: boolean;
}

export interface TimelineSlot {
  second: number;
  requests: number;
  errors: number;
  latency: string;
}

export interface BeeResult {
  bee: number;
  requests: number;
  errors: number;
  errorsByKind: Record<string, number>;
  statusCodes: Record<string, number>;
  /** From this bee's first scheduled send to its last answer or error. */
  elapsedSeconds: number;
  /**
   * The same span as wall-clock milliseconds since 1970, so the queen can find the swarm's span
   * across processes and machines (EC2 bees keep time with the Amazon Time Sync Service).
   */
  startedAtMs: number;
  finishedAtMs: number;
  bytes: number;
  /** HdrHistogram, compressed base64, microseconds. */
  latency: string;
  timeline: TimelineSlot[];
  virtualUsers: number;
  setupSeconds: number;
}

export interface BeeProgress {
  bee: number;
  requests: number;
  errors: number;
}
