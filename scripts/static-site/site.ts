import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { listPublicAssets, publicDir } from '../../app/platform/assets';
import type { Page } from '../../app/pages/repository';
import { renderMarkdown } from '../../app/pages/markdown';
import { maintenancePath, pageKey, pagePath, rewriteWikiLinks } from './links';

const staticSiteDir = path.resolve(__dirname, '../../static-site');
const templatesDir = path.join(staticSiteDir, 'templates');
const ownAssetsDir = path.join(staticSiteDir, 'assets');

/** Hashed files live here and never change their bytes: publish caches them for a year. */
export const immutablePrefix = 'static/';
const indexDocument = 'index.html';
const searchPage = 'search.html';
export { maintenancePath as errorDocument };

/** The wiki's own files the copy reuses (its app.js only serves the editor, so it stays out). */
const reusedAppAssets = ['style.css', 'logo.svg'];
/** Page text kept per page in the search index: enough to find a page, small enough to download. */
const searchTextLimit = 10_000;

/** A page as the repository returns it: the copy shows what the wiki would. */
export type SnapshotPage = Page;

export interface SiteFile {
  /** Relative path in the output directory, which is also the object key in the bucket. */
  key: string;
  body: string | Buffer;
}

export interface SearchIndex {
  generatedAt: string;
  pages: { slug: string; title: string; path: string; text: string }[];
}

/**
 * Renders the read-only copy of the wiki: one file per page, the index of all pages, the search
 * page and its index, the maintenance page (the bucket's error document) and the hashed assets.
 * Pure: the same pages and time give the same files.
 */
export function renderSite(pages: readonly SnapshotPage[], snapshotAt: Date): SiteFile[] {
  const sorted = [...pages].sort((a, b) => a.title.toLowerCase().localeCompare(b.title.toLowerCase()) || a.slug.localeCompare(b.slug));
  const slugs = new Set(sorted.map((page) => page.slug));
  const files: SiteFile[] = [];

  const assets: Record<string, string> = {};
  for (const asset of [...listPublicAssets(publicDir).filter((a) => reusedAppAssets.includes(a.name)), ...listPublicAssets(ownAssetsDir)]) {
    const key = `${immutablePrefix}${asset.hashedName}`;
    assets[asset.name] = key;
    files.push({ key, body: readFileSync(asset.file) });
  }

  const searchIndex: SearchIndex = {
    generatedAt: snapshotAt.toISOString(),
    pages: [],
  };
  const views = templates();
  const common = { assets, snapshotIso: snapshotAt.toISOString(), snapshotLabel: formatTime(snapshotAt), pageCount: sorted.length };

  for (const page of sorted) {
    const root = '../../';
    const html = rewriteWikiLinks(renderMarkdown(page.body, slugs), slugs, root);
    files.push({ key: pageKey(page.slug), body: views.render('page.njk', { ...common, root, title: page.title, page, html }) });
    searchIndex.pages.push({
      slug: page.slug,
      title: page.title,
      path: pagePath(page.slug),
      text: plainText(html).slice(0, searchTextLimit),
    });
  }

  const searchJson = JSON.stringify(searchIndex);
  const searchIndexKey = `${immutablePrefix}search-index.${createHash('sha256').update(searchJson).digest('hex').slice(0, 10)}.json`;
  files.push({ key: searchIndexKey, body: searchJson });

  const listed = sorted.map((page) => ({ title: page.title, path: pagePath(page.slug), updatedAt: page.updatedAt }));
  files.push({ key: indexDocument, body: views.render('index.njk', { ...common, root: '', title: 'All pages', pages: listed }) });
  files.push({ key: searchPage, body: views.render('search.njk', { ...common, root: '', title: 'Search', searchIndex: searchIndexKey }) });
  // The error document is served for any missing key at any depth, so its links must not be
  // relative to where it happens to be shown: root-relative is the one form that always works.
  files.push({ key: maintenancePath, body: views.render('maintenance.njk', { ...common, root: '/', title: 'Under maintenance' }) });
  return files;
}

function templates(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir), { autoescape: true, throwOnUndefined: true });
  env.addFilter('datetime', (value: Date) => formatTime(new Date(value)));
  return env;
}

/** The same form the wiki shows: "2026-11-25 17:42 UTC". */
function formatTime(time: Date): string {
  return time.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
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
