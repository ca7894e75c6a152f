import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { local } from '../../../app/contracts';
import { freePort } from '../../../scripts/services/ports';
import { backupSiteBucket } from '../../../scripts/services/s3';
import { startServices, type Services } from '../../../scripts/services/stack';
import { waitUntil } from '../../../scripts/services/wait';

describe('local services (npm run services)', () => {
  let services: Services;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'cloudwiki-services-'));
    chmodSync(stateDir, 0o711);
    services = await startServices({ stateDir, ports: { postgres: await freePort(), dynamodb: await freePort(), s3: await freePort() } });
  }, 120_000);
  afterAll(async () => {
    await services?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  test('when started, then the app role owns its database on a real PostgreSQL 15 bound to loopback', async () => {
    const client = new pg.Client({ connectionString: services.env.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(
      "SELECT current_user AS role, current_database() AS db, current_setting('server_version_num')::int AS version, current_setting('listen_addresses') AS listen",
    );
    await client.end();
    expect(rows[0]).toMatchObject({ role: 'cloudwiki', db: 'cloudwiki', listen: '127.0.0.1' });
    expect(Math.floor(rows[0].version / 10000)).toBe(15);
  });

  test('when started, then the sessions table exists with its TTL attribute', async () => {
    const dynamodb = new DynamoDBClient({ endpoint: services.env.DYNAMODB_ENDPOINT, region: local.region, credentials: local.credentials });
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: local.sessionTable }));
    dynamodb.destroy();
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
  });

  test('when started, then the app buckets and the backup site bucket exist', async () => {
    const s3 = new S3Client({
      endpoint: services.env.S3_ENDPOINT,
      region: local.region,
      credentials: local.credentials,
      forcePathStyle: true,
    });
    for (const bucket of [local.buckets.assets, local.buckets.uploads, backupSiteBucket]) {
      await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    }
    s3.destroy();
  });

  test('when the data directory cannot be reached by the postgres user, then the error says how to fix it', async () => {
    const privateDir = mkdtempSync(join(tmpdir(), 'cloudwiki-private-'));
    try {
      await expect(
        startServices({
          stateDir: join(privateDir, 'state'),
          ports: { postgres: await freePort(), dynamodb: await freePort(), s3: await freePort() },
        }),
      ).rejects.toThrow(/postgres user, which cannot reach/);
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('when run through npm with --write-env PATH, then the settings land in PATH (Node does not take the option for itself)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudwiki-services-cli-'));
    chmodSync(dir, 0o711);
    const envFile = join(dir, 'services.env');
    const ports = [await freePort(), await freePort(), await freePort()].map(String);
    const args = ['run', 'services', '--', '--write-env', envFile, '--state-dir', join(dir, 'state')];
    const child = spawn('npm', [...args, '--postgres-port', ports[0]!, '--dynamodb-port', ports[1]!, '--s3-port', ports[2]!], {
      cwd: join(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    try {
      await waitUntil(async () => existsSync(envFile), {
        what: `the env file (output so far: ${output})`,
        timeoutMs: 90_000,
        giveUp: () => (child.exitCode !== null ? `npm exited with ${child.exitCode}: ${output}` : undefined),
      });
      expect(readFileSync(envFile, 'utf8')).toMatch(
        new RegExp(`^DATABASE_URL=postgres://cloudwiki:[^@]+@127\\.0\\.0\\.1:${ports[0]}/cloudwiki$`, 'm'),
      );
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
