import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import connectDynamoDB from 'connect-dynamodb';
import { unsign } from 'cookie-signature';
import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { sessionCookieName } from '../contracts';
import { cookieNameFor } from '../http/cookie-names';
import { cacheSessionReads, type CachedSessionReads } from './session-cache';

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
  // Page views may reuse a session read a moment ago; everything else reads the store itself.
  const pageViewReads = options.kind === 'dynamodb' && options.cacheTtlMs ? cacheSessionReads(store, { ttlMs: options.cacheTtlMs }) : store;
  const sessionNamed = (name: string) =>
    session({
      name,
      secret: options.secret,
      store,
      resave: false,
      // An anonymous reader gets no session: no cookie, no DynamoDB item, no read or write.
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', path: '/', maxAge: sessionMaxAgeMs },
    });
  // express-session takes one cookie name, and the name depends on the scheme (cookieNameFor).
  const overHttp = sessionNamed(sessionCookieName);
  const overHttps = sessionNamed(`__Host-${sessionCookieName}`);
  const middleware: RequestHandler = (req, res, next) => (req.secure ? overHttps : overHttp)(req, res, next);
  return { middleware: [readsWithoutChangeTracking(middleware, pageViewReads, options.secret), renewSessionPastHalfLife] };
}

/**
 * express-session prepares every session to be changed: it hashes the session's JSON when it
 * loads it, before the headers and at the end of the response, to see whether to save it and set
 * the cookie. A page view (GET or HEAD) never changes a session, so reads take a shorter path:
 * - no session cookie: no session at all (`req.session` stays unset, which currentUser() treats
 *   as anonymous); express-session would generate a session id only to discard it;
 * - a cookie whose signature fails: the same, as express-session would treat it;
 * - a live session: the store's copy, frozen, so code that tried to change it on a read would fail
 *   loudly rather than lose the change. A signature, once checked, is remembered.
 * A session that is missing, expired or due for renewal (renewSessionPastHalfLife), and every
 * other method, goes through express-session, so sign-up, log-in and renewal work as before.
 */
function readsWithoutChangeTracking(tracked: RequestHandler, store: CachedSessionReads, secret: string): RequestHandler {
  const checkedSignatures = new LRUCache<string, string>({ max: 10_000 });
  const sessionIdIn = (req: Request): string | undefined => {
    const signed: unknown = req.cookies?.[cookieNameFor(sessionCookieName, req)];
    if (typeof signed !== 'string' || !signed.startsWith('s:')) return undefined;
    let id = checkedSignatures.get(signed);
    if (id === undefined) {
      const verified = unsign(signed.slice(2), secret);
      if (verified === false) return undefined;
      checkedSignatures.set(signed, (id = verified));
    }
    return id;
  };

  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return tracked(req, res, next);
    const id = sessionIdIn(req);
    if (id === undefined) return next();
    store.get(id, (error: (Error & { code?: string }) | null, data) => {
      // As express-session does: a store that fails fails the request (once, not twice).
      if (error && error.code !== 'ENOENT') return next(error);
      if (!data || isPastHalfLife(data.cookie.expires)) return tracked(req, res, next);
      req.sessionID = id;
      req.session = frozenSession(data);
      next();
    });
  };
}

const readOnly = () => {
  throw new Error(
    'A GET or HEAD request reads the session without tracking changes (app/sessions/sessions/sessions.ts): change it in a POST.',
  );
};

function frozenSession(data: session.SessionData): session.Session & Partial<session.SessionData> {
  const expires = data.cookie.expires ? new Date(data.cookie.expires) : undefined;
  const view = { ...data, cookie: Object.freeze({ ...data.cookie, expires }) };
  for (const method of ['regenerate', 'destroy', 'reload', 'save', 'touch', 'resetMaxAge'] as const)
    Object.assign(view, { [method]: readOnly });
  return Object.freeze(view) as unknown as session.Session & Partial<session.SessionData>;
}

function isPastHalfLife(expires: Date | string | null | undefined): boolean {
  return expires != null && new Date(expires).getTime() - Date.now() < sessionMaxAgeMs / 2;
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
  return store;
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
  if (req.session?.userId && isPastHalfLife(req.session.cookie.expires)) {
    req.session.touch();
    (req.session as { renewedAt?: number }).renewedAt = Date.now();
  }
  next();
};
