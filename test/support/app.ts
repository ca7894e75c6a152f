import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../app/app';
import { createAssets } from '../../app/assets';
import { createDynamoClient, createS3Client } from '../../app/aws-clients';
import { createDatabase, type Database } from '../../app/data/db';
import { createPageRepository } from '../../app/data/pages';
import { createUploadRepository } from '../../app/data/uploads';
import { createUserRepository } from '../../app/data/users';
import type { DependencyCheck } from '../../app/routes/health';
import { createSessions, type SessionStoreKind } from '../../app/sessions';
import { testBuckets, testSecret, testSessionTable } from './names';

export interface TestAppOptions {
  instanceId?: string;
  sessionStore?: SessionStoreKind;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  checks?: (built: { db: Database; dynamodb: DynamoDBClient }) => Record<string, DependencyCheck>;
  loginAttemptsPerWindow?: number;
}

export interface TestApp {
  app: Express;
  db: Database;
  dynamodb: DynamoDBClient;
  draining: { value: boolean };
  close(): Promise<void>;
}

export function env(name: 'TEST_DATABASE_URL' | 'TEST_DYNAMODB_ENDPOINT' | 'TEST_S3_ENDPOINT'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with npm test (its global setup starts the services)`);
  return value;
}

/** The app as server.ts builds it, on the services the test run started, with no port opened. */
export function buildTestApp(options: TestAppOptions = {}): TestApp {
  const logger = pino({ level: 'silent' });
  const db = createDatabase({ writerUrl: env('TEST_DATABASE_URL'), logger, poolSize: 4 });
  const dynamodb = createDynamoClient({ region: 'us-east-1', endpoint: options.dynamodbEndpoint ?? env('TEST_DYNAMODB_ENDPOINT') });
  const s3Endpoint = options.s3Endpoint ?? env('TEST_S3_ENDPOINT');
  const s3 = createS3Client({ region: 'us-east-1', endpoint: s3Endpoint });
  const assets = createAssets({ s3, assetsBucket: testBuckets.assets, uploadsBucket: testBuckets.uploads, uploadsOrigin: new URL(s3Endpoint).origin });
  const sessions = createSessions({ kind: options.sessionStore ?? 'dynamodb', secret: testSecret, dynamodb, table: testSessionTable, logger });
  const draining = { value: false };
  const app = createApp({
    pages: createPageRepository(db),
    users: createUserRepository(db),
    uploads: createUploadRepository(db),
    sessions,
    assets,
    identity: { id: options.instanceId ?? 'i-test', az: 'test-1a' },
    version: 'test',
    secret: testSecret,
    trustProxy: false,
    isDraining: () => draining.value,
    logger,
    checks: options.checks?.({ db, dynamodb }) ?? { writer: (ms) => db.ping('writer', ms) },
    loginAttemptsPerWindow: options.loginAttemptsPerWindow,
  });
  return {
    app,
    db,
    dynamodb,
    draining,
    async close() {
      await db.close();
      dynamodb.destroy();
      s3.destroy();
    },
  };
}
