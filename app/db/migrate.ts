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
