import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { pageRules, uploadRules } from '../contracts';
import { DatabaseUnavailableError } from '../db/db';
import { parseRecentCursor, type PageRepository } from './repository';
import { describeError, HttpError } from '../http/http-error';
import { uploadLink } from './markdown';
import { refuseNulBytesInQuery } from '../http/nul-bytes';
import type { PageCaches } from './caches';
import { pageEditForm } from './page-edit';
import type { PageView, ReaderHole } from './page-views';
import { renderShared, renderWithHoles, sendFilled, sendShared } from '../http/render';
import {
  afterSlugParam,
  cacheIfAnonymous,
  cacheStaleIfAnonymous,
  currentUser,
  markRecentWrite,
  readOptions,
  revisionParam,
  slugParam,
  type CurrentUser,
} from '../http/request-context';
import { compareRevisions } from './revision-diff';
import { snippetsFor } from './search-snippets';
import { isValidSlug, titleFromSlug } from './slug';

const staleNotice =
  'Read-only: the database is unavailable, so this is the last copy of the page this server has. Editing is paused until the database is back.';
const unsavedNotice =
  'The database is unavailable right now, so your edit was not saved. Your text is below: keep it, and save again in a minute.';

export interface PagesRouterDeps {
  pages: PageRepository;
  /** The caches of rendered pages, lists and comparisons, made and sized in app/compose.ts. */
  caches: PageCaches;
  requireCsrf: RequestHandler;
  /** Anonymous searches per address (app/http/limits.ts): ranking and snippets cost CPU. */
  limitAnonymousSearches: RequestHandler;
}

const sessionEnded = 'Your session has ended. Log in again in another tab, then save.';

