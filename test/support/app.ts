import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../app/app';
import { buildAppDeps, createClients } from '../../app/compose';
import { loadConfig } from '../../app/config';
import { local } from '../../app/contracts';
import type { Database } from '../../app/db/db';
import type { DeepHealthMonitor } from '../../app/health/monitor';
import type { SessionStoreKind } from '../../app/sessions/sessions';
import { testSecret } from './names';

export interface TestAppOptions {
  instanceId?: string;
  databaseUrl?: string;
  readerUrl?: string;
  assetBaseUrl?: string;
  sessionStore?: SessionStoreKind;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  /** More settings, as environment variables (e.g. a limit a test needs low). */
  config?: Record<string, string>;
  /** SESSION_CACHE_MS; the configured default when unset. */
  sessionCacheMs?: number;
  /** The app's clock for its time-bounded caches (a TestClock's now); Date.now when unset. */
  now?: () => number;
}

export interface TestApp {
  app: Express;
  db: Database;
  dynamodb: DynamoDBClient;
  draining: { value: boolean };
  /** /health/deep's background answer: `await deepHealth.refresh()` instead of waiting for its timer. */
  deepHealth: DeepHealthMonitor;
  close(): Promise<void>;
}

export function env(name: 'TEST_DATABASE_URL' | 'TEST_DYNAMODB_ENDPOINT' | 'TEST_S3_ENDPOINT'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with npm test (its global setup starts the services)`);
  return value;
}

/** The app as server.ts builds it (app/compose.ts), on the services the test run started, with no port opened. */
export function buildTestApp(options: TestAppOptions = {}): TestApp {
  const config = loadConfig(
    productionEnv({
      INSTANCE_ID: options.instanceId ?? 'i-test',
      INSTANCE_AZ: 'test-1a',
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...(options.readerUrl ? { DATABASE_READ_URL: options.readerUrl } : {}),
      ...(options.assetBaseUrl ? { ASSET_BASE_URL: options.assetBaseUrl } : {}),
      ...(options.sessionStore ? { SESSION_STORE: options.sessionStore } : {}),
      ...(options.dynamodbEndpoint ? { DYNAMODB_ENDPOINT: options.dynamodbEndpoint } : {}),
      ...(options.s3Endpoint ? { S3_ENDPOINT: options.s3Endpoint } : {}),
      ...options.config,
      ...(options.sessionCacheMs !== undefined ? { SESSION_CACHE_MS: String(options.sessionCacheMs) } : {}),
    }),
  );
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const clients = createClients(config, logger, { poolSize: 4 });
  const draining = { value: false };
  const deps = buildAppDeps(config, clients, {
    identity: { id: config.INSTANCE_ID!, az: config.INSTANCE_AZ! },
    version: 'test',
    logger,
    isDraining: () => draining.value,
    now: options.now,
  });
  const app = createApp(deps);
  return {
    app,
    db: clients.db,
    dynamodb: clients.dynamodb,
    draining,
    deepHealth: deps.deepHealth,
    close: () => {
      deps.deepHealth.stop();
      return clients.close();
    },
  };
}

/** The environment a production start (server.ts) needs to run on the test services. */
export function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
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
    DRAIN_DELAY_MS: '0',
    // Every test signs up from 127.0.0.1 into one session table: far more than a person would.
    SIGNUPS_PER_HOUR: '100000',
    // and at once: several suites sign up people in parallel from that one address.
    PASSWORD_HASHES_PER_ADDRESS: '0',
    ...extra,
  };
}
