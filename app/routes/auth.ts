import { Router, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { sessionCookieName } from '../contracts';
import type { UserRepository } from '../data/users';
import { hashPassword, verifyPassword } from '../passwords';

const credentials = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{3,32}$/, 'Usernames are 3–32 letters, digits, _ or -.'),
  password: z.string().min(8, 'Passwords have at least 8 characters.').max(200, 'Passwords have at most 200 characters.'),
});

// Only a local path: an absolute URL here would make the login page an open redirect.
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/wiki/Home';
}

export interface AuthRouterDeps {
  users: UserRepository;
  /** Failed logins allowed per client address and username in the window. */
  loginAttemptsPerWindow?: number;
}

export function createAuthRouter({ users, loginAttemptsPerWindow = 10 }: AuthRouterDeps): Router {
  const router = Router();
  // Counted per address *and* username, failures only: guessing one account's password is slow,
  // and many people behind one NAT (or one load-test machine) can still log in. The counters live
  // in each instance's memory, so the effective limit is N instances × this; see
  // docs/migrating-stateful-apps.md for why that soft state is acceptable here.
  const loginLimiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: loginAttemptsPerWindow,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')}|${String(req.body?.username ?? '').toLowerCase()}`,
    handler: (req, res) =>
      res.status(429).render('account', accountView(req, '/login', ['Too many failed attempts. Wait 15 minutes, then try again.'])),
  });

  router.get('/signup', (req, res) => res.render('account', accountView(req, '/signup')));
  router.post('/signup', signUp);
  router.get('/login', (req, res) => res.render('account', accountView(req, '/login')));
  router.post('/login', loginLimiter, logIn);
  router.post('/logout', logOut);

  return router;

  async function signUp(req: Request, res: Response) {
    const form = credentials.safeParse(req.body ?? {});
    if (!form.success)
      return res.status(400).render(
        'account',
        accountView(
          req,
          '/signup',
          form.error.issues.map((i) => i.message),
        ),
      );
    const user = await users.create(form.data.username, await hashPassword(form.data.password));
    if (!user)
      return res
        .status(409)
        .render('account', accountView(req, '/signup', [`The username “${form.data.username}” is taken. Choose another.`]));
    await startSession(req, user);
    res.redirect(303, safeNext(req.body.next));
  }

  async function logIn(req: Request, res: Response) {
    const form = credentials.safeParse(req.body ?? {});
    const user = form.success ? await users.findByUsername(form.data.username) : null;
    // Same answer, and the same hashing cost, for an unknown name and a wrong password, so the
    // form cannot be used to find out which accounts exist.
    const matches =
      form.success &&
      (user ? await verifyPassword(form.data.password, user.passwordHash) : await hashPassword(form.data.password).then(() => false));
    if (!form.success || !user || !matches) {
      return res.status(401).render('account', accountView(req, '/login', ['That username and password do not match an account.']));
    }
    await startSession(req, user);
    res.redirect(303, safeNext(req.body.next));
  }

  async function logOut(req: Request, res: Response) {
    if (req.session) await promisify((done) => req.session.destroy(done));
    res.clearCookie(sessionCookieName);
    res.redirect(303, '/wiki/Home');
  }
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

/** A new session id on every login defeats session fixation. */
async function startSession(req: Request, user: { id: string; username: string }) {
  await promisify((done) => req.session.regenerate(done));
  req.session.userId = user.id;
  req.session.username = user.username;
  await promisify((done) => req.session.save(done));
}

function promisify(operation: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => operation((error) => (error ? reject(error) : resolve())));
}
