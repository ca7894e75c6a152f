import pg from 'pg';
import type { Logger } from 'pino';
import { withTimeout } from '../timeout';

// One module owns both pools. Every setting below exists because of how an RDS Multi-AZ failover
// looks from a client: the primary's DNS name moves to the standby, old sockets go silent or reset.

export interface DatabaseOptions {
  writerUrl: string;
  /** Read replica for page views; the writer serves reads when unset. */
  readerUrl?: string;
  /** Supplies the password for each new connection (Secrets Manager, rotated by RDS). */
  password?: () => Promise<string>;
  poolSize?: number;
  logger: Logger;
}

export interface Database {
  /** Writes, and reads that must see the latest write. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Idempotent reads: the replica when configured, retried once on a dropped connection. */
  read<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
    options?: { fromWriter?: boolean; name?: string },
  ): Promise<pg.QueryResult<R>>;
  withTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  ping(target: 'writer' | 'reader', timeoutMs: number): Promise<void>;
  readonly hasReader: boolean;
  close(): Promise<void>;
}

// Fail fast: a request waiting on a dead database holds a connection the load balancer needs.
const connectTimeoutMs = 3_000;
const statementTimeoutMs = 5_000;

export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The database is unavailable right now. Try again in a few seconds.', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

// Errors that mean "this connection or server is gone", not "your SQL is wrong": a retry on a
// fresh connection may succeed, and the user should get a 503 rather than a 500.
const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const connectionSqlStates = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '25006']);

function isConnectionError(error: unknown): boolean {
  // Duck-typed rather than `instanceof Error`: socket errors can come from another realm (Node's
  // internals as seen from a vm context such as jest's) and would slip past instanceof.
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (connectionErrorCodes.has(code) || connectionSqlStates.has(code))) return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection timeout/i.test(
      message,
    )
  );
}

export function createDatabase(options: DatabaseOptions): Database {
  const { logger } = options;
  const writerPool = createPool(options.writerUrl, 'writer', options);
  const readerPool = options.readerUrl ? createPool(options.readerUrl, 'reader', options) : writerPool;

  async function run<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, params?: unknown[], name?: string) {
    const started = performance.now();
    try {
      // A named statement is parsed and planned once per connection, not on every call.
      const result = await (name ? pool.query<R>({ name, text, values: params }) : pool.query<R>(text, params));
      logger.debug({ sql: text, ms: Math.round(performance.now() - started), rows: result.rowCount }, 'query');
      return result;
    } catch (error) {
      if (isConnectionError(error)) throw new DatabaseUnavailableError(error);
      throw error;
    }
  }

  return {
    hasReader: readerPool !== writerPool,
    query: (text, params) => run(writerPool, text, params),
    async read(text, params, readOptions) {
      const pool = readOptions?.fromWriter ? writerPool : readerPool;
      try {
        return await run(pool, text, params, readOptions?.name);
      } catch (error) {
        // After a failover the pool may hand out a socket to the old primary; one retry gets a
        // fresh connection. Only reads are retried: a write may have committed before the drop.
        if (!(error instanceof DatabaseUnavailableError)) throw error;
        logger.warn({ err: error.cause }, 'read failed on a dropped connection; retrying once');
        return run(pool, text, params, readOptions?.name);
      }
    },
    async withTransaction(work) {
      let client: pg.PoolClient;
      try {
        client = await writerPool.connect();
      } catch (error) {
        throw isConnectionError(error) ? new DatabaseUnavailableError(error) : error;
      }
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw isConnectionError(error) ? new DatabaseUnavailableError(error) : error;
      } finally {
        client.release();
      }
    },
    async ping(target, timeoutMs) {
      const pool = target === 'writer' ? writerPool : readerPool;
      await withTimeout(pool.query('SELECT 1'), timeoutMs, `${target} did not answer within ${timeoutMs} ms`);
    },
    async close() {
      await writerPool.end();
      if (readerPool !== writerPool) await readerPool.end();
    },
  };

  function createPool(url: string, role: string, settings: DatabaseOptions): pg.Pool {
    const pool = new pg.Pool({
      connectionString: url,
      ...(settings.password ? { password: settings.password } : {}),
      max: settings.poolSize ?? 10,
      connectionTimeoutMillis: connectTimeoutMs,
      // Client-side bound as well as the server-side one: a dead primary never answers at all.
      query_timeout: statementTimeoutMs + 1_000,
      statement_timeout: statementTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // Reconnecting now and then re-resolves the RDS endpoint, so a pool never clings to a
      // demoted primary or a replaced replica for longer than this.
      maxLifetimeSeconds: 300,
      application_name: `cloudwiki-${role}`,
    });
    // Without this handler an idle client's socket error (the server restarting, a failover)
    // is an unhandled 'error' event and kills the process.
    pool.on('error', (error) => logger.warn({ err: error, pool: role }, 'idle database connection lost'));
    return pool;
  }
}
