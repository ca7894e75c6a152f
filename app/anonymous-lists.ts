import { LRUCache } from 'lru-cache';
import { pageRowTtlMs } from './page-views';
import type { SharedRendering } from './render';

// The page list, recent changes and search results look the same to every reader without a
// session: no name, no forms, no token. Rendering them takes a query and a template of up to a
// hundred rows each time, so the first anonymous request for a URL renders it and the next ones,
// for pageRowTtlMs, get the same HTML: the same window in which a page view may lag a save made
// on another instance (CloudFront may keep these responses for a minute anyway, see
// cacheIfAnonymous). A save on this instance drops them all at once. People logged in, and anyone
// who saved in the last seconds, always get a fresh rendering.

export interface AnonymousListsOptions {
  /** How long one rendering is served. */
  ttlMs?: number;
  /** Bytes of HTML kept over all URLs, least recently used out first. */
  maxBytes?: number;
}

const defaultMaxBytes = 8 * 1024 * 1024;

export function createAnonymousLists(options: AnonymousListsOptions = {}) {
  const renderings = new LRUCache<string, SharedRendering>({
    maxSize: options.maxBytes ?? defaultMaxBytes,
    // Strings are UTF-16 in V8 (one-byte when they can be); twice the length is the safe bound.
    sizeCalculation: ({ html }, url) => 2 * (html.length + url.length) + 200,
    ttl: options.ttlMs ?? pageRowTtlMs,
  });
  return {
    /** What was served for this URL within the last ttlMs, if anything. */
    get: (url: string): SharedRendering | undefined => renderings.get(url),
    set: (url: string, rendering: SharedRendering): void => void renderings.set(url, rendering),
    /** After a save on this instance: every list may have changed. */
    clear: (): void => renderings.clear(),
  };
}

export type AnonymousLists = ReturnType<typeof createAnonymousLists>;
