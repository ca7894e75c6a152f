import '../../dev/quiet-sdk-warning';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, type OutputConfiguration } from 'commander';
import { createS3Client } from '../../app/platform/aws-clients';
import { ConfigError, loadSettings } from '../../app/config';
import { createDatabase } from '../../app/db/db';
import { secretPassword } from '../../app/db/secret-password';
import { createLogger } from '../../app/platform/logger';
import { backupSiteBucket } from '../services/s3';
import { buildSite, defaultOutputDir } from './build';
import { defaultMaxDeletes, publishSite } from './publish';
import { errorDocument, immutablePrefix } from '../../app/backup/render';

/** Progress goes to stderr and the one-line result to stdout, so a script can keep the result. */
export interface StaticSiteIo {
  log: (line: string) => void;
  result: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Where commander writes help and usage errors (the terminal when unset). */
  output?: OutputConfiguration;
}

const defaultIo: StaticSiteIo = {
  log: (line) => console.error(line),
  result: (line) => console.log(line),
  env: process.env,
};

async function build(options: { out: string }, io: StaticSiteIo): Promise<void> {
  const settings = loadSettings(io.env, ['DATABASE_URL', 'DATABASE_READ_URL', 'DATABASE_SECRET_ARN']);
  const out = path.resolve(options.out);
  const db = createDatabase({
    writerUrl: settings.DATABASE_URL,
    readerUrl: settings.DATABASE_READ_URL,
    // On AWS the password is RDS's rotated secret, as for the app itself.
    password: settings.DATABASE_SECRET_ARN
      ? secretPassword(settings.DATABASE_SECRET_ARN, loadSettings(io.env, ['AWS_REGION']).AWS_REGION)
      : undefined,
    logger: createLogger('warn'),
    poolSize: 4,
  });
  try {
    io.log(`reading pages from ${settings.DATABASE_READ_URL ? 'the replica (DATABASE_READ_URL)' : 'DATABASE_URL'} ...`);
    let shown = 0;
    const built = await buildSite(db, out, (done, total) => {
      if (done === total || done - shown >= 100) {
        shown = done;
        io.log(`  ${done}/${total} pages`);
      }
    });
    io.result(`wrote ${built.files} files (${built.pages} pages) to ${out}`);
  } finally {
    await db.close();
  }
}

async function publish(options: PublishCliOptions, io: StaticSiteIo): Promise<void> {
  const settings = loadSettings(io.env, ['AWS_REGION', 'S3_ENDPOINT']);
  const bucket = options.bucket ?? io.env.BACKUP_SITE_BUCKET ?? backupSiteBucket;
  const s3 = createS3Client({ region: settings.AWS_REGION, endpoint: settings.S3_ENDPOINT });
  try {
    const plan = await publishSite(s3, {
      dir: path.resolve(options.dir),
      bucket,
      dryRun: options.dryRun,
      force: options.force,
      maxDeletes: options.maxDeletes,
      onlyIfNew: options.onlyIfNew,
      log: io.log,
    });
    const [upload, remove] = options.dryRun ? ['dry run: would upload', 'would delete'] : ['uploaded', 'deleted'];
    io.result(`${upload} ${plan.upload.length}, ${remove} ${plan.remove.length}, unchanged ${plan.unchanged.length} (bucket ${bucket})`);
  } finally {
    s3.destroy();
  }
}

interface PublishCliOptions {
  dir: string;
  bucket?: string;
  dryRun: boolean;
  force: boolean;
  maxDeletes: number;
  onlyIfNew: boolean;
}

function parseCount(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** `static-site build` and `static-site publish`: the npm scripts static-site:build and static-site:publish. */
export function staticSiteProgram(io: StaticSiteIo = defaultIo): Command {
  const program = new Command('static-site')
    .description(
      'The read-only backup copy of the wiki that S3 website hosting serves when the wiki is down ' +
        "(Route 53 failover on AWS, HAProxy's backup server in the lab).",
    )
    .showHelpAfterError('(add --help for the options and their defaults)')
    // Set before the subcommands are added, which inherit it: errors are thrown, never exit here.
    .exitOverride()
    .configureOutput(io.output ?? {});
  program
    .command('build')
    .description(
      'Render every current page of the wiki into a static copy, read from the database through the ' +
        "app's page repository (the replica when DATABASE_READ_URL is set). Writes index.html, search.html, " +
        `wiki/<slug>/index.html, ${errorDocument} (the bucket's error document) and hashed assets under ` +
        `${immutablePrefix}. The output directory is emptied first, but only if it is empty or a previous build.`,
    )
    .option('--out <dir>', 'where to write the site', defaultOutputDir)
    .addHelpText(
      'after',
      '\nEnvironment: DATABASE_URL; DATABASE_READ_URL (optional); DATABASE_SECRET_ARN and AWS_REGION (optional:\n' +
        'the RDS-managed password, read as the app reads it).',
    )
    .action((options: { out: string }) => build(options, io));
  program
    .command('publish')
    .description(
      'Sync a built site to a new or damaged backup bucket (the instances keep it current after that): upload new and changed files with their content types ' +
        '(unchanged ones, same MD5 as the ETag, are left alone), pages last, then delete keys the build no ' +
        `longer has. HTML is cached "max-age=60"; the hashed files under ${immutablePrefix} for a year, immutable. ` +
        `A bucket that holds objects but no ${errorDocument} is refused (it is not a backup site) unless --force.`,
    )
    .option('--dir <dir>', 'the built site', defaultOutputDir)
    .option('--bucket <name>', `the backup bucket (default: env BACKUP_SITE_BUCKET, else ${backupSiteBucket})`)
    .option('--dry-run', 'list what would be uploaded and deleted, change nothing', false)
    .option(
      '--only-if-new',
      'publish only into a bucket with no backup site yet (deploys: the instances keep an existing one current)',
      false,
    )
    .option(
      '--max-deletes <n>',
      'refuse to delete more keys than this (a wrong --dir must not empty the backup)',
      parseCount,
      defaultMaxDeletes,
    )
    .option(
      '--force',
      'publish even into a bucket that holds something other than a backup site, or delete more than --max-deletes keys',
      false,
    )
    .addHelpText('after', "\nEnvironment: AWS_REGION, and S3_ENDPOINT for a local s3rver (the lab's is in .lab/).")
    .action((options: PublishCliOptions) => publish(options, io));
  return program;
}

if (require.main === module) {
  staticSiteProgram()
    .parseAsync()
    .catch((error: unknown) => {
      // commander has printed its own message, or the help (exit code 0).
      if (error instanceof CommanderError) process.exit(error.exitCode);
      console.error(
        error instanceof ConfigError ? error.message : `static-site: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exit(1);
    });
}
