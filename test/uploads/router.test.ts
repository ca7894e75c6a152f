import { randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';
import { csrfField } from '../../app/contracts';

// A real 1×1 PNG: the type check reads the file's bytes, not its name.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp();
});
afterAll(() => wiki.close());

async function pageWithEditor() {
  const person = visitor(wiki.app);
  await person.signUp();
  const slug = uniqueName('Attach');
  const form = await person.get(`/wiki/${slug}/edit`);
  await person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body: 'a page with files', baseRevision: '' });
  const cookies = () => person.cookieHeader();
  const upload = async (content: Buffer, filename: string) => {
    const page = await person.get(`/wiki/${slug}`);
    return request(wiki.app)
      .post(`/wiki/${slug}/uploads`)
      .set('Cookie', cookies())
      .field(csrfField, csrfTokenIn(page.text))
      .attach('file', content, filename);
  };
  return { person, slug, upload, cookies };
}

test('when an editor attaches an image, then it round-trips through S3 with safe headers', async () => {
  const { person, slug, upload } = await pageWithEditor();
  const response = await upload(png, 'pixel.png');
  expect(response.status).toBe(303);

  const page = await person.get(`/wiki/${slug}`);
  const key = /href="\/uploads\/([^"]+)">pixel\.png/.exec(page.text)?.[1];
  expect(key).toMatch(/^[0-9a-f-]{36}\.png$/);
  expect(page.text).toContain(`![pixel.png](/uploads/${key})`);

  const redirect = await request(wiki.app).get(`/uploads/${key}`);
  expect(redirect.status).toBe(302);
  const fromS3 = await fetch(redirect.headers.location!);
  expect(fromS3.status).toBe(200);
  expect(fromS3.headers.get('content-type')).toBe('image/png');
  expect(fromS3.headers.get('content-disposition')).toMatch(/^inline; filename\*=UTF-8''pixel\.png$/);
  expect(Buffer.from(await fromS3.arrayBuffer()).equals(png)).toBe(true);
});

test('when a text file is attached under a script name, then it is listed and downloads as .txt, as an attachment', async () => {
  const { person, slug, upload } = await pageWithEditor();
  expect((await upload(Buffer.from('<html><script>alert(1)</script></html>'), 'evil.html')).status).toBe(303);
  const page = await person.get(`/wiki/${slug}`);
  expect(page.text).not.toContain('evil.html');
  const key = /href="\/uploads\/([^"]+)">evil\.txt</.exec(page.text)?.[1];
  expect(key).toMatch(/\.txt$/);
  const fromS3 = await fetch((await request(wiki.app).get(`/uploads/${key}`)).headers.location!);
  expect(fromS3.headers.get('content-type')).toBe('text/plain');
  expect(fromS3.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''evil.txt");
});

test('when a file name is UTF-8 or hides control and bidi characters, then it is listed as the person reads it, without them', async () => {
  const { person, slug, upload } = await pageWithEditor();
  expect((await upload(Buffer.from('my cv'), 'résumé.txt')).status).toBe(303);
  // U+202E (right-to-left override) makes "invoice\u202Egnp.exe" read as "invoiceexe.png"; the
  // trailing tab is a control character too, and the extension follows the type in the bytes.
  expect((await upload(png, 'invoice\u202Egnp.exe\t')).status).toBe(303);
  const page = await person.get(`/wiki/${slug}`);
  expect(page.text).toContain('>résumé.txt</a>');
  expect(page.text).toContain('>invoicegnp.png</a>');
  expect(page.text).not.toMatch(/\u202E|rÃ©sumÃ©/);
});

test('when a file stored under a misleading name is fetched, then the download name still follows its type', async () => {
  const { slug } = await pageWithEditor();
  const key = `${randomUUID()}.txt`;
  await wiki.db.query(
    `INSERT INTO uploads (key, page_id, filename, content_type, size) SELECT $1, id, 'setup.bat', 'text/plain', 5 FROM pages WHERE slug = $2`,
    [key, slug],
  );
  const redirect = await request(wiki.app).get(`/uploads/${key}`);
  expect(redirect.status).toBe(302);
  expect(new URL(redirect.headers.location!).searchParams.get('response-content-disposition')).toBe(
    "attachment; filename*=UTF-8''setup.txt",
  );
});

test('when a file is of a refused type or too large, then it is refused with 415 or 413', async () => {
  const { upload } = await pageWithEditor();
  const binary = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x3e, 0x00]);
  const refused = await upload(binary, 'program.png');
  expect(refused.status).toBe(415);
  expect(refused.text).toContain('Only PNG, JPEG, GIF, WebP, PDF or plain text');
  const large = await upload(Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024)]), 'huge.png');
  expect(large.status).toBe(413);
});

