import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { AppDeps } from './app';
import { createAssets } from './platform/assets';
import { createDynamoClient, createS3Client } from './platform/aws-clients';
import type { Config } from './config';
import { createDatabase, type Database } from './db/db';
import { migrateWhenReady } from './db/migrate';
import { createPageRepository } from './pages/repository';
import { seedPages } from './pages/seed';
import { secretPassword } from './db/secret-password';
import { createUploadRepository } from './uploads/repository';
import { createUserRepository } from './accounts/repository';
import { createPasswordHashing, type HashingQueueSize } from './accounts/passwords';
import { dependencyChecks } from './health/checks';
import { createDeepHealthMonitor } from './health/monitor';
import type { InstanceIdentity } from './platform/instance';
import { createLimits } from './http/limits';
import { createPageCaches, type PageCacheSizes } from './pages/caches';
import { createSessions } from './sessions/sessions';
import { createBackupOutbox } from './backup/outbox';
import { createBackupPublisher, type BackupPublisher } from './backup/publisher';
import { createLagReporter } from './backup/lag-reporter';

// The one composition root: server.ts and the tests build the app through these two functions, so
// a test app differs from a production one only in its configuration.

/** The connections the app holds: closed together when the process drains. */
export interface Clients {
  db: Database;
  /** The database password from Secrets Manager when DATABASE_SECRET_ARN is set, fetched and cached once per process. */
  databasePassword?: () => Promise<string>;
  dynamodb: DynamoDBClient;
  s3: S3Client;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Connections per pool; tests that start many apps at once ask for fewer. */
  poolSize?: number;
}

export function createClients(config: Config, logger: Logger, options: ClientOptions = {}): Clients {
  const password = config.DATABASE_SECRET_ARN ? secretPassword(config.DATABASE_SECRET_ARN, config.AWS_REGION) : undefined;
  const db = createDatabase({
    writerUrl: config.DATABASE_URL,
    readerUrl: config.DATABASE_READ_URL,
    password,
    logger,
    poolSize: options.poolSize,
  });
  const dynamodb = createDynamoClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  const s3 = createS3Client({ region: config.AWS_REGION, endpoint: config.S3_ENDPOINT });
  return {
    db,
    databasePassword: password,
    dynamodb,
    s3,
    async close() {
      await db.close();
      dynamodb.destroy();
      s3.destroy();
    },
  };
}

const MiB = 1024 * 1024;

/**
 * The page caches' bounds, held against a worker's heap cap (productionRuntimeEnv in
 * app/contracts.ts): about 90 MiB at most, beside ~35 MiB of code and data and the session cache.
 */
const pageCacheSizes: PageCacheSizes = {
  renderedPages: 32 * MiB,
  keptPages: 32 * MiB,
  anonymousLists: 8 * MiB,
  listRows: 16 * MiB,
  // Two 100,000-character revisions and their comparison, ten times over.
  comparisonChars: 4_000_000,
};

/** Migrations, then the seeded pages: once per instance start (in the primary when clustered). */
export async function prepareDatabase(config: Config, clients: Clients, logger: Logger): Promise<void> {
  const applied = await migrateWhenReady(config.DATABASE_URL, logger, clients.databasePassword);
  if (applied.length) logger.info({ applied }, 'database migrations applied');
  await seedPages(createPageRepository(clients.db));
}

/**
 * Password hashes per process: two at a time (each 16 MiB and ~0.3 s of a core, on libuv's
 * 4-thread pool) and at most eight waiting (about 1.2 s of work; a ninth is refused with 503), so
 * a log-in spray cannot queue a real person's log-in behind seconds of hashing. How many one
 * address may hold is PASSWORD_HASHES_PER_ADDRESS.
 */
const passwordHashingQueue: Omit<HashingQueueSize, 'perClient'> = { running: 2, waiting: 8 };

/** What only the running process knows: who it is, and whether it is draining. */
export interface Runtime {
  identity: InstanceIdentity;
  version: string;
  logger: Logger;
  isDraining: () => boolean;
  /** The clock every time-bounded cache and the deep health answer's age read: Date.now, or a test's clock that it moves by hand. */
  now?: () => number;
}

/**
 * The deep health answer is recomputed this often (and each check bounded by the timeout): well
 * inside Route 53's 10 s request interval, so every checker reads an answer at most 5 s old, and
 * one round per process costs the same whether one checker asks or a thousand clients do.
 */
