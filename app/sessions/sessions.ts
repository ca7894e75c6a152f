import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
    /** When the person logged in (epoch ms): the absolute lifetime counts from here. */
    loggedInAt: number;
  }
}

// Session lifetime rules (docs/migrating-stateful-apps.md states them for people):
// - idle: a session unused for sessionMaxAgeMs (7 days) expires;
// - renewal: a page view past half that lifetime renews it under a new id (the old id dies), so a
//   stolen cookie stops working at the owner's next renewal;
// - absolute: 30 days after the log-in the session ends however active it is;
// - a password change ends every other session of the user, and "log out everywhere" all of them.
const day = 24 * 60 * 60 * 1000;
export const sessionMaxAgeMs = 7 * day;
const sessionAbsoluteLifetimeMs = 30 * day;

export type SessionStoreKind = 'dynamodb' | 'memory';

export interface SessionOptions {
  kind: SessionStoreKind;
  secret: string;
  dynamodb?: DynamoDBClient;
  table?: string;
  /** How long a session read from DynamoDB is reused on this instance (0: never). */
  cacheTtlMs?: number;
  logger: Logger;
  /** The clock session lifetimes and the session cache's window are measured with (tests move it instead of waiting). */
  now?: () => number;
}

export interface Sessions {
  middleware: RequestHandler[];
  /** Starts a logged-in session under a new id (no session fixation) and records it for endAll. */
  logIn(req: Request, user: { id: string; username: string }): Promise<void>;
  /** Ends every session of a user, on every instance (page views elsewhere: within SESSION_CACHE_MS). */
  endAll(userId: string): Promise<void>;
}

export function createSessions(options: SessionOptions): Sessions {
  const now = options.now ?? (() => Date.now());
  const store = options.kind === 'memory' ? createMemoryStore(options.logger) : createDynamoStore(options);
  const index = options.kind === 'memory' ? memoryIndex() : dynamoIndex(options);
  // Page views may reuse a session read a moment ago; everything else reads the store itself.
  const pageViewReads =
    options.kind === 'dynamodb' && options.cacheTtlMs ? cacheSessionReads(store, { ttlMs: options.cacheTtlMs, now }) : store;
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
  const isPastLifetime = (data: Partial<session.SessionData>) =>
    data.loggedInAt !== undefined && now() - data.loggedInAt >= sessionAbsoluteLifetimeMs;
  const isDueForRenewal = (expires: Date | string | null | undefined) =>
    expires != null && new Date(expires).getTime() - now() < sessionMaxAgeMs / 2;

  /** After express-session: ends sessions past their absolute lifetime, renews those past half their idle one. */
  const enforceLifetime: RequestHandler = (req, res, next) => {
    const current = req.session;
    if (!current?.userId || Object.isFrozen(current)) return next();
    if (isPastLifetime(current)) {
      res.clearCookie(cookieNameFor(sessionCookieName, req), { path: '/' });
      return current.destroy((error) => next(error));
    }
    // Only on a page view: a new id changes the CSRF token, which a form being posted now carries.
    if ((req.method === 'GET' || req.method === 'HEAD') && isDueForRenewal(current.cookie.expires)) {
      const { userId, username } = current;
      // Sessions from before the absolute lifetime existed start counting at their first renewal.
      const loggedInAt = current.loggedInAt ?? now();
      return current.regenerate((error) => {
        if (error) return next(error);
        Object.assign(req.session, { userId, username, loggedInAt, renewedAt: now() });
        index.add(userId, req.sessionID, now()).then(() => next(), next);
      });
    }
    next();
  };

  const destroy = (sid: string) =>
    new Promise<void>((resolve, reject) => store.destroy(sid, (error) => (error ? reject(error) : resolve())));
  return {
    middleware: [
      readsWithoutChangeTracking(
        middleware,
        pageViewReads,
        options.secret,
        (data) => isPastLifetime(data) || isDueForRenewal(data.cookie.expires),
      ),
      enforceLifetime,
    ],

    async logIn(req, user) {
      await promisify((done) => req.session.regenerate(done));
      req.session.userId = user.id;
      req.session.username = user.username;
      req.session.loggedInAt = now();
      await promisify((done) => req.session.save(done));
      await index.add(user.id, req.sessionID, now());
    },

    async endAll(userId) {
      await Promise.all((await index.takeAll(userId)).map(destroy));
    },
  };
}

