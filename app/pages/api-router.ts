import { Router, type Request, type Response } from 'express';
import {
  apiPagesPath,
  formTokenPath,
  sessionCookieName,
  whoAmIPath,
  type FormTokenResponse,
  type PageListResponse,
  type PageResponse,
  type SaveConflictResponse,
  type SavedPageResponse,
  type WhoAmIResponse,
} from '../contracts';
import type { PageRepository } from './repository';
import { HttpError } from '../http/http-error';
import { afterSlugParam, currentUser, markRecentWrite, readOptions, slugParam } from '../http/request-context';
import { pageEditJson } from './page-edit';
import { titleFromSlug } from './slug';

export function createApiRouter({ pages }: { pages: PageRepository }): Router {
  const router = Router();

  router.get(whoAmIPath, whoAmI);
  router.get(formTokenPath, formToken);
  router.get(apiPagesPath, listPages);
  router.get(`${apiPagesPath}/:slug`, getPage);
  router.put(`${apiPagesPath}/:slug`, requireJson, savePage);

  return router;

  // For tools (the game day, bees): whether this request's session is logged in, without parsing
  // HTML. Answering it costs what any page view costs: one session read, no write.
  function whoAmI(req: Request, res: Response) {
    const user = currentUser(req);
    res.json({ user: user ? { username: user.username } : null } satisfies WhoAmIResponse);
  }

  // For tools that post a form (log in, sign up): the token a page would carry, without the page.
  function formToken(_req: Request, res: Response) {
    res.json({ csrfToken: res.locals.csrfToken() } satisfies FormTokenResponse);
  }

  // A slice at a time, like /pages: `next` is the `after` of the following slice (null at the end).
  async function listPages(req: Request, res: Response) {
    const { items, next } = await pages.listSlice(afterSlugParam(req));
    const slice: PageListResponse = { pages: items.map((item) => ({ ...item, updatedAt: item.updatedAt.toISOString() })), next };
    res.json(slice);
  }

  async function getPage(req: Request, res: Response) {
    const page = await pages.findBySlug(slugParam(req), readOptions(req));
    if (!page) throw new HttpError(404, 'No such page.');
    res.json({
      slug: page.slug,
      title: page.title,
      body: page.body,
      revision: page.revision,
      updatedAt: page.updatedAt.toISOString(),
    } satisfies PageResponse);
  }

  async function savePage(req: Request, res: Response) {
    const slug = slugParam(req);
    const user = currentUser(req);
    if (!user) throw new HttpError(401, `Log in first: send the ${sessionCookieName} cookie from POST /login.`);
    const input = pageEditJson.safeParse(req.body);
    if (!input.success)
      throw new HttpError(400, input.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
    const result = await pages.saveRevision({ slug, title: titleFromSlug(slug), ...input.data, authorId: user.id });
    if (!result.saved) {
      return res.status(409).json({
        error: result.current
          ? `The page is at revision ${result.current.revision}, not ${input.data.baseRevision}.`
          : 'The page does not exist: send baseRevision null to create it.',
        currentRevision: result.current?.revision ?? null,
      } satisfies SaveConflictResponse);
    }
    markRecentWrite(res);
    res.status(result.created ? 201 : 200).json({ slug, revision: result.revision } satisfies SavedPageResponse);
  }
}

// The JSON content type is the API's CSRF defence: a cross-site form cannot send it, and without
// CORS a cross-site script cannot either.
function requireJson(req: Request, _res: Response, next: () => void) {
  if (!req.is('application/json')) throw new HttpError(415, 'Send the page as JSON with Content-Type: application/json.');
  next();
}
