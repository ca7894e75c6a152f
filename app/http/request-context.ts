import type { Request, Response } from 'express';
import type { ReadOptions } from '../pages/repository';
import { parseRevision } from '../contracts';
import { HttpError } from './http-error';
import { isValidSlug, slugRules } from '../pages/slug';

export interface CurrentUser {
  id: string;
  username: string;
}

export function currentUser(req: Request): CurrentUser | null {
  const session = req.session;
  return session?.userId && session.username ? { id: session.userId, username: session.username } : null;
}

// A replica can lag the writer by a second or so. For a few seconds after someone saves, their
// reads go to the writer, so they see their own edit. A cookie carries the hint: no session write.
const recentWriteCookie = 'cloudwiki.rw';
const readYourWritesSeconds = 5;

export function markRecentWrite(res: Response): void {
  res.cookie(recentWriteCookie, '1', { maxAge: readYourWritesSeconds * 1000, httpOnly: true, sameSite: 'lax' });
}

export function readOptions(req: Request): ReadOptions {
  return { fromWriter: req.cookies?.[recentWriteCookie] === '1' };
}

/**
 * Aborted when the client goes away before its answer is sent (a closed tab, a spray client that
 * does not wait), so work queued for the request, such as a password hash, can be skipped.
 */
export function clientGoneSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

export function slugParam(req: Request): string {
  const slug = String(req.params.slug ?? '');
  if (!isValidSlug(slug)) throw new HttpError(400, `“${slug.slice(0, 100)}” is not a valid page name. ${slugRules}`);
  return slug;
}

/** The `after` of a page-list slice (the last page of the previous slice), or null for the first. */
export function afterSlugParam(req: Request): string | null {
  const after = req.query.after;
  if (after === undefined) return null;
  if (typeof after !== 'string' || !isValidSlug(after))
    throw new HttpError(400, "“after” must be the name of a page, as in the “Next” link of the list (or the list's “next”).");
  return after;
}

export function revisionParam(value: unknown, name = 'revision'): number {
  const revision = parseRevision(value);
  if (revision === null) throw new HttpError(400, `The ${name} must be a revision number such as 1 or 12.`);
  return revision;
}

// While the origin answers errors (the database or the whole web tier down), CloudFront may keep
// serving a copy it holds for this long: a day covers an outage and its clean-up.
const staleIfErrorSeconds = 86_400;

/** Anonymous reads may be cached by CloudFront briefly; anything personal never is. */
export function cacheIfAnonymous(req: Request, res: Response): void {
  if (!currentUser(req) && !res.getHeader('Set-Cookie'))
    res.set('Cache-Control', `public, max-age=30, s-maxage=60, stale-if-error=${staleIfErrorSeconds}`);
}

/** A stale copy served during an outage: cached only for seconds, so the fresh page returns soon after the database. */
export function cacheStaleIfAnonymous(req: Request, res: Response): void {
  if (!currentUser(req) && !res.getHeader('Set-Cookie'))
    res.set('Cache-Control', `public, max-age=5, s-maxage=5, stale-if-error=${staleIfErrorSeconds}`);
}
