// Started by global-setup.ts in its own process: PGlite, dynalite and s3rver for the whole test
// run, in memory. Prints one JSON line with the endpoints, then runs until killed.
import { migrate } from '../../app/db/migrate';
import { startEmbeddedServices } from '../../dev/services';
import { createLogger } from '../../app/platform/logger';
import { local } from '../../app/contracts';

async function main() {
  const services = await startEmbeddedServices({ sessionTable: local.sessionTable, buckets: Object.values(local.buckets) });
  await migrate(services.databaseUrl, createLogger('warn'));
  process.stdout.write(
    JSON.stringify({
      TEST_DATABASE_URL: services.databaseUrl,
      TEST_DYNAMODB_ENDPOINT: services.dynamodbEndpoint,
      TEST_S3_ENDPOINT: services.s3Endpoint,
    }) + '\n',
  );
  const stop = () => services.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Never outlive the test run, even if jest is killed before its teardown.
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
