import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import dynalite from 'dynalite';
import { createDynamoClient } from '../app/platform/aws-clients';
import { ensureSessionTable } from '../app/sessions/sessions-table';
import { PGliteWireServer } from './pglite-wire';
import { startS3rver } from './s3rver';

// The one-machine stand-ins for RDS, DynamoDB and S3. Each speaks the real wire protocol, so the
// app talks to them through the same pg and AWS SDK code it uses in production.

export interface EmbeddedOptions {
  /** Where data survives restarts; undefined keeps everything in memory/temp (tests). */
  dataDir?: string;
  sessionTable: string;
  buckets: string[];
}

export interface EmbeddedServices {
  databaseUrl: string;
  dynamodbEndpoint: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

const host = '127.0.0.1';
// Ports are picked by the OS and reported in the URLs, so two runs never collide.
const anyFreePort = 0;

export async function startEmbeddedServices(options: EmbeddedOptions): Promise<EmbeddedServices> {
  const root = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'cloudwiki-'));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (!options.dataDir) rmSync(root, { recursive: true, force: true });
  };
  try {
    const postgres = await startPostgres(options.dataDir ? path.join(root, 'postgres') : undefined);
    stops.push(postgres.stop);
    const dynamodb = await startDynamo(options.dataDir ? path.join(root, 'dynamodb') : undefined);
    stops.push(dynamodb.stop);
    const s3 = await startS3rver({ port: anyFreePort, directory: path.join(root, 's3'), buckets: options.buckets });
    stops.push(s3.stop);

    const client = createDynamoClient({ region: 'local', endpoint: dynamodb.endpoint });
    await ensureSessionTable(client, options.sessionTable);
    client.destroy();

    return { databaseUrl: postgres.url, dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3.endpoint, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startPostgres(dataDir: string | undefined) {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ?? 'memory://');
  const server = new PGliteWireServer(db);
  const actualPort = await server.listen(anyFreePort, host);
  return {
    url: `postgres://postgres:postgres@${host}:${actualPort}/postgres?sslmode=disable`,
    stop: async () => {
      await server.close();
      await db.close();
    },
  };
}

async function startDynamo(dataDir: string | undefined) {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(anyFreePort, host, () => resolve());
  });
  const { port: actualPort } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${actualPort}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
