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
import { dependencyChecks } from '../../app/health-checks';
import { createSessions, type SessionStoreKind } from '../../app/sessions';
import { local } from '../../app/contracts';
import { testSecret } from './names';

export interface TestAppOptions {
  instanceId?: string;
  databaseUrl?: string;
  readerUrl?: string;
  assetBaseUrl?: string;
  sessionStore?: SessionStoreKind;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
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
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const db = createDatabase({
    writerUrl: options.databaseUrl ?? env('TEST_DATABASE_URL'),
    readerUrl: options.readerUrl,
    logger,
    poolSize: 4,
  });
  const dynamodb = createDynamoClient({ region: 'us-east-1', endpoint: options.dynamodbEndpoint ?? env('TEST_DYNAMODB_ENDPOINT') });
  const s3Endpoint = options.s3Endpoint ?? env('TEST_S3_ENDPOINT');
  const s3 = createS3Client({ region: 'us-east-1', endpoint: s3Endpoint });
  const assets = createAssets({
    s3,
    assetsBucket: local.buckets.assets,
    uploadsBucket: local.buckets.uploads,
    uploadsOrigin: new URL(s3Endpoint).origin,
    assetBaseUrl: options.assetBaseUrl,
  });
  const sessions = createSessions({
    kind: options.sessionStore ?? 'dynamodb',
    secret: testSecret,
    dynamodb,
    table: local.sessionTable,
    logger,
  });
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
    checks: dependencyChecks({ db, assets, sessions: { dynamodb, table: local.sessionTable } }),
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

/** The environment a production start (server.ts) needs to run on the test services. */
export function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    DATABASE_URL: env('TEST_DATABASE_URL'),
    DYNAMODB_ENDPOINT: env('TEST_DYNAMODB_ENDPOINT'),
    S3_ENDPOINT: env('TEST_S3_ENDPOINT'),
    SESSION_TABLE: local.sessionTable,
    SESSION_SECRET: testSecret,
    AWS_REGION: 'us-east-1',
    ASSETS_BUCKET: local.buckets.assets,
    UPLOADS_BUCKET: local.buckets.uploads,
    INSTANCE_ID: 'i-shutdown',
    INSTANCE_AZ: 'test-1b',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}
