import '../../dev/quiet-sdk-warning';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';
import { freePort } from '../services/ports';
import { startServices } from '../services/stack';

// `npm run test:integration [-- jest args]`: starts PostgreSQL 15, DynamoDB Local and s3rver on
// loopback, migrates the database, runs every jest suite (the unit ones again, now on real
// servers, plus *.integration.test.ts) and stops the servers, whatever the outcome.

const root = path.resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const log = (line: string) => console.error(`[services] ${line}`);
  const services = await startServices({
    stateDir: path.join(root, '.cache/integration'),
    ports: { postgres: await freePort(), dynamodb: await freePort(), s3: await freePort() },
    log,
  });
  try {
    const { DATABASE_URL, DYNAMODB_ENDPOINT, S3_ENDPOINT } = services.env;
    if (!DATABASE_URL || !DYNAMODB_ENDPOINT || !S3_ENDPOINT) throw new Error('the services did not report their endpoints');
    await migrate(DATABASE_URL, createLogger('warn'));
    log(`PostgreSQL ${new URL(DATABASE_URL).port}, DynamoDB Local ${DYNAMODB_ENDPOINT}, s3rver ${S3_ENDPOINT}: running jest`);
    return await runJest({ TEST_DATABASE_URL: DATABASE_URL, TEST_DYNAMODB_ENDPOINT: DYNAMODB_ENDPOINT, TEST_S3_ENDPOINT: S3_ENDPOINT });
  } finally {
    await services.stop();
  }
}

function runJest(env: Record<string, string>): Promise<number> {
  const jest = require.resolve('jest/bin/jest');
  const child = spawn(process.execPath, [jest, '--config', 'jest.integration.config.js', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
