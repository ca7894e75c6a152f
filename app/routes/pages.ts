import { diffLines } from 'diff';
import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { pageRules, parseRevision, uploadRules } from '../contracts';
import type { PageRepository, ReadOptions } from '../data/pages';
import type { UploadRepository } from '../data/uploads';
import { describeError, HttpError } from '../http-error';
import { parseMarkdown, uploadLink } from '../markdown';
import { hasNulByte, nulByteMessage, refuseNulBytesInQuery } from '../nul-bytes';
import {
  cacheIfAnonymous,
  currentUser,
  markRecentWrite,
  readOptions,
  revisionParam,
  slugParam,
  type CurrentUser,
} from '../request-context';
import { isValidSlug, titleFromSlug } from '../slug';

const editForm = z.object({
  body: z
    .string()
    .max(pageRules.bodyMaxChars, `The text is longer than ${pageRules.bodyMaxChars.toLocaleString('en')} characters.`)
    .refine((body) => !hasNulByte(body), nulByteMessage('text')),
  summary: z
    .string()
    .max(pageRules.summaryMaxChars, `The summary is longer than ${pageRules.summaryMaxChars} characters.`)
    .refine((summary) => !hasNulByte(summary), nulByteMessage('summary'))
    .default(''),
  baseRevision: z
    .string()
    .default('')
    .refine((value) => value === '' || parseRevision(value) !== null, 'The base revision must be a revision number.')
    .transform((value) => (value === '' ? null : parseRevision(value))),
});

export interface PagesRouterDeps {
  pages: PageRepository;
  uploads: UploadRepository;
  requireCsrf: RequestHandler;
  /** Anonymous searches per address (app/limits.ts): ranking and snippets cost CPU. */
  limitAnonymousSearches: RequestHandler;
}

const sessionEnded = 'Your session has ended. Log in again in another tab, then save.';

export function createPagesRouter({ pages, uploads, requireCsrf, limitAnonymousSearches }: PagesRouterDeps): Router {
  const router = Router();

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

  async function renderBody(body: string, options: ReadOptions): Promise<string> {
    const parsed = parseMarkdown(body);
    return parsed.render(await pages.existing(parsed.linkedSlugs, options));
  }

  async function showPage(req: Request, res: Response) {
    const slug = slugParam(req);
    const options = readOptions(req);
    const page = await pages.findBySlug(slug, options);
    cacheIfAnonymous(req, res);
    if (!page) return res.status(404).render('missing', { title: titleFromSlug(slug), slug });
    const [html, attachments] = await Promise.all([renderBody(page.body, options), uploads.listForPage(slug, options)]);
    res.render('page', {
      title: page.title,
      page,
      html,
      uploads: attachments.map((upload) => ({ ...upload, markdown: uploadLink(upload) })),
      uploadLimit: uploadRules.maxLabel,
    });
  }

  async function showRevision(req: Request, res: Response) {
    const slug = slugParam(req);
    const options = readOptions(req);
    const [page, revision] = await Promise.all([
      pages.findBySlug(slug, options),
      pages.findRevision(slug, revisionParam(req.params.revision), options),
    ]);
    if (!page || !revision) throw new HttpError(404, `Page “${titleFromSlug(slug)}” has no revision ${req.params.revision}.`);
    cacheIfAnonymous(req, res);
    res.render('page', {
      title: `${page.title} (revision ${revision.revision})`,
      page,
      revision,
      html: await renderBody(revision.body, options),
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
    const form = editForm.safeParse(req.body ?? {});
    const draft = draftOf(req);
    if (!form.success) return res.status(400).render('edit', { ...draft, errors: form.error.issues.map((issue) => issue.message) });
    const { body, summary, baseRevision } = form.data;
    const result = await save(slug, { body, summary, baseRevision }, user);
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
      diff: diffLines(result.current.body, body),
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
    const revisions = await pages.history(slug, readOptions(req));
    if (revisions.length === 0) throw new HttpError(404, `There is no page called “${titleFromSlug(slug)}”.`);
    cacheIfAnonymous(req, res);
    res.render('history', { title: `History of ${titleFromSlug(slug)}`, slug, revisions });
  }

  async function diff(req: Request, res: Response) {
    const slug = slugParam(req);
    const from = revisionParam(req.query.from, '“from” revision');
    const to = revisionParam(req.query.to, '“to” revision');
    const options = readOptions(req);
    const [older, newer] = await Promise.all([pages.findRevision(slug, from, options), pages.findRevision(slug, to, options)]);
    if (!older || !newer) throw new HttpError(404, `Page “${titleFromSlug(slug)}” has no revision ${older ? to : from}.`);
    cacheIfAnonymous(req, res);
    res.render('diff', { title: `Changes to ${titleFromSlug(slug)}`, slug, from, to, diff: diffLines(older.body, newer.body) });
  }

  async function listPages(req: Request, res: Response) {
    const items = await pages.list();
    cacheIfAnonymous(req, res);
    res.render('list', { title: 'All pages', items, empty: 'The wiki has no pages yet.' });
  }

  async function recentChanges(req: Request, res: Response) {
    const items = await pages.recent();
    cacheIfAnonymous(req, res);
    res.render('list', { title: 'Recent changes', items, showRevision: true, empty: 'Nothing has changed yet.' });
  }

  async function search(req: Request, res: Response) {
    const query = typeof req.query.q === 'string' ? req.query.q.trim() : '';
    if (query.length > 200) throw new HttpError(400, 'Search for at most 200 characters.');
    const hits = query ? await pages.search(query) : [];
    cacheIfAnonymous(req, res);
    res.render('list', {
      title: query ? `Search: ${query}` : 'Search',
      query,
      items: hits.map((hit) => ({ ...hit, snippet: highlightSnippet(hit.snippet) })),
      empty: query ? `No page matches “${query}”.` : 'Type words to search for in the box above.',
    });
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
  const reason = status === 403 ? 'This form expired or did not come from this site. Check the text below and save again.' : message;
  res.status(status).render('edit', { ...draftOf(req), errors: [reason] });
};

/** ts_headline marks matches with \u0001…\u0002; escape everything else, then turn those into <mark>. */
function highlightSnippet(snippet: string): string {
  const escaped = snippet.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  return escaped.replace(/\u0001([^\u0001\u0002]*)\u0002/g, '<mark>$1</mark>').replace(/[\u0001\u0002]/g, '');
}
