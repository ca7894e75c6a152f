import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { pageKey } from '../../app/backup/links';
import { WikiClient } from '../wiki-client/client';

export interface LagRunOptions {
  wikiUrl: string;
  s3: S3Client;
  bucket: string;
  writers: number;
  /** Saves a second, all writers together. */
  rate: number;
  seconds: number;
  /** How long to wait after the load for the backup to show every acknowledged save. */
  settleSeconds: number;
  runId: string;
  /** Called at evenly spaced moments during the load, `kills` times (a crash of an instance). */
  kills: number;
  kill: () => Promise<string>;
  log: (line: string) => void;
}

export interface LagReport {
  acknowledged: number;
  /** Saves answered with anything but 200/201 (refused, failed, or cut off by a killed instance). */
  unacknowledged: number;
  /** Acknowledged saves the backup showed (that revision or a later one) before the settle time ran out. */
  seen: number;
  missing: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  killed: string[];
}

interface Ack {
  slug: string;
  revision: number;
  at: number;
  seenAt?: number;
}

const password = 'backup-lag-virtual-user-password';
const slugsPerWriter = 3;
/** How often each page being waited for is read from the bucket: the measurement's resolution. */
const watchEveryMs = 250;

/** The revision a published page says it shows (app/backup/templates/page.njk). */
function revisionIn(html: string): number | null {
  const match = /Revision (\d+), last edited/.exec(html);
  return match ? Number(match[1]) : null;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * Saves pages through the public port at a steady rate and watches the backup bucket for each
 * acknowledged revision: the lag of a save is from its acknowledgement to the first read of the
 * bucket that shows it (or a later revision of the page). Killing instances midway shows that no
 * acknowledged save is lost on the way to the backup.
 */
export async function measureBackupLag(options: LagRunOptions): Promise<LagReport> {
  const acks: Ack[] = [];
  let unacknowledged = 0;
  const known = new Map<string, number | null>();
  const clients: WikiClient[] = [];
  for (let writer = 0; writer < options.writers; writer += 1) {
    const client = new WikiClient(options.wikiUrl, { timeoutMs: 5000 });
    await client.logIn('signup', `lag-${options.runId}-${writer}`.slice(0, 32), password);
    clients.push(client);
  }
  const slugOf = (writer: number, turn: number) => `Backup-lag-${options.runId}-${writer}-${turn % slugsPerWriter}`;

  async function save(writer: number, turn: number): Promise<void> {
    const slug = slugOf(writer, turn);
    const baseRevision = known.get(slug) ?? null;
    try {
      const outcome = await clients[writer]!.savePage(slug, {
        body: `Turn ${turn} of writer ${writer}, run ${options.runId}.`,
        summary: 'backup lag',
        baseRevision,
      });
      if ('saved' in outcome) {
        acks.push({ slug, revision: outcome.saved.revision, at: Date.now() });
        known.set(slug, outcome.saved.revision);
        return;
      }
      unacknowledged += 1;
      // A save cut off by a crash may have committed all the same: start from what the wiki has.
      if ('conflict' in outcome) known.set(slug, outcome.conflict.currentRevision);
    } catch {
      unacknowledged += 1;
    }
  }

  let loading = true;
  const intervalMs = (1000 * options.writers) / options.rate;
  const writers = Array.from({ length: options.writers }, async (_, writer) => {
    await sleep((intervalMs * writer) / options.writers);
    let next = performance.now();
    for (let turn = 0; loading; turn += 1) {
      await save(writer, turn);
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  });

  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const waiting = new Map<string, Ack[]>();
      for (const ack of acks) if (ack.seenAt === undefined) waiting.set(ack.slug, [...(waiting.get(ack.slug) ?? []), ack]);
      await Promise.all(
        [...waiting].map(async ([slug, pending]) => {
          const shown = await publishedRevision(options.s3, options.bucket, slug);
          const at = Date.now();
          for (const ack of pending) if (shown !== null && shown >= ack.revision) ack.seenAt = at;
        }),
      );
      await sleep(watchEveryMs);
    }
  })();

  const killed: string[] = [];
  const killer = (async () => {
    for (let kill = 1; kill <= options.kills; kill += 1) {
      await sleep((options.seconds * 1000) / (options.kills + 1));
      if (!loading) return;
      try {
        const victim = await options.kill();
        killed.push(victim);
        options.log(`killed ${victim} (SIGKILL) with ${acks.length} saves acknowledged so far`);
      } catch (error) {
        options.log(`could not kill an instance: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();

  for (let second = 1; second <= options.seconds; second += 1) {
    await sleep(1000);
    if (second % 10 === 0) {
      const waiting = acks.filter((ack) => ack.seenAt === undefined).length;
      options.log(`${second}/${options.seconds} s: ${acks.length} saves acknowledged, ${waiting} not in the backup yet`);
    }
  }
  loading = false;
  await Promise.all([...writers, killer]);
  options.log(`load over: ${acks.length} acknowledged; waiting up to ${options.settleSeconds} s for the backup to show them all`);
  const settleUntil = Date.now() + options.settleSeconds * 1000;
  while (acks.some((ack) => ack.seenAt === undefined) && Date.now() < settleUntil) await sleep(watchEveryMs);
  watching = false;
  await watcher;

  const lags = acks
    .filter((ack) => ack.seenAt !== undefined)
    .map((ack) => ack.seenAt! - ack.at)
    .sort((a, b) => a - b);
  return {
    acknowledged: acks.length,
    unacknowledged,
    seen: lags.length,
    missing: acks.length - lags.length,
    lagP50Ms: percentile(lags, 0.5),
    lagP99Ms: percentile(lags, 0.99),
    lagMaxMs: lags.length ? lags[lags.length - 1]! : null,
    killed,
  };
}

async function publishedRevision(s3: S3Client, bucket: string, slug: string): Promise<number | null> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pageKey(slug) }));
    return revisionIn(await object.Body!.transformToString());
  } catch {
    // Not published yet (NoSuchKey), or s3rver busy: the next round reads it again.
    return null;
  }
}
