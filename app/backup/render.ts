import { readFileSync } from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { listPublicAssets, publicDir } from '../platform/assets';
import type { Page, PageListItem, RecentChange } from '../pages/repository';
import { parseMarkdown } from '../pages/markdown';
import { formatUtcMinute } from '../http/render';
import { indexPath, maintenancePath, pageKey, pagePath, recentPath, rewriteWikiLinks } from './links';

const templatesDir = path.join(__dirname, 'templates');
const ownAssetsDir = path.join(__dirname, 'assets');

/** Hashed files live here and never change their bytes: publishing caches them for a year. */
export const immutablePrefix = 'static/';
const searchPage = 'search.html';
/**
 * One name for the search index, rewritten in place as pages change (cached like the pages, for
 * 60 s): a hashed name per version would leave a stale object behind on every save.
 */
export const searchIndexKey = 'search-index.json';
export { maintenancePath as errorDocument };

/** The wiki's own files the copy reuses (its app.js only serves the editor, so it stays out). */
const reusedAppAssets = ['style.css', 'logo.svg'];
/** Page text kept per page in the search index: enough to find a page, small enough to download. */
const searchTextLimit = 10_000;

/** A page as the repository returns it: the copy shows what the wiki would. */
export type SnapshotPage = Page;

/** An attachment the page lists by name: the files themselves stay in the private uploads bucket. */
export interface BackupAttachment {
  filename: string;
  size: number;
}

export interface SiteFile {
  /** Relative path in the output directory, which is also the object key in the bucket. */
  key: string;
  body: string | Buffer;
}

export interface SearchEntry {
  slug: string;
  title: string;
  path: string;
  text: string;
}

export interface SearchIndex {
  generatedAt: string;
  pages: SearchEntry[];
}

/**
 * Renders the read-only copy of the wiki, a file at a time: the continuous publisher
 * (app/backup/publisher.ts) writes one page and then the site-wide files; the full build
 * (scripts/static-site) writes all of them. Pure: the same rows and time give the same files.
 */
export function createSiteRenderer() {
  const views = templates();
  const assetFiles: SiteFile[] = [];
  const assets: Record<string, string> = {};
  for (const asset of [...listPublicAssets(publicDir).filter((a) => reusedAppAssets.includes(a.name)), ...listPublicAssets(ownAssetsDir)]) {
    const key = `${immutablePrefix}${asset.hashedName}`;
    assets[asset.name] = key;
    assetFiles.push({ key, body: readFileSync(asset.file) });
  }
  const common = (renderedAt: Date, root: string) => ({
    assets,
    root,
    snapshotIso: renderedAt.toISOString(),
    snapshotLabel: formatUtcMinute(renderedAt),
  });

  return {
    /** The hashed style, logo and search script: written before any page that links to them. */
    assetFiles: (): SiteFile[] => assetFiles,

    /** Which slugs a page links to: the caller says which of them exist. */
    linkedSlugs: (body: string): string[] => parseMarkdown(body).linkedSlugs,

    /** One page and its search entry. `existing` holds the slugs it links to that are pages. */
    page(page: SnapshotPage, existing: ReadonlySet<string>, attachments: readonly BackupAttachment[], renderedAt: Date) {
      const root = '../../';
      const html = rewriteWikiLinks(parseMarkdown(page.body).render(new Set(existing)), existing, root);
      const file: SiteFile = {
        key: pageKey(page.slug),
        body: views.render('page.njk', { ...common(renderedAt, root), title: page.title, page, html, attachments }),
      };
      const search: SearchEntry = {
        slug: page.slug,
        title: page.title,
        path: pagePath(page.slug),
        text: plainText(html).slice(0, searchTextLimit),
      };
      return { file, search };
    },

    /** All pages by title (the bucket's index document). */
    index(pages: readonly Pick<PageListItem, 'slug' | 'title' | 'updatedAt'>[], renderedAt: Date): SiteFile {
      const listed = sortByTitle(pages).map((page) => ({ title: page.title, path: pagePath(page.slug), updatedAt: page.updatedAt }));
      return { key: indexPath, body: views.render('index.njk', { ...common(renderedAt, ''), title: 'All pages', pages: listed }) };
    },

    /** The newest changes, as the wiki's /recent shows them. */
    recent(changes: readonly RecentChange[], renderedAt: Date): SiteFile {
      const listed = changes.map((change) => ({ ...change, path: pagePath(change.slug) }));
      return { key: recentPath, body: views.render('recent.njk', { ...common(renderedAt, ''), title: 'Recent changes', changes: listed }) };
    },

    /** The search page, its index and the maintenance page (the bucket's error document). */
    searchAndMaintenance(entries: readonly SearchEntry[], renderedAt: Date): SiteFile[] {
      const index: SearchIndex = { generatedAt: renderedAt.toISOString(), pages: sortByTitle(entries) };
      return [
        { key: searchIndexKey, body: JSON.stringify(index) },
        { key: searchPage, body: views.render('search.njk', { ...common(renderedAt, ''), title: 'Search', searchIndex: searchIndexKey }) },
        // The error document is served for any missing key at any depth, so its links must not be
        // relative to where it happens to be shown: root-relative is the one form that always works.
        { key: maintenancePath, body: views.render('maintenance.njk', { ...common(renderedAt, '/'), title: 'Under maintenance' }) },
      ];
    },
  };
}

/**
 * The whole copy at once, for a new or damaged bucket (scripts/static-site): every page, the
 * lists, search and maintenance pages and the hashed assets. Pure, like the renderer.
 */
export function renderSite(
  pages: readonly SnapshotPage[],
  snapshotAt: Date,
  recent: readonly RecentChange[] = [],
  attachments: ReadonlyMap<string, readonly BackupAttachment[]> = new Map(),
): SiteFile[] {
  const renderer = createSiteRenderer();
  const slugs = new Set(pages.map((page) => page.slug));
  const files: SiteFile[] = [...renderer.assetFiles()];
  const entries: SearchEntry[] = [];
  for (const page of sortByTitle(pages)) {
    const rendered = renderer.page(page, slugs, attachments.get(page.slug) ?? [], snapshotAt);
    files.push(rendered.file);
    entries.push(rendered.search);
  }
  files.push(renderer.index(pages, snapshotAt), renderer.recent(recent, snapshotAt), ...renderer.searchAndMaintenance(entries, snapshotAt));
  return files;
}

function sortByTitle<T extends { title: string; slug: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.title.toLowerCase().localeCompare(b.title.toLowerCase()) || a.slug.localeCompare(b.slug));
}

function templates(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir), { autoescape: true, throwOnUndefined: true });
  env.addFilter('datetime', (value: Date) => formatUtcMinute(new Date(value)));
  return env;
}

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The rendered page as searchable text: tags dropped, entities decoded, whitespace collapsed. */
function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (entity) => entities[entity] ?? entity)
    .replace(/\s+/g, ' ')
    .trim();
}
