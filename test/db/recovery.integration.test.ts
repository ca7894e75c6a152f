import request from 'supertest';
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';
import { pageRowTtlMs } from '../../app/pages/page-views';
import { buildTestApp } from '../support/app';
import { uniqueName, visitor } from '../support/browser-like';
import { privateCluster } from '../support/postgres-cluster';
import { deepHealthPath, healthPath } from '../../app/contracts';

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, attempts = 60): Promise<T> {
  let last: T | undefined;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`never recovered; last answer: ${JSON.stringify(last)}`);
}

test('when PostgreSQL restarts under a running app, then pages it never rendered fail fast with 503, rendered ones are served read-only, and all recover by themselves', async () => {
  const cluster = await privateCluster();
  const wiki = buildTestApp({ databaseUrl: cluster.postgres.url });
  try {
    await migrate(cluster.postgres.url, createLogger('silent'));
    const person = visitor(wiki.app);
    await person.signUp();
    const slug = uniqueName('Survivor');
    const created = await person.putJson(`/api/pages/${slug}`, { body: 'still here after the restart', baseRevision: null });
    expect(created.status).toBe(201);
    expect((await request(wiki.app).get(`/wiki/${slug}`)).status).toBe(200);

    const neverViewed = uniqueName('Unseen');
    expect((await person.putJson(`/api/pages/${neverViewed}`, { body: 'not rendered here yet', baseRevision: null })).status).toBe(201);

    await cluster.postgres.stop();
    // Within pageRowTtlMs the page's row is reused without asking the database at all: wait that
    // out, so the next view needs the database. A page this instance has rendered is then served
    // from its last copy, marked read-only (stale reads); one it never rendered answers 503 at once.
    await new Promise((resolve) => setTimeout(resolve, pageRowTtlMs));
    const during = await request(wiki.app).get(`/wiki/${slug}`);
    expect(during.status).toBe(200);
    expect(during.text).toContain('Read-only: the database is unavailable');
    const unseen = await request(wiki.app).get(`/wiki/${neverViewed}`);
    expect(unseen.status).toBe(503);
    expect(unseen.text).toContain('The database is unavailable right now');
    await wiki.deepHealth.refresh();
    const deep = await request(wiki.app).get(deepHealthPath);
    expect(deep.status).toBe(503);
    expect(deep.body.checks.writer.status).toBe('fail');
    expect((await request(wiki.app).get(healthPath)).status).toBe(200);

    await cluster.postgres.start();
    const after = await eventually(
      () => request(wiki.app).get(`/wiki/${slug}`),
      (response) => response.status === 200,
    );
    expect(after.text).toContain('still here after the restart');
    // The session (in DynamoDB) outlived the database outage too.
    expect((await person.get(`/wiki/${slug}`)).text).toContain('class="who"');
  } finally {
    await wiki.close();
    await cluster.remove();
  }
});
