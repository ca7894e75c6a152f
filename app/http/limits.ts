import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Request, RequestHandler } from 'express';
import {
  ipKeyGenerator,
  rateLimit,
  type ClientRateLimitInfo,
  type Logger as LimiterLogger,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { Logger } from 'pino';
import { usernameKey } from '../accounts/repository';
import { HttpError } from './http-error';
import { currentUser } from './request-context';

// Abuse limits. docs/operations.md ("Limits") lists them with their keys and where they count.
//
// Log-in and sign-up counters must hold across instances (otherwise N instances allow N times the
// limit), so they live in DynamoDB: one item per key and window in the session table, under ids
// that start with "limit:", bumped with an atomic UpdateItem ADD and removed by the table's TTL.
// With SESSION_STORE=memory (the one-process "before" picture) they live in this process instead.
// The search limit protects the CPU that searches run on, so it counts in this process's memory.

export interface LimitSettings {
  /** Failed log-ins per client address in 15 minutes, whatever the accounts (0: no limit). */
  loginFailuresPerAddressPer15Min: number;
  /** Failed log-ins per client address and account in 15 minutes (0: no limit). */
  loginFailuresPer15Min: number;
  /** Upload attempts per user in an hour (0: no limit). */
  uploadsPerUserPerHour: number;
  /** Sign-up attempts per client address in an hour (0: no limit). */
  signupsPerHour: number;
  /** Searches per client address in a minute for people who are not logged in (0: no limit). */
  anonymousSearchesPerMinute: number;
}

/** Where the shared counters live: the session table, or this process when there is none. */
export type CounterTable = { dynamodb: DynamoDBClient; table: string } | undefined;

export interface Limits {
  loginFailuresPerAddress: RequestHandler;
  loginFailures: RequestHandler;
  signups: RequestHandler;
  uploads: RequestHandler;
  anonymousSearches: RequestHandler;
}

const minute = 60 * 1000;

export function createLimits(settings: LimitSettings, counters: CounterTable, logger: Logger): Limits {
  // Its warnings (a misconfigured trust proxy, a failed decrement) go to the app's log, not stderr.
  const limiterLogger: LimiterLogger = {
    error: (error, message) => logger.error({ err: error }, message ?? 'rate limiter error'),
    warn: (error, message) => logger.warn({ err: error }, message ?? 'rate limiter warning'),
  };
  const limiter = (options: LimiterOptions) => createLimiter(options, limiterLogger);
  return {
    loginFailuresPerAddress: limiter({
      name: 'login-address',
      windowMs: 15 * minute,
      limit: settings.loginFailuresPerAddressPer15Min,
      // The per-account limit never moves for a spray of different (made-up) names, and each try
      // costs a password hash: this one counts every failure from an address, whatever the name.
      // It sits above the per-account limit, so a NAT or a load-test machine still has room.
      skipSuccessfulRequests: true,
      keyGenerator: clientAddress,
      store: counters && new DynamoDbCounterStore(counters, 'login-address'),
      message: 'Too many failed log-ins from your address. Wait 15 minutes, then try again.',
    }),
    loginFailures: limiter({
      name: 'login',
      windowMs: 15 * minute,
      limit: settings.loginFailuresPer15Min,
      // Failures only, per address *and* account: guessing one account's password is slow, and
      // many people behind one NAT (or one load-test machine) can still log in. The account is
      // keyed as the lookup finds it, so ' carol' and 'CAROL' count against carol.
      skipSuccessfulRequests: true,
      keyGenerator: (req) => `${clientAddress(req)}|${usernameKey(String(req.body?.username ?? ''))}`,
      store: counters && new DynamoDbCounterStore(counters, 'login'),
      message: 'Too many failed attempts to log in to this account. Wait 15 minutes, then try again.',
    }),
    signups: limiter({
      name: 'signup',
      windowMs: 60 * minute,
      limit: settings.signupsPerHour,
      // Every attempt counts, taken names too: each one tells whether a name exists, and each
      // free name costs a password hash.
      keyGenerator: clientAddress,
      store: counters && new DynamoDbCounterStore(counters, 'signup'),
      message: 'Too many sign-ups from your address. Wait an hour, then try again.',
    }),
    uploads: limiter({
      name: 'upload',
      windowMs: 60 * minute,
      limit: settings.uploadsPerUserPerHour,
      // Per account, after the CSRF check: each upload is a write to S3 and a row, and an account
      // is what an abuser has to make. Refused and accepted uploads count alike.
      keyGenerator: (req) => `user:${currentUser(req)?.id ?? ''}`,
      store: counters && new DynamoDbCounterStore(counters, 'upload'),
      message: 'You have attached many files in the last hour. Wait an hour, then attach the rest.',
    }),
    anonymousSearches: limiter({
      name: 'search',
      windowMs: minute,
      limit: settings.anonymousSearchesPerMinute,
      // Ranking and snippets cost CPU on this instance; people who log in are accountable and
      // not counted, and an empty search box costs nothing.
      skip: (req) => currentUser(req) !== null || typeof req.query.q !== 'string' || req.query.q.trim() === '',
      keyGenerator: clientAddress,
      message: 'Too many searches from your address. Wait a minute, or log in: the limit applies to anonymous searches only.',
    }),
  };
}

interface LimiterOptions extends Pick<Partial<Options>, 'skip' | 'skipSuccessfulRequests' | 'store'> {
  name: string;
  windowMs: number;
  limit: number;
  keyGenerator: (req: Request) => string;
  message: string;
}

function createLimiter({ name, limit, message, store, ...options }: LimiterOptions, logger: LimiterLogger): RequestHandler {
  if (limit === 0) return (_req, _res, next) => next();
  return rateLimit({
    ...options,
    limit,
    ...(store ? { store } : {}),
    identifier: name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    logger,
    handler: (_req, _res, next) => next(new HttpError(429, message)),
  });
}

/** IPv6 clients are counted per /56, as one household or instance usually holds a whole block. */
export function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? '');
}