export function createPagesRouter({ pages, caches, requireCsrf, limitAnonymousSearches }: PagesRouterDeps): Router {
  const router = Router();
  const { views, anonymousLists, listRows, revisionDiffs } = caches;

  router.get('/', (_req, res) => res.redirect('/wiki/Home'));
  router.get('/pages', listPages);
  router.get('/recent', recentChanges);
  router.get('/search', limitAnonymousSearches, refuseNulBytesInQuery, search);
  router.get('/wiki/:slug', showPage);
  router.get('/wiki/:slug/edit', editPage);
  router.post('/wiki/:slug', requireCsrf, savePage, handBackDraft);
  router.get('/wiki/:slug/history', history);
  router.get('/wiki/:slug/rev/:revision', showRevision);
  router.get('/wiki/:slug/diff', diff);
  router.post('/wiki/:slug/revert/:revision', requireCsrf, revert);

  return router;

  async function showPage(req: Request, res: Response) {
    const slug = slugParam(req);
    let view: PageView | null;
    try {
      view = await views.current(slug, readOptions(req));
    } catch (error) {
      // The database is down: a page this instance rendered before is still worth reading.
      const stale = error instanceof DatabaseUnavailableError ? views.stale(slug) : null;
      if (!stale) throw error;
      cacheStaleIfAnonymous(req, res);
      return renderPage(res, stale, staleNotice);
    }
    cacheIfAnonymous(req, res);
    if (!view) return res.status(404).render('missing', { title: titleFromSlug(slug), slug });
    const user = currentUser(req);
    if (user) {
      // Every logged-in reader sees the same page but for their name and CSRF token: render it
      // once with holes for those, and fill them in for each reader.
      const page = await views.keep(view, 'reader', () =>
        renderWithHoles<ReaderHole>(res, 'page', (hole) => ({
          ...pageLocals(view),
          user: { username: hole('username') },
          csrfToken: () => hole('csrfToken'),
        })),
      );
      return sendFilled(res, page, { username: user.username, csrfToken: res.locals.csrfToken() });
    }
    // Everyone without a session sees the same page (no name, no forms, no token): render it once.
    sendShared(res, await views.keep(view, 'anonymous', () => renderShared(res, 'page', pageLocals(view))));
  }

  function renderPage(res: Response, view: PageView, notice?: string) {
    res.render('page', pageLocals(view, notice));
  }

  function pageLocals(view: PageView, notice?: string) {
    return {
      title: view.page.title,
      page: view.page,
      html: view.html,
      uploads: view.uploads.map((upload) => ({ ...upload, markdown: uploadLink(upload) })),
      uploadLimit: uploadRules.maxLabel,
      notice,
      readOnly: Boolean(notice),
    };
  }

  async function showRevision(req: Request, res: Response) {
    const slug = slugParam(req);
    const options = readOptions(req);
    const [view, revision] = await Promise.all([
      views.current(slug, options),
      pages.findRevision(slug, revisionParam(req.params.revision), options),
    ]);
    if (!view || !revision) throw new HttpError(404, `Page “${titleFromSlug(slug)}” has no revision ${req.params.revision}.`);
    const { html } = await views.revision(slug, revision.revision, revision.body, options);
    cacheIfAnonymous(req, res);
    res.render('page', {
      title: `${view.page.title} (revision ${revision.revision})`,
      page: view.page,
      revision,
      html,
      uploads: [],
    });
  }

  async function editPage(req: Request, res: Response) {
    const slug = slugParam(req);
    if (!currentUser(req)) return res.redirect(303, `/login?next=${encodeURIComponent(`/wiki/${slug}/edit`)}`);
    const page = await pages.findBySlug(slug, { fromWriter: true });
    res.render('edit', {
      title: page?.title ?? titleFromSlug(slug),
      slug,
      body: page?.body ?? '',
      baseRevision: page?.revision ?? null,
      summary: '',
      bodyLimit: pageRules.bodyMaxChars,
    });
  }

  async function savePage(req: Request, res: Response) {
    const slug = slugParam(req);
    const user = currentUser(req);
    if (!user) throw new HttpError(401, sessionEnded);
    const form = pageEditForm.safeParse(req.body ?? {});
    const draft = draftOf(req);
    if (!form.success) return res.status(400).render('edit', { ...draft, errors: form.error.issues.map((issue) => issue.message) });
    const { body, summary, baseRevision } = form.data;
    let result: Awaited<ReturnType<typeof save>>;
    try {
      result = await save(slug, { body, summary, baseRevision }, user);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      return res
        .status(503)
        .set('Retry-After', '30')
        .render('edit', { ...draft, errors: [unsavedNotice] });
    }
    if (result.saved) {
      markRecentWrite(res);
      return res.redirect(303, `/wiki/${encodeURIComponent(slug)}`);
    }
    if (!result.current)
      return res
        .status(409)
        .render('edit', { ...draft, baseRevision: '', errors: ['This page was deleted while you were editing. Save again to create it.'] });
    res.status(409).render('conflict', {
      ...draft,
      baseRevision,
      current: result.current,
      diff: compareRevisions(result.current.body, body),
    });
  }

  async function revert(req: Request, res: Response) {
    const slug = slugParam(req);
    const user = currentUser(req);
    if (!user) throw new HttpError(401, 'Log in to revert pages.');
    const target = revisionParam(req.params.revision);
    const [page, revision] = await Promise.all([
      pages.findBySlug(slug, { fromWriter: true }),
      pages.findRevision(slug, target, { fromWriter: true }),
    ]);
    if (!page || !revision) throw new HttpError(404, `Page “${titleFromSlug(slug)}” has no revision ${target}.`);
    const result = await save(slug, { body: revision.body, summary: `Reverted to revision ${target}`, baseRevision: page.revision }, user);
    if (!result.saved) throw new HttpError(409, 'Someone saved the page while you were reverting it. Look at the history and try again.');
    markRecentWrite(res);
    res.redirect(303, `/wiki/${encodeURIComponent(slug)}`);
  }

  function save(slug: string, edit: { body: string; summary: string; baseRevision: number | null }, user: CurrentUser) {
    return pages.saveRevision({ slug, title: titleFromSlug(slug), ...edit, authorId: user.id });
  }

  async function history(req: Request, res: Response) {
    const slug = slugParam(req);
    const before = req.query.before === undefined ? null : revisionParam(req.query.before, '“before” revision');
    const { items: revisions, next } = await pages.history(slug, before, readOptions(req));
    if (revisions.length === 0)
      throw new HttpError(
        404,
        before ? `“${titleFromSlug(slug)}” has no revisions before ${before}.` : `There is no page called “${titleFromSlug(slug)}”.`,
      );
    cacheIfAnonymous(req, res);
    const base = `/wiki/${encodeURIComponent(slug)}/history`;
    res.render('history', {
      title: `History of ${titleFromSlug(slug)}`,
      slug,
      revisions,
      nextUrl: next && `${base}?before=${next}`,
      firstUrl: before === null ? null : base,
    });
  }

  async function diff(req: Request, res: Response) {
    const slug = slugParam(req);
    const from = revisionParam(req.query.from, '“from” revision');
    const to = revisionParam(req.query.to, '“to” revision');
    const options = readOptions(req);
    const comparison = await revisionDiffs.between({ slug, from, to }, async () => {
      const [older, newer] = await Promise.all([pages.findRevision(slug, from, options), pages.findRevision(slug, to, options)]);
      return older && newer ? { older: older.body, newer: newer.body } : null;
    });
    if (!comparison) throw new HttpError(404, `Page “${titleFromSlug(slug)}” has no revision ${from} or ${to}.`);
    cacheIfAnonymous(req, res);
    res.render('diff', { title: `Changes to ${titleFromSlug(slug)}`, slug, from, to, diff: comparison.parts });
  }

  async function listPages(req: Request, res: Response) {
    const after = afterSlugParam(req);
    await sendList(req, res, async () => {
      const { items, next } = await pages.listSlice(after);
      return {
        title: 'All pages',
        rows: listRows.pages(req.app, items),
        empty: 'The wiki has no pages yet.',
        nextUrl: next && `/pages?after=${encodeURIComponent(next)}`,
        firstUrl: after === null ? null : '/pages',
      };
    });
  }

  async function recentChanges(req: Request, res: Response) {
    const after = req.query.after === undefined ? null : parseRecentCursor(req.query.after);
    if (req.query.after !== undefined && !after)
      throw new HttpError(400, '“after” must be a position in the list, as in the “Next” link of recent changes.');
    await sendList(req, res, async () => {
      const { items, next } = await pages.recent(after);
      return {
        title: 'Recent changes',
        rows: listRows.recent(req.app, items),
        empty: 'Nothing has changed yet.',
        nextUrl: next && `/recent?after=${encodeURIComponent(next)}`,
        firstUrl: after === null ? null : '/recent',
      };
    });
  }

  async function search(req: Request, res: Response) {
    const query = typeof req.query.q === 'string' ? req.query.q.trim() : '';
    if (query.length > 200) throw new HttpError(400, 'Search for at most 200 characters.');
    await sendList(req, res, async () => {
      const { hits, lexemes } = query ? await pages.search(query) : { hits: [], lexemes: [] };
      const snippetOf = snippetsFor(lexemes);
      return {
        title: query ? `Search: ${query}` : 'Search',
        query,
        rows: listRows.search(
          req.app,
          hits.map(({ excerpt, ...hit }) => ({ ...hit, snippet: snippetOf(excerpt) })),
        ),
        empty: query ? `No page matches “${query}”.` : 'Type words to search for in the box above.',
      };
    });
  }

  /** A list (pages, recent changes, search): rendered once per URL for every anonymous reader (app/pages/anonymous-lists.ts). */
  async function sendList(req: Request, res: Response, localsOf: () => Promise<object>) {
    const shared = !currentUser(req) && !readOptions(req).fromWriter;
    if (!shared) {
      const locals = await localsOf();
      cacheIfAnonymous(req, res);
      return res.render('list', locals);
    }
    let rendering = anonymousLists.get(req.originalUrl);
    if (rendering === undefined) {
      rendering = await renderShared(res, 'list', await localsOf());
      anonymousLists.offer(req.originalUrl, rendering);
    }
    cacheIfAnonymous(req, res);
    sendShared(res, rendering);
  }
}

