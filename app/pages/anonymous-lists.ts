import { LRUCache } from 'lru-cache';
import { pageRowTtlMs } from './page-views';
import type { SharedRendering } from '../http/render';

// The page list, recent changes and search results look the same to every reader without a
// session: no name, no forms, no token. Rendering them takes a query and a template of up to a
// hundred rows each time, so the first anonymous request for a URL renders it and the next ones,
// for pageRowTtlMs, get the same HTML: the same window in which a page view may lag a save made
// on another instance (CloudFront may keep these responses for a minute anyway, see
// cacheIfAnonymous). A save on this instance drops them all at once. People logged in, and anyone
// who saved in the last seconds, always get a fresh rendering.
//
// A rendering is kept from the second request for its URL within that window, as a CDN's "cache on
// second hit" does: most URLs of a crawl, or of searches, are asked for once. Keeping every one of
// them filled the cache with HTML nobody asked for again, which the garbage collector then had to
// promote and sweep: a sixth of the CPU of a request for a new URL here (docs/benchmarks.md).

export interface AnonymousListsOptions {
  /** How long one rendering is served. */
  ttlMs?: number;
  /** Bytes of HTML kept over all URLs, least recently used out first. */
  maxBytes?: number;
  /** URLs remembered as asked for once, least recently used out first. */
  maxSeenUrls?: number;
  /** The clock the window is measured with (tests move it instead of waiting). */
  now?: () => number;
}

const defaultMaxBytes = 8 * 1024 * 1024;
const defaultMaxSeenUrls = 20_000;

export function createAnonymousLists(options: AnonymousListsOptions = {}) {
  // lru-cache reads its clock at most once a millisecond unless told otherwise; a clock given here
  // may jump (a test moving it), so it is read on every look-up.
  const clock = options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {};
  const renderings = new LRUCache<string, SharedRendering>({
    maxSize: options.maxBytes ?? defaultMaxBytes,
    // URLs are strings, UTF-16 in V8 (one-byte when they can be): twice the length is the safe bound.
    sizeCalculation: ({ body }, url) => body.length + 2 * url.length + 200,
    ttl: options.ttlMs ?? pageRowTtlMs,
    ...clock,
  });
  const seenOnce = new LRUCache<string, true>({
    max: options.maxSeenUrls ?? defaultMaxSeenUrls,
    ttl: options.ttlMs ?? pageRowTtlMs,
    ...clock,
  });
  return {
    /** What was served for this URL within the last ttlMs, if anything. */
    get: (url: string): SharedRendering | undefined => renderings.get(url),
    /** Offers a fresh rendering: kept if this URL was asked for already within ttlMs. */
    offer(url: string, rendering: SharedRendering): void {
      if (seenOnce.has(url)) renderings.set(url, rendering);
      else seenOnce.set(url, true);
    },
    /** After a save on this instance: every list may have changed. */
    clear: (): void => renderings.clear(),
  };
}

export type AnonymousLists = ReturnType<typeof createAnonymousLists>;
