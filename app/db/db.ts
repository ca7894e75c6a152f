import pg from 'pg';
import type { Logger } from 'pino';
import { withTimeout } from '../platform/timeout';
import { CircuitBreaker } from './circuit-breaker';
import { connectionConfig } from './connection-config';
import type { RotatingPassword } from './secret-password';
import { createTypeParsers } from './type-parsers';

// One module owns both pools. Every setting below exists because of how an RDS Multi-AZ failover
// looks from a client: the primary's DNS name moves to the standby, old sockets go silent or reset.

export interface DatabaseOptions {
  writerUrl: string;
  /** Read replica for page views; the writer serves reads when unset. */
  readerUrl?: string;
  /** Supplies the password for each new connection (Secrets Manager, rotated by RDS). */
  password?: RotatingPassword;
  poolSize?: number;
  logger: Logger;
}

export interface Database {
  /** Writes, and reads that must see the latest write. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Idempotent reads: the replica when configured, retried once on a dropped connection; the
   * writer for `fromWriter` (read-your-writes), the replica when the writer is unavailable.
   */
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

// The request budget (docs/architecture.md): a request never waits on a dead database for longer
// than about two seconds. A frozen primary (a partition, SIGSTOP) never answers and never resets
// the connection, so only client-side bounds fire: connecting, the query and the one retry of a
// read (or a whole transaction) all come out of one per-call budget, and what is left of it is
// what the next step may wait. The first call that fails ends the request with a 503; the budget
// leaves room for calls that finished just before the failure and for rendering the error page.
// The server-side statement timeout matches it, so the server stops working on a query whose
// caller has already given up.
const callBudgetMs = 1_200;
// A replica that fails leaves the writer the rest of the budget to answer the read instead.
const readerShareMs = callBudgetMs / 2;
// Below this a retry could not get a connection and an answer in time; failing now is kinder.
const minimumRetryMs = 200;
// Three unavailable calls in a row open a pool's circuit; after a second one call probes it.
const breakerFailureThreshold = 3;
const breakerCoolDownMs = 1_000;

/** The one error that means "the database is unavailable": a 503 with the friendly page, never a 500. */
export class DatabaseUnavailableError extends Error {
  /** What the error handler answers (app/http/http-error.ts): a known outage, not a bug. */
  readonly status = 503;
  /** The message says what to do, so the person may read it. */
  readonly expose = true;
  constructor(cause: unknown) {
    super('The database is unavailable right now. Try again in a few seconds.', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Refused at once by an open circuit breaker: the pool is known to be down. */
class DatabaseCircuitOpenError extends DatabaseUnavailableError {
  constructor(readonly pool: PoolRole) {
    super(new Error(`the ${pool} pool's circuit is open after repeated failures; one probe at a time checks for its return`));
    this.name = 'DatabaseCircuitOpenError';
  }
}

type PoolRole = 'writer' | 'reader';

// Errors that mean "this connection or server is gone", not "your SQL is wrong": a retry on a
// fresh connection may succeed, and the user should get a 503 rather than a 500.
const droppedConnectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
// 28P01 invalid_password: what PostgreSQL answers a login with a rotated-away password. It counts
// as a dropped connection: the pool forgets the cached secret, so a retry logs in with the new one.
const invalidPasswordSqlState = '28P01';

const droppedConnectionSqlStates = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '25006',
  invalidPasswordSqlState,
]);

class BudgetExceededError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than the ${Math.round(ms)} ms left of the request budget`);
    this.name = 'BudgetExceededError';
  }
}

// Duck-typed rather than `instanceof Error`: socket errors can come from another realm (Node's
// internals as seen from a vm context such as jest's) and would slip past instanceof.
function fieldsOf(error: unknown): { code?: unknown; message?: unknown } {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown; message?: unknown }) : {};
}

/** The connection broke: worth one retry on a fresh connection. */
function isDroppedConnection(error: unknown): boolean {
  const { code, message } = fieldsOf(error);
  if (typeof code === 'string' && (droppedConnectionCodes.has(code) || droppedConnectionSqlStates.has(code))) return true;
  return typeof message === 'string' && /Connection terminated unexpectedly|Client has encountered a connection error/i.test(message);
}

/** No answer in time: the server is frozen or unreachable. A retry would only wait again. */
function isNoAnswer(error: unknown): boolean {
  if (error instanceof BudgetExceededError) return true;
  const { message } = fieldsOf(error);
  return (
    typeof message === 'string' &&
    /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout|connection timeout/i.test(
      message,
    )
  );
}

const isUnavailable = (error: unknown) => isDroppedConnection(error) || isNoAnswer(error);

/** A pool and the breaker that guards it. */
interface Target {
  role: PoolRole;
  pool: pg.Pool;
  breaker: CircuitBreaker;
}

// The pg typings do not list the per-query client timeout that pg honours.
interface TimedQueryConfig extends pg.QueryConfig {
  query_timeout: number;
}

export function createDatabase(options: DatabaseOptions): Database {
  const { logger } = options;
  const typeParsers = createTypeParsers();
  const writer = createTarget(options.writerUrl, 'writer');
  const reader = options.readerUrl ? createTarget(options.readerUrl, 'reader') : writer;

  /** A client within `timeoutMs`; one that arrives later is handed straight back to the pool. */
  async function acquire(pool: pg.Pool, timeoutMs: number): Promise<pg.PoolClient> {
    const pending = pool.connect();
    try {
      return await withTimeout(pending, timeoutMs, () => new BudgetExceededError('connecting', timeoutMs));
    } catch (error) {
      pending.then(
        (late) => late.release(),
        () => undefined,
      );
      if (fieldsOf(error).code === invalidPasswordSqlState && options.password) {
        // RDS rotated the password: read the secret again for the next connection instead of
        // failing every new connection until the cached value expires.
        logger.warn('the database refused the password; reading the secret again for the next connection');
        options.password.forget();
      }
      throw error;
    }
  }

  /**
   * Runs `use` on a client of `target`'s pool, through that pool's breaker, within `budgetMs` in
   * all: `use` gets what is left after waiting for the client.
   */
  function withClient<T>(target: Target, budgetMs: number, use: (client: pg.PoolClient, remainingMs: number) => Promise<T>): Promise<T> {
    return target.breaker.run(
      async () => {
        const deadline = performance.now() + budgetMs;
        const client = await acquire(target.pool, budgetMs).catch(unavailableOrRethrow);
        let failure: unknown;
        try {
          return await use(client, Math.max(1, deadline - performance.now()));
        } catch (error) {
          failure = error;
          return unavailableOrRethrow(error);
        } finally {
          // A client whose query timed out still has that query running: it must not be reused.
          client.release(isUnavailable(failure));
        }
      },
      (error) => error instanceof DatabaseUnavailableError,
      () => new DatabaseCircuitOpenError(target.role),
    );
  }

  /** One query on one pool, bounded by `budgetMs`; a named statement is planned once per connection. */
  function attempt<R extends pg.QueryResultRow>(
    target: Target,
    text: string,
    params: unknown[] | undefined,
    budgetMs: number,
    name?: string,
  ) {
    return withClient(target, budgetMs, async (client, remainingMs) => {
      const started = performance.now();
      const query: TimedQueryConfig = { name, text, values: params, query_timeout: remainingMs };
      const result = await client.query<R>(query);
      logger.debug({ sql: text, pool: target.role, ms: Math.round(performance.now() - started), rows: result.rowCount }, 'query');
      return result;
    });
  }

  /** Retries once, on a fresh connection, when the connection dropped and time is left. */
  async function attemptWithRetry<R extends pg.QueryResultRow>(
    target: Target,
    text: string,
    params: unknown[] | undefined,
    deadline: number,
    name?: string,
  ) {
    try {
      return await attempt<R>(target, text, params, deadline - performance.now(), name);
    } catch (error) {
      const remaining = deadline - performance.now();
      if (!(error instanceof DatabaseUnavailableError) || !isDroppedConnection(error.cause) || remaining < minimumRetryMs) throw error;
      // After a failover the pool may hand out a socket to the old primary; one retry gets a
      // fresh connection. Only reads are retried: a write may have committed before the drop.
      logger.warn({ err: error.cause, pool: target.role }, 'read failed on a dropped connection; retrying once');
      return attempt<R>(target, text, params, remaining, name);
    }
  }

  return {
    hasReader: reader !== writer,
    query: (text, params) => attempt(writer, text, params, callBudgetMs),
    async read(text, params, readOptions) {
      const deadline = performance.now() + callBudgetMs;
      if (reader !== writer && readOptions?.fromWriter) {
        try {
          return await attemptWithRetry(writer, text, params, deadline - readerShareMs, readOptions.name);
        } catch (error) {
          if (!(error instanceof DatabaseUnavailableError)) throw error;
          // The writer is away (failing over, or down): a replica's read may be a second old,
          // which beats no read at all. The site stays up read-only (docs/architecture.md).
          logger.debug({ err: error.cause }, 'writer unavailable; reading from the reader');
          return attempt(reader, text, params, Math.max(1, deadline - performance.now()), readOptions.name);
        }
      }
      if (reader !== writer) {
        try {
          return await attempt(reader, text, params, readerShareMs, readOptions?.name);
        } catch (error) {
          if (!(error instanceof DatabaseUnavailableError)) throw error;
          // A failing replica never fails a read: the writer answers it (the breaker logs the outage).
          logger.debug({ err: error.cause }, 'reader unavailable; reading from the writer');
        }
      }
      return attemptWithRetry(writer, text, params, deadline, readOptions?.name);
    },
    withTransaction: (work) =>
      // The whole transaction, not each statement, gets what is left of the budget. When it runs
      // out, withClient destroys the connection: the server rolls back, and no COMMIT is sent.
      withClient(writer, callBudgetMs, (client, remainingMs) =>
        withTimeout(runTransaction(client, work), remainingMs, () => new BudgetExceededError('the transaction', remainingMs)),
      ),
    async ping(target, timeoutMs) {
      await attempt(target === 'writer' ? writer : reader, 'SELECT 1', undefined, Math.min(timeoutMs, callBudgetMs));
    },
    async close() {
      await writer.pool.end();
      if (reader !== writer) await reader.pool.end();
    },
  };

  function createTarget(url: string, role: PoolRole): Target {
    return {
      role,
      pool: createPool(url, role, options),
      breaker: new CircuitBreaker({
        failureThreshold: breakerFailureThreshold,
        coolDownMs: breakerCoolDownMs,
        onChange: (state) =>
          state === 'open'
            ? logger.error({ pool: role }, `${role} database unavailable: answering 503 at once, probing every ${breakerCoolDownMs} ms`)
            : logger.info({ pool: role }, `${role} database answering again`),
      }),
    };
  }

  function createPool(url: string, role: string, settings: DatabaseOptions): pg.Pool {
    const pool = new pg.Pool({
      ...connectionConfig(url, settings.password),
      max: settings.poolSize ?? 10,
      // Backstops: each call passes what is left of its budget (above), which is never more.
      connectionTimeoutMillis: callBudgetMs,
      // Statements inside a transaction get this client-side bound; a dead primary never answers.
      query_timeout: callBudgetMs,
      statement_timeout: callBudgetMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // Reconnecting now and then re-resolves the RDS endpoint, so a pool never clings to a
      // demoted primary or a replaced replica for longer than this.
      maxLifetimeSeconds: 300,
      application_name: `cloudwiki-${role}`,
      types: typeParsers,
    });
    // Without this handler an idle client's socket error (the server restarting, a failover)
    // is an unhandled 'error' event and kills the process.
    pool.on('error', (error) => logger.warn({ err: error, pool: role }, 'idle database connection lost'));
    return pool;
  }
}

async function runTransaction<T>(client: pg.PoolClient, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that is gone rolls back by itself; waiting on it for a ROLLBACK would not end.
    if (!isUnavailable(error)) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function unavailableOrRethrow(error: unknown): never {
  throw isUnavailable(error) ? new DatabaseUnavailableError(error) : error;
}
