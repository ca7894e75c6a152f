import { join } from 'node:path';
import { createBackupOutbox } from '../../app/backup/outbox';
import { createDatabase, type Database } from '../../app/db/db';
import { migrate } from '../../app/db/migrate';
import { createPageRepository } from '../../app/pages/repository';
import { seedPages } from '../../app/pages/seed';
import { createS3Client } from '../../app/platform/aws-clients';
import { createLogger } from '../../app/platform/logger';
import { backupSiteBucket } from '../services/s3';
import { buildSite } from '../static-site/build';
import { publishSite } from '../static-site/publish';

/**
 * The whole wiki as the backup copy, published when the lab starts: the full build, as for a new
 * bucket on AWS. From then on the instances keep it current, as on AWS (BACKUP_SITE_BUCKET). The
 * database is migrated and seeded first, as the first instance would, so the copy has the pages
 * the wiki opens with.
 */
export async function publishWholeBackupSite(options: {
  env: Record<string, string>;
  stateDir: string;
  log: (line: string) => void;
}): Promise<void> {
  const { DATABASE_URL: databaseUrl, S3_ENDPOINT: endpoint, AWS_REGION: region } = options.env;
  if (!databaseUrl || !endpoint || !region) throw new Error('the services did not report DATABASE_URL, S3_ENDPOINT and AWS_REGION');
  const logger = createLogger('warn');
  await migrate(databaseUrl, logger);
  const db = createDatabase({ writerUrl: databaseUrl, logger, poolSize: 4 });
  const s3 = createS3Client({ region, endpoint });
  try {
    await seedPages(createPageRepository(db));
    const dir = join(options.stateDir, 'static-site');
    const built = await buildSite(db, dir);
    try {
      const published = await publishSite(s3, { dir, bucket: backupSiteBucket });
      options.log(
        `backup site: ${built.pages} pages published in full to ${backupSiteBucket} (${published.upload.length} written, ` +
          `${published.remove.length} deleted); the instances publish every change from now on`,
      );
    } catch (error) {
      // A bucket kept from an earlier lab with other pages: refused rather than emptied. The
      // instances still publish every change, so the lab goes on.
      options.log(`backup site: the full publish was refused (${error instanceof Error ? error.message : String(error)})`);
    }
  } finally {
    s3.destroy();
    await db.close();
  }
}

export interface BackupLagReading {
  /** Seconds since the oldest change the backup does not show yet was acknowledged (0: current). */
  lagSeconds: number | null;
  pendingChanges: number | null;
  /** When the outbox last answered: while the database is down the last reading stays. */
  readAt: string | null;
}

/** Reads the backup's lag from the outbox every second, for the status page (and the game day). */
export function watchBackupLag(databaseUrl: string): { reading: () => BackupLagReading; stop: () => Promise<void> } {
  const db: Database = createDatabase({ writerUrl: databaseUrl, logger: createLogger('silent'), poolSize: 1 });
  const outbox = createBackupOutbox(db);
  let reading: BackupLagReading = { lagSeconds: null, pendingChanges: null, readAt: null };
  let busy = false;
  const read = async () => {
    if (busy) return;
    busy = true;
    try {
      const lag = await outbox.lag();
      const now = new Date();
      reading = {
        lagSeconds: lag.oldestChangeAt ? Math.max(0, Math.round((now.getTime() - lag.oldestChangeAt.getTime()) / 100) / 10) : 0,
        pendingChanges: lag.pendingChanges,
        readAt: now.toISOString(),
      };
    } catch {
      // The database is down (a fault): keep the last reading, whose readAt says how old it is.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void read(), 1000);
  return {
    reading: () => reading,
    async stop() {
      clearInterval(timer);
      await db.close();
    },
  };
}
