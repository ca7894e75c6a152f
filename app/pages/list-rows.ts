import type { Application } from 'express';
import { LRUCache } from 'lru-cache';
import type { PageListItem, RecentChange } from './repository';
import { renderPartial } from '../http/render';

// A row of a list (all pages, recent changes, search) shows nothing about its reader, so it is the
// same HTML for everyone. A row of all pages or of recent changes shows one revision of one page
// and stays the same until that page is saved again: after its first rendering, every slice that
// holds it, for every reader, joins kept HTML instead of running the template a hundred times.
// The cache key holds every field the row shows, not just (page, revision): whatever changes a
// field makes a new key, so the cache stays right without any rule about what may change. Search
// rows carry a snippet of the query and are rendered each time.

export interface ListRowsOptions {
  /** Bytes of HTML and keys kept, least recently used out first. */
  maxBytes?: number;
}

export interface SearchRow {
  slug: string;
  title: string;
  /** HTML, escaped and marked (app/pages/search-snippets.ts). */
  snippet: string;
}

const rowView = 'partials/list-row.njk';
// About 50,000 rows of all pages: many times what a busy instance shows in a minute.
const defaultMaxBytes = 16 * 1024 * 1024;

const pageRowKey = (row: PageListItem) => `p\n${row.slug}\n${row.title}\n${row.revision}\n${row.updatedAt.getTime()}`;
const recentRowKey = (row: RecentChange) =>
  `r\n${row.slug}\n${row.title}\n${row.revision}\n${row.createdAt.getTime()}\n${row.author ?? ''}\n${row.summary}`;

export function createListRows(options: ListRowsOptions = {}) {
  const kept = new LRUCache<string, string>({
    maxSize: options.maxBytes ?? defaultMaxBytes,
    // Strings are UTF-16 in V8 (one-byte when they can be); twice the length is the safe bound.
    sizeCalculation: (html, key) => 2 * (html.length + key.length) + 100,
  });
  const rowsOf =
    <Row>(keyOf: (row: Row) => string, showRevision: boolean) =>
    (app: Application, rows: Row[]): string[] =>
      rows.map((row) => {
        const key = keyOf(row);
        let html = kept.get(key);
        if (html === undefined) {
          html = renderPartial(app, rowView, { item: row, showRevision });
          kept.set(key, html);
        }
        return html;
      });

  return {
    pages: rowsOf(pageRowKey, false),
    recent: rowsOf(recentRowKey, true),
    search: (app: Application, rows: SearchRow[]): string[] => rows.map((item) => renderPartial(app, rowView, { item })),
  };
}

export type ListRows = ReturnType<typeof createListRows>;
