import type session from 'express-session';
import { LRUCache } from 'lru-cache';

// A logged-in page view reads its session from DynamoDB: about as much CPU as the rest of the
// view. A person clicking around sends several requests a second to the same instance, so this
// keeps what the store returned for a short window and answers repeats from memory.
//
// Only page views (GET, HEAD) read through it. A state-changing request reads the table itself
// (the store's own get), so a session ended on another instance can never save, revert or
// upload during the window: it could only go on reading what it could read a moment before.
//
// The price is a window on *other* instances: a logout (or a login that replaces the session)
// on instance A deletes the session at once in DynamoDB and in A's cache, but instance B may
// answer from its copy until that copy is ttlMs old. docs/migrating-stateful-apps.md states the
// window; it must stay short (≤ 2 s), which config.ts enforces.

export interface SessionCacheOptions {
  ttlMs: number;
  /** Sessions kept at most; the least recently used go first. */
  maxSessions?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface Cached {
  /** As JSON: express-session turns what get() returns into its Session and mutates it. */
  json: string | null;
  readAt: number;
}

/** Session reads for page views, answered from a short cache. */
export type CachedSessionReads = Pick<session.Store, 'get'>;

/**
 * A cached reader beside the store: the store's own get() stays uncached for state-changing
 * requests, while its set() and destroy() now also evict this instance's copy at once.
 */
export function cacheSessionReads(store: session.Store, options: SessionCacheOptions): CachedSessionReads {
  const now = options.now ?? Date.now;
  const max = options.maxSessions ?? 50_000;
  const cache = new LRUCache<string, Cached>({ max });
  // When each session was last written or destroyed here: a read that started before that must
  // not put the old copy back in the cache when it completes.
  const changedAt = new LRUCache<string, number>({ max });
  const evict = (sid: string) => {
    cache.delete(sid);
    changedAt.set(sid, now());
  };
  const get = store.get.bind(store);
  const set = store.set.bind(store);
  const destroy = store.destroy.bind(store);

  const reader: CachedSessionReads = {
    get(sid, callback) {
      const cached = cache.get(sid);
      if (cached && now() - cached.readAt < options.ttlMs) return callback(null, cached.json === null ? null : JSON.parse(cached.json));
      const readAt = now();
      get(sid, (error, data) => {
        if (!error && (changedAt.get(sid) ?? -Infinity) < readAt) cache.set(sid, { json: data ? JSON.stringify(data) : null, readAt });
        callback(error, data);
      });
    },
  };
  store.set = (sid, data, callback) => {
    evict(sid);
    set(sid, data, (error?: unknown) => {
      evict(sid);
      callback?.(error);
    });
  };
  store.destroy = (sid, callback) => {
    evict(sid);
    destroy(sid, (error?: unknown) => {
      evict(sid);
      callback?.(error);
    });
  };
  return reader;
}
