import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { Client } from 'pg';
import { migrationsDir } from '../../../app/db/migrate';
import { CookieJar } from 'tough-cookie';
import { csrfField, healthPath } from '../../../app/contracts';
import { csrfTokenIn } from '../../support/browser-like';
import { checkOutRelease, previousReleaseCommit } from '../../../scripts/lab/previous-release';
import { freePort } from '../../../scripts/services/ports';
import { startProcess, type ManagedProcess } from '../../../scripts/services/process';
import { waitUntil, httpAnswers } from '../../../scripts/services/wait';
import { env, productionEnv } from '../../support/app';

/**
 * Expand, then contract: while a release rolls (and after a rollback) the previous release's
 * instances serve from the database this release migrated. This runs the previous release's
 * code (scripts/lab/previous-release.ts says which commit) against a database migrated by this
 * tree, and does what users do: sign up, log in, view a page, save one, view it again.
 */
const root = path.resolve(__dirname, '../../..');
const password = 'correct horse battery staple 42';

/**
 * A database of its own for each case: a fresh schema on the test server (its user may not create
 * databases), which every connection of the app and of the migrations uses through search_path.
 */
async function freshDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: env('TEST_DATABASE_URL') });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${admin.escapeIdentifier(name)} CASCADE`);
    await admin.query(`CREATE SCHEMA ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(env('TEST_DATABASE_URL'));
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.toString();
}

/** node-pg-migrate sets its own search_path (its `schema`, default public): name the case's. */
async function migrateWith(databaseUrl: string, dir: string): Promise<void> {
  const schema = new URL(databaseUrl).searchParams.get('options')!.replace('-c search_path=', '');
  await runner({ databaseUrl, dir, schema, direction: 'up', migrationsTable: 'schema_migrations', checkOrder: true, log: () => undefined });
}

interface Step {
  step: string;
  status: number | string;
}

/**
 * Signs up or logs in through the HTML form, as a browser does: the previous release's pages are
 * the contract a person meets, while the tools' JSON routes may be newer than it.
 */
async function formLogIn(baseUrl: string, mode: 'signup' | 'login', username: string, password: string) {
  const jar = new CookieJar();
  const keep = (response: Response) => response.headers.getSetCookie().forEach((header) => jar.setCookieSync(header, baseUrl));
  const form = await fetch(new URL(`/${mode}`, baseUrl));
  keep(form);
  const posted = await fetch(new URL(`/${mode}`, baseUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.getCookieStringSync(baseUrl) },
    body: new URLSearchParams({ username, password, [csrfField]: csrfTokenIn(await form.text()) }).toString(),
  });
  keep(posted);
  return { status: posted.status, cookie: jar.getCookieStringSync(baseUrl) };
}

/** What a user does, against one instance; each step's status, or the error that stopped it. */
async function useTheWiki(baseUrl: string): Promise<Step[]> {
  const steps: Step[] = [];
  const username = `compat-${Date.now().toString(36)}`;
  const attempt = async (step: string, action: () => Promise<number>) => {
    try {
      steps.push({ step, status: await action() });
    } catch (error) {
      steps.push({ step, status: (error as Error).message.slice(0, 120) });
    }
  };
  await attempt('sign up', async () => (await formLogIn(baseUrl, 'signup', username, password)).status);
  let cookie = '';
  await attempt('log in', async () => {
    const loggedIn = await formLogIn(baseUrl, 'login', username, password);
    cookie = loggedIn.cookie;
    return loggedIn.status;
  });
  await attempt('view a page', async () => (await fetch(new URL('/wiki/Home', baseUrl))).status);
  await attempt('save a page', async () => {
    const response = await fetch(new URL('/api/pages/Compat-check', baseUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ body: 'Saved by the previous release.', summary: 'compat', baseRevision: null }),
    });
    return response.status;
  });
  await attempt('view the saved page', async () => {
    const response = await fetch(new URL('/wiki/Compat-check', baseUrl));
    const text = await response.text();
    return text.includes('Saved by the previous release.') ? response.status : -response.status;
  });
  await attempt('list pages', async () => (await fetch(new URL('/pages', baseUrl))).status);
  return steps;
}

const allPassed: Step[] = [
  { step: 'sign up', status: 303 },
  { step: 'log in', status: 303 },
  { step: 'view a page', status: 200 },
  { step: 'save a page', status: 201 },
  { step: 'view the saved page', status: 200 },
  { step: 'list pages', status: 200 },
];

describe('the previous release against this release’s schema', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-previous-'));
  const previous = path.join(scratch, 'previous');
  const running: ManagedProcess[] = [];

  beforeAll(() => {
    checkOutRelease(root, previousReleaseCommit(root), previous);
  });
  afterAll(async () => {
    await Promise.all(running.map((child) => child.stop('SIGTERM', 5000)));
    rmSync(scratch, { recursive: true, force: true });
  });

  async function startPrevious(databaseUrl: string): Promise<string> {
    const port = await freePort();
    const child = startProcess({
      name: 'previous-release',
      command: process.execPath,
      args: ['--import', 'tsx', path.join(previous, 'app/server.ts')],
      cwd: previous,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...productionEnv({ PORT: String(port), DATABASE_URL: databaseUrl, WEB_CONCURRENCY: '1', SESSION_STORE: 'memory' }),
      },
    });
    running.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(() => httpAnswers(`${url}${healthPath}`), {
      what: 'the previous release to listen',
      timeoutMs: 60_000,
      giveUp: () => (child.hasExited() ? `it exited:\n${child.recentOutput()}` : undefined),
    });
    return url;
  }

  test('when the database is migrated by this tree, then the previous release still signs up, logs in, shows and saves pages', async () => {
    const databaseUrl = await freshDatabase('compat_current');
    await migrateWith(databaseUrl, migrationsDir);
    expect(await useTheWiki(await startPrevious(databaseUrl))).toEqual(allPassed);
  }, 120_000);

  test('when a migration renames a column the previous release reads, then the previous release fails this check', async () => {
    const breaking = path.join(scratch, 'breaking-migrations');
    cpSync(migrationsDir, breaking, { recursive: true });
    // What a careless "tidy-up" looks like: one statement, and every old instance breaks.
    writeFileSync(path.join(breaking, '9999999999999_rename-title.sql'), 'ALTER TABLE pages RENAME COLUMN title TO page_title;\n');
    const databaseUrl = await freshDatabase('compat_breaking');
    await migrateWith(databaseUrl, breaking);
    // It may not even boot (its start-up seeds pages), or boot and fail users: either fails the check.
    const steps = await startPrevious(databaseUrl).then(useTheWiki, (error: Error) => [{ step: 'start', status: error.message }]);
    expect(steps).not.toEqual(allPassed);
    expect(JSON.stringify(steps)).toMatch(/column p\.title does not exist|"status":500/);
  }, 120_000);
});
