import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import connectDynamoDB from 'connect-dynamodb';
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import { sessionCookieName } from './contracts';
import { cacheSessionReads } from './session-cache';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    username: string;
  }
}

export const sessionMaxAgeMs = 7 * 24 * 60 * 60 * 1000;

export type SessionStoreKind = 'dynamodb' | 'memory';

export interface SessionOptions {
  kind: SessionStoreKind;
  secret: string;
  dynamodb?: DynamoDBClient;
  table?: string;
  /** How long a session read from DynamoDB is reused on this instance (0: never). */
  cacheTtlMs?: number;
  logger: Logger;
}

export interface Sessions {
  middleware: RequestHandler[];
}

export function createSessions(options: SessionOptions): Sessions {
  const store = options.kind === 'memory' ? createMemoryStore(options.logger) : createDynamoStore(options);
  const middleware = session({
    name: sessionCookieName,
    secret: options.secret,
    store,
    resave: false,
    // An anonymous reader gets no session: no cookie, no DynamoDB item, no read or write.
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: sessionMaxAgeMs },
  });
  return { middleware: [onlyWithSessionCookie(middleware), renewSessionPastHalfLife] };
}

/**
 * express-session does work for every request, even one with no cookie (it generates a session
 * id and then discards it). Reads without the cookie skip it entirely, and `req.session` stays
 * unset: currentUser() treats that as anonymous. Every other method still gets a session, so
 * sign-up and log-in (POSTs) can create one.
 */
function onlyWithSessionCookie(middleware: RequestHandler): RequestHandler {
  const marker = `${sessionCookieName}=`;
  return (req, res, next) => {
    const readsOnly = req.method === 'GET' || req.method === 'HEAD';
    if (readsOnly && !req.headers.cookie?.includes(marker)) return next();
    middleware(req, res, next);
  };
}

function createDynamoStore(options: SessionOptions): session.Store {
  if (!options.dynamodb || !options.table) throw new Error('SESSION_STORE=dynamodb needs a DynamoDB client and SESSION_TABLE');
  const DynamoDBStore = connectDynamoDB(session);
  // The table is created by the data stack (or the local service starters): connect-dynamodb's
  // own creation races when several requests arrive at once on a fresh instance.
  const store = new DynamoDBStore({ client: options.dynamodb, table: options.table, initialized: true, prefix: 'sess:' });
  // express-session calls touch() after every request whose session did not change, which would
  // be one DynamoDB write per page view. Without it an unchanged session costs one read and no
  // write; renewSessionPastHalfLife keeps active users logged in instead.
  (store as { touch?: unknown }).touch = undefined;
  return options.cacheTtlMs ? cacheSessionReads(store, { ttlMs: options.cacheTtlMs }) : store;
}

function createMemoryStore(logger: Logger): session.Store {
  logger.warn(
    'SESSION_STORE=memory: sessions live in this process only. Behind a load balancer a user is logged out whenever a request lands on another instance, and every session is lost when this instance stops. Use it only to demonstrate the problem.',
  );
  return new session.MemoryStore();
}

/**
 * Without touch() a session would expire a fixed time after its last change, logging out people
 * who are using the wiki. Once a session is past half its lifetime, the next request extends it:
 * one write per active user every few days instead of one per request.
 */
const renewSessionPastHalfLife: RequestHandler = (req, _res, next) => {
  const expires = req.session?.userId ? req.session.cookie.expires : undefined;
  if (expires && expires.getTime() - Date.now() < sessionMaxAgeMs / 2) {
    req.session.touch();
    (req.session as { renewedAt?: number }).renewedAt = Date.now();
  }
  next();
};
