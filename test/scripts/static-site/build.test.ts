import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createDatabase, type Database } from '../../../app/db/db';
import { createPageRepository } from '../../../app/pages/repository';
import { writeSite } from '../../../scripts/static-site/build';
import { pageKey } from '../../../app/backup/links';
import { errorDocument, renderSite, searchIndexKey, type SearchIndex, type SiteFile, type SnapshotPage } from '../../../app/backup/render';
import { readWholeSite } from '../../../app/backup/source';
import { env } from '../../support/app';
import { uniqueName } from '../../support/browser-like';

let db: Database;
beforeAll(() => {
  db = createDatabase({ writerUrl: env('TEST_DATABASE_URL'), logger: pino({ level: 'silent' }), poolSize: 2 });
});
afterAll(() => db.close());

const snapshotAt = new Date('2026-11-25T17:42:00Z');

function page(slug: string, body: string, extra: Partial<SnapshotPage> = {}): SnapshotPage {
  return { slug, title: slug.replace(/_/g, ' '), body, revision: 1, updatedAt: snapshotAt, updatedBy: null, ...extra };
}

function text(files: SiteFile[], key: string): string {
  const file = files.find((candidate) => candidate.key === key);
  if (!file) throw new Error(`no ${key} among ${files.map((f) => f.key).join(', ')}`);
  return String(file.body);
}

