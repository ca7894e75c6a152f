import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';

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
  await person.post(`/wiki/${slug}`, { _csrf: csrfTokenIn(form.text), body: 'a page with files', baseRevision: '' });
  const cookies = () => [...person.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const upload = async (content: Buffer, filename: string) => {
    const page = await person.get(`/wiki/${slug}`);
    return request(wiki.app)
      .post(`/wiki/${slug}/uploads`)
      .set('Cookie', cookies())
      .field('_csrf', csrfTokenIn(page.text))
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

test('when a text file is attached, then it downloads as an attachment, whatever its name claims', async () => {
  const { person, slug, upload } = await pageWithEditor();
  expect((await upload(Buffer.from('<html><script>alert(1)</script></html>'), 'evil.html')).status).toBe(303);
  const page = await person.get(`/wiki/${slug}`);
  const key = /href="\/uploads\/([^"]+)">evil\.html/.exec(page.text)?.[1];
  expect(key).toMatch(/\.txt$/);
  const fromS3 = await fetch((await request(wiki.app).get(`/uploads/${key}`)).headers.location!);
  expect(fromS3.headers.get('content-type')).toBe('text/plain');
  expect(fromS3.headers.get('content-disposition')).toMatch(/^attachment;/);
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
