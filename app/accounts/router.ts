import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { sessionCookieName } from '../contracts';
import type { UserRepository } from './repository';
import { describeError, errorHeaders } from '../http/http-error';
import { isCommonPassword, type HashRequest, type PasswordHashing } from './passwords';
import { clientAddress } from '../http/limits';
import { clientGoneSignal, currentUser } from '../http/request-context';
import { HttpError } from '../http/http-error';
import type { Sessions } from '../sessions/sessions';
import { cookieNameFor } from '../http/cookie-names';

const credentials = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{3,32}$/, 'Usernames are 3–32 letters, digits, _ or -.'),
  password: z.string().min(8, 'Passwords have at least 8 characters.').max(200, 'Passwords have at most 200 characters.'),
});

// Only new passwords are held to the list: an existing account still logs in.
const newAccount = credentials.extend({
  password: credentials.shape.password.refine(
    (password) => !isCommonPassword(password),
    'That password is one of the most common ones, which attackers try first. Choose another: a few unrelated words work well.',
  ),
});

// Only a local path: an absolute URL here would make the login page an open redirect.
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/wiki/Home';
}

export interface AuthRouterDeps {
  users: UserRepository;
  /** Log-in under a new id, and ending all of a user's sessions (app/sessions/sessions.ts). */
  sessions: Pick<Sessions, 'logIn' | 'endAll'>;
  /** The password hashing queue, sized in app/compose.ts. */
  passwords: PasswordHashing;
  requireCsrf: RequestHandler;
  /** Failed log-ins per address, across all accounts (app/http/limits.ts). */
  limitLoginFailuresPerAddress: RequestHandler;
  /** Failed log-ins per address and account (app/http/limits.ts). */
  limitLoginFailures: RequestHandler;
  /** Sign-up attempts per address (app/http/limits.ts). */
  limitSignups: RequestHandler;
}

export function createAuthRouter({
  users,
  sessions,
  passwords,
  requireCsrf,
  limitLoginFailuresPerAddress,
  limitLoginFailures,
  limitSignups,
}: AuthRouterDeps): Router {
  const router = Router();

  router.get('/signup', (req, res) => res.render('account', accountView(req, '/signup')));
  router.post('/signup', requireCsrf, oneCheckAtATime, limitSignups, signUp, showFormAgain('/signup'));
  router.get('/login', (req, res) => res.render('account', accountView(req, '/login')));
  // Both limits before any hashing: a spray of made-up names from one address stops at the first.
  router.post('/login', requireCsrf, oneCheckAtATime, limitLoginFailuresPerAddress, limitLoginFailures, logIn, showFormAgain('/login'));
  router.post('/logout', requireCsrf, logOut);
  router.post('/logout-everywhere', requireCsrf, logOutEverywhere);
  router.get('/account/password', requireUser, (req, res) => res.render('password', passwordView()));
  router.post('/account/password', requireUser, requireCsrf, changePassword, showPasswordFormAgain);

  return router;

  function oneCheckAtATime(req: Request, _res: Response, next: () => void) {
    passwords.refuseWhileChecking(clientAddress(req));
    next();
  }

  async function signUp(req: Request, res: Response) {
    const form = newAccount.safeParse(req.body ?? {});
    if (!form.success)
      return res.status(400).render(
        'account',
        accountView(
          req,
          '/signup',
          form.error.issues.map((i) => i.message),
        ),
      );
    const taken = `The username “${form.data.username}” is taken. Choose another.`;
    // Checked before hashing, so probing names costs us a query rather than a 32 MiB hash; the
    // insert below still decides a race between two sign-ups for one name.
    if (await users.isTaken(form.data.username)) return res.status(409).render('account', accountView(req, '/signup', [taken]));
    const user = await users.create(form.data.username, await passwords.hash(form.data.password, hashRequest(req, res)));
    if (!user) return res.status(409).render('account', accountView(req, '/signup', [taken]));
    await sessions.logIn(req, user);
    res.redirect(303, safeNext(req.body.next));
  }

  async function logIn(req: Request, res: Response) {
    const form = credentials.safeParse(req.body ?? {});
    const user = form.success ? await users.findByUsername(form.data.username) : null;
    // Same answer, and the same hashing cost, for an unknown name and a wrong password, so the
    // form cannot be used to find out which accounts exist.
    const forClient = hashRequest(req, res);
    const matches =
      form.success &&
      (user
        ? await passwords.verify(form.data.password, user.passwordHash, forClient)
        : await passwords.hash(form.data.password, forClient).then(() => false));
    if (!form.success || !user || !matches) {
      return res.status(401).render('account', accountView(req, '/login', ['That username and password do not match an account.']));
    }
    await sessions.logIn(req, user);
    res.redirect(303, safeNext(req.body.next));
  }

  async function logOut(req: Request, res: Response) {
    if (req.session) await promisify((done) => req.session.destroy(done));
    res.clearCookie(cookieNameFor(sessionCookieName, req), { path: '/' });
    res.redirect(303, '/wiki/Home');
  }

  /** Ends every session of this person, on every device and instance, this one included. */
  async function logOutEverywhere(req: Request, res: Response) {
    const user = currentUser(req);
    if (user) await sessions.endAll(user.id);
    if (req.session) await promisify((done) => req.session.destroy(done));
    res.clearCookie(cookieNameFor(sessionCookieName, req), { path: '/' });
    res.redirect(303, '/wiki/Home');
  }

  /**
   * A new password ends every other session of the person (a thief logged in elsewhere is out),
   * and this one continues under a new id.
   */
  async function changePassword(req: Request, res: Response) {
    const user = currentUser(req)!;
    const form = passwordChange.safeParse(req.body ?? {});
    if (!form.success) return res.status(400).render('password', passwordView(form.error.issues.map((issue) => issue.message)));
    const record = await users.findById(user.id);
    const forClient = hashRequest(req, res);
    if (!record || !(await passwords.verify(form.data.currentPassword, record.passwordHash, forClient)))
      return res.status(401).render('password', passwordView(['That is not your current password.']));
    await users.setPasswordHash(user.id, await passwords.hash(form.data.newPassword, forClient));
    await sessions.endAll(user.id);
    await sessions.logIn(req, { id: user.id, username: user.username });
    res.redirect(303, '/wiki/Home');
  }
}

