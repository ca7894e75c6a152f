import cookieParser from 'cookie-parser';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Assets } from './platform/assets';
import { healthPath, pageRules, servedByHeader } from './contracts';
import { createCsrfGuard } from './http/csrf';
import type { PageRepository } from './pages/repository';
import type { UploadRepository } from './uploads/repository';
import type { UserRepository } from './accounts/repository';
import type { PasswordHashing } from './accounts/passwords';
import { describeError, errorHeaders, HttpError } from './http/http-error';
import { servedByLabel, type InstanceIdentity } from './platform/instance';
import type { Limits } from './http/limits';
import { configureViews } from './http/render';
import { currentUser, recentWriteHint } from './http/request-context';
import { createApiRouter } from './pages/api-router';
import { createAuthRouter } from './accounts/router';
import type { DeepHealthMonitor } from './health/monitor';
import { createDeepHealthRouter, createShallowHealthRouter } from './health/router';
import type { PageCaches } from './pages/caches';
import { createPagesRouter } from './pages/router';
import { createUploadsRouter } from './uploads/router';
import type { Sessions } from './sessions/sessions';

export interface AppDeps {
  pages: PageRepository;
  pageCaches: PageCaches;
  users: UserRepository;
  passwords: PasswordHashing;
  uploads: UploadRepository;
  /** Bytes one user may have attached in all (0: no quota). */
  uploadQuotaBytesPerUser: number;
  sessions: Sessions;
  assets: Assets;
  identity: InstanceIdentity;
  version: string;
  /** Signs CSRF tokens; the session secret is fine to reuse for this. */
  secret: string;
  /** Express "trust proxy": how many proxies (ALB, CloudFront) stand in front. */
  trustProxy: boolean | number | string;
  /** /health/deep's answer, computed in the background; stopped when the process drains. */
  deepHealth: DeepHealthMonitor;
  isDraining: () => boolean;
  logger: Logger;
  limits: Limits;
}

// The longest text a page may have must reach the route's validation, which answers with the
// editor and the person's text, rather than die in the body parser with a bare 413. Form-encoded,
// one character of it takes up to 9 bytes (語 is %E8%AA%9E); in JSON up to 6 (\uXXXX).
const savedChars = pageRules.bodyMaxChars + pageRules.summaryMaxChars;
const largestSave = { formBytes: savedChars * 9 + 16_384, jsonBytes: savedChars * 6 + 16_384 };

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  configureViews(app, deps.assets);

  const servedBy = servedByLabel(deps.identity);
  app.use((_req, res, next) => {
    res.set(servedByHeader, servedBy);
    // While draining, tell keep-alive clients (the ALB, HAProxy) to reconnect elsewhere. While the
    // site cannot serve page views, tell browsers too: Route 53 is moving the name to the backup,
    // and a browser only looks the name up again when it opens a new connection. (Not while the
    // first round of checks runs: that is no evidence of anything.)
    if (deps.isDraining() || cannotServeReaders(deps.deepHealth)) res.set('Connection', 'close');
    res.locals.servedBy = servedBy;
    res.locals.version = deps.version;
    next();
  });
  app.use(securityHeaders(deps.assets.staticOrigins(), deps.assets.uploadsOrigins()));

  // Before sessions: health checks and static files never cost a session store read.
  const health = { identity: deps.identity, version: deps.version, isDraining: deps.isDraining, deepHealth: deps.deepHealth };
  app.use(createShallowHealthRouter(health));
  app.use(createDeepHealthRouter(health));
  app.use('/static/:name', serveStaticAsset(deps.assets));

  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false, limit: largestSave.formBytes, parameterLimit: 20 }));
  app.use('/api', express.json({ limit: largestSave.jsonBytes }));
  app.use(deps.sessions.middleware);

  // CSRF is checked per route, in each router's table: no global list decides which posts skip it.
  const csrf = createCsrfGuard(deps.secret);
  app.use((req, res, next) => {
    res.locals.user = currentUser(req);
    // Asked for only by pages with a form, so anonymous page views set no cookie.
    res.locals.csrfToken = () => csrf.tokenFor(req, res);
    res.set('Cache-Control', 'private, no-store');
    res.vary('Cookie');
    next();
  });

  app.use(recentWriteHint(deps.secret));

  const { requireCsrf } = csrf;
  app.use(createApiRouter({ pages: deps.pages }));
  app.use(
    createAuthRouter({
      users: deps.users,
      sessions: deps.sessions,
      passwords: deps.passwords,
      requireCsrf,
      limitLoginFailuresPerAddress: deps.limits.loginFailuresPerAddress,
      limitLoginFailures: deps.limits.loginFailures,
      limitSignups: deps.limits.signups,
    }),
  );
  app.use(
    createPagesRouter({
      pages: deps.pages,
      caches: deps.pageCaches,
      requireCsrf,
      limitAnonymousSearches: deps.limits.anonymousSearches,
    }),
  );
  app.use(
    createUploadsRouter({
      uploads: deps.uploads,
      assets: deps.assets,
      requireCsrf,
      limitUploads: deps.limits.uploads,
      quotaBytesPerUser: deps.uploadQuotaBytesPerUser,
    }),
  );

  app.use((req, _res, next) => next(new HttpError(404, `Nothing lives at ${req.path.slice(0, 200)}.`)));
  app.use(errorHandler(deps.logger));
  return app;
}

function cannotServeReaders(deepHealth: DeepHealthMonitor): boolean {
  const answer = deepHealth.answer();
  return answer.status === 'fail' && answer.reason !== 'starting';
}

/**
 * Scripts, styles and fonts come from this origin or the assets' CloudFront only. Uploads are
 * images to everyone else's browser, so their origin may serve images and nothing more: any user
 * can upload a text file there, and a script-src that allowed it would run it as a script.
 */
function securityHeaders(staticOrigins: string[], uploadsOrigins: string[]): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...staticOrigins],
        styleSrc: ["'self'", ...staticOrigins],
        imgSrc: ["'self'", 'data:', ...staticOrigins, ...uploadsOrigins],
        fontSrc: ["'self'", ...staticOrigins],
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
    const { status, message } = describeError(error);
    if (status >= 500) logger.error({ err: error, method: req.method, url: req.originalUrl, status }, 'request failed');
    else logger.debug({ method: req.method, url: req.originalUrl, status, msg: message }, 'request refused');
    if (res.headersSent) return res.destroy();
    res.status(status).set('Cache-Control', 'no-store').set(errorHeaders(error));
    if (wantsJson(req)) return res.json({ error: message });
    res.render('error', { title: titleFor(status), message, user: res.locals.user ?? null }, (renderError, html) => {
      if (renderError) return res.type('text').send(message);
      res.send(html);
    });
  };
}

function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path.startsWith(healthPath);
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
