import pg from 'pg';
import { createDatabase } from '../../app/db/db';
import { migrate } from '../../app/db/migrate';
import type { RotatingPassword } from '../../app/db/secret-password';
import { createLogger } from '../../app/platform/logger';
import { privateCluster } from '../support/postgres-cluster';

// RDS rotates its managed password on its own schedule. The app caches the secret for five minutes;
// without a refresh on the first refused login, every new connection would fail until then.

test('when the URL has no password and the secret rotates under a running pool, then migrations and reads log in with the secret, read again at the first refused login', async () => {
  const cluster = await privateCluster();
  const url = new URL(cluster.postgres.url);
  let secretValue = decodeURIComponent(url.password);
  let cached: string | undefined;
  let secretReads = 0;
  // The same contract as secretPassword(): a cached value, dropped by forget().
  const password: RotatingPassword = Object.assign(
    async () => {
      if (cached === undefined) {
        secretReads += 1;
        cached = secretValue;
      }
      return cached;
    },
    { forget: () => (cached = undefined) },
  );
  url.password = '';
  const db = createDatabase({ writerUrl: url.toString(), password, logger: createLogger('silent'), poolSize: 2 });
  const admin = new pg.Client({ connectionString: cluster.postgres.url });
  try {
    // Production's DATABASE_URL carries no password (it comes from the secret): migrations and
    // the pools must both log in with the source's value.
    expect(await migrate(url.toString(), createLogger('silent'), password)).not.toHaveLength(0);
    expect((await db.read<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    expect(secretReads).toBe(1);

    // Rotation: the role's password and the secret change together; existing sessions end.
    await admin.connect();
    secretValue = 'rotated-password-0123456789';
    await admin.query(`ALTER ROLE ${url.username} PASSWORD '${secretValue}'`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND usename = $1', [
      url.username,
    ]);

    // The first read may meet an idle connection the termination just killed and spend its one
    // retry on the refused login; either way the secret is read again at that first refusal, not
    // five minutes later, and the next read logs in with the new password.
    await db.read('SELECT 1').catch(() => undefined);
    expect((await db.read<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    expect(secretReads).toBe(2);
  } finally {
    await admin.end().catch(() => undefined);
    await db.close();
    await cluster.remove();
  }
});
