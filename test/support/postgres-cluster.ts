import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/services/ports';
import { startPostgres, type PostgresServer } from '../../scripts/services/postgres';

/** A PostgreSQL 15 cluster of the test's own, so that it can stop and restart it. */
export async function privateCluster(): Promise<{ postgres: PostgresServer; remove(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudwiki-pg-'));
  // PostgreSQL runs as the postgres user, which must be able to reach the data directory.
  chmodSync(dir, 0o755);
  const postgres = await startPostgres({
    dataDir: path.join(dir, 'data'),
    port: await freePort(),
    database: 'cloudwiki',
    user: 'cloudwiki',
  });
  return {
    postgres,
    async remove() {
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
