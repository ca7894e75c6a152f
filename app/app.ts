import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Assets } from './assets';
import { DatabaseUnavailableError } from './data/db';
import type { PageRepository } from './data/pages';
import type { UploadRepository } from './data/uploads';
import type { UserRepository } from './data/users';
import { HttpError } from './http-error';
import { servedByLabel, type InstanceIdentity } from './instance';
import { configureViews } from './render';
import { currentUser } from './request-context';
import { createApiRouter } from './routes/api';
import { createAuthRouter } from './routes/auth';
import { createDeepHealthRouter, createShallowHealthRouter, type DependencyCheck } from './routes/health';
import { createPagesRouter } from './routes/pages';
import { createUploadsRouter } from './routes/uploads';
import type { Sessions } from './sessions';

export interface AppDeps {
  pages: PageRepository;
  users: UserRepository;
  uploads: UploadRepository;
  sessions: Sessions;
  assets: Assets;
  identity: InstanceIdentity;
  version: string;
  /** Signs CSRF tokens; the session secret is fine to reuse for this. */
  secret: string;
  /** Express "trust proxy": how many proxies (ALB, CloudFront) stand in front. */
  trustProxy: boolean | number | string;
  checks: Record<string, DependencyCheck>;
  isDraining: () => boolean;
  logger: Logger;
  loginAttemptsPerWindow?: number;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  configureViews(app, deps.assets);

  const servedBy = servedByLabel(deps.identity);
  app.use((_req, res, next) => {
    res.set('X-Served-By', servedBy);
    // While draining, tell keep-alive clients (the ALB, HAProxy) to reconnect elsewhere.
    if (deps.isDraining()) res.set('Connection', 'close');
    res.locals.servedBy = servedBy;
    res.locals.version = deps.version;
    next();
  });
  app.use(securityHeaders(deps.assets.origins()));

  // Before sessions: health checks and static files never cost a session store read.
  const health = { identity: deps.identity, version: deps.version, isDraining: deps.isDraining, checks: deps.checks, logger: deps.logger };
  app.use(createShallowHealthRouter(health));
  app.use(createDeepHealthRouter(health));
  app.use('/static/:name', serveStaticAsset(deps.assets));

  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false, limit: '300kb', parameterLimit: 20 }));
  app.use('/api', express.json({ limit: '300kb' }));
  app.use(deps.sessions.middleware);

  const csrf = doubleCsrf({
    getSecret: () => deps.secret,
    // Tokens are bound to the session once there is one; anonymous forms (log in, sign up) share
    // one identity, which still stops cross-site posts because the cookie is SameSite and HttpOnly.
    getSessionIdentifier: (req) => (currentUser(req) ? req.sessionID : 'anonymous'),
    cookieName: 'cloudwiki.csrf',
    cookieOptions: { sameSite: 'lax', httpOnly: true, path: '/', secure: false }, // secure is set per request below
    getCsrfTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : req.get('x-csrf-token')),
    // JSON API requests are protected by requiring application/json (see routes/api.ts).
    // Uploads (whose token is inside the multipart body) and page saves (which must hand the
    // person's text back when the token has expired) check the token in their own handlers.
    skipCsrfProtection: (req) => req.path.startsWith('/api/') || Boolean(req.is('multipart/form-data')) || isPageSave(req),
    errorConfig: {
      statusCode: 403,
      message: 'This form has expired or did not come from this site. Go back, reload the page and try again.',
    },
  });
  app.use((req, res, next) => {
    res.locals.user = currentUser(req);
    // One token per response (a page may hold several forms, and each new token would replace
    // the cookie); Secure whenever the request came in over HTTPS (CloudFront/ALB, trust proxy).
    let token: string | undefined;
    res.locals.csrfToken = () =>
      (token ??= csrf.generateCsrfToken(req, res, { cookieOptions: { sameSite: 'lax', httpOnly: true, path: '/', secure: req.secure } }));
    res.set('Cache-Control', 'private, no-store');
    res.vary('Cookie');
    next();
  });
  app.use(csrf.doubleCsrfProtection);

  app.use(createApiRouter({ pages: deps.pages }));
  app.use(createAuthRouter({ users: deps.users, loginAttemptsPerWindow: deps.loginAttemptsPerWindow }));
  app.use(createPagesRouter({ pages: deps.pages, uploads: deps.uploads, isCsrfValid: csrf.validateRequest }));
  app.use(
    createUploadsRouter({
      uploads: deps.uploads,
      assets: deps.assets,
      csrfProtection: (req, _res, next) => (csrf.validateRequest(req) ? next() : next(csrf.invalidCsrfTokenError)),
    }),
  );

  app.use((req, _res, next) => next(new HttpError(404, `Nothing lives at ${req.path.slice(0, 200)}.`)));
  app.use(errorHandler(deps.logger));
  return app;
}

function isPageSave(req: Request): boolean {
  return req.method === 'POST' && /^\/wiki\/[^/]+$/.test(req.path);
}

function securityHeaders(extraOrigins: string[]): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...extraOrigins],
        styleSrc: ["'self'", ...extraOrigins],
        imgSrc: ["'self'", 'data:', ...extraOrigins],
        fontSrc: ["'self'", ...extraOrigins],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
      },
    },
    // Same-origin only: the static backup site and uploads are served from elsewhere.
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
}

function serveStaticAsset(assets: Assets): RequestHandler {
  return (req, res, next) => {
    const asset = assets.resolveHashedName(String(req.params.name));
    if (!asset) return next();
    // The name carries the content hash, so the bytes behind it never change.
    res.sendFile(asset.file, { headers: { 'Content-Type': asset.contentType, 'Cache-Control': 'public, max-age=31536000, immutable' } });
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const status = statusOf(error);
    const message = publicMessage(error, status);
    if (status >= 500) logger.error({ err: error, method: req.method, url: req.originalUrl, status }, 'request failed');
    else logger.debug({ method: req.method, url: req.originalUrl, status, msg: message }, 'request refused');
    if (res.headersSent) return res.destroy();
    res.status(status).set('Cache-Control', 'no-store');
    if (wantsJson(req)) return res.json({ error: message });
    res.render('error', { title: titleFor(status), message, user: res.locals.user ?? null }, (renderError, html) => {
      if (renderError) return res.type('text').send(message);
      res.send(html);
    });
  };
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof DatabaseUnavailableError) return 503;
  const status = (error as { status?: unknown; statusCode?: unknown })?.status ?? (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  // A session store that cannot be reached (DynamoDB down): the page can't know who you are.
  if ((error as { $metadata?: unknown })?.$metadata || (error as Error)?.name === 'TimeoutError') return 503;
  return 500;
}

function publicMessage(error: unknown, status: number): string {
  if (error instanceof HttpError || error instanceof DatabaseUnavailableError || status < 500) return (error as Error).message;
  if (status === 503) return 'The session store is unavailable right now, so we cannot tell who you are. Try again in a few seconds.';
  return 'Something went wrong on our side. It has been logged; try again in a moment.';
}

function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path.startsWith('/health');
}

function titleFor(status: number): string {
  const titles: Record<number, string> = {
    400: 'That request was not understood',
    401: 'Log in first',
    403: 'Not allowed',
    404: 'Not found',
    409: 'Conflict',
    413: 'Too large',
    415: 'Unsupported type',
    429: 'Slow down',
    503: 'Temporarily unavailable',
  };
  return titles[status] ?? 'Something went wrong';
}
