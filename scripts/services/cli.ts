import '../../app/embedded/quiet-sdk-warning';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stopOnShutdown } from './process';
import { startServices } from './stack';

const help = `npm run services [-- options]

Starts real local servers on 127.0.0.1 until Ctrl-C, SIGTERM, or npm exiting: PostgreSQL 15 (a
fresh cluster each start), DynamoDB Local (in memory; note: it listens on ALL interfaces, it has no
option to bind to loopback) and s3rver. Creates the sessions table and the buckets, prints the
app's settings and the TEST_ names the test suites read, and writes them to .cache/services.env:

  npm run services &            # or in another terminal
  set -a; . .cache/services.env; set +a
  npx jest --config jest.integration.config.js test/sessions.test.ts

(\`npm run test:integration\` starts and stops its own servers; this is for working by hand.)

Options (defaults in brackets):
  --postgres-port N   PostgreSQL port [55432]
  --dynamodb-port N   DynamoDB Local port [58000]
  --s3-port N         s3rver port [54569]
  --env-file PATH     where to write the settings [.cache/services.env]
  --state-dir PATH    where the cluster and objects live; wiped at start [.cache/services]
  -h, --help          this help

Needs (Debian): apt-get install -y postgresql openjdk-17-jre-headless; runs as root (PostgreSQL
itself runs as the postgres user). The first start fetches DynamoDB Local (56 MB) into .cache/.`;

function port(value: string | undefined, name: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new Error(`--${name} must be a port number, got ${value}`);
  return parsed;
}

async function main() {
  const { values } = parseArgs({
    options: {
      'postgres-port': { type: 'string', default: '55432' },
      'dynamodb-port': { type: 'string', default: '58000' },
      's3-port': { type: 'string', default: '54569' },
      'env-file': { type: 'string', default: '.cache/services.env' },
      'state-dir': { type: 'string', default: '.cache/services' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const stateDir = resolve(values['state-dir']);
  const envFile = resolve(values['env-file']);
  // Integration tests want a known empty database and bucket set on every run.
  rmSync(stateDir, { recursive: true, force: true });
  const services = await startServices({
    stateDir,
    ports: {
      postgres: port(values['postgres-port'], 'postgres-port'),
      dynamodb: port(values['dynamodb-port'], 'dynamodb-port'),
      s3: port(values['s3-port'], 's3-port'),
    },
    log: (line) => console.error(line),
  });
  // The app's own names, and the TEST_ names the test suites read (test/support/app.ts).
  const settings = {
    ...services.env,
    TEST_DATABASE_URL: services.env.DATABASE_URL,
    TEST_DYNAMODB_ENDPOINT: services.env.DYNAMODB_ENDPOINT,
    TEST_S3_ENDPOINT: services.env.S3_ENDPOINT,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  mkdirSync(dirname(envFile), { recursive: true });
  writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  console.log(lines.join('\n'));
  console.error(`\nready; settings written to ${envFile}. Ctrl-C stops everything.`);

  stopOnShutdown('services', async () => {
    await services.stop();
    rmSync(envFile, { force: true });
  });
}

main().catch((error: unknown) => {
  console.error(`services: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
