import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { LRUCache } from 'lru-cache';
import { csrfField, csrfHeader } from '../contracts';
import { HttpError } from './http-error';
import { cookieNameFor } from './cookie-names';
import { currentUser } from './request-context';

// CSRF tokens, checked per route (each router's table names `requireCsrf` on its state-changing
// routes, after parsing the body when the token travels in a multipart body).
//
// A token is an HMAC of who the request comes from, so it is the same on every page a person
// sees and costs no storage and no Set-Cookie per page view (CloudFront caches only responses
// without one):
// - logged in: the session id, which changes at every login (the session is regenerated), so a
//   token dies with its session;
// - anonymous (the sign-up and log-in forms only): a random visitor id in a cookie, set the first
//   time such a form is shown and reused after that. Anonymous page views never need a token.
//   The id is signed, so a value someone chose and planted in a victim's browser (to fetch its
//   token and log the victim in to the attacker's account) is refused; over HTTPS the cookie is
//   __Host- prefixed, so it cannot be planted from a sibling subdomain at all.

const anonymousCookie = 'cloudwiki.csrf';
const refusal = 'This form has expired or did not come from this site. Go back, reload the page and try again.';

export interface CsrfGuard {
  /** The token for this request's forms; sets the anonymous visitor cookie if it is missing. */
  tokenFor(req: Request, res: Response): string;
  /** Refuses (403) a request whose `_csrf` field or X-CSRF-Token header does not match. */
  requireCsrf: RequestHandler;
}

export function createCsrfGuard(secret: string): CsrfGuard {
  // A person's token is the same on every page, so it is computed once and remembered: every
  // logged-in page view carries one (the logout form).
  const tokens = new LRUCache<string, string>({
    max: 10_000,
    memoMethod: (identity) => createHmac('sha256', secret).update(`cloudwiki csrf\0${identity}`).digest('base64url'),
  });
  const sign = (identity: string): string => tokens.memo(identity);

  const visitorSignature = (visitor: string) => createHmac('sha256', secret).update(`cloudwiki visitor\0${visitor}`).digest('base64url');

  function identityOf(req: Request): string | undefined {
    if (currentUser(req)) return `session\0${req.sessionID}`;
    const sent: unknown = req.cookies?.[cookieNameFor(anonymousCookie, req)];
    const match = typeof sent === 'string' ? /^([\w-]{32,64})\.([\w-]{43})$/.exec(sent) : null;
    if (!match) return undefined;
    const [, visitor = '', signature = ''] = match;
    return timingSafeEqual(Buffer.from(signature), Buffer.from(visitorSignature(visitor))) ? `visitor\0${visitor}` : undefined;
  }

  function isValid(req: Request): boolean {
    const identity = identityOf(req);
    const sent: unknown = req.body?.[csrfField] ?? req.get(csrfHeader);
    if (!identity || typeof sent !== 'string') return false;
    const expected = Buffer.from(sign(identity));
    const actual = Buffer.from(sent);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  return {
    tokenFor(req, res) {
      const identity = identityOf(req);
      if (identity) return sign(identity);
      const visitor = randomBytes(32).toString('base64url');
      const value = `${visitor}.${visitorSignature(visitor)}`;
      // Secure whenever the request came in over HTTPS (CloudFront/ALB and trust proxy decide).
      const name = cookieNameFor(anonymousCookie, req);
      res.cookie(name, value, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
      req.cookies = { ...req.cookies, [name]: value };
      return sign(`visitor\0${visitor}`);
    },

    requireCsrf(req, _res, next) {
      next(isValid(req) ? undefined : new HttpError(403, refusal));
    },
  };
}
