import type { Server } from 'node:http';
import packageJson from '../package.json';
import type { Logger } from 'pino';
import { createApp } from './app';
import { buildAppDeps, createClients } from './compose';
import { ConfigError, loadConfig, type Config } from './config';
import { migrate } from './data/migrate';
import { createPageRepository } from './data/pages';
import { secretPassword } from './data/secret-password';
import { seedPages } from './data/seed';
import { resolveInstanceIdentity } from './instance';
import { createLogger } from './logger';

const { version } = packageJson;

export interface RunningServer {
  url: string;
  server: Server;
  /** Health turns 503, the listener closes, in-flight requests finish, pools end. */
  shutdown(reason: string): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config.LOG_LEVEL);
  const identity = await resolveInstanceIdentity({
    overrideId: config.INSTANCE_ID,
    overrideAz: config.INSTANCE_AZ,
    imdsEndpoint: config.AWS_EC2_METADATA_DISABLED ? undefined : config.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  });
  const clients = createClients(config, logger);
  await migrateWithRetry(config, logger);
  await seedPages(createPageRepository(clients.db));

  let draining = false;
  const app = createApp(buildAppDeps(config, clients, { identity, version, logger, isDraining: () => draining }));

  const server = app.listen(config.PORT, config.HOST);
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
  const url = `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  logger.info(
    { url, instance: identity.id, az: identity.az, sessionStore: config.SESSION_STORE, reader: clients.db.hasReader },
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
      await clients.close();
      logger.info('shut down cleanly');
    })());

  return { url, server, shutdown };
}

/** At boot the database may still be starting (or failing over): wait for it rather than crash-loop. */
async function migrateWithRetry(config: Config, logger: Logger) {
  const password = config.DATABASE_SECRET_ARN ? secretPassword(config.DATABASE_SECRET_ARN, config.AWS_REGION) : undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const applied = await migrate(config.DATABASE_URL, logger, password);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      logger.warn({ err: error, attempt }, 'database not ready for migrations; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 5000)));
    }
  }
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
