import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  appPasswordFile,
  lookUpPostgresUser,
  postgresBinDir,
  shortLivedClient,
  startPostgres,
  superuserPasswordFile,
  type PostgresServer,
} from './postgres';
import { startTcpEndpoint, type TcpEndpoint } from './tcp-endpoint';
import { waitUntil } from './wait';

const run = promisify(execFile);

/**
 * PostgreSQL 15 as RDS runs it with a read replica: a primary, a hot standby fed by streaming
 * replication (made with `pg_basebackup -R`), each in its own zone, and two endpoints the lab owns
 * — the writer and the reader — that clients use instead of the servers' own ports, so that a
 * failover can move the writer to the promoted standby the way RDS flips its DNS name.
 */
export interface ReplicatedPostgresOptions {
  stateDir: string;
  ports: { writer: number; reader: number; nodes: [number, number] };
  /** The zone of each node; the first node starts as the primary, the second as the replica. */
  zones: [string, string];
  database: string;
  user: string;
  log: (line: string) => void;
}

export type ReplicaState = 'streaming' | 'stopped' | 'rebuilding';

interface ReplicaLag {
  /** WAL the replica has not replayed yet. */
  bytes: number;
  /** PostgreSQL's own measure (pg_stat_replication.replay_lag); null when idle. */
  replayLagMs: number | null;
}

export interface ReplicatedPostgres {
  /** Acts on whichever node is the primary now; its url and port are the writer endpoint's. */
  readonly writer: PostgresServer;
  /** The app's read URL: the reader endpoint (the replica; the primary while a new replica is built). */
  readonly readerUrl: string;
  /** The replica's server, or undefined while it is being rebuilt. */
  readonly replica: () => PostgresServer | undefined;
  readonly replicaZone: () => string;
  readonly replicaState: () => ReplicaState;
  /**
   * Stops the primary, promotes the replica and moves the writer endpoint to it; resolves once a
   * write through the writer endpoint succeeds. The old primary is rebuilt as the new replica in
   * the background (`rebuilt()`), so the next failover has a standby to promote.
   */
  readonly failover: () => Promise<{ writesBackAfterMs: number }>;
  /** Settles when no replica rebuild is under way. */
  readonly rebuilt: () => Promise<void>;
  readonly lag: () => Promise<ReplicaLag | undefined>;
  readonly stop: () => Promise<void>;
}

interface DatabaseNode {
  dataDir: string;
  port: number;
  zone: string;
  server?: PostgresServer;
}

const isPrimaryCluster = (dataDir: string) => existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(join(dataDir, 'standby.signal'));

