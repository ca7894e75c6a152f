import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ReadOptions } from '../pages/repository';
import { parseRevision } from '../contracts';
import { cookieNameFor } from './cookie-names';
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
// reads go to the writer, past the page caches, so they see their own edit. A cookie carries the
// hint (no session write), and only the server can make one: it is an HMAC of the session id and
// the moment it lapses, so a client cannot set it for itself (reads to the writer, kept renderings
// evicted) and a copied one dies with its session or after those seconds. Anonymous visitors
// cannot save, so they never have one.
const recentWriteCookie = 'cloudwiki.rw';
const readYourWritesMs = 5_000;

interface RecentWriteHint {
  fromWriter: boolean;
  mark(): void;
}

/** Reads the hint once per request and lets a save set a new one (markRecentWrite). */
export function recentWriteHint(secret: string, now: () => number = () => Date.now()): RequestHandler {
  const signatureOf = (sessionId: string, until: number) =>
    createHmac('sha256', secret).update(`cloudwiki rw\0${sessionId}\0${until}`).digest('base64url');
  const isValid = (req: Request): boolean => {
    const sent: unknown = req.cookies?.[cookieNameFor(recentWriteCookie, req)];
    const match = typeof sent === 'string' ? /^(\d{13,15})\.([\w-]{43})$/.exec(sent) : null;
    if (!match || !currentUser(req)) return false;
    const until = Number(match[1]);
    if (until <= now() || until > now() + readYourWritesMs) return false;
    const expected = Buffer.from(signatureOf(req.sessionID, until));
    return timingSafeEqual(expected, Buffer.from(match[2]!));
  };
  return (req, res, next) => {
    const hint: RecentWriteHint = {
      fromWriter: isValid(req),
      mark() {
        if (!currentUser(req)) return;
        const until = now() + readYourWritesMs;
        res.cookie(cookieNameFor(recentWriteCookie, req), `${until}.${signatureOf(req.sessionID, until)}`, {
          maxAge: readYourWritesMs,
          httpOnly: true,
          sameSite: 'lax',
          secure: req.secure,
          path: '/',
        });
      },
    };
    res.locals.recentWrite = hint;
    next();
  };
}

export function markRecentWrite(res: Response): void {
  (res.locals.recentWrite as RecentWriteHint | undefined)?.mark();
}

export function readOptions(req: Request): ReadOptions {
  return { fromWriter: (req.res?.locals.recentWrite as RecentWriteHint | undefined)?.fromWriter === true };
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
