import { deepHealthPath, healthPath } from '../contracts';
import { Router } from 'express';
import type { Logger } from 'pino';
import { withTimeout } from '../platform/timeout';
import type { CheckStatus, DependencyCheck } from './checks';

// The ALB and the Auto Scaling group use the shallow check, so a database failover does not make
// the ASG replace the whole fleet. Route 53 uses the deep one, so when the data tier is gone the
// domain fails over to the static backup site.

/** Each check gets this long; they run in parallel so the whole answer comes within ~2 s. */
const checkTimeoutMs = 1_500;

export interface HealthDeps {
  identity: { id: string; az: string };
  version: string;
  isDraining: () => boolean;
  checks: Record<string, DependencyCheck>;
  /** Where the details of a failed check go: the public answer names no endpoint. */
  logger: Logger;
}

export function createShallowHealthRouter({ identity, version, isDraining }: HealthDeps): Router {
  const router = Router();
  router.get(healthPath, (_req, res) => {
    const status = isDraining() ? 'draining' : 'ok';
    res
      .status(status === 'ok' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status, instance: identity.id, az: identity.az, version });
  });
  return router;
}

/**
 * 200 `ok` when every check passes, 200 `degraded` when only non-critical ones fail, 503 `fail`
 * when a critical one does. Each check's status and milliseconds are public; why it failed is
 * logged, not returned, because the error names internal endpoints.
 */
export function createDeepHealthRouter({ checks, logger }: HealthDeps): Router {
  const router = Router();
  router.get(deepHealthPath, async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, { probe, critical }]) => {
        const started = performance.now();
        try {
          // The deadline is a backstop for a check that ignores its own timeout.
          await withTimeout(probe(checkTimeoutMs), checkTimeoutMs + 100, `no answer within ${checkTimeoutMs} ms`);
          return [name, { status: 'ok' as CheckStatus, ms: elapsed(started) }] as const;
        } catch (error) {
          const status: CheckStatus = critical ? 'fail' : 'degraded';
          logger.warn({ check: name, status, ms: elapsed(started), err: error }, `health check ${name} failed`);
          return [name, { status, ms: elapsed(started) }] as const;
        }
      }),
    );
    const statuses = results.map(([, result]) => result.status);
    const status: CheckStatus = statuses.includes('fail') ? 'fail' : statuses.includes('degraded') ? 'degraded' : 'ok';
    res
      .status(status === 'fail' ? 503 : 200)
      .set('Cache-Control', 'no-store')
      .json({ status, checks: Object.fromEntries(results) });
  });
  return router;
}

const elapsed = (started: number) => Math.round(performance.now() - started);
