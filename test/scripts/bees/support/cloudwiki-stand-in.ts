import express from 'express';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { csrfField, formTokenPath, sessionCookieName, whoAmIPath } from '../../../../app/contracts';

// A loopback server that speaks exactly the account part of cloudwiki's contract (app/contracts.ts):
// GET /api/form-token answers a CSRF token as JSON and sets a CSRF cookie; POST /signup and /login
// take urlencoded username, password and the token with that cookie and answer 303 with the
// session cookie; GET /api/me says who the session is. Pages answer whoever the session says is logged in.

const usernamePattern = /^[A-Za-z0-9_-]{3,32}$/;

export interface StandIn {
  url: string;
  /** Every username that signed up, in order. */
  signups: string[];
  /** Requests to /wiki/* per logged-in username, and how many came without a valid session. */
  pageViewsByUser: Map<string, number>;
  anonymousPageViews: number;
  sessionIdsSeen: Set<string>;
  close: () => Promise<void>;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** `dropSessions`: answer a login with 303 and a cookie but keep no session (a store that lost it). */
export async function startCloudwikiStandIn(options: { dropSessions?: boolean } = {}): Promise<StandIn> {
  const app = express();
  const passwords = new Map<string, string>();
  const sessions = new Map<string, string>();
  const state = {
    signups: [] as string[],
    pageViewsByUser: new Map<string, number>(),
    anonymousPageViews: 0,
    sessionIdsSeen: new Set<string>(),
  };

  app.use(express.urlencoded({ extended: false }));
  app.get(formTokenPath, (_request, response) => {
    const token = randomBytes(12).toString('hex');
    response.cookie('cw.csrf', token, { httpOnly: true, sameSite: 'strict' }).json({ csrfToken: token });
  });
  for (const form of ['signup', 'login'] as const) {
    app.post(`/${form}`, (request, response) => {
      const { username = '', password = '', [csrfField]: token } = request.body as Record<string, string>;
      if (!token || token !== readCookie(request.headers.cookie, 'cw.csrf')) {
        response.status(403).send('bad CSRF token');
        return;
      }
      if (form === 'signup') {
        if (!usernamePattern.test(username) || password.length < 8 || passwords.has(username)) {
          response.status(400).send('invalid signup');
          return;
        }
        passwords.set(username, password);
        state.signups.push(username);
      } else if (passwords.get(username) !== password) {
        response.status(401).send('wrong username or password');
        return;
      }
      const sessionId = randomBytes(16).toString('hex');
      if (!options.dropSessions) sessions.set(sessionId, username);
      response.cookie(sessionCookieName, sessionId, { httpOnly: true }).redirect(303, '/wiki/Home');
    });
  }
  app.get(whoAmIPath, (request, response) => {
    const username = sessions.get(readCookie(request.headers.cookie, sessionCookieName) ?? '');
    response.json({ user: username ? { username } : null });
  });
  app.get('/wiki/:slug', (request, response) => {
    const sessionId = readCookie(request.headers.cookie, sessionCookieName);
    const username = sessionId ? sessions.get(sessionId) : undefined;
    if (username && sessionId) {
      state.sessionIdsSeen.add(sessionId);
      state.pageViewsByUser.set(username, (state.pageViewsByUser.get(username) ?? 0) + 1);
    } else {
      state.anonymousPageViews++;
    }
    response.send(`<h1>${request.params.slug}</h1><footer>${username ?? 'anonymous'}</footer>`);
  });

  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  });
}
