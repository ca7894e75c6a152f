import request from 'supertest';
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';
import { pageRowTtlMs } from '../../app/pages/page-views';
import { buildTestApp } from '../support/app';
import { uniqueName, visitor } from '../support/browser-like';
import { privateCluster } from '../support/postgres-cluster';
import { freezePostgres } from '../support/processes';
import { deepHealthPath } from '../../app/contracts';

// A "replica" that never catches up: a second, empty PostgreSQL. Whatever a request reads from
// it is visibly stale, which shows which pool served the read.
test('when a reader pool is configured, then page views use it, except for someone who just saved, and fall back to the writer when it fails', async () => {
  const laggingReplica = await privateCluster();
  await migrate(laggingReplica.postgres.url, createLogger('silent'));
  const wiki = buildTestApp({ readerUrl: laggingReplica.postgres.url });
  const other = buildTestApp({ readerUrl: laggingReplica.postgres.url, instanceId: 'i-other' });
  try {
    const author = visitor(wiki.app);
    await author.signUp();
    const slug = uniqueName('Fresh');
    expect((await author.putJson(`/api/pages/${slug}`, { body: 'just written', baseRevision: null })).status).toBe(201);

    // The author carries the read-your-writes cookie: their next read goes to the writer.
    const ownRead = await author.get(`/wiki/${slug}`);
    expect(ownRead.status).toBe(200);
    expect(ownRead.text).toContain('just written');

    // Everyone else reads from the replica, which has not seen the page. (On another instance: this
    // one reuses the author's fresh row for a second, which is newer than the replica anyway.)
    expect((await request(other.app).get(`/wiki/${slug}`)).status).toBe(404);
    await other.deepHealth.refresh();
    const deep = await request(other.app).get(deepHealthPath);
    expect(deep.body.checks.reader.status).toBe('ok');

    // A replica that fails never fails a request: the writer answers, and the site stays up. The
    // other instance may reuse the replica's answer for pageRowTtlMs first: wait that window out.
    await laggingReplica.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, pageRowTtlMs));
    for (let view = 0; view < 5; view += 1) {
      const fromWriter = await request(other.app).get(`/wiki/${slug}`);
      expect(fromWriter.status).toBe(200);
      expect(fromWriter.text).toContain('just written');
    }
    await other.deepHealth.refresh();
    const replicaDown = await request(other.app).get(deepHealthPath);
    expect(replicaDown.status).toBe(200);
    expect(replicaDown.body).toMatchObject({ status: 'degraded', checks: { reader: { status: 'degraded' }, writer: { status: 'ok' } } });
  } finally {
    await Promise.all([wiki.close(), other.close()]);
    await laggingReplica.remove();
  }
});

test('when the replica freezes, then page views still answer 200 from the writer within the budget and deep health reports the reader degraded', async () => {
  const replica = await privateCluster();
  await migrate(replica.postgres.url, createLogger('silent'));
  const wiki = buildTestApp({ readerUrl: replica.postgres.url });
  let thaw: () => void = () => undefined;
  try {
    const author = visitor(wiki.app);
    await author.signUp();
    const slug = uniqueName('OnWriter');
    expect((await author.putJson(`/api/pages/${slug}`, { body: 'only the writer has this', baseRevision: null })).status).toBe(201);
    expect((await request(wiki.app).get(`/wiki/${slug}`)).status).toBe(404);

    thaw = freezePostgres(replica.postgres.port);
    // The replica's 404 may be reused for pageRowTtlMs: wait that window out before measuring.
    await new Promise((resolve) => setTimeout(resolve, pageRowTtlMs));
    const durations: number[] = [];
    for (let view = 0; view < 6; view += 1) {
      const started = performance.now();
      const response = await request(wiki.app).get(`/wiki/${slug}`);
      durations.push(performance.now() - started);
      expect(response.status).toBe(200);
      expect(response.text).toContain('only the writer has this');
    }
    // The budget contract (2 s end to end), with a margin for a loaded test machine.
    expect(Math.max(...durations)).toBeLessThan(2_500);
    await wiki.deepHealth.refresh();
    const deep = await request(wiki.app).get(deepHealthPath);
    expect(deep.status).toBe(200);
    expect(deep.body).toMatchObject({ status: 'degraded', checks: { reader: { status: 'degraded' }, writer: { status: 'ok' } } });
  } finally {
    thaw();
    await wiki.close();
    await replica.remove();
  }
});
