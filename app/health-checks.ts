import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Assets } from './assets';
import type { Database } from './data/db';
import type { DependencyCheck } from './routes/health';

export interface DependencyCheckDeps {
  db: Database;
  /** Absent with SESSION_STORE=memory: then there is no session table to depend on. */
  sessions?: { dynamodb: DynamoDBClient; table: string };
  assets: Assets;
}

/** Every hard dependency of a request, as /health/deep reports them. */
export function dependencyChecks({ db, sessions, assets }: DependencyCheckDeps): Record<string, DependencyCheck> {
  return {
    writer: (timeoutMs) => db.ping('writer', timeoutMs),
    reader: (timeoutMs) => db.ping('reader', timeoutMs),
    ...(sessions
      ? {
          sessions: async (timeoutMs: number) => {
            await sessions.dynamodb.send(new DescribeTableCommand({ TableName: sessions.table }), {
              abortSignal: AbortSignal.timeout(timeoutMs),
            });
          },
        }
      : {}),
    assets: (timeoutMs) => assets.checkBucket('assets', timeoutMs),
    uploads: (timeoutMs) => assets.checkBucket('uploads', timeoutMs),
  };
}
