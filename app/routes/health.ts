import { Router } from 'express';
import { withTimeout } from '../timeout';

// The ALB and the Auto Scaling group use the shallow check, so a database failover does not make
// the ASG replace the whole fleet. Route 53 uses the deep one, so when the data tier is gone the
// domain fails over to the static backup site.
export const healthPath = '/health';
export const deepHealthPath = '/health/deep';

/** Each check gets this long; they run in parallel so the whole answer comes within ~2 s. */
const checkTimeoutMs = 1_500;

export type DependencyCheck = (timeoutMs: number) => Promise<void>;

export interface HealthDeps {
  identity: { id: string; az: string };
  version: string;
  isDraining: () => boolean;
  checks: Record<string, DependencyCheck>;
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

export function createDeepHealthRouter({ checks }: HealthDeps): Router {
  const router = Router();
  router.get(deepHealthPath, async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        const started = performance.now();
        try {
          // The deadline is a backstop for a check that ignores its own timeout.
          await withTimeout(check(checkTimeoutMs), checkTimeoutMs + 100, `no answer within ${checkTimeoutMs} ms`);
          return [name, { status: 'ok', ms: elapsed(started) }] as const;
        } catch (error) {
          return [name, { status: 'fail', ms: elapsed(started), error: describe(error) }] as const;
        }
      }),
    );
    const healthy = results.every(([, result]) => result.status === 'ok');
    res
      .status(healthy ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: healthy ? 'ok' : 'fail', checks: Object.fromEntries(results) });
  });
  return router;
}

const elapsed = (started: number) => Math.round(performance.now() - started);

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  return (code ? `${code}: ` : '') + (error.message || error.name);
}
