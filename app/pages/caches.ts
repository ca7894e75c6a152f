import { createAnonymousLists, type AnonymousLists } from './anonymous-lists';
import { createListRows, type ListRows } from './list-rows';
import { createPageViews, pageRowTtlMs, type PageViews } from './page-views';
import type { PageRepository } from './repository';
import { createRevisionDiffs, type RevisionDiffs } from './revision-diff';

/** Everything a page request may answer from memory instead of the database and the templates. */
export interface PageCaches {
  views: PageViews;
  anonymousLists: AnonymousLists;
  listRows: ListRows;
  revisionDiffs: RevisionDiffs;
}

/** Bytes (characters for the comparisons) each cache may hold; app/compose.ts chooses them. */
export interface PageCacheSizes {
  renderedPages: number;
  keptPages: number;
  anonymousLists: number;
  listRows: number;
  comparisonChars: number;
}

export function createPageCaches(pages: PageRepository, sizes: PageCacheSizes, now: () => number = Date.now): PageCaches {
  const caches: PageCaches = {
    views: createPageViews(pages, {
      maxRenderedBytes: sizes.renderedPages,
      maxKeptPageBytes: sizes.keptPages,
      rowTtlMs: pageRowTtlMs,
      now,
    }),
    anonymousLists: createAnonymousLists({ maxBytes: sizes.anonymousLists, ttlMs: pageRowTtlMs, now }),
    listRows: createListRows({ maxBytes: sizes.listRows }),
    revisionDiffs: createRevisionDiffs({ maxChars: sizes.comparisonChars }),
  };
  // A save on this instance shows at once in its lists; other instances' lists lag by their TTL.
  pages.onSave(() => caches.anonymousLists.clear());
  return caches;
}
