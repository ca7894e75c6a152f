import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../app/platform/aws-clients';
import { staticSiteProgram, type StaticSiteIo } from '../../../scripts/static-site/cli';
import { errorDocument } from '../../../app/backup/render';
import { env } from '../../support/app';

let workDir: string;
beforeEach(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'static-site-cli-'));
});
afterEach(() => rmSync(workDir, { recursive: true, force: true }));

function cli(environment: NodeJS.ProcessEnv) {
  const results: string[] = [];
  const io: StaticSiteIo = {
    log: () => {},
    result: (line) => results.push(line),
    env: environment,
    output: { writeOut: () => {}, writeErr: () => {} },
  };
  const run = (...args: string[]) => staticSiteProgram(io).parseAsync(args, { from: 'user' });
  return { run, results };
}

test('when built then published with --dry-run through the CLI, then the copy is written and nothing is uploaded', async () => {
  const s3Env = { AWS_REGION: 'us-east-1', S3_ENDPOINT: env('TEST_S3_ENDPOINT') };
  const bucket = `cli-backup-${Date.now()}`;
  const s3 = createS3Client({ region: 'us-east-1', endpoint: s3Env.S3_ENDPOINT });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { run, results } = cli({ DATABASE_URL: env('TEST_DATABASE_URL'), ...s3Env });
    const out = path.join(workDir, 'site');
    await run('build', '--out', out);
    expect(existsSync(path.join(out, errorDocument))).toBe(true);
    expect(results[0]).toMatch(new RegExp(`^wrote \\d+ files \\(\\d+ pages\\) to ${out}$`));

    await run('publish', '--dir', out, '--bucket', bucket, '--dry-run');
    expect(results[1]).toMatch(new RegExp(`^dry run: would upload \\d+, would delete 0, unchanged 0 \\(bucket ${bucket}\\)$`));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
  } finally {
    s3.destroy();
  }
});

test('when the output directory holds other files, then build refuses before reading the database', async () => {
  writeFileSync(path.join(workDir, 'precious.txt'), 'keep me');
  // No database could be reached at this address: the refusal must come first.
  const { run } = cli({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  await expect(run('build', '--out', workDir)).rejects.toThrow(/not a previous static-site build/);
  expect(existsSync(path.join(workDir, 'precious.txt'))).toBe(true);
});

test('when an option is unknown or required settings are missing, then the CLI says so', async () => {
  await expect(cli({}).run('build', '--bogus')).rejects.toThrow(/unknown option '--bogus'/);
  await expect(cli({}).run('publish', '--dry-run')).rejects.toThrow(/AWS_REGION/);
});
