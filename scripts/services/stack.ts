import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { ensureSessionTable } from '../../app/sessions/sessions-table';
import { startDynamoDbLocal, type DynamoDbLocalServer } from './dynamodb-local';
import { local } from '../../app/contracts';
import { freePort } from './ports';
import { startPostgres, type PostgresServer } from './postgres';
import { startReplicatedPostgres, type ReplicatedPostgres } from './replication';
import { startS3, type S3Server } from './s3';
import { requireSystemCommands } from './system';

export interface ServicesOptions {
  /** Directory for PostgreSQL's cluster and s3rver's objects (and DynamoDB's tables if persisted). */
  stateDir: string;
  ports: { postgres: number; dynamodb: number; s3: number };
  /** Keep DynamoDB tables on disk under stateDir, so a stop/start keeps them (the lab). */
  persistDynamoDb?: boolean;
  /**
   * A streaming replica beside the primary (the lab): the zones of the primary and the replica.
   * `ports.postgres` is then the writer endpoint, and DATABASE_READ_URL the reader endpoint.
   */
  replica?: { zones: [string, string] };
  log?: (line: string) => void;
}

export interface Services {
  /** The writer: the one server, or with a replica whichever node is the primary now. */
  readonly postgres: PostgresServer;
  /** Present when started with `replica`. */
  readonly replication?: ReplicatedPostgres;
  readonly dynamodb: DynamoDbLocalServer;
  readonly s3: S3Server;
  /** The app's settings for these services, by their exact config names. */
  readonly env: Record<string, string>;
  readonly stop: () => Promise<void>;
}

/**
 * PostgreSQL 15, DynamoDB Local and s3rver on loopback, with the sessions table and the buckets
 * created: everything the web tier needs, as real servers. Used by `npm run services` (for
 * `npm run test:integration`) and by the lab.
 */
const database = { database: 'cloudwiki', user: 'cloudwiki' };

async function startReplicated(options: ServicesOptions, zones: [string, string], log: (line: string) => void) {
  const [reader, first, second] = await Promise.all([freePort(), freePort(), freePort()]);
  return startReplicatedPostgres({
    ...database,
    stateDir: options.stateDir,
    ports: { writer: options.ports.postgres, reader, nodes: [first, second] },
    zones,
    log,
  });
}

export async function startServices(options: ServicesOptions): Promise<Services> {
  requireSystemCommands(['postgres', 'java']);
  const log = options.log ?? (() => {});
  const started: { stop: () => Promise<void> }[] = [];
  // In parallel: nothing here depends on another service, and a quick stop matters when a
  // terminal or CI is waiting to kill whatever is still running.
  const stopAll = async () => {
    await Promise.all(started.map((service) => service.stop().catch(() => {})));
  };
  try {
    log('starting PostgreSQL 15, DynamoDB Local and s3rver ...');
    // allSettled, not all: when one fails, the others may still be starting, and must be stopped
    // once they have, not left running.
    const results = await Promise.allSettled([
      options.replica
        ? startReplicated(options, options.replica.zones, log)
        : startPostgres({ ...database, dataDir: join(options.stateDir, 'postgres'), port: options.ports.postgres }),
      startDynamoDbLocal({
        port: options.ports.dynamodb,
        dbPath: options.persistDynamoDb ? join(options.stateDir, 'dynamodb') : undefined,
      }),
      startS3({ port: options.ports.s3, directory: join(options.stateDir, 's3'), buckets: [local.buckets.assets, local.buckets.uploads] }),
    ] as const);
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const [database_, dynamodb, s3] = results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
      PostgresServer | ReplicatedPostgres,
      DynamoDbLocalServer,
      S3Server,
    ];
    const replication = 'writer' in database_ ? database_ : undefined;
    const postgres = replication ? replication.writer : (database_ as PostgresServer);
    const dynamoClient = new DynamoDBClient({
      endpoint: dynamodb.endpoint,
      region: local.region,
      credentials: local.credentials,
    });
    await ensureSessionTable(dynamoClient, local.sessionTable);
    dynamoClient.destroy();

    const env: Record<string, string> = {
      DATABASE_URL: postgres.url,
      ...(replication ? { DATABASE_READ_URL: replication.readerUrl } : {}),
      SESSION_STORE: 'dynamodb',
      SESSION_TABLE: local.sessionTable,
      DYNAMODB_ENDPOINT: dynamodb.endpoint,
      S3_ENDPOINT: s3.endpoint,
      ASSETS_BUCKET: local.buckets.assets,
      UPLOADS_BUCKET: local.buckets.uploads,
      AWS_REGION: local.region,
      AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
    };
    return { postgres, ...(replication ? { replication } : {}), dynamodb, s3, env, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
