import { deepHealthPath, healthPath } from '../contracts';
import { Router } from 'express';
import type { DeepHealthMonitor } from './monitor';

// The ALB and the Auto Scaling group use the shallow check, so a database failover does not make
// the ASG replace the whole fleet. Route 53 uses the deep one, so when the site cannot serve page
// views the domain fails over to the static backup site.

export interface HealthDeps {
  identity: { id: string; az: string };
  version: string;
  isDraining: () => boolean;
  deepHealth: Pick<DeepHealthMonitor, 'answer'>;
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
 * 200 `ok` when every check passes, 200 `degraded` when the site can still serve page views (the
 * writer or a bucket down), 503 `fail` when it cannot. The answer comes from memory (see
 * monitor.ts): a request costs no dependency call. Each check's status and milliseconds are
 * public; why it failed is logged, not returned, because the error names internal endpoints.
 */
export function createDeepHealthRouter({ deepHealth }: HealthDeps): Router {
  const router = Router();
  router.get(deepHealthPath, (_req, res) => {
    const answer = deepHealth.answer();
    res
      .status(answer.status === 'fail' ? 503 : 200)
      .set('Cache-Control', 'no-store')
      .json(answer);
  });
  return router;
}
