import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '../../app/db/db';
import { createPageRepository } from '../../app/pages/repository';
import { errorDocument, renderSite, type SiteFile } from '../../app/backup/render';
import { readWholeSite } from '../../app/backup/source';

export const defaultOutputDir = '.cache/static-site';

/**
 * Writes the files under dir, which is emptied first so that nothing stale is published. Only an
 * empty directory or a previous build (it has the error document) is emptied: a mistyped --out
 * must not delete someone's files.
 */
export function writeSite(dir: string, files: readonly SiteFile[]): void {
  checkOutputDir(dir);
  rmSync(dir, { recursive: true, force: true });
  for (const file of files) {
    const target = path.join(dir, file.key);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.body);
  }
}

function checkOutputDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(path.join(dir, errorDocument))) {
    throw new Error(`${dir} is not empty and is not a previous static-site build: choose another --out, or empty it yourself`);
  }
}

/**
 * The whole backup site from the database as it is now, for a new or damaged bucket: every current
 * page read through the app's own repository (from the replica when the database has a reader),
 * rendered by the same renderer the instances' continuous publisher uses (app/backup), and written
 * under dir.
 */
export async function buildSite(
  db: Database,
  dir: string,
  progress?: (done: number, total: number) => void,
): Promise<{ files: number; pages: number }> {
  checkOutputDir(dir);
  const snapshotAt = new Date();
  const site = await readWholeSite(createPageRepository(db), progress);
  const files = renderSite(site.pages, snapshotAt, site.recent, site.attachments);
  writeSite(dir, files);
  return { files: files.length, pages: site.pages.length };
}
