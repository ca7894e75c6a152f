import './quiet-sdk-warning';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../app/config';
import { local } from '../app/contracts';
import { runUntilSignalled, startServer } from '../app/server';
import { startEmbeddedServices } from './services';

// `npm start`: the whole wiki on one machine. PGlite, dynalite and s3rver stand in for RDS,
// DynamoDB and S3, speaking their real protocols, so the app runs the same code as on AWS.
// Data stays in ./.data between runs.

const dataDir = path.resolve('.data');
const { sessionTable, buckets } = local;

async function main() {
  mkdirSync(dataDir, { recursive: true });
  console.log(`Starting embedded PostgreSQL (PGlite), DynamoDB (dynalite) and S3 (s3rver) with data in ${dataDir} ...`);
  const services = await startEmbeddedServices({ dataDir, sessionTable, buckets: Object.values(buckets) });
  try {
    const config = loadConfig({
      DATABASE_URL: services.databaseUrl,
      DYNAMODB_ENDPOINT: services.dynamodbEndpoint,
      S3_ENDPOINT: services.s3Endpoint,
      SESSION_TABLE: sessionTable,
      SESSION_SECRET: sessionSecret(),
      AWS_REGION: 'us-east-1',
      ASSETS_BUCKET: buckets.assets,
      UPLOADS_BUCKET: buckets.uploads,
      AWS_EC2_METADATA_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      // No load balancer to wait for: Ctrl-C stops at once, letting in-flight requests finish.
      DRAIN_DELAY_MS: '0',
      DRAIN_TIMEOUT_MS: '3000',
      // The few settings that make sense to change on one machine.
      PORT: process.env.PORT,
      // One machine: reachable from this machine only, unless HOST says otherwise.
      HOST: process.env.HOST ?? '127.0.0.1',
      SESSION_STORE: process.env.SESSION_STORE,
      INSTANCE_ID: process.env.INSTANCE_ID,
      INSTANCE_AZ: process.env.INSTANCE_AZ,
    });
    const starting = startServer(config);
    runUntilSignalled(starting, () => services.stop());
    const { url } = await starting;
    console.log(
      [
        '',
        `  cloudwiki is running at ${url}`,
        '',
        `  PostgreSQL (PGlite)  ${services.databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
        `  DynamoDB (dynalite)  ${services.dynamodbEndpoint}  table ${sessionTable}`,
        `  S3 (s3rver)          ${services.s3Endpoint}  buckets ${Object.values(buckets).join(', ')}`,
        `  sessions             ${config.SESSION_STORE}`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    await services.stop();
    throw error;
  }
}

/** Kept with the data so that sessions survive a restart, as they would on AWS. */
function sessionSecret(): string {
  const file = path.join(dataDir, 'session-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
