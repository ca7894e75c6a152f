import type { PageRepository, RecentChange } from '../pages/repository';
import type { BackupAttachment, SnapshotPage } from './render';

/** Pages read at once: enough to overlap round trips, few enough not to crowd the replica. */
const concurrency = 4;

export interface WholeSite {
  pages: SnapshotPage[];
  recent: RecentChange[];
  attachments: Map<string, BackupAttachment[]>;
}

/**
 * Every current page with its body and attachments, and the newest changes, through the app's own
 * repository: the list, then each page. Reads go to the replica when DATABASE_READ_URL is set (the
 * repository's reader), so taking a full copy never loads the primary that the live wiki writes to.
 */
export async function readWholeSite(pages: PageRepository, progress: (done: number, total: number) => void = () => {}): Promise<WholeSite> {
  const listed = await pages.list();
  const found: SnapshotPage[] = [];
  const attachments = new Map<string, BackupAttachment[]>();
  let next = 0;
  const worker = async () => {
    while (next < listed.length) {
      const { slug } = listed[next++]!;
      const row = await pages.findForView(slug, null, []);
      // Deleted between the list and the read: a copy without it is still a consistent copy.
      if (row && row.body !== null) {
        found.push({
          slug: row.slug,
          title: row.title,
          body: row.body,
          revision: row.revision,
          updatedAt: row.updatedAt,
          updatedBy: row.updatedBy,
        });
        if (row.uploads.length > 0) attachments.set(slug, row.uploads);
      }
      progress(found.length, listed.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, listed.length) }, worker));
  const recent = (await pages.recent(null)).items;
  return { pages: found, recent, attachments };
}
