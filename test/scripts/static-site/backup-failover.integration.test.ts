import path from 'node:path';
import pino from 'pino';
import { createS3Client } from '../../../app/platform/aws-clients';
import { createDatabase } from '../../../app/db/db';
import { migrate } from '../../../app/db/migrate';
import { createPageRepository } from '../../../app/pages/repository';
import { backupSiteBucket } from '../../../scripts/services/s3';
import { waitUntil } from '../../../scripts/services/wait';
import { writeSite } from '../../../scripts/static-site/build';
import { publishSite } from '../../../scripts/static-site/publish';
import { renderSite } from '../../../app/backup/render';
import { readWholeSite } from '../../../app/backup/source';
import { servedBy, settled, startTestLab, type TestLab } from '../support/lab';

// The lab with the real backup site in its bucket: built from the lab's PostgreSQL and published
// by the same code as `npm run static-site:build` and `static-site:publish`.
let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab();
}, 120_000);
afterAll(() => lab?.dispose(), 60_000);

test('when every instance is down, then HAProxy serves the published copy of the wiki, and the instances once they are back', async () => {
  const env = lab.services.env;
  const logger = pino({ level: 'silent' });
  await migrate(env.DATABASE_URL!, logger);
  const db = createDatabase({ writerUrl: env.DATABASE_URL!, logger, poolSize: 2 });
  const s3 = createS3Client({ region: env.AWS_REGION!, endpoint: env.S3_ENDPOINT });
  try {
    const pages = createPageRepository(db);
    await pages.saveRevision({
      slug: 'Runbook',
      title: 'Runbook',
      body: 'When the wiki is down, read [[Contacts]].',
      summary: '',
      baseRevision: null,
      authorId: null,
    });
    await pages.saveRevision({
      slug: 'Contacts',
      title: 'Contacts',
      body: 'Call the on-call engineer.',
      summary: '',
      baseRevision: null,
      authorId: null,
    });
    const dir = path.join(lab.stateDir, 'static-site');
    writeSite(dir, renderSite((await readWholeSite(pages)).pages, new Date()));
    await publishSite(s3, { dir, bucket: backupSiteBucket });
  } finally {
    s3.destroy();
    await db.close();
  }

  await lab.waitForStatus('instances in service', settled);
  await lab.faults.inject({ fault: 'all-web', seconds: 4 });
  // A reader on the live wiki's URL: the website endpoint redirects /wiki/Runbook to its copy.
  let answer = { servedBy: '', status: 0, body: '' };
  await waitUntil(async () => (answer = await servedBy(lab.wikiUrl, '/wiki/Runbook')).servedBy === 'backup-site/s3', {
    what: 'the backup site',
    timeoutMs: 15_000,
  });
  expect(answer.status).toBe(200);
  expect(answer.body).toContain('This is a read-only copy as of');
  expect(answer.body).toContain('href="../../wiki/Contacts/index.html">Contacts</a>');

  const linked = await servedBy(lab.wikiUrl, '/wiki/Contacts/index.html');
  expect(linked.body).toContain('Call the on-call engineer.');
  const editor = await servedBy(lab.wikiUrl, '/wiki/Runbook/edit');
  expect(editor.status).toBe(404);
  expect(editor.body).toContain('cloudwiki is under maintenance');

  await lab.waitForStatus('the group back in service', settled, 45_000);
  const back = await servedBy(lab.wikiUrl, '/wiki/Runbook');
  expect(back.servedBy).toMatch(/^i-[0-9a-f]+\/lab-[abc]$/);
});
