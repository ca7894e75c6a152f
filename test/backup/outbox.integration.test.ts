import type { S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { pageKey } from '../../app/backup/links';
import { loadConfig } from '../../app/config';
import { createDatabase, type Database } from '../../app/db/db';
import { migrate } from '../../app/db/migrate';
import { createS3Client } from '../../app/platform/aws-clients';
import { createPageRepository } from '../../app/pages/repository';
import { startServer } from '../../app/server';
import { env, productionEnv } from '../support/app';
import { privateCluster } from '../support/postgres-cluster';
import { uniqueName } from '../support/browser-like';
import { drainAll, leaseMs, newBucket, objectText, pendingFor, publisherOn, testClock } from './support';

// On real PostgreSQL only: the claims rely on FOR UPDATE SKIP LOCKED between connections, which
// PGlite (one connection at a time) cannot show. A cluster of the file's own: the outbox is one
// queue for the whole database, and another suite's publisher would take these tests' changes.

const logger = pino({ level: 'silent' });
const databases: Database[] = [];
const clients: S3Client[] = [];
let cluster: Awaited<ReturnType<typeof privateCluster>>;
beforeAll(async () => {
  cluster = await privateCluster();
  await migrate(cluster.postgres.url, logger);
});
function database(): Database {
  const db = createDatabase({ writerUrl: cluster.postgres.url, logger, poolSize: 4 });
  databases.push(db);
  return db;
}
/** An S3 client that reports each object it writes, and may hold a write's answer back. */
function s3Recording(onPut: (key: string) => Promise<void> | void = () => undefined): S3Client {
  const s3 = createS3Client({ region: 'us-east-1', endpoint: env('TEST_S3_ENDPOINT') });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const key = (args.input as { Key?: string }).Key;
      if (context.commandName === 'PutObjectCommand' && key) await onPut(key);
      return result;
    },
    { step: 'initialize' },
  );
  clients.push(s3);
  return s3;
}
afterAll(async () => {
  for (const s3 of clients) s3.destroy();
  for (const db of databases) await db.close();
  await cluster.remove();
});

async function createPages(prefix: string, count: number): Promise<string[]> {
  const pages = createPageRepository(databases[0] ?? database());
  const slugs = Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
  for (const slug of slugs)
    await pages.saveRevision({ slug, title: slug, body: `Text of ${slug}.`, summary: '', baseRevision: null, authorId: null });
  return slugs;
}

test('when two instances drain the outbox at once, then each change is published exactly once and none is left', async () => {
  const slugs = await createPages(uniqueName('Twice'), 40);
  const writes = new Map<string, number>();
  const s3 = s3Recording((key) => void writes.set(key, (writes.get(key) ?? 0) + 1));
  const bucket = await newBucket(s3);
  const clock = testClock();
  const [first, second] = [publisherOn(database(), s3, bucket, clock.now), publisherOn(database(), s3, bucket, clock.now)];

  await Promise.all([drainAll(first!), drainAll(second!)]);

  expect(slugs.map((slug) => [slug, writes.get(pageKey(slug))])).toEqual(slugs.map((slug) => [slug, 1]));
  expect(await pendingFor(databases[0]!, slugs)).toBe(0);
});

test('when an instance dies after writing a page but before deleting its row, then another publishes it again after the claim', async () => {
  const [slug] = await createPages(uniqueName('Crashed'), 1);
  const writes: string[] = [];
  let resume: () => void = () => undefined;
  // The first publisher writes the page and then never answers again, as a killed instance.
  const frozen = s3Recording((key) => {
    writes.push(key);
    if (key === pageKey(slug!)) return new Promise<void>((resolve) => (resume = resolve));
  });
  const bucket = await newBucket(frozen);
  const clock = testClock();
  const dying = publisherOn(database(), frozen, bucket, clock.now);
  const lost = drainAll(dying);
  const db = database();
  for (let wait = 0; !writes.includes(pageKey(slug!)); wait += 1) {
    if (wait > 200) throw new Error('the first publisher never wrote the page');
    await new Promise((resolve) => setImmediate(resolve));
    await db.query('SELECT 1');
  }
  expect(await pendingFor(db, [slug!])).toBe(1);

  const survivor = publisherOn(
    db,
    s3Recording((key) => void writes.push(key)),
    bucket,
    clock.now,
  );
  await drainAll(survivor);
  expect(await pendingFor(db, [slug!])).toBe(1);
  clock.advance(leaseMs);
  await drainAll(survivor);
  expect(await pendingFor(db, [slug!])).toBe(0);
  expect(writes.filter((key) => key === pageKey(slug!))).toHaveLength(2);
  expect(await objectText(frozen, bucket, pageKey(slug!))).toContain(`Text of ${slug}.`);

  // The dead instance's late delete finds nothing to take back.
  resume();
  await lost;
  expect(await pendingFor(db, [slug!])).toBe(0);
});

test('when a running instance has a backup bucket, then a saved page is in it within seconds, with nobody running a publish', async () => {
  const s3 = s3Recording();
  const bucket = await newBucket(s3);
  const running = await startServer(
    loadConfig(productionEnv({ DATABASE_URL: cluster.postgres.url, BACKUP_SITE_BUCKET: bucket, DRAIN_TIMEOUT_MS: '1000' })),
  );
  try {
    const slug = uniqueName('Live');
    const acknowledgedAt = Date.now();
    await createPageRepository(database()).saveRevision({
      slug,
      title: slug,
      body: 'Saved at once.',
      summary: '',
      baseRevision: null,
      authorId: null,
    });
    let html: string | null = null;
    while (html === null && Date.now() - acknowledgedAt < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      html = await objectText(s3, bucket, pageKey(slug));
    }
    expect(html).toContain('Saved at once.');
  } finally {
    await running.shutdown('test');
  }
});