const deepHealthTiming = { intervalMs: 5_000, checkTimeoutMs: 1_500 };

export function buildAppDeps(config: Config, clients: Clients, runtime: Runtime): AppDeps {
  const { db, dynamodb, s3 } = clients;
  const assets = createAssets({
    s3,
    assetsBucket: config.ASSETS_BUCKET,
    uploadsBucket: config.UPLOADS_BUCKET,
    assetBaseUrl: config.ASSET_BASE_URL,
    // Signed upload links point at S3 itself (or s3rver locally); the CSP must allow that origin.
    uploadsOrigin: config.S3_ENDPOINT
      ? new URL(config.S3_ENDPOINT).origin
      : `https://${config.UPLOADS_BUCKET}.s3.${config.AWS_REGION}.amazonaws.com`,
  });
  const sessionTable = config.SESSION_STORE === 'dynamodb' ? { dynamodb, table: config.SESSION_TABLE } : undefined;
  const pages = createPageRepository(db);
  const deepHealth = createDeepHealthMonitor({
    checks: dependencyChecks({ db, assets, sessions: sessionTable }),
    ...deepHealthTiming,
    now: runtime.now ?? Date.now,
    logger: runtime.logger,
  });
  // The one timer of the deep check: server.ts stops it when the process drains, before the
  // pools it probes are closed.
  deepHealth.start();
  return {
    pages,
    pageCaches: createPageCaches(pages, pageCacheSizes, runtime.now),
    users: createUserRepository(db),
    passwords: createPasswordHashing({ ...passwordHashingQueue, perClient: config.PASSWORD_HASHES_PER_ADDRESS }),
    uploads: createUploadRepository(db),
    uploadQuotaBytesPerUser: config.UPLOAD_QUOTA_MB_PER_USER * 1_000_000,
    sessions: createSessions({
      kind: config.SESSION_STORE,
      secret: config.SESSION_SECRET,
      ...sessionTable,
      cacheTtlMs: config.SESSION_CACHE_MS,
      logger: runtime.logger,
      now: runtime.now,
    }),
    assets,
    identity: runtime.identity,
    version: runtime.version,
    secret: config.SESSION_SECRET,
    trustProxy: config.TRUST_PROXY,
    isDraining: runtime.isDraining,
    logger: runtime.logger,
    deepHealth,
    limits: createLimits(
      {
        loginFailuresPer15Min: config.LOGIN_FAILURES_PER_15_MIN,
        loginFailuresPerAddressPer15Min: config.LOGIN_FAILURES_PER_ADDRESS_PER_15_MIN,
        signupsPerHour: config.SIGNUPS_PER_HOUR,
        uploadsPerUserPerHour: config.UPLOADS_PER_USER_PER_HOUR,
        anonymousSearchesPerMinute: config.ANONYMOUS_SEARCHES_PER_MINUTE,
      },
      // The session table holds the counters, so they need no infrastructure of their own.
      sessionTable,
      runtime.logger,
    ),
  };
}

/** What keeps the backup copy current: the publisher and the report of its lag. */
export interface BackupWorkers {
  publisher: BackupPublisher;
  lagReporter: ReturnType<typeof createLagReporter>;
}

const backupTiming = {
  // Ten changes a round: a save is in the bucket about a poll after it is acknowledged.
  batchSize: 10,
  pollMs: 1_000,
  // Above a round's worst case: ten pages written four at a time, each write up to two attempts of
  // the S3 client's 3 s timeout (18 s). A crashed instance's changes wait this long for another.
  leaseMs: 20_000,
  retryMs: 1_000,
  maxRetryMs: 60_000,
  // Two data points a minute per instance for the alarm's one-minute period.
  lagReportMs: 30_000,
};

/** Undefined without BACKUP_SITE_BUCKET: nothing to publish to (npm start, the tests' apps). */
export function createBackupWorkers(
  config: Config,
  clients: Clients,
  logger: Logger,
  now: () => Date = () => new Date(),
): BackupWorkers | undefined {
  if (!config.BACKUP_SITE_BUCKET) return undefined;
  const outbox = createBackupOutbox(clients.db);
  return {
    publisher: createBackupPublisher({
      outbox,
      pages: createPageRepository(clients.db),
      s3: clients.s3,
      bucket: config.BACKUP_SITE_BUCKET,
      logger,
      now,
      ...backupTiming,
    }),
    lagReporter: createLagReporter({ outbox, logger, now, intervalMs: backupTiming.lagReportMs }),
  };
}