/**
 * express-rate-limit's store on DynamoDB: fixed windows, one item per key and window, so every
 * instance counts into the same item and no read-modify-write race exists (UpdateItem ADD is
 * atomic). Keys are hashed: they hold usernames, which need not sit in the table, and may be long.
 */
class DynamoDbCounterStore implements Store {
  readonly localKeys = false;
  private windowMs = minute;

  constructor(
    private readonly counters: NonNullable<CounterTable>,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { id, resetTime } = this.itemFor(key);
    const { Attributes } = await this.guarded((abortSignal) =>
      this.counters.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.counters.table,
          Key: { id: { S: id } },
          UpdateExpression: 'SET #expires = if_not_exists(#expires, :expires) ADD #hits :one',
          ExpressionAttributeNames: { '#expires': 'expires', '#hits': 'hits' },
          // The TTL attribute (epoch seconds): DynamoDB deletes the item some time after its window.
          ExpressionAttributeValues: { ':one': { N: '1' }, ':expires': { N: String(Math.ceil(resetTime.getTime() / 1000)) } },
          ReturnValues: 'UPDATED_NEW',
        }),
        { abortSignal },
      ),
    );
    return { totalHits: Number(Attributes?.hits?.N ?? 1), resetTime };
  }

  async decrement(key: string): Promise<void> {
    try {
      await this.guarded((abortSignal) =>
        this.counters.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.counters.table,
            Key: { id: { S: this.itemFor(key).id } },
            UpdateExpression: 'ADD #hits :minusOne',
            // Only an item this window already counted: never create one, never go below zero.
            ConditionExpression: '#hits > :zero',
            ExpressionAttributeNames: { '#hits': 'hits' },
            ExpressionAttributeValues: { ':minusOne': { N: '-1' }, ':zero': { N: '0' } },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      if (!(error instanceof HttpError && error.cause instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async resetKey(key: string): Promise<void> {
    const Key = { id: { S: this.itemFor(key).id } };
    await this.guarded((abortSignal) =>
      this.counters.dynamodb.send(new DeleteItemCommand({ TableName: this.counters.table, Key }), { abortSignal }),
    );
  }

  /**
   * Inside the request budget (about 2 s). A table that does not answer makes log-in and sign-up
   * a 503 that says so: never a request that hangs, never an uncounted attempt.
   */
  private async guarded<T>(operation: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await operation(AbortSignal.timeout(1000));
    } catch (error) {
      throw new HttpError(
        503,
        'Log-ins and sign-ups cannot be counted right now (the session store does not answer). Try again in a few seconds.',
        {
          cause: error,
        },
      );
    }
  }

  private itemFor(key: string): { id: string; resetTime: Date } {
    const window = Math.floor(Date.now() / this.windowMs);
    const hashed = createHash('sha256').update(key).digest('base64url');
    return { id: `limit:${this.prefix}:${window}:${hashed}`, resetTime: new Date((window + 1) * this.windowMs) };
  }
}
