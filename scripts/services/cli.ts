import '../../dev/quiet-sdk-warning';
import { Command } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { portNumber } from './cli-options';
import { stopOnShutdown } from './process';
import { startServices } from './stack';

const program = new Command('npm run services --')
  .description('Real local servers on 127.0.0.1 for the tests and the app by hand: PostgreSQL 15, DynamoDB Local, s3rver.')
  .option('--postgres-port <n>', 'PostgreSQL port (with --replica: the writer endpoint)', portNumber, 55432)
  .option('--dynamodb-port <n>', 'DynamoDB Local port', portNumber, 58000)
  .option('--s3-port <n>', 's3rver port', portNumber, 54569)
  // Not --env-file: Node takes that option for itself, even after the script name.
  .option('--write-env <path>', 'where to write the settings', '.cache/services.env')
  .option('--state-dir <path>', 'where the cluster and objects live; wiped at start', '.cache/services')
  .option('--replica', 'add a streaming replica of PostgreSQL (DATABASE_READ_URL), as the lab runs', false)
  .addHelpText(
    'after',
    `
Runs until Ctrl-C, SIGTERM, or npm exiting: PostgreSQL 15 (a fresh cluster each start), DynamoDB
Local (in memory; note: it listens on ALL interfaces, it has no option to bind to loopback) and
s3rver. Creates the sessions table and the buckets, prints the app's settings and the TEST_ names
the test suites read, and writes them to the --write-env file:

  npm run services &            # or in another terminal
  set -a; . .cache/services.env; set +a
  npx jest --config jest.integration.config.js test/sessions/sessions.test.ts

(\`npm run test:integration\` starts and stops its own servers; this is for working by hand.)

Needs (Debian): apt-get install -y postgresql openjdk-17-jre-headless; runs as root (PostgreSQL
itself runs as the postgres user). The first start fetches DynamoDB Local (56 MB) into .cache/.`,
  );

async function main() {
  const options = program.parse().opts<{
    postgresPort: number;
    dynamodbPort: number;
    s3Port: number;
    writeEnv: string;
    stateDir: string;
    replica: boolean;
  }>();
  const stateDir = resolve(options.stateDir);
  const envFile = resolve(options.writeEnv);
  // Integration tests want a known empty database and bucket set on every run.
  rmSync(stateDir, { recursive: true, force: true });
  const services = await startServices({
    stateDir,
    ports: { postgres: options.postgresPort, dynamodb: options.dynamodbPort, s3: options.s3Port },
    ...(options.replica ? { replica: { zones: ['primary', 'replica'] as [string, string] } } : {}),
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