/** The editor as the person left it, to show again whenever a save is refused. */
function draftOf(req: Request) {
  const slug = String(req.params.slug);
  const field = (name: string) => (typeof req.body?.[name] === 'string' ? (req.body[name] as string) : '');
  // A NUL cannot be saved (nor shown in a form): mark where it was, so the person can find it.
  const shown = (text: string) => text.replaceAll('\u0000', '\uFFFD');
  return {
    title: titleFromSlug(slug),
    slug,
    body: shown(field('body')),
    summary: shown(field('summary')),
    baseRevision: field('baseRevision'),
    bodyLimit: pageRules.bodyMaxChars,
  };
}

/** Whatever refuses a save (expired form, ended session), the editor comes back with the person's text in it. */
const handBackDraft: ErrorRequestHandler = (error, req, res, next) => {
  const { status, message } = currentUser(req) ? describeError(error) : { status: 401, message: sessionEnded };
  if (status >= 500 || !isValidSlug(String(req.params.slug))) return next(error);
  // A post without a valid token may be another site's, text and all: handing it back with a
  // fresh token would make one click on Save store it under this person's name. The text comes
  // back in a form that cannot save it, so the person reloads the editor to save what is theirs.
  if (status === 403)
    return res.status(403).render('edit', { ...draftOf(req), tokenless: true, errors: [csrfRefusal(String(req.params.slug))] });
  res.status(status).render('edit', { ...draftOf(req), errors: [message] });
};

function csrfRefusal(slug: string): string {
  return `This form expired or did not come from this site, so nothing was saved. If the text below is yours, copy it, open /wiki/${slug}/edit again, paste it there and save.`;
}
