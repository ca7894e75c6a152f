import type { Server } from 'node:http';
import packageJson from '../package.json';
import { createApp } from './app';
import { createAssets } from './assets';
import { createDynamoClient, createS3Client } from './aws-clients';
import { ConfigError, loadConfig, type Config } from './config';
import { createDatabase } from './data/db';
import { migrate } from './data/migrate';
import { createPageRepository } from './data/pages';
import { secretPassword } from './data/secret-password';
import { seedHomePage } from './data/seed';
import { createUploadRepository } from './data/uploads';
import { createUserRepository } from './data/users';
import { resolveInstanceIdentity } from './instance';
import { dependencyChecks } from './health-checks';
import { createLogger } from './logger';
import { createSessions } from './sessions';

const { version } = packageJson;

export interface RunningServer {
  url: string;
  server: Server;
  /** Health turns 503, the listener closes, in-flight requests finish, pools end. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** Listen on this address only (127.0.0.1 for embedded mode and tests). */
  host?: string;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = createLogger(config.LOG_LEVEL);
  const password = config.DATABASE_SECRET_ARN ? secretPassword(config.DATABASE_SECRET_ARN, config.AWS_REGION) : undefined;

  const identity = await resolveInstanceIdentity({
    overrideId: config.INSTANCE_ID,
    overrideAz: config.INSTANCE_AZ,
    imdsEndpoint: config.AWS_EC2_METADATA_DISABLED ? undefined : config.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  });
  await migrateWithRetry(config.DATABASE_URL, logger, password);

  const db = createDatabase({ writerUrl: config.DATABASE_URL, readerUrl: config.DATABASE_READ_URL, password, logger });
  const pages = createPageRepository(db);
  await seedHomePage(pages);
  const dynamodb = createDynamoClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  const s3 = createS3Client({ region: config.AWS_REGION, endpoint: config.S3_ENDPOINT });
  const assets = createAssets({
    s3,
    assetsBucket: config.ASSETS_BUCKET,
    uploadsBucket: config.UPLOADS_BUCKET,
    assetBaseUrl: config.ASSET_BASE_URL,
    uploadsOrigin: config.S3_ENDPOINT
      ? new URL(config.S3_ENDPOINT).origin
      : `https://${config.UPLOADS_BUCKET}.s3.${config.AWS_REGION}.amazonaws.com`,
  });
  const sessions = createSessions({
    kind: config.SESSION_STORE,
    secret: config.SESSION_SECRET,
    dynamodb,
    table: config.SESSION_TABLE,
    logger,
  });

  let draining = false;
  const app = createApp({
    pages,
    users: createUserRepository(db),
    uploads: createUploadRepository(db),
    sessions,
    assets,
    identity,
    version,
    secret: config.SESSION_SECRET,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    isDraining: () => draining,
    logger,
    checks: dependencyChecks({
      db,
      assets,
      sessions: config.SESSION_STORE === 'dynamodb' ? { dynamodb, table: config.SESSION_TABLE } : undefined,
    }),
  });

  const server = options.host ? app.listen(config.PORT, options.host) : app.listen(config.PORT);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // Above the ALB's 60 s idle timeout, so the ALB (not us) closes idle connections: otherwise it
  // can send a request on a socket we are closing and answer the user with a 502.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${options.host ?? 'localhost'}:${port}`;
  logger.info(
    { url, instance: identity.id, az: identity.az, sessionStore: config.SESSION_STORE, reader: db.hasReader },
    'cloudwiki listening',
  );

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string) =>
    (closing ??= (async () => {
      logger.info({ reason, drainTimeoutMs: config.DRAIN_TIMEOUT_MS }, 'draining: /health now answers 503');
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets would hold close() open until they time out.
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn('drain timeout reached; closing remaining connections');
        server.closeAllConnections();
      }, config.DRAIN_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
      await db.close();
      dynamodb.destroy();
      s3.destroy();
      logger.info('shut down cleanly');
    })());

  return { url, server, shutdown };
}

/** At boot the database may still be starting (or failing over): wait for it rather than crash-loop. */
async function migrateWithRetry(url: string, logger: ReturnType<typeof createLogger>, password?: () => Promise<string>) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const applied = await migrate(url, logger, password);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      logger.warn({ err: error, attempt }, 'database not ready for migrations; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 5000)));
    }
  }
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * Drains and exits on SIGTERM/SIGINT. The handlers go in before start-up begins: a signal that
 * arrives while the server is still starting must not kill it mid-migration, so it waits for the
 * start to finish and then shuts down cleanly.
 */
export function runUntilSignalled(starting: Promise<RunningServer>, onStopped: () => Promise<void> = async () => undefined): void {
  const stop = async (signal: string) => {
    try {
      await (await starting).shutdown(signal);
      await onStopped();
      process.exit(0);
    } catch (error) {
      console.error(error);
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

// The production entry point: configuration from the environment only, no embedded services.
if (require.main === module) {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(2);
  }
  const starting = startServer(config);
  runUntilSignalled(starting);
  starting.catch((error) => {
    console.error('cloudwiki failed to start:', error);
    process.exit(1);
  });
}
