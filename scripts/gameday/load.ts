import { setTimeout as sleep } from 'node:timers/promises';
import { apiPagesPath, whoAmIPath, type SavedPageResponse, type WhoAmIResponse } from '../../app/contracts';
import { logIn } from '../bees/virtual-users';
import { servedBy, type WikiClient } from '../wiki-client/client';
import { backupServer } from './analysis';
import type { AcknowledgedEdit, Outcome, RequestSample, SessionLoss } from './samples';

interface SteadyLoadOptions {
  wikiUrl: string;
  users: number;
  /** Requests per second for all users together. */
  rate: number;
  /** One request in this many is an edit (PUT /api/pages/:slug); the rest read a page. */
  editEvery: number;
  runId: string;
  /** Milliseconds since the game day's start: every sample is stamped with it. */
  clock: () => number;
  requestTimeoutMs?: number;
}

const password = 'gameday-virtual-user-password';
/** A logged-out user tries to log in again on every this many turns. */
const reLoginEvery = 3;
/** A logged-in user asks the wiki who they are on every this many turns (the others read or edit). */
const sessionCheckEvery = 3;

interface User {
  number: number;
  username: string;
  client?: WikiClient;
  edits: number;
}

/**
 * Logged-in virtual users, each with its own cookie jar, at a steady bounded rate: they read a
 * page, ask the wiki's JSON "who am I" whether they are still logged in, and now and then create
 * a page through the JSON API. Each request is recorded with who answered it (X-Served-By) and
 * how. A user found logged out counts as a lost session and logs in again, so each loss is
 * counted once. A save answered by the backup site is a failed request whatever its status: the
 * copy stores nothing, so a 2xx from it would be a lie to the user.
 */
export class SteadyLoad {
  readonly requests: RequestSample[] = [];
  readonly sessionLosses: SessionLoss[] = [];
  readonly acknowledgedEdits: AcknowledgedEdit[] = [];
  private readonly users: User[];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: SteadyLoadOptions) {
    this.users = Array.from({ length: options.users }, (_, number) => ({
      number,
      username: `gd-${options.runId}-${number}`.slice(0, 32),
      edits: 0,
    }));
  }

  /** Signs every user up through the form, as a person would. */
  async signUp(): Promise<void> {
    for (const user of this.users) user.client = await logIn(this.options.wikiUrl, 'signup', user.username, password);
  }

  start(): void {
    this.running = true;
    const intervalMs = (1000 * this.options.users) / this.options.rate;
    this.loops = this.users.map((user) => this.loop(user, intervalMs));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(user: User, intervalMs: number): Promise<void> {
    // Spread the users over the interval so that the rate is steady, not a burst each tick.
    await sleep((intervalMs * user.number) / this.options.users);
    let next = performance.now();
    let count = user.number;
    while (this.running) {
      count += 1;
      // A logged-out user keeps reading (anonymously) and tries to log in again now and then,
      // so the recorded rate stays steady whichever store holds the sessions.
      if (!user.client && count % reLoginEvery === 0) await this.logInAgain(user);
      if (user.client && count % this.options.editEvery === 0) await this.edit(user);
      else if (user.client && count % sessionCheckEvery === 0) await this.checkSession(user);
      else await this.read(user);
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  }

  private async send(user: User, path: string, init: RequestInit = {}) {
    const at = this.options.clock();
    const started = performance.now();
    try {
      const response = await fetch(new URL(path, this.options.wikiUrl), {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), cookie: user.client?.cookieHeader() ?? '' },
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 5000),
      });
      const body = await response.text();
      // A renewed or rotated session cookie is kept, as a browser would.
      user.client?.absorb(response.headers.getSetCookie());
      return { at, ms: performance.now() - started, status: response.status, servedBy: servedBy(response)?.instance ?? '', body };
    } catch {
      return { at, ms: performance.now() - started, status: 0, servedBy: '', body: '' };
    }
  }

  private record(
    user: User,
    kind: RequestSample['kind'],
    answer: { at: number; ms: number; status: number; servedBy: string },
    outcome: Outcome,
  ) {
    this.requests.push({
      at: answer.at,
      ms: Math.round(answer.ms * 10) / 10,
      kind,
      outcome,
      status: answer.status,
      servedBy: answer.servedBy,
      vu: user.number,
    });
  }

  private lost(user: User, at: number, servedBy: string): void {
    this.sessionLosses.push({ at, vu: user.number, servedBy });
    user.client = undefined;
  }

  private async read(user: User): Promise<void> {
    const answer = await this.send(user, '/wiki/Home');
    if (answer.servedBy === backupServer) return this.record(user, 'read', answer, 'backup');
    this.record(user, 'read', answer, answer.status === 200 || answer.status === 404 ? 'ok' : 'failed');
  }

  private async checkSession(user: User): Promise<void> {
    const answer = await this.send(user, whoAmIPath, { headers: { accept: 'application/json' } });
    if (answer.servedBy === backupServer) return this.record(user, 'session', answer, 'backup');
    const whoAmI = answer.status === 200 ? parseWhoAmI(answer.body) : undefined;
    this.record(user, 'session', answer, whoAmI ? 'ok' : 'failed');
    if (whoAmI && whoAmI.user?.username !== user.username) this.lost(user, answer.at, answer.servedBy);
  }

  private async edit(user: User): Promise<void> {
    user.edits += 1;
    const slug = `Gameday-${this.options.runId}-${user.number}-${user.edits}`;
    const answer = await this.send(user, `${apiPagesPath}/${slug}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        body: `Written during the game day by virtual user ${user.number}.`,
        summary: 'game day',
        baseRevision: null,
      }),
    });
    if (answer.servedBy === backupServer) return this.record(user, 'edit', answer, 'failed');
    if (answer.status === 200 || answer.status === 201) {
      this.record(user, 'edit', answer, 'ok');
      const saved = JSON.parse(answer.body) as SavedPageResponse;
      this.acknowledgedEdits.push({ slug, revision: saved.revision, at: answer.at });
      return;
    }
    this.record(user, 'edit', answer, 'failed');
    if (answer.status === 401) this.lost(user, answer.at, answer.servedBy);
  }

  private async logInAgain(user: User): Promise<void> {
    try {
      user.client = await logIn(this.options.wikiUrl, 'login', user.username, password);
    } catch {
      // The wiki may be down (that is the point of the day): try again on the next turn.
    }
  }
}

/** The who-am-I answer, or undefined when the body is not one (an error page, a proxy's answer). */
function parseWhoAmI(body: string): WhoAmIResponse | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<WhoAmIResponse>;
    return parsed.user === null || typeof parsed.user?.username === 'string' ? { user: parsed.user } : undefined;
  } catch {
    return undefined;
  }
}
