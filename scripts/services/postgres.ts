import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startRestartableServer, type RestartableServer } from './restartable-server';

const run = promisify(execFile);

export const postgresBinDir = '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  /** The cluster's data directory; created with initdb when it holds no cluster yet. */
  dataDir: string;
  port: number;
  /** The database and role the app uses (the role owns the database). */
  database: string;
  user: string;
  /**
   * A hot standby made by `pg_basebackup -R` (see replication.ts): it has no cluster to create and
   * is read-only, so the app's role and database (replicated from the primary) are left alone.
   */
  standby?: boolean;
  onLine?: (line: string) => void;
}

/** stop() is a fast shutdown and start() brings it back with its data: the chaos `database` fault. */
export interface PostgresServer extends RestartableServer {
  /** The app's connection string (its own role, not the superuser). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Ends a standby's recovery: it becomes a primary that takes writes (`pg_ctl promote`). */
  readonly promote: () => Promise<void>;
}

export interface PostgresUser {
  uid: number;
  gid: number;
}

export async function lookUpPostgresUser(): Promise<PostgresUser> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).catch(() => {
    throw new Error('there is no `postgres` user: install PostgreSQL 15 with  apt-get install -y postgresql');
  });
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The superuser's password lives beside the data directory (not inside it, where initdb wants an
 * empty directory), readable by whoever started the services. The app never sees it.
 */
export function superuserPasswordFile(dataDir: string): string {
  return `${dataDir}.superuser-password`;
}

/** PostgreSQL runs as `postgres`: every directory above its data must let that user through. */
async function checkReachableByPostgres(directory: string): Promise<void> {
  try {
    await run('runuser', ['-u', 'postgres', '--', 'test', '-x', directory]);
  } catch {
    throw new Error(
      `PostgreSQL runs as the postgres user, which cannot reach ${directory}: choose a state directory it can reach ` +
        `(not under /root or a private temporary directory), or let it through with  chmod o+x <each parent directory>`,
    );
  }
}

async function initCluster(dataDir: string, owner: PostgresUser): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  chownSync(dataDir, owner.uid, owner.gid);
  chmodSync(dataDir, 0o700);
  const passwordFile = superuserPasswordFile(dataDir);
  writeFileSync(passwordFile, randomBytes(18).toString('base64url'), {
    mode: 0o600,
  });
  // initdb reads the password file as the postgres user: hand it a copy it can read, then remove it.
  const initdbPasswordFile = join(dataDir, '..', `.initdb-pw-${process.pid}`);
  writeFileSync(initdbPasswordFile, readFileSync(passwordFile), {
    mode: 0o600,
  });
  chownSync(initdbPasswordFile, owner.uid, owner.gid);
  try {
    // PostgreSQL refuses to run as root: runuser drops to the postgres user for the one-shot initdb.
    await run('runuser', [
      '-u',
      'postgres',
      '--',
      join(postgresBinDir, 'initdb'),
      '--pgdata',
      dataDir,
      '--username',
      'postgres',
      '--pwfile',
      initdbPasswordFile,
      '--auth-local',
      'peer',
      '--auth-host',
      'scram-sha-256',
      '--encoding',
      'UTF8',
      '--locale',
      'C.UTF-8',
    ]);
  } catch (error) {
    throw new Error(`initdb failed for ${dataDir}: ${(error as { stderr?: string }).stderr ?? error}`, { cause: error });
  } finally {
    rmSync(initdbPasswordFile, { force: true });
  }
}

/**
 * A connection for one short check or setup step. A server that goes away mid-query (the lab's
 * faults do exactly that) makes pg emit 'error' on the client as well as reject the query: without
 * a listener that event would crash the process, so it is left to the rejection the caller handles.
 */
export function shortLivedClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on('error', () => {});
  return client;
}

async function createAppRoleAndDatabase(superuserUrl: string, database: string, user: string, password: string) {
  const client = shortLivedClient({ connectionString: superuserUrl });
  await client.connect();
  try {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    const quotedUser = client.escapeIdentifier(user);
    // ALTER on every start keeps the role's password equal to the one in the connection string.
    await client.query(`${role.rowCount ? 'ALTER' : 'CREATE'} ROLE ${quotedUser} LOGIN PASSWORD ${client.escapeLiteral(password)}`);
    const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!db.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${quotedUser}`);
  } finally {
    await client.end();
  }
}

export function appPasswordFile(dataDir: string): string {
  return `${dataDir}.app-password`;
}

function readOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(18).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/**
 * A real PostgreSQL 15 server on 127.0.0.1 only, run as the `postgres` user. The process is
 * spawned straight as that user (not through runuser, which stays as a parent and turns every
 * signal into SIGTERM, PostgreSQL's "wait for clients" shutdown), so SIGINT means fast shutdown.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  if (userInfo().uid !== 0) {
    throw new Error(
      'starting PostgreSQL needs root (it switches to the postgres user): run as root, or point DATABASE_URL at your own server',
    );
  }
  const owner = await lookUpPostgresUser();
  mkdirSync(dirname(options.dataDir), { recursive: true });
  await checkReachableByPostgres(dirname(options.dataDir));
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await initCluster(options.dataDir, owner);

  const superuserPassword = readFileSync(superuserPasswordFile(options.dataDir), 'utf8').trim();
  const superuserUrl = `postgres://postgres:${encodeURIComponent(superuserPassword)}@127.0.0.1:${options.port}/postgres`;
  const appPassword = readOrCreateSecret(appPasswordFile(options.dataDir));
  const url = `postgres://${options.user}:${encodeURIComponent(appPassword)}@127.0.0.1:${options.port}/${options.database}`;

  const server = await startRestartableServer({
    what: `PostgreSQL on 127.0.0.1:${options.port}`,
    process: {
      name: 'postgres',
      command: join(postgresBinDir, 'postgres'),
      args: [
        '-D',
        options.dataDir,
        '-p',
        String(options.port),
        '-c',
        'listen_addresses=127.0.0.1',
        // No unix socket: nothing here needs one, and /run/postgresql may not exist or be ours.
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        // A lab server: durability against an OS crash is not what it demonstrates, start-up speed is.
        // A stop is still a clean shutdown that keeps every committed row.
        '-c',
        'fsync=off',
        // Enough WAL kept for a standby that was stopped (the chaos `replica` fault) to catch up
        // by streaming instead of needing a new base backup.
        '-c',
        'wal_keep_size=256MB',
      ],
      uid: owner.uid,
      gid: owner.gid,
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8' },
      onLine: options.onLine,
    },
    isReady: async () => {
      const client = shortLivedClient({ connectionString: superuserUrl, connectionTimeoutMillis: 1000 });
      await client.connect();
      await client.end();
      return true;
    },
    readyTimeoutMs: 30_000,
    // Fast shutdown: open connections are cut, as in a crash or failover of the primary.
    stopSignal: 'SIGINT',
    stopGraceMs: 15_000,
  });
  if (!options.standby) await createAppRoleAndDatabase(superuserUrl, options.database, options.user, appPassword);

  const promote = async () => {
    try {
      await run('runuser', ['-u', 'postgres', '--', join(postgresBinDir, 'pg_ctl'), 'promote', '--wait', '--pgdata', options.dataDir]);
    } catch (error) {
      throw new Error(`could not promote ${options.dataDir}: ${(error as { stderr?: string }).stderr ?? error}`, { cause: error });
    }
  };
  return { url, port: options.port, dataDir: options.dataDir, promote, ...server };
}
