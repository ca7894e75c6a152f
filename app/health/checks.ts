import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Assets } from '../platform/assets';
import type { Database } from '../db/db';
import { sessionTableKey } from '../sessions/sessions-table';

/**
 * What a page view cannot do without: at least one check of each of these groups must pass, or
 * the site cannot serve readers and Route 53 should send them to the backup copy.
 */
type PageViewNeed = 'database' | 'session table';

export interface DependencyCheck {
  /** Rejects when the dependency does not answer within `timeoutMs`. */
  probe(timeoutMs: number): Promise<void>;
  /**
   * Set when page views need this dependency or another of the same group: the writer and the
   * reader are one group, since either can answer a read. Unset: nice to have (the buckets).
   */
  pageViewsNeed?: PageViewNeed;
}

export type CheckStatus = 'ok' | 'fail' | 'degraded';

export interface DependencyCheckDeps {
  db: Database;
  /** Absent with SESSION_STORE=memory: then there is no session table to depend on. */
  sessions?: { dynamodb: DynamoDBClient; table: string };
  assets: Assets;
}

/** A key no session or rate-limit counter uses (they start with "sess:" and "limit:"): reading it costs one half read unit. */
const healthCheckSessionKey = 'cloudwiki-health-check';

/**
 * Every dependency of a request, as /health/deep reports them (docs/architecture.md, "What fails
 * the domain over"). The site can serve page views while the writer OR the reader answers (a
 * writer failover leaves it read-only, not down) and the session table answers a data-plane read:
 * GetItem, because DescribeTable is a control-plane call that can succeed while reads fail and is
 * throttled far lower. The buckets hold uploads and published assets, which a page view can do
 * without: their failure is "degraded" and never fails the site over to the backup.
 */
export function dependencyChecks({ db, sessions, assets }: DependencyCheckDeps): Record<string, DependencyCheck> {
  return {
    writer: { pageViewsNeed: 'database', probe: (timeoutMs) => db.ping('writer', timeoutMs) },
    reader: { pageViewsNeed: 'database', probe: (timeoutMs) => db.ping('reader', timeoutMs) },
    ...(sessions
      ? {
          sessions: {
            pageViewsNeed: 'session table',
            probe: async (timeoutMs: number) => {
              await sessions.dynamodb.send(
                new GetItemCommand({ TableName: sessions.table, Key: { [sessionTableKey]: { S: healthCheckSessionKey } } }),
                { abortSignal: AbortSignal.timeout(timeoutMs) },
              );
            },
          },
        }
      : {}),
    assets: { probe: (timeoutMs) => assets.checkBucket('assets', timeoutMs) },
    uploads: { probe: (timeoutMs) => assets.checkBucket('uploads', timeoutMs) },
  };
}

/**
 * The answer for one round of probes. A failed check is `fail` when its whole group failed (page
 * views are impossible: the site must fail over) and `degraded` otherwise (a failed writer while
 * the reader answers: the site serves reads and refuses saves).
 */
export function judge(
  checks: Record<string, DependencyCheck>,
  passed: Record<string, boolean>,
): { status: CheckStatus; checks: Record<string, CheckStatus> } {
  const groupAnswers = (need: PageViewNeed) => Object.entries(checks).some(([name, check]) => check.pageViewsNeed === need && passed[name]);
  const statuses = Object.fromEntries(
    Object.entries(checks).map(([name, check]): [string, CheckStatus] => {
      if (passed[name]) return [name, 'ok'];
      return [name, check.pageViewsNeed && !groupAnswers(check.pageViewsNeed) ? 'fail' : 'degraded'];
    }),
  );
  const all = Object.values(statuses);
  const status: CheckStatus = all.includes('fail') ? 'fail' : all.includes('degraded') ? 'degraded' : 'ok';
  return { status, checks: statuses };
}
