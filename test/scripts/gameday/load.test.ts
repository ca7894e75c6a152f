import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formTokenPath, servedByHeader, sessionCookieName, whoAmIPath } from '../../../app/contracts';
import { SteadyLoad } from '../../../scripts/gameday/load';

/**
 * A stand-in for the wiki behind the load balancer, holding only what the game day's users touch:
 * the sign-up form, a page, the JSON "who am I" and page saves. Its pages carry no log-out form,
 * so only the JSON answer can tell the load who is logged in. It can forget every session (an
 * instance with memory sessions dying) and turn into the backup site (the whole web tier gone),
 * which, like the lab's s3rver before it was made read-only, answers 200 to a PUT.
 */
class StandInWiki {
  readonly sessions = new Map<string, string>();
  servedBy = 'i-standin';
  backupAcceptsWrites = false;
  private readonly server = http.createServer((request, response) => void this.handle(request, response));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    response.setHeader(servedByHeader, `${this.servedBy}/stand-in`);
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const sid = /cloudwiki\.sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
    const username = sid ? this.sessions.get(sid) : undefined;
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (this.servedBy === 'backup-site') {
      if (request.method === 'PUT' && this.backupAcceptsWrites) return void response.writeHead(200).end();
      return void response.writeHead(request.method === 'GET' ? 200 : 503).end('read-only copy');
    }
    if (url.pathname === formTokenPath) return json(200, { csrfToken: 't' });
    if (url.pathname === '/signup' && request.method === 'POST') {
      const newSid = randomBytes(8).toString('hex');
      this.sessions.set(newSid, new URLSearchParams(body).get('username') ?? '');
      return void response.writeHead(303, { 'set-cookie': `${sessionCookieName}=${newSid}; Path=/`, location: '/' }).end();
    }
    if (url.pathname === whoAmIPath) return json(200, { user: username ? { username } : null });
    if (url.pathname.startsWith('/api/pages/') && request.method === 'PUT') {
      return username ? json(201, { revision: 1 }) : json(401, { error: 'log in first' });
    }
    if (url.pathname === '/wiki/Home') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Home</h1>');
    response.writeHead(404).end();
  }
}

let wiki: StandInWiki;
let wikiUrl: string;
beforeEach(async () => {
  wiki = new StandInWiki();
  wikiUrl = await wiki.start();
});
afterEach(() => wiki.stop());

const started = Date.now();
const clock = () => Date.now() - started;

/** Lets the load run until `done` holds for what it recorded; gives up after 10 s. */
async function runUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the load never recorded what the test waits for');
    await sleep(20);
  }
}

test('when the wiki forgets the sessions, then its JSON "who am I" tells the load, once per user, without reading any page', async () => {
  const load = new SteadyLoad({ wikiUrl, users: 2, rate: 40, editEvery: 5, runId: 'standin', clock });
  await load.signUp();
  load.start();
  try {
    await runUntil(() => load.requests.filter((request) => request.kind === 'session').length >= 4);
    expect(load.sessionLosses).toEqual([]);
    expect(load.acknowledgedEdits.length).toBeGreaterThan(0);

    const forgotAt = clock();
    wiki.sessions.clear();
    await runUntil(() => new Set(load.sessionLosses.map((loss) => loss.vu)).size === 2);
    expect(load.sessionLosses.every((loss) => loss.at >= forgotAt)).toBe(true);
    expect(load.sessionLosses).toHaveLength(2);
  } finally {
    await load.stop();
  }
});

test('when the backup site answers a save, then it is a failed request and never an acknowledged edit, whatever its status', async () => {
  const load = new SteadyLoad({ wikiUrl, users: 2, rate: 40, editEvery: 2, runId: 'standin', clock });
  await load.signUp();
  load.start();
  try {
    await runUntil(() => load.acknowledgedEdits.length >= 2);
    const switchedAt = clock();
    wiki.servedBy = 'backup-site';
    wiki.backupAcceptsWrites = true;
    const backupSaves = () => load.requests.filter((request) => request.kind === 'edit' && request.servedBy === 'backup-site');
    await runUntil(() => backupSaves().length >= 3);
    expect(backupSaves().map((save) => [save.status, save.outcome])).toEqual(backupSaves().map(() => [200, 'failed']));
    expect(load.acknowledgedEdits.filter((edit) => edit.at >= switchedAt)).toEqual([]);
  } finally {
    await load.stop();
  }
});
