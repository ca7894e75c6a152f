import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import packageJson from '../package.json';
import { createApp } from './app';
import { runCluster } from './cluster';
import { buildAppDeps, createBackupWorkers, createClients, prepareDatabase } from './compose';
import { ConfigError, loadConfig, type Config } from './config';
import { resolveInstanceIdentity, type InstanceIdentity } from './platform/instance';
import { createLogger } from './platform/logger';

const { version } = packageJson;

export interface RunningServer {
  url: string;
  server: Server;
  /**
   * Health turns 503 at once; the listener keeps serving (with `Connection: close`) for
   * DRAIN_DELAY_MS, then closes; in-flight requests finish within DRAIN_TIMEOUT_MS; pools end.
   * Calling it again returns the same drain: it never cuts one short.
   */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** Who this process is; resolved from the config (and IMDS) when absent. */
  identity?: InstanceIdentity;
  /** This process's worker number when the instance runs several (X-Served-By names it). */
  worker?: number;
  /** The primary has already migrated and seeded the database (node:cluster workers). */
  databasePrepared?: boolean;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = createLogger(config.LOG_LEVEL).child(options.worker ? { worker: options.worker } : {});
  const identity = options.identity ?? (await resolveIdentity(config));
  const clients = createClients(config, logger);
  if (!options.databasePrepared) await prepareDatabase(config, clients, logger);

  let draining = false;
  const deps = buildAppDeps(config, clients, {
    identity: { ...identity, worker: options.worker },
    version,
    logger,
    isDraining: () => draining,
  });
  const app = createApp(deps);

  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // Above the ALB's 60 s idle timeout, so the ALB (not us) closes idle connections: otherwise it
  // can send a request on a socket we are closing and answer the user with a 502.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  // Every instance publishes to the backup copy; the outbox shares the work out among them.
  const backup = createBackupWorkers(config, clients, logger);
  backup?.publisher.start();
  backup?.lagReporter.start();

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  logger.info(
    { url, instance: identity.id, az: identity.az, sessionStore: config.SESSION_STORE, reader: clients.db.hasReader },
    options.worker ? 'worker listening' : 'cloudwiki listening',
  );

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string) =>
    (closing ??= (async () => {
      const { DRAIN_DELAY_MS: drainDelayMs, DRAIN_TIMEOUT_MS: drainTimeoutMs } = config;
      draining = true;
      // No more deep health rounds: the pools they probe close at the end of the drain.
      deps.deepHealth.stop();
      logger.info({ reason, drainDelayMs, drainTimeoutMs }, 'draining: /health now answers 503; still serving until the delay ends');
      // The load balancer needs its interval x unhealthy threshold to see the 503 and stop sending
      // new requests here; until then they are served as usual (each response says
      // `Connection: close`, see app.ts), so nothing sent in that window is refused or reset.
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      logger.info('drain delay over: closing the listener and finishing in-flight requests');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets would hold close() open until they time out.
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn('drain timeout reached; closing remaining connections');
        server.closeAllConnections();
      }, drainTimeoutMs);
      await closed;
      clearTimeout(timer);
      // Before the pools close: a round in progress ends with its rows deleted or released.
      backup?.lagReporter.stop();
      await backup?.publisher.stop();
      await clients.close();
      logger.info('shut down cleanly');
    })());

  return { url, server, shutdown };
}

export function resolveIdentity(config: Config): Promise<InstanceIdentity> {
  return resolveInstanceIdentity({
    overrideId: config.INSTANCE_ID,
    overrideAz: config.INSTANCE_AZ,
    imdsEndpoint: config.AWS_EC2_METADATA_DISABLED ? undefined : config.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  });
}

/**
 * Drains and exits on SIGTERM/SIGINT. The handlers go in before start-up begins: a signal that
 * arrives while the server is still starting must not kill it mid-migration, so it waits for the
 * start to finish and then shuts down cleanly. Every signal after the first is ignored: the Auto
 * Scaling group (and the lab's) sends a second SIGTERM when the load balancer marks the instance
 * down, and that must not cut the drain short. Returns the same stop for other triggers (the
 * cluster primary's "drain" message).
 */
export function runUntilSignalled(
  starting: Promise<RunningServer>,
  onStopped: () => Promise<void> = async () => undefined,
): (reason: string) => void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) {
      console.error(`cloudwiki: ${reason} while already draining; the drain continues`);
      return;
    }
    stopping = true;
    void (async () => {
      try {
        await (await starting).shutdown(reason);
        await onStopped();
        process.exit(0);
      } catch (error) {
        console.error(error);
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return stop;
}

// The production entry point (`node dist/app/server.js`): configuration from the environment
// only, no embedded services; a worker per vCPU unless WEB_CONCURRENCY says otherwise.
if (require.main === module) {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(2);
  }
  const workers = config.WEB_CONCURRENCY ?? availableParallelism();
  if (workers === 1) {
    const starting = startServer(config);
    runUntilSignalled(starting);
    starting.catch((error) => {
      console.error('cloudwiki failed to start:', error);
      process.exit(1);
    });
  } else {
    runCluster({
      workers,
      config,
      prepare: async (logger) => {
        const identity = await resolveIdentity(config);
        const clients = createClients(config, logger, { poolSize: 1 });
        try {
          await prepareDatabase(config, clients, logger);
        } finally {
          await clients.close();
        }
        return identity;
      },
      startWorker: ({ identity, worker }) => {
        const starting = startServer(config, { identity, worker, databasePrepared: true });
        const stop = runUntilSignalled(starting);
        return { starting, stop };
      },
    });
  }
}
