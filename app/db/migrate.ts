import path from 'node:path';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { connectionConfig } from './connection-config';

export const migrationsDir = path.join(__dirname, 'migrations');

/**
 * Brings the schema up to date. N instances booting together all call this: node-pg-migrate
 * holds a PostgreSQL advisory lock while it runs, the others wait on it and then find nothing
 * left to do, so each migration runs exactly once.
 */
export async function migrate(databaseUrl: string, logger: Logger, password?: () => Promise<string>): Promise<string[]> {
  const applied = await runner({
    databaseUrl: connectionConfig(databaseUrl, password && (await password())),
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    advisoryLockMode: 'wait',
    checkOrder: true,
    log: () => undefined,
    logger: {
      debug: () => undefined,
      info: (msg: string) => logger.debug(msg),
      warn: (msg: string) => logger.warn(msg),
      error: (msg: string) => logger.error(msg),
    },
  });
  return applied.map((migration) => migration.name);
}

/**
 * migrate(), retried: at boot the database may still be starting or failing over, and an instance
 * that waits for it comes up by itself, where one that exits is crash-looped by systemd and the ASG.
 */
export async function migrateWhenReady(
  databaseUrl: string,
  logger: Logger,
  password?: () => Promise<string>,
  retry = { attempts: 10, pause: (attempt: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 5000))) },
): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await migrate(databaseUrl, logger, password);
    } catch (error) {
      if (attempt >= retry.attempts) throw error;
      logger.warn({ err: error, attempt }, 'database not ready for migrations; retrying');
      await retry.pause(attempt);
    }
  }
}
