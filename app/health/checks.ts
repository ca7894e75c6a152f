import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Assets } from '../platform/assets';
import type { Database } from '../db/db';

export interface DependencyCheck {
  /** Rejects when the dependency does not answer within `timeoutMs`. */
  probe(timeoutMs: number): Promise<void>;
  /**
   * Critical: without it no request can be served, so its failure makes /health/deep 503 and
   * Route 53 fails the site over to the static backup. Any other failing check is reported as
   * "degraded" and the answer stays 200: losing a replica or a bucket must not take the site down.
   */
  critical: boolean;
}

export type CheckStatus = 'ok' | 'fail' | 'degraded';

export interface DependencyCheckDeps {
  db: Database;
  /** Absent with SESSION_STORE=memory: then there is no session table to depend on. */
  sessions?: { dynamodb: DynamoDBClient; table: string };
  assets: Assets;
}

/**
 * Every dependency of a request, as /health/deep reports them. Only the writer and the session
 * table are critical (docs/architecture.md, "Critical vs degraded"): a failing reader falls back
 * to the writer, and the buckets hold uploads and published assets, which a page view can do
 * without, so their failure is "degraded" and never fails the site over to the backup.
 */
export function dependencyChecks({ db, sessions, assets }: DependencyCheckDeps): Record<string, DependencyCheck> {
  return {
    writer: { critical: true, probe: (timeoutMs) => db.ping('writer', timeoutMs) },
    reader: { critical: false, probe: (timeoutMs) => db.ping('reader', timeoutMs) },
    ...(sessions
      ? {
          sessions: {
            critical: true,
            probe: async (timeoutMs: number) => {
              await sessions.dynamodb.send(new DescribeTableCommand({ TableName: sessions.table }), {
                abortSignal: AbortSignal.timeout(timeoutMs),
              });
            },
          },
        }
      : {}),
    assets: { critical: false, probe: (timeoutMs) => assets.checkBucket('assets', timeoutMs) },
    uploads: { critical: false, probe: (timeoutMs) => assets.checkBucket('uploads', timeoutMs) },
  };
}
