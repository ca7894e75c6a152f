import type { PageRepository } from '../../app/pages/repository';
import type { SnapshotPage } from './site';

/** Pages read at once: enough to overlap round trips, few enough not to crowd the replica. */
const concurrency = 4;

/**
 * Every current page with its body, through the app's own repository: the list, then each page.
 * Reads go to the replica when DATABASE_READ_URL is set (the repository's reader), so taking a
 * snapshot never loads the primary that the live wiki writes to.
 */
export async function readAllPages(
  pages: PageRepository,
  progress: (done: number, total: number) => void = () => {},
): Promise<SnapshotPage[]> {
  const listed = await pages.list();
  const found: SnapshotPage[] = [];
  let next = 0;
  const worker = async () => {
    while (next < listed.length) {
      const { slug } = listed[next++]!;
      const page = await pages.findBySlug(slug);
      // Deleted between the list and the read: a copy without it is still a consistent copy.
      if (page) found.push(page);
      progress(found.length, listed.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, listed.length) }, worker));
  return found;
}
