import { backupSiteDocuments } from '../contracts';

/**
 * Where a wiki page lives in the static copy. A folder per page with an index.html inside, because
 * an S3 website endpoint (and s3rver's) answers a request for `/wiki/Home` — the live wiki's URL,
 * which a reader may be on when the site fails over — with a redirect to `/wiki/Home/`, whose
 * index document is this key. Links name index.html explicitly so that they also work where no
 * index document is resolved: CloudFront in front of the bucket's REST endpoint, or a local folder.
 */
export function pagePath(slug: string): string {
  return `wiki/${encodeURIComponent(slug)}/index.html`;
}

/** The object key of a page: S3 keys are the decoded path. */
export function pageKey(slug: string): string {
  return `wiki/${slug}/index.html`;
}

/** The backup bucket's error document: the lab and infra/02-data.yaml serve the same name. */
export const maintenancePath = backupSiteDocuments.error;
export const indexPath = backupSiteDocuments.index;
export const recentPath = 'recent.html';

/** The wiki's own list views that the copy has a page for. */
const copiedViews: Record<string, string> = { '/pages': indexPath, '/recent': recentPath };

/**
 * Rewrites the links in HTML rendered by app/pages/markdown.ts for the static copy, where `root` leads
 * back to the site's root from the page being written:
 * - a link to a missing page would open its editor: it becomes plain text, as nothing can be
 *   created in a read-only copy;
 * - a link to a page (or to any of its views: history, edit ...) points at that page's copy;
 * - a link to all pages or recent changes points at the copy's own list;
 * - any other link into the wiki's origin goes to the maintenance page, which says why.
 * markdown-it escapes `"` in attributes and text, so `href="…"` only ever matches an attribute.
 */
export function rewriteWikiLinks(html: string, existingSlugs: ReadonlySet<string>, root: string): string {
  return html
    .replace(/<a class="wikilink missing" href="[^"]*"(?: title="[^"]*")?>([^<]*)<\/a>/g, (_match, label: string) => {
      return `<span class="wikilink missing" title="This page did not exist when the copy was made">${label}</span>`;
    })
    .replace(/href="(\/[^"]*)"/g, (match, href: string) => {
      if (href.startsWith('//')) return match;
      const slug = wikiSlugOf(href);
      if (slug !== undefined && existingSlugs.has(slug)) return `href="${root}${pagePath(slug)}"`;
      const view = copiedViews[href.replace(/[?#].*$/, '')];
      return `href="${root}${view ?? maintenancePath}"`;
    });
}

function wikiSlugOf(href: string): string | undefined {
  const match = /^\/wiki\/([^/?#]+)/.exec(href.replace(/&amp;/g, '&'));
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}
