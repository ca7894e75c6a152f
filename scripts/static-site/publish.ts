import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { cacheControlOf, contentTypeOf, putSiteFile } from '../../app/backup/objects';
import { errorDocument } from '../../app/backup/render';

/**
 * Keys one publish may delete without --force: a rebuilt site drops a page or an old asset or two.
 * More than that means the directory is not the wiki (a wrong --dir, a build from an empty or
 * wrong database), and deleting on its word would destroy the only copy.
 */
export const defaultMaxDeletes = 10;

interface PublishPlan {
  upload: string[];
  unchanged: string[];
  remove: string[];
}

interface PublishOptions {
  dir: string;
  bucket: string;
  dryRun?: boolean;
  /** Publish even into a bucket whose objects are not a backup site, or delete more than maxDeletes keys. */
  force?: boolean;
  /** The most keys deleted without force (defaultMaxDeletes). */
  maxDeletes?: number;
  /**
   * Publish only into a bucket with no backup site yet (deploys): once it has one, the instances
   * keep it current, and a build from an older copy of the database would put older pages back.
   */
  onlyIfNew?: boolean;
  log?: (line: string) => void;
}

/** Every file under dir as its object key (the relative path with forward slashes). */
function listSiteFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function listBucket(s3: S3Client, bucket: string): Promise<Map<string, string>> {
  const etags = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) etags.set(object.Key, (object.ETag ?? '').replace(/"/g, ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return etags;
}

/**
 * Uploads before it deletes, and the error and index documents last among the uploads, so a
 * reader during the sync never gets a page whose assets are not there yet.
 */
export async function publishSite(s3: S3Client, options: PublishOptions): Promise<PublishPlan> {
  const log = options.log ?? (() => {});
  const local = listSiteFiles(options.dir);
  if (!local.includes(errorDocument)) {
    throw new Error(`${options.dir} has no ${errorDocument}: build the site first with \`npm run static-site:build\``);
  }
  const remote = await listBucket(s3, options.bucket);
  // A sync deletes what the build does not have: pointed at the wrong bucket (the uploads!) it
  // would empty it. A bucket that is neither empty nor a backup site is refused.
  if (remote.size > 0 && !remote.has(errorDocument) && !options.force) {
    throw new Error(
      `bucket ${options.bucket} holds ${remote.size} objects but no ${errorDocument}: it does not look like the backup site, ` +
        'and publishing would delete them. Check --bucket, or pass --force to replace its contents.',
    );
  }
  if (options.onlyIfNew && remote.has(errorDocument)) {
    log(`bucket ${options.bucket} already holds the backup site, which the instances keep current: nothing published`);
    return { upload: [], unchanged: local, remove: [] };
  }
  const plan: PublishPlan = { upload: [], unchanged: [], remove: [] };
  const bodies = new Map<string, Buffer>();
  for (const key of local) {
    const body = readFileSync(path.join(options.dir, key));
    const md5 = createHash('md5').update(body).digest('hex');
    if (remote.get(key) === md5) plan.unchanged.push(key);
    else {
      plan.upload.push(key);
      bodies.set(key, body);
    }
  }
  const localKeys = new Set(local);
  plan.remove = [...remote.keys()].filter((key) => !localKeys.has(key)).sort();
  // The bucket is versioned (infra/02-data.yaml), so a deleted key can be brought back; still, a
  // publish refuses to delete on the word of a directory that looks wrong.
  const maxDeletes = options.maxDeletes ?? defaultMaxDeletes;
  const localPages = local.filter((key) => key.startsWith('wiki/')).length;
  const remotePages = [...remote.keys()].filter((key) => key.startsWith('wiki/')).length;
  if (!options.force && localPages === 0 && remotePages > 0) {
    throw new Error(
      `${options.dir} has no pages but bucket ${options.bucket} has ${remotePages}: publishing would delete every page of the backup. ` +
        'Build from the right database, or pass --force.',
    );
  }
  if (!options.force && plan.remove.length > maxDeletes) {
    throw new Error(
      `publishing ${options.dir} would delete ${plan.remove.length} keys from bucket ${options.bucket} (more than ${maxDeletes}), ` +
        `e.g. ${plan.remove.slice(0, 3).join(', ')}: check --dir and --bucket, run with --dry-run to see them all, or pass --force.`,
    );
  }
  const lastOfAll = (key: string) => (key.endsWith('.html') ? 1 : 0);
  plan.upload.sort((a, b) => lastOfAll(a) - lastOfAll(b) || a.localeCompare(b));

  const verb = options.dryRun ? 'would upload' : 'uploaded';
  for (const [index, key] of plan.upload.entries()) {
    if (!options.dryRun) await putSiteFile(s3, options.bucket, { key, body: bodies.get(key)! });
    log(`[${index + 1}/${plan.upload.length}] ${verb} ${key} (${contentTypeOf(key)}, ${cacheControlOf(key)})`);
  }
  // DeleteObjects takes at most 1000 keys a call.
  for (let start = 0; start < plan.remove.length; start += 1000) {
    const batch = plan.remove.slice(start, start + 1000);
    if (!options.dryRun) {
      await s3.send(new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
    for (const key of batch) log(`${options.dryRun ? 'would delete' : 'deleted'} ${key}`);
  }
  return plan;
}
