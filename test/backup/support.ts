import { CreateBucketCommand, GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import type { Database } from '../../app/db/db';
import { createBackupOutbox } from '../../app/backup/outbox';
import { createBackupPublisher } from '../../app/backup/publisher';
import { createPageRepository } from '../../app/pages/repository';
import { uniqueName } from '../support/browser-like';

/** A clock the test moves: real time plus whatever the test has skipped ahead. */
export function testClock() {
  let skippedMs = 0;
  return {
    now: () => new Date(Date.now() + skippedMs),
    advance(ms: number) {
      skippedMs += ms;
    },
  };
}

export const leaseMs = 20_000;

export function publisherOn(db: Database, s3: S3Client, bucket: string, now: () => Date) {
  return createBackupPublisher({
    outbox: createBackupOutbox(db),
    pages: createPageRepository(db),
    s3,
    bucket,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    now,
    batchSize: 10,
    leaseMs,
    pollMs: 1_000,
    retryMs: 1_000,
    maxRetryMs: 60_000,
  });
}

/** A bucket of the test's own: other suites' changes get published into theirs. */
export async function newBucket(s3: S3Client): Promise<string> {
  const bucket = uniqueName('backup')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 60);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function objectText(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return null;
    throw error;
  }
}

/** Rows still owed for these slugs. */
export async function pendingFor(db: Database, slugs: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM backup_outbox WHERE slug = ANY($1::text[])', [
    slugs,
  ]);
  return rows[0]!.count;
}

/** Drains until nothing is due: other suites' changes share the outbox and come first. */
export async function drainAll(publisher: { drainOnce: () => Promise<{ changes: number; site: boolean }> }): Promise<void> {
  for (let round = 0; round < 1000; round += 1) {
    const result = await publisher.drainOnce();
    if (result.changes === 0 && !result.site) return;
  }
  throw new Error('the outbox never ran dry');
}
