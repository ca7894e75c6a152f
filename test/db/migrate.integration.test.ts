import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrationsDir } from '../../app/db/migrate';
import { privateCluster } from '../support/postgres-cluster';

const root = path.resolve(__dirname, '../..');

function migrateInAnotherProcess(databaseUrl: string): Promise<{ code: number | null; applied: string[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/support/migrate-once.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('exit', (code) =>
      resolve({ code, applied: code === 0 ? (JSON.parse(stdout.trim().split('\n').pop()!) as string[]) : [], stderr }),
    ),
  );
}

test('when four instances boot together on an empty database, then each migration runs exactly once', async () => {
  const cluster = await privateCluster();
  try {
    const results = await Promise.all([1, 2, 3, 4].map(() => migrateInAnotherProcess(cluster.postgres.url)));
    for (const result of results) expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });

    const expected = readdirSync(migrationsDir)
      .map((file) => path.basename(file, '.sql'))
      .sort();
    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual(expected);

    const client = new pg.Client({ connectionString: cluster.postgres.url });
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    await client.end();
    expect(rows.map((row) => row.name)).toEqual(expected);
  } finally {
    await cluster.remove();
  }
});