function superuserUrl(node: DatabaseNode): string {
  const password = readFileSync(superuserPasswordFile(node.dataDir), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${node.port}/postgres`;
}

/** A new hot standby of `primary` in `node.dataDir`, whatever was there before. */
async function makeStandby(primary: DatabaseNode, node: DatabaseNode, options: ReplicatedPostgresOptions): Promise<PostgresServer> {
  const owner = await lookUpPostgresUser();
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dataDir, { mode: 0o700 });
  chownSync(node.dataDir, owner.uid, owner.gid);
  // Same roles and passwords as the primary (they are replicated): the app's URL differs by port only.
  for (const file of [superuserPasswordFile, appPasswordFile]) copyFileSync(file(primary.dataDir), file(node.dataDir));
  const password = readFileSync(superuserPasswordFile(primary.dataDir), 'utf8').trim();
  try {
    // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
    await run(
      'runuser',
      ['-u', 'postgres', '--', join(postgresBinDir, 'pg_basebackup'), '--host', '127.0.0.1', '--port', String(primary.port)].concat([
        '--username',
        'postgres',
        '--pgdata',
        node.dataDir,
        '--write-recovery-conf',
        '--wal-method',
        'stream',
        '--checkpoint',
        'fast',
      ]),
      { env: { PATH: process.env.PATH, PGPASSWORD: password } },
    );
  } catch (error) {
    throw new Error(`pg_basebackup into ${node.dataDir} failed: ${(error as { stderr?: string }).stderr ?? error}`, { cause: error });
  }
  return startPostgres({ dataDir: node.dataDir, port: node.port, database: options.database, user: options.user, standby: true });
}

async function writesSucceed(url: string): Promise<boolean> {
  const client = shortLivedClient({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    // txid_current() assigns a transaction id: a standby still in recovery refuses it.
    await client.query('SELECT txid_current()');
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startReplicatedPostgres(options: ReplicatedPostgresOptions): Promise<ReplicatedPostgres> {
  const nodes: [DatabaseNode, DatabaseNode] = [
    { dataDir: join(options.stateDir, 'postgres'), port: options.ports.nodes[0], zone: options.zones[0] },
    { dataDir: join(options.stateDir, 'postgres-2'), port: options.ports.nodes[1], zone: options.zones[1] },
  ];
  // After a failover in an earlier run the second node holds the primary: keep its data.
  let [primary, replica] = !isPrimaryCluster(nodes[0].dataDir) && isPrimaryCluster(nodes[1].dataDir) ? [nodes[1], nodes[0]] : nodes;
  const endpoints: TcpEndpoint[] = [];
  const stopAll = async () => {
    await Promise.all(endpoints.map((endpoint) => endpoint.stop()));
    await Promise.all(nodes.map((node) => node.server?.stop()));
  };
  let rebuilding: Promise<void> | undefined;

  try {
    primary.server = await startPostgres({ dataDir: primary.dataDir, port: primary.port, database: options.database, user: options.user });
    const writer = await startTcpEndpoint({ port: options.ports.writer, target: primary.port });
    endpoints.push(writer);
    options.log(`PostgreSQL replica: base backup into ${replica.dataDir} (${replica.zone}) ...`);
    replica.server = await makeStandby(primary, replica, options);
    const reader = await startTcpEndpoint({ port: options.ports.reader, target: replica.port });
    endpoints.push(reader);
    const endpointUrl = (port: number) => {
      const url = new URL(primary.server!.url);
      url.port = String(port);
      return url.toString();
    };
    const writerUrl = endpointUrl(writer.port);

    const rebuild = (node: DatabaseNode) => {
      replica = node;
      node.server = undefined;
      rebuilding = makeStandby(primary, node, options).then(
        (server) => {
          node.server = server;
          reader.repoint(node.port);
          options.log(`PostgreSQL replica rebuilt in ${node.zone}`);
        },
        (error: unknown) => options.log(`PostgreSQL replica rebuild failed: ${error instanceof Error ? error.message : String(error)}`),
      );
      void rebuilding.finally(() => (rebuilding = undefined));
    };

    const current = () => primary.server!;
    const writerFacade: PostgresServer = {
      get url() {
        return writerUrl;
      },
      port: writer.port,
      get dataDir() {
        return current().dataDir;
      },
      isRunning: () => current().isRunning(),
      start: () => current().start(),
      stop: () => current().stop(),
      pid: () => current().pid(),
      promote: () => Promise.reject(new Error('the primary is promoted already')),
    };

    return {
      writer: writerFacade,
      readerUrl: endpointUrl(reader.port),
      replica: () => replica.server,
      replicaZone: () => replica.zone,
      replicaState: () => (!replica.server ? 'rebuilding' : replica.server.isRunning() ? 'streaming' : 'stopped'),
      async failover() {
        const standby = replica.server;
        if (!standby || !standby.isRunning()) throw new Error('there is no running replica to promote (stopped, or still being rebuilt)');
        const startedAt = Date.now();
        const old = primary;
        // Like RDS while it fails over: the writer's name leads nowhere until it points at the new primary.
        writer.repoint(undefined);
        // A fast shutdown sends every committed transaction's WAL to the standby before it ends.
        await old.server!.stop();
        await standby.promote();
        primary = replica;
        writer.repoint(primary.port);
        // With no replica the reader endpoint serves from the writer, as Aurora's does.
        reader.repoint(primary.port);
        await waitUntil(() => writesSucceed(writerUrl), { what: 'writes through the writer endpoint', timeoutMs: 30_000, intervalMs: 100 });
        const writesBackAfterMs = Date.now() - startedAt;
        rebuild(old);
        return { writesBackAfterMs };
      },
      rebuilt: async () => {
        while (rebuilding) await rebuilding;
      },
      async lag() {
        if (!primary.server?.isRunning()) return undefined;
        const client = shortLivedClient({ connectionString: superuserUrl(primary), connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          const { rows } = await client.query<{ bytes: string | null; replay_lag_ms: number | null }>(
            `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS bytes,
                    (extract(epoch FROM replay_lag) * 1000)::float8 AS replay_lag_ms
               FROM pg_stat_replication LIMIT 1`,
          );
          const [row] = rows;
          return row && row.bytes !== null ? { bytes: Number(row.bytes), replayLagMs: row.replay_lag_ms } : undefined;
        } finally {
          await client.end().catch(() => {});
        }
      },
      stop: async () => {
        await rebuilding;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