/** Resolves every relative href/src in a file against its own key, as a browser would. */
function relativeTargets(files: SiteFile[], key: string): string[] {
  const html = text(files, key);
  return [...html.matchAll(/(?:href|src)="([^"]+)"/g)]
    .map((match) => match[1]!)
    .filter((href) => !/^[a-z]+:|^\/|^#/.test(href))
    .map((href) => decodeURIComponent(new URL(href, `http://site/${encodeURI(key)}`).pathname.slice(1)));
}

test('when pages are in the database, then the build renders each one with the banner and without edit links', async () => {
  const repo = createPageRepository(db);
  const home = uniqueName('Static_Home');
  const other = uniqueName('Static_Other');
  await repo.saveRevision({
    slug: home,
    title: home,
    body: `Welcome. See [[${other}|the other page]].`,
    summary: '',
    baseRevision: null,
    authorId: null,
  });
  await repo.saveRevision({
    slug: other,
    title: other,
    body: 'The *other* page, about pelicans.',
    summary: '',
    baseRevision: null,
    authorId: null,
  });

  const { pages } = await readWholeSite(repo);
  expect(pages.map((p) => p.slug)).toEqual(expect.arrayContaining([home, other]));
  const files = renderSite(pages, snapshotAt);

  const homeHtml = text(files, pageKey(home));
  expect(homeHtml).toContain('This is a read-only copy as of <time datetime="2026-11-25T17:42:00.000Z">2026-11-25 17:42 UTC</time>');
  expect(homeHtml).toContain('the other page</a>');
  expect(text(files, pageKey(other))).toContain('The <em>other</em> page, about pelicans.');
  for (const file of files.filter((f) => f.key.endsWith('.html'))) {
    expect(String(file.body)).not.toMatch(/\/edit\b|\/login|\/signup|_csrf/);
  }
  expect(text(files, 'index.html')).toContain(`href="wiki/${home}/index.html"`);
});

test('when a page links to others, then every relative link and asset resolves to a file of the build', () => {
  const files = renderSite(
    [
      page('Home', 'Go to [[Café au lait]], [[Notes (2026)]] and [a plain link](/wiki/Home).'),
      page('Café_au_lait', 'Back [[Home]].'),
      page('Notes_(2026)', 'Nothing.'),
    ],
    snapshotAt,
  );
  const keys = new Set(files.map((f) => f.key));
  for (const key of ['index.html', 'search.html', pageKey('Home'), pageKey('Café_au_lait')]) {
    const targets = relativeTargets(files, key);
    expect(targets.length).toBeGreaterThan(3);
    for (const target of targets) expect({ from: key, target, exists: keys.has(target) }).toEqual({ from: key, target, exists: true });
  }
  expect(relativeTargets(files, pageKey('Home'))).toEqual(expect.arrayContaining([pageKey('Café_au_lait'), pageKey('Notes_(2026)')]));
});

test('when a page links to a missing page or to an app-only view, then no link leads to an editor', () => {
  const files = renderSite(
    [page('Home', 'Write [[Not Yet]] or [edit me](/wiki/Home/edit) or [recent](/recent) or [a diff](/wiki/Home/diff).')],
    snapshotAt,
  );
  const html = text(files, pageKey('Home'));
  expect(html).toContain('<span class="wikilink missing" title="This page did not exist when the copy was made">Not Yet</span>');
  expect(html).toContain('href="../../wiki/Home/index.html">edit me</a>');
  expect(html).toContain('href="../../recent.html">recent</a>');
  expect(html).toContain('href="../../wiki/Home/index.html">a diff</a>');
  expect(html).not.toContain('/edit');
});

test('when a page holds hostile markdown, then its script, handlers and javascript: links stay inert', () => {
  const hostile = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(2)">',
    '[click](javascript:alert(3))',
    '"><svg onload=alert(4)>',
  ].join('\n\n');
  const files = renderSite([page('Hostile', hostile, { title: '<b onmouseover=alert(5)>Hostile</b>' })], snapshotAt);
  for (const key of [pageKey('Hostile'), 'index.html']) {
    const html = text(files, key);
    expect(html).not.toMatch(/<script>alert|<img src=x|<svg|<b onmouseover|href="javascript:/i);
  }
  expect(text(files, pageKey('Hostile'))).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  const index = JSON.parse(text(files, searchIndexKey)) as SearchIndex;
  expect(index.pages[0]!.title).toBe('<b onmouseover=alert(5)>Hostile</b>');
});

test('when the site is built, then the search index holds every page text and the search page loads it', () => {
  const files = renderSite([page('Birds', 'Pelicans & *herons* <eat> fish.'), page('Home', 'Start here.')], snapshotAt);
  const indexKey = searchIndexKey;
  const index = JSON.parse(text(files, indexKey)) as SearchIndex;
  expect(index.generatedAt).toBe(snapshotAt.toISOString());
  expect(index.pages).toEqual([
    { slug: 'Birds', title: 'Birds', path: 'wiki/Birds/index.html', text: 'Pelicans & herons <eat> fish.' },
    { slug: 'Home', title: 'Home', path: 'wiki/Home/index.html', text: 'Start here.' },
  ]);
  const search = text(files, 'search.html');
  expect(search).toContain(`data-index="${indexKey}"`);
  expect(search).toMatch(/<script src="static\/search\.[0-9a-f]{10}\.js"/);
  // The search script uses textContent only, never innerHTML: page text cannot become markup.
  const script = String(files.find((f) => /^static\/search\.[0-9a-f]{10}\.js$/.test(f.key))!.body);
  expect(script).toContain('textContent');
  expect(script).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
});

test('when the site is built, then the maintenance page uses root-relative links, valid from any missing path', () => {
  const files = renderSite([page('Home', 'x')], snapshotAt);
  const maintenance = text(files, errorDocument);
  expect(maintenance).toContain('cloudwiki is under maintenance');
  expect(maintenance).toContain('href="/index.html"');
  expect(maintenance).toMatch(/href="\/static\/style\.[0-9a-f]{10}\.css"/);
});

test('when the output directory holds something else, then writing refuses; a previous build is replaced', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'static-site-'));
  try {
    writeFileSync(path.join(dir, 'precious.txt'), 'keep me');
    expect(() => writeSite(dir, renderSite([], snapshotAt))).toThrow(/not a previous static-site build/);
    expect(readFileSync(path.join(dir, 'precious.txt'), 'utf8')).toBe('keep me');

    rmSync(path.join(dir, 'precious.txt'));
    writeSite(dir, renderSite([page('Old', 'x')], snapshotAt));
    writeSite(dir, renderSite([page('New', 'y')], snapshotAt));
    expect(existsSync(path.join(dir, pageKey('New')))).toBe(true);
    expect(existsSync(path.join(dir, pageKey('Old')))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