const passwordChange = z.object({
  currentPassword: z.string().min(1, 'Type your current password.').max(200, 'Passwords have at most 200 characters.'),
  newPassword: newAccount.shape.password,
});

function passwordView(errors: string[] = []) {
  return { title: 'Change your password', errors };
}

function requireUser(req: Request, _res: Response, next: (error?: unknown) => void) {
  next(currentUser(req) ? undefined : new HttpError(401, 'Log in first, then change your password.'));
}

/** A refused change (expired form, too many at once) comes back with the reason; passwords are never echoed. */
const showPasswordFormAgain: ErrorRequestHandler = (error, _req, res, next) => {
  const { status, message } = describeError(error);
  if (status >= 500 && status !== 503) return next(error);
  res
    .status(status)
    .set(errorHeaders(error))
    .render('password', passwordView([message]));
};

/** A refused form (expired token, too many attempts) comes back with the reason and the username kept. */
function showFormAgain(action: '/login' | '/signup'): ErrorRequestHandler {
  return (error, req, res, next) => {
    const { status, message } = describeError(error);
    // A full hashing queue (503) says to retry soon: the form comes back, with the username.
    if (status >= 500 && status !== 503) return next(error);
    res
      .status(status)
      .set(errorHeaders(error))
      .render('account', accountView(req, action, [message]));
  };
}

function accountView(req: Request, action: '/login' | '/signup', errors: string[] = []) {
  return {
    title: action === '/login' ? 'Log in' : 'Sign up',
    action,
    errors,
    username: typeof req.body?.username === 'string' ? req.body.username : '',
    next: safeNext(req.body?.next ?? req.query.next),
  };
}

/** A hash is skipped if its client has gone, and counted against the client's address. */
function hashRequest(req: Request, res: Response): HashRequest {
  return { signal: clientGoneSignal(res), client: clientAddress(req) };
}

function promisify(operation: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => operation((error) => (error ? reject(error) : resolve())));
}
