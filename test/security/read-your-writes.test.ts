import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/app';
import { uniqueName, visitor } from '../support/browser-like';

// The read-your-writes hint (cookie cloudwiki.rw) sends a person's reads to the writer for a few
// seconds after they save, past every cache. Only the server may hand it out: a client that sets
// it itself must get the ordinary, cached path.

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp({ instanceId: 'i-rw' });
});
afterAll(() => wiki.close());

/** Records whether any read this app sends is steered to the writer by the hint. */
function watchWriterReads() {
  const read = jest.spyOn(wiki.db, 'read');
  return {
    fromWriter: () => read.mock.calls.filter(([, , options]) => options?.fromWriter === true).length,
    restore: () => read.mockRestore(),
  };
}

async function savedPage() {
  const editor = visitor(wiki.app);
  await editor.signUp();
  const slug = uniqueName('Hint');
  expect((await editor.putJson(`/api/pages/${slug}`, { body: 'saved words', baseRevision: null })).status).toBe(201);
  return { editor, slug };
}

test('when an anonymous visitor sends a hint cookie of their own making, then it is ignored: no read goes to the writer', async () => {
  const { slug } = await savedPage();
  const watch = watchWriterReads();
  try {
    for (const forged of ['1', 's:1.forged', `${Date.now() + 5000}.AAAA`]) {
      const page = await request(wiki.app).get(`/wiki/${slug}`).set('Cookie', `cloudwiki.rw=${forged}`);
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toMatch(/^public/);
      const list = await request(wiki.app).get('/pages').set('Cookie', `cloudwiki.rw=${forged}`);
      expect(list.status).toBe(200);
    }
    expect(watch.fromWriter()).toBe(0);
  } finally {
    watch.restore();
  }
});

test('when a logged-in person saves, then the hint the server sets sends their next reads to the writer, and a hint they forge does not', async () => {
  const { editor, slug } = await savedPage();
  const hint = editor.cookie('cloudwiki.rw');
  expect(hint).toBeDefined();
  expect(hint).not.toBe('1');

  const watch = watchWriterReads();
  try {
    await editor.get(`/wiki/${slug}`);
    expect(watch.fromWriter()).toBeGreaterThan(0);

    watch.restore();
    const forgedWatch = watchWriterReads();
    try {
      editor.plant('cloudwiki.rw', '1');
      await editor.get(`/wiki/${slug}`);
      // Another session's hint is no hint either: it is bound to the session that saved.
      const other = visitor(wiki.app);
      await other.signUp();
      other.plant('cloudwiki.rw', hint!);
      await other.get(`/wiki/${slug}`);
      expect(forgedWatch.fromWriter()).toBe(0);
    } finally {
      forgedWatch.restore();
    }
  } finally {
    watch.restore();
  }
});

test('when the hint is older than its few seconds, then it is ignored even if the browser still sends it', async () => {
  const { editor, slug } = await savedPage();
  const hint = editor.cookie('cloudwiki.rw')!;
  jest.useFakeTimers({ now: Date.now() + 60_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
  const watch = watchWriterReads();
  try {
    editor.plant('cloudwiki.rw', hint);
    await editor.get(`/wiki/${slug}`);
    expect(watch.fromWriter()).toBe(0);
  } finally {
    watch.restore();
    jest.useRealTimers();
  }
});
