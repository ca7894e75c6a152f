import '../../app/embedded/quiet-sdk-warning';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadSettings } from '../../app/config';
import { createDatabase } from '../../app/data/db';
import { secretPassword } from '../../app/data/secret-password';
import { createPageRepository } from '../../app/data/pages';
import { createLogger } from '../../app/logger';
import { errorDocument, renderSite, type SiteFile } from './site';
import { readAllPages } from './source';

export const defaultOutputDir = '.cache/static-site';

const help = `npm run static-site:build [-- options]

Renders every current page of the wiki into a read-only static copy — the backup site that S3
website hosting serves when the wiki is down (Route 53 failover on AWS, HAProxy's backup server in
the lab). Pages are read from the database through the app's page repository: from the replica
when DATABASE_READ_URL is set, otherwise from DATABASE_URL. Publish the result with
\`npm run static-site:publish\`.

Output: index.html (all pages), search.html (client-side search over static/search-index.*.json),
wiki/<slug>/index.html (each page), maintenance.html (the bucket's error document) and hashed
assets under static/. The output directory is emptied first.

Environment: DATABASE_URL, DATABASE_READ_URL (optional), DATABASE_SECRET_ARN and AWS_REGION (optional:
the RDS-managed password, as the app reads it).
Options:
  --out DIR   where to write the site [${defaultOutputDir}]
  -h, --help  this help`;

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

export function checkOutputDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(path.join(dir, errorDocument))) {
    throw new Error(`${dir} is not empty and is not a previous static-site build: choose another --out, or empty it yourself`);
  }
}

async function main() {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: defaultOutputDir }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return console.log(help);
  const settings = loadSettings(process.env, ['DATABASE_URL', 'DATABASE_READ_URL', 'DATABASE_SECRET_ARN']);
  const out = path.resolve(values.out);
  checkOutputDir(out);
  const db = createDatabase({
    writerUrl: settings.DATABASE_URL,
    readerUrl: settings.DATABASE_READ_URL,
    // On AWS the password is RDS's rotated secret, as for the app itself.
    password: settings.DATABASE_SECRET_ARN
      ? secretPassword(settings.DATABASE_SECRET_ARN, loadSettings(process.env, ['AWS_REGION']).AWS_REGION)
      : undefined,
    logger: createLogger('warn'),
    poolSize: 4,
  });
  try {
    const snapshotAt = new Date();
    console.error(`reading pages from ${settings.DATABASE_READ_URL ? 'the replica (DATABASE_READ_URL)' : 'DATABASE_URL'} ...`);
    let shown = 0;
    const pages = await readAllPages(createPageRepository(db), (done, total) => {
      if (done === total || done - shown >= 100) {
        shown = done;
        console.error(`  ${done}/${total} pages`);
      }
    });
    const files = renderSite(pages, snapshotAt);
    writeSite(out, files);
    console.log(`wrote ${files.length} files (${pages.length} pages) to ${out}`);
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(
      error instanceof ConfigError ? error.message : `static-site:build failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
