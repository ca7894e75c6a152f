import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { PageRepository } from '../pages/repository';
import { putSiteFile } from './objects';
import type { BackupOutbox, ClaimedChange } from './outbox';
import { createSiteRenderer, type SearchEntry } from './render';

export interface BackupPublisherOptions {
  outbox: BackupOutbox;
  pages: PageRepository;
  s3: S3Client;
  bucket: string;
  logger: Logger;
  now: () => Date;
  /** Changes claimed at once: a burst of saves goes out in a few batches, not one write per poll. */
  batchSize: number;
  /**
   * How long a claim lasts. Above the worst time a batch takes (the S3 client gives up on a call
   * after a few seconds), so a live publisher never loses its claim; a crashed one's rows come back
   * after it.
   */
  leaseMs: number;
  /** How often an idle publisher looks for work: the backup's lag when nothing fails. */
  pollMs: number;
  /** The first retry of a failed write; each further attempt waits twice as long, up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
}

export interface DrainResult {
  /** Outbox rows claimed (and published, unless failed). */
  changes: number;
  /** Whether the site-wide files were rewritten. */
  site: boolean;
  failed: boolean;
}

/** Pages written at once: enough to overlap S3 round trips, few enough not to crowd the writer pool. */
const concurrency = 4;
const searchReadBatch = 200;

/**
 * Keeps the backup bucket current: claims changes from the outbox, renders each changed page from
 * its database row, writes it, and only then deletes the rows; then rewrites the site-wide files
 * (all pages, recent changes, search) once for the whole batch. Every instance runs one; the
 * outbox's claims keep them from doing the same work twice, and every write is a PUT of the whole
 * object, so doing it twice after a crash is harmless.
 */
export function createBackupPublisher(options: BackupPublisherOptions) {
  const { outbox, pages, s3, bucket, logger, now } = options;
  const renderer = createSiteRenderer();
  // The search index needs every page's text; this keeps each page's entry at the revision it was
  // rendered from, so a rebuild reads only the pages that changed since (about the size of the
  // index itself, which readers download whole).
  const searchEntries = new Map<string, { revision: number; entry: SearchEntry }>();
  let assetsWritten = false;

  const retryDelay = (attempts: number) => Math.min(options.maxRetryMs, options.retryMs * 2 ** Math.max(0, attempts - 1));

  async function writeAssets() {
    if (assetsWritten) return;
    // Before any page that links to them: a new bucket must never show a page without its style.
    await Promise.all(renderer.assetFiles().map((file) => putSiteFile(s3, bucket, file)));
    assetsWritten = true;
  }

  /** Reads the page from the writer (a replica may not have the change yet) and writes its copy. */
  async function publishPage(slug: string) {
    const row = await pages.findForView(slug, null, [], { fromWriter: true });
    if (!row || row.body === null) return;
    const page = { ...row, body: row.body };
    const existing = await pages.existing(renderer.linkedSlugs(page.body), { fromWriter: true });
    const rendered = renderer.page(page, existing, row.uploads, now());
    await putSiteFile(s3, bucket, rendered.file);
    searchEntries.set(slug, { revision: page.revision, entry: rendered.search });
  }

  async function publishChanges(claimed: ClaimedChange[]) {
    const slugs = [...new Set(claimed.map((change) => change.slug))];
    await writeAssets();
    await inBatches(slugs, publishPage);
    await outbox.completeChanges(claimed.map((change) => change.id));
  }

  /** All pages, recent changes and the search index, from the writer as it is now. */
  async function publishSite() {
    const listed = await pages.list({ fromWriter: true });
    const recent = await pages.recent(null, { fromWriter: true });
    const stale = listed.filter((page) => searchEntries.get(page.slug)?.revision !== page.revision);
    // A few hundred at a time: a new instance reads every page once, in a few round trips.
    for (let start = 0; start < stale.length; start += searchReadBatch) {
      const found = await outbox.pagesBySlug(stale.slice(start, start + searchReadBatch).map((page) => page.slug));
      // The text does not depend on which linked pages exist: only the links' targets do.
      for (const page of found)
        searchEntries.set(page.slug, { revision: page.revision, entry: renderer.page(page, new Set(), [], now()).search });
    }
    const listedSlugs = new Set(listed.map((page) => page.slug));
    for (const slug of searchEntries.keys()) if (!listedSlugs.has(slug)) searchEntries.delete(slug);
    const renderedAt = now();
    await writeAssets();
    const files = [
      renderer.index(listed, renderedAt),
      renderer.recent(recent.items, renderedAt),
      ...renderer.searchAndMaintenance(
        listed.flatMap((page) => searchEntries.get(page.slug)?.entry ?? []),
        renderedAt,
      ),
    ];
    await Promise.all(files.map((file) => putSiteFile(s3, bucket, file)));
  }

  /** One round: a batch of changes, then the site-wide files if they owe any. */
  async function drainOnce(): Promise<DrainResult> {
    const result: DrainResult = { changes: 0, site: false, failed: false };
    const claimed = await outbox.claimChanges(options.batchSize, now(), options.leaseMs);
    result.changes = claimed.length;
    if (claimed.length > 0) {
      try {
        await publishChanges(claimed);
      } catch (error) {
        result.failed = true;
        const attempts = Math.max(...claimed.map((change) => change.attempts));
        const retryInMs = retryDelay(attempts);
        logger.warn({ err: error, changes: claimed.length, attempts, retryInMs }, 'backup: publishing pages failed; retrying later');
        await outbox.retryChangesLater(
          claimed.map((change) => change.id),
          now(),
          retryInMs,
          String(error instanceof Error ? error.message : error),
        );
      }
    }
    const site = await outbox.claimSite(now(), options.leaseMs);
    if (site) {
      try {
        await publishSite();
        await outbox.completeSite(site, now());
        result.site = true;
      } catch (error) {
        result.failed = true;
        const retryInMs = retryDelay(site.attempts);
        logger.warn(
          { err: error, attempts: site.attempts, retryInMs },
          'backup: rewriting the page list and search failed; retrying later',
        );
        await outbox.retrySiteLater(site, now(), retryInMs);
      }
    }
    return result;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = drainOnce()
        .then(
          // A full batch means more may be waiting: go on at once.
          (result) => (result.changes >= options.batchSize && !result.failed ? 0 : options.pollMs),
          (error: unknown) => {
            // The database is away (a failover): the rows wait in it, nothing is lost; look again.
            logger.warn({ err: error }, 'backup: the outbox could not be read; trying again');
            return options.pollMs;
          },
        )
        .then(schedule);
    }, delayMs);
  }

  return {
    drainOnce,

    /** Starts polling the outbox (server.ts, once the instance listens). */
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },

    /** Stops polling and waits for a round in progress: its claims end in a delete or a retry, never halfway. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type BackupPublisher = ReturnType<typeof createBackupPublisher>;

async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += concurrency) await Promise.all(items.slice(start, start + concurrency).map(work));
}