function promisify(operation: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => operation((error) => (error ? reject(error) : resolve())));
}

/**
 * Which sessions each user has, so that all of them can be ended (a password change, "log out
 * everywhere"): the session items are keyed by id alone. An id is added at each log-in and
 * renewal; ending takes the whole set at once. Ids of sessions that expired meanwhile cost a
 * harmless delete.
 */
interface SessionIndex {
  add(userId: string, sessionId: string, nowMs: number): Promise<void>;
  takeAll(userId: string): Promise<string[]>;
}

function memoryIndex(): SessionIndex {
  const byUser = new Map<string, Set<string>>();
  return {
    async add(userId, sessionId) {
      byUser.set(userId, (byUser.get(userId) ?? new Set()).add(sessionId));
    },
    async takeAll(userId) {
      const ids = [...(byUser.get(userId) ?? [])];
      byUser.delete(userId);
      return ids;
    },
  };
}

/** One item per user in the session table, `user-sessions:<id>`, a string set of session ids. */
function dynamoIndex(options: SessionOptions): SessionIndex {
  const { dynamodb, table } = options;
  if (!dynamodb || !table) throw new Error('SESSION_STORE=dynamodb needs a DynamoDB client and SESSION_TABLE');
  const key = (userId: string) => ({ id: { S: `user-sessions:${userId}` } });
  return {
    async add(userId, sessionId, nowMs) {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key(userId),
          // Outlives every session it lists (none lives past its absolute lifetime), then the TTL removes it.
          UpdateExpression: 'ADD #ids :id SET #expires = :expires',
          ExpressionAttributeNames: { '#ids': 'ids', '#expires': 'expires' },
          ExpressionAttributeValues: {
            ':id': { SS: [sessionId] },
            ':expires': { N: String(Math.ceil((nowMs + sessionAbsoluteLifetimeMs) / 1000)) },
          },
        }),
      );
    },
    async takeAll(userId) {
      // One atomic step: a log-in meanwhile lands either in the set taken or in a new one.
      const { Attributes } = await dynamodb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key(userId),
          UpdateExpression: 'REMOVE #ids',
          ExpressionAttributeNames: { '#ids': 'ids' },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes?.ids?.SS ?? [];
    },
  };
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
 * A session that is missing, expired, past its lifetime or due for renewal (enforceLifetime), and every
 * other method, goes through express-session, so sign-up, log-in and renewal work as before.
 */
function readsWithoutChangeTracking(
  tracked: RequestHandler,
  store: CachedSessionReads,
  secret: string,
  needsTracking: (data: session.SessionData) => boolean,
): RequestHandler {
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
      if (!data || needsTracking(data)) return tracked(req, res, next);
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

function createDynamoStore(options: SessionOptions): session.Store {
  if (!options.dynamodb || !options.table) throw new Error('SESSION_STORE=dynamodb needs a DynamoDB client and SESSION_TABLE');
  const DynamoDBStore = connectDynamoDB(session);
  // The table is created by the data stack (or the local service starters): connect-dynamodb's
  // own creation races when several requests arrive at once on a fresh instance.
  const store = new DynamoDBStore({ client: options.dynamodb, table: options.table, initialized: true, prefix: 'sess:' });
  // express-session calls touch() after every request whose session did not change, which would
  // be one DynamoDB write per page view. Without it an unchanged session costs one read and no
  // write; enforceLifetime renews sessions of active users instead.
  (store as { touch?: unknown }).touch = undefined;
  return store;
}

function createMemoryStore(logger: Logger): session.Store {
  logger.warn(
    'SESSION_STORE=memory: sessions live in this process only. Behind a load balancer a user is logged out whenever a request lands on another instance, and every session is lost when this instance stops. Use it only to demonstrate the problem.',
  );
  return new session.MemoryStore();
}