test('when an anonymous visitor or a forged form uploads, then nothing is stored', async () => {
  const { slug, cookies } = await pageWithEditor();
  const anonymous = await request(wiki.app).post(`/wiki/${slug}/uploads`).attach('file', png, 'a.png');
  expect(anonymous.status).toBe(401);
  const forged = await request(wiki.app).post(`/wiki/${slug}/uploads`).set('Cookie', cookies()).attach('file', png, 'a.png');
  expect(forged.status).toBe(403);
  const { rows } = await wiki.db.query(`SELECT 1 FROM uploads u JOIN pages p ON p.id = u.page_id WHERE p.slug = $1`, [slug]);
  expect(rows).toHaveLength(0);
});

test('when an upload key is malformed or unknown, then it answers 400 or 404', async () => {
  expect((await request(wiki.app).get('/uploads/..%2F..%2Fsecret')).status).toBe(400);
  expect((await request(wiki.app).get('/uploads/00000000-0000-0000-0000-000000000000.png')).status).toBe(404);
});

describe('uploads that must not reach the bucket', () => {
  let limited: TestApp;
  beforeAll(() => {
    limited = buildTestApp({ instanceId: 'i-uploads', config: { UPLOADS_PER_USER_PER_HOUR: '3', UPLOAD_QUOTA_MB_PER_USER: '1' } });
  });
  afterAll(() => limited.close());

  /** Counts the objects this process writes to S3 (lib-storage's Upload sends a PutObjectCommand). */
  function countPuts() {
    const send = jest.spyOn(S3Client.prototype, 'send');
    return {
      puts: () => send.mock.calls.filter(([command]) => command instanceof PutObjectCommand).length,
      restore: () => send.mockRestore(),
    };
  }

  async function editorOf(app: TestApp['app']) {
    const person = visitor(app);
    await person.signUp();
    const slug = uniqueName('Quota');
    expect((await person.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'files here', baseRevision: '' })).status).toBe(303);
    const upload = async (target: string, content: Buffer, filename: string, via = app) => {
      const page = await person.get(`/wiki/${slug}`);
      return request(via)
        .post(`/wiki/${target}/uploads`)
        .set('Cookie', person.cookieHeader())
        .field(csrfField, csrfTokenIn(page.text))
        .attach('file', content, filename);
    };
    return { slug, upload };
  }

  test('when the page does not exist, then 404 and nothing is written to the bucket', async () => {
    const { upload } = await editorOf(wiki.app);
    const counter = countPuts();
    try {
      const response = await upload(uniqueName('No_such_page'), Buffer.from('twelve kilobytes of notes '.repeat(480)), 'notes.txt');
      expect(response.status).toBe(404);
      expect(response.text).toContain('Create the page before attaching files');
      expect(counter.puts()).toBe(0);
    } finally {
      counter.restore();
    }
  });

  test('when a file would take a user past the quota, then 413 saying how much is used, and nothing is stored', async () => {
    const { slug, upload } = await editorOf(limited.app);
    const sixHundredKB = Buffer.alloc(600_000, 'a');
    expect((await upload(slug, sixHundredKB, 'first.txt')).status).toBe(303);
    const counter = countPuts();
    try {
      const refused = await upload(slug, sixHundredKB, 'second.txt');
      expect(refused.status).toBe(413);
      expect(refused.text).toContain('past 1 MB');
      expect(refused.text).toContain('you have 0.6 MB');
      expect(counter.puts()).toBe(0);
    } finally {
      counter.restore();
    }
    // What fits under the quota still goes in.
    expect((await upload(slug, png, 'small.png')).status).toBe(303);
  });

  test('when a user attaches more files in an hour than the rate allows, then 429, on every instance', async () => {
    const other = buildTestApp({ instanceId: 'i-uploads-b', config: { UPLOADS_PER_USER_PER_HOUR: '3' } });
    try {
      const { slug, upload } = await editorOf(limited.app);
      expect((await upload(slug, png, 'one.png')).status).toBe(303);
      expect((await upload(slug, png, 'two.png', other.app)).status).toBe(303);
      expect((await upload(slug, png, 'three.png')).status).toBe(303);
      const refused = await upload(slug, png, 'four.png', other.app);
      expect(refused.status).toBe(429);
      expect(refused.text).toContain('Wait an hour');
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await other.close();
    }
  });
});
