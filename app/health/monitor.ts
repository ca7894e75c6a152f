import type { Logger } from 'pino';
import { withTimeout } from '../platform/timeout';
import { judge, type CheckStatus, type DependencyCheck } from './checks';

interface DeepHealthAnswer {
  status: CheckStatus;
  checks: Record<string, { status: CheckStatus; ms: number }>;
  /** How old the answer is: Route 53 may read the same answer several times. */
  ageMs: number;
  /** Why there is no fresh answer: the first round has not finished, or the rounds stopped coming. */
  reason?: 'starting' | 'stale';
}

export interface DeepHealthMonitorOptions {
  checks: Record<string, DependencyCheck>;
  /** How often the checks run. */
  intervalMs: number;
  /** Each check gets this long; they run in parallel. */
  checkTimeoutMs: number;
  now: () => number;
  /** Where the details of a failed check go: the public answer names no endpoint. */
  logger: Logger;
}

export interface DeepHealthMonitor {
  /** The last round's answer, from memory: serving it calls no dependency. */
  answer(): DeepHealthAnswer;
  /** Runs one round now (or joins the one running) and keeps its answer. */
  refresh(): Promise<DeepHealthAnswer>;
  /** Runs a round now and every `intervalMs` after. */
  start(): void;
  /** Stops the rounds (on drain, before the pools close); the last answer is still served. */
  stop(): void;
}

/**
 * /health/deep's answer, computed in the background. Route 53 runs ~15 checkers (more with more
 * regions) and anyone on the internet can ask too: if every request probed every dependency, the
 * check's cost and load would grow with its callers, so each process probes on its own clock and
 * every request reads the result.
 */
export function createDeepHealthMonitor(options: DeepHealthMonitorOptions): DeepHealthMonitor {
  const { checks, intervalMs, checkTimeoutMs, now, logger } = options;
  // A round that has not come for three intervals means the loop is stuck: the answer is no
  // longer evidence, and a site that cannot say it is healthy is treated as not healthy.
  const staleAfterMs = intervalMs * 3 + checkTimeoutMs;
  let last: { checkedAt: number; status: CheckStatus; checks: DeepHealthAnswer['checks'] } | undefined;
  let running: Promise<DeepHealthAnswer> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function round(): Promise<DeepHealthAnswer> {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, { probe }]) => {
        const started = now();
        try {
          // The deadline is a backstop for a check that ignores its own timeout.
          await withTimeout(probe(checkTimeoutMs), checkTimeoutMs + 100, `no answer within ${checkTimeoutMs} ms`);
          return { name, passed: true, ms: now() - started };
        } catch (error) {
          logger.warn({ check: name, ms: now() - started, err: error }, `health check ${name} failed`);
          return { name, passed: false, ms: now() - started };
        }
      }),
    );
    const verdict = judge(checks, Object.fromEntries(results.map(({ name, passed }) => [name, passed])));
    if (last && last.status !== verdict.status)
      logger[verdict.status === 'fail' ? 'error' : 'info']({ from: last.status, to: verdict.status }, `deep health now ${verdict.status}`);
    last = {
      checkedAt: now(),
      status: verdict.status,
      checks: Object.fromEntries(results.map(({ name, ms }) => [name, { status: verdict.checks[name]!, ms: Math.round(ms) }])),
    };
    return answer();
  }

  function answer(): DeepHealthAnswer {
    if (!last) return { status: 'fail', checks: {}, ageMs: 0, reason: 'starting' };
    const ageMs = now() - last.checkedAt;
    // After stop() (draining) the last answer stands: the instance leaves within the drain delay.
    if (!stopped && ageMs > staleAfterMs) return { status: 'fail', checks: last.checks, ageMs, reason: 'stale' };
    return { status: last.status, checks: last.checks, ageMs };
  }

  function refresh(): Promise<DeepHealthAnswer> {
    running ??= round().finally(() => (running = undefined));
    return running;
  }

  return {
    answer,
    refresh,
    start() {
      if (timer || stopped) return;
      void refresh();
      timer = setInterval(() => void refresh(), intervalMs);
      // The server's listener keeps the process alive; this timer alone must not.
      timer.unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
