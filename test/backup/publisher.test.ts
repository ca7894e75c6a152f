import type { S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { pageKey } from '../../app/backup/links';
import { lagMetricFields } from '../../app/backup/lag-reporter';
import { createBackupOutbox } from '../../app/backup/outbox';
import { searchIndexKey, type SearchIndex } from '../../app/backup/render';
import { createDatabase, type Database } from '../../app/db/db';
import { createS3Client } from '../../app/platform/aws-clients';
import { createPageRepository, type PageRepository } from '../../app/pages/repository';
import { createUploadRepository } from '../../app/uploads/repository';
import { env } from '../support/app';
import { uniqueName } from '../support/browser-like';
import { drainAll, leaseMs, newBucket, objectText, pendingFor, publisherOn, testClock } from './support';

let db: Database;
let s3: S3Client;
let pages: PageRepository;
beforeAll(() => {
  db = createDatabase({ writerUrl: env('TEST_DATABASE_URL'), logger: pino({ level: 'silent' }), poolSize: 2 });
  s3 = createS3Client({ region: 'us-east-1', endpoint: env('TEST_S3_ENDPOINT') });
  pages = createPageRepository(db);
});
afterAll(async () => {
  s3.destroy();
  await db.close();
});
// The outbox is one queue for the whole test database, and other suites write hundreds of pages
// behind the app's back: these tests would publish them all. No other suite reads the outbox.
beforeEach(async () => {
  await db.query('DELETE FROM backup_outbox');
  await db.query('UPDATE backup_site SET changed_at = NULL, in_flight_since = NULL');
});

async function create(slug: string, body: string) {
  const saved = await pages.saveRevision({ slug, title: slug, body, summary: 'first', baseRevision: null, authorId: null });
  if (!saved.saved) throw new Error(`could not create ${slug}`);
  return saved.revision;
}

test('when a page is saved, revised and given an upload, then each change is owed to the backup in its own transaction', async () => {
  const slug = uniqueName('Owed');
  await create(slug, 'one');
  expect(await pendingFor(db, [slug])).toBe(1);
  await pages.saveRevision({ slug, title: slug, body: 'two', summary: 'revert to 1', baseRevision: 1, authorId: null });
  expect(await pendingFor(db, [slug])).toBe(2);
  // A save refused by the edit lock is no change: nothing is owed for it.
  await pages.saveRevision({ slug, title: slug, body: 'stale', summary: '', baseRevision: 1, authorId: null });
  expect(await pendingFor(db, [slug])).toBe(2);
  const added = await createUploadRepository(db).add({
    key: `${uniqueName('k')}.png`,
    pageSlug: slug,
    filename: 'map.png',
    contentType: 'image/png',
    size: 3,
    uploadedBy: null as unknown as string,
  });
  expect(added).toBe(true);
  expect(await pendingFor(db, [slug])).toBe(3);
});

test('when the publisher drains, then the latest text, the page list, recent changes and search show the change, and nothing stays owed', async () => {
  const clock = testClock();
  const bucket = await newBucket(s3);
  const publisher = publisherOn(db, s3, bucket, clock.now);
  const slug = uniqueName('Published');
  const other = uniqueName('Linked');
  await create(other, 'Pelicans live here.');
  await create(slug, `First words about [[${other}]].`);
  await pages.saveRevision({
    slug,
    title: slug,
    body: `Second words about [[${other}]] and herons.`,
    summary: 'herons',
    baseRevision: 1,
    authorId: null,
  });

  await drainAll(publisher);

  const html = await objectText(s3, bucket, pageKey(slug));
  expect(html).toContain('Second words about');
  expect(html).toContain(`href="../../wiki/${other}/index.html"`);
  expect(html).toContain('Revision 2');
  expect(await objectText(s3, bucket, 'index.html')).toContain(`href="wiki/${slug}/index.html"`);
  expect(await objectText(s3, bucket, 'recent.html')).toContain('herons');
  const search = JSON.parse((await objectText(s3, bucket, searchIndexKey))!) as SearchIndex;
  expect(search.pages.find((entry) => entry.slug === slug)?.text).toContain('herons');
  expect(await objectText(s3, bucket, 'maintenance.html')).toContain('under maintenance');
  expect(await pendingFor(db, [slug, other])).toBe(0);
});

test('when the bucket refuses a write, then the change stays owed and is retried after its backoff, not before', async () => {
  const clock = testClock();
  const slug = uniqueName('Refused');
  await create(slug, 'Kept until it is written.');
  const broken = publisherOn(db, s3, 'no-such-bucket-for-backup', clock.now);
  await drainAll(broken);
  expect(await pendingFor(db, [slug])).toBe(1);
  const { rows } = await db.query<{ attempts: number; last_error: string }>(
    'SELECT attempts, last_error FROM backup_outbox WHERE slug = $1',
    [slug],
  );
  expect(rows[0]!.attempts).toBe(1);
  expect(rows[0]!.last_error).toMatch(/bucket/i);

  const bucket = await newBucket(s3);
  const working = publisherOn(db, s3, bucket, clock.now);
  await drainAll(working);
  expect(await objectText(s3, bucket, pageKey(slug))).toBeNull();

  clock.advance(1_000);
  await drainAll(working);
  expect(await objectText(s3, bucket, pageKey(slug))).toContain('Kept until it is written.');
  expect(await pendingFor(db, [slug])).toBe(0);
});

test('when a publisher dies between its write and its delete, then another publishes the change again once the claim runs out', async () => {
  const clock = testClock();
  const slug = uniqueName('Orphaned');
  await create(slug, 'Claimed by an instance that then crashed.');
  const outbox = createBackupOutbox(db);
  // The crashed instance claimed everything due (this row among them) and never came back.
  for (let claimed = await outbox.claimChanges(500, clock.now(), leaseMs); claimed.length > 0;) {
    claimed = await outbox.claimChanges(500, clock.now(), leaseMs);
  }
  const bucket = await newBucket(s3);
  const survivor = publisherOn(db, s3, bucket, clock.now);
  await drainAll(survivor);
  expect(await objectText(s3, bucket, pageKey(slug))).toBeNull();
  expect(await pendingFor(db, [slug])).toBe(1);

  clock.advance(leaseMs);
  await drainAll(survivor);
  expect(await objectText(s3, bucket, pageKey(slug))).toContain('then crashed');
  expect(await pendingFor(db, [slug])).toBe(0);
});

test('when changes wait, then the lag is the age of the oldest, logged as a CloudWatch embedded metric', async () => {
  const clock = testClock();
  const slug = uniqueName('Lagging');
  await create(slug, 'Waiting.');
  const outbox = createBackupOutbox(db);
  const lag = await outbox.lag();
  expect(lag.oldestChangeAt).not.toBeNull();
  expect(lag.pendingChanges).toBeGreaterThanOrEqual(1);

  clock.advance(400_000);
  const fields = lagMetricFields(lag, clock.now());
  expect(fields.BackupLagSeconds).toBeGreaterThanOrEqual(400);
  expect(fields._aws.CloudWatchMetrics[0]).toEqual({
    Namespace: 'cloudwiki',
    Dimensions: [[]],
    Metrics: [{ Name: 'BackupLagSeconds', Unit: 'Seconds' }],
  });
  expect(lagMetricFields({ oldestChangeAt: null, pendingChanges: 0 }, clock.now()).BackupLagSeconds).toBe(0);
});

describe('when the instance drains', () => {
  afterEach(() => jest.useRealTimers());

  test('then the publisher finishes the round under way, deletes its rows, and polls no more', async () => {
    const bucket = await newBucket(s3);
    const before = uniqueName('BeforeDrain');
    await create(before, 'Saved before the drain.');
    // The publisher's schedule runs on fake time; its database and S3 calls finish on real I/O.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    const publisher = publisherOn(db, s3, bucket, () => new Date());
    publisher.start();
    await jest.advanceTimersByTimeAsync(0);
    await publisher.stop();
    jest.useRealTimers();
    expect(await objectText(s3, bucket, pageKey(before))).toContain('Saved before the drain.');
    expect(await pendingFor(db, [before])).toBe(0);

    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    const after = uniqueName('AfterDrain');
    await create(after, 'Saved after the drain: for the instances still running.');
    await jest.advanceTimersByTimeAsync(10_000);
    jest.useRealTimers();
    expect(await pendingFor(db, [after])).toBe(1);
    expect(await objectText(s3, bucket, pageKey(after))).toBeNull();
  });
});
