import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startRestartableServer, type RestartableServer } from './restartable-server';
import { local } from '../../app/contracts';

const run = promisify(execFile);

/**
 * AWS's DynamoDB Local jar, as shipped in the npm package amplify-dynamodb-simulator. That package
 * depends on the whole Amplify CLI core (hundreds of packages), so it is not a devDependency:
 * the first start fetches just its tarball with `npm pack` (56 MB, once) into .cache/ and unpacks
 * the jar. Pin the version so every machine runs the same emulator.
 */
const dynamoDbLocalPackage = 'amplify-dynamodb-simulator@2.9.30';

function defaultDynamoDbLocalDir(root = process.cwd()): string {
  return resolve(root, '.cache', 'dynamodb-local');
}

/** Path of DynamoDBLocal.jar, fetching it into `cacheDir` first when it is not there yet. */
async function ensureDynamoDbLocalJar(cacheDir = defaultDynamoDbLocalDir()): Promise<string> {
  const jar = join(cacheDir, 'emulator', 'DynamoDBLocal.jar');
  if (existsSync(jar)) return jar;
  const staging = `${cacheDir}.download-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  process.stderr.write(`fetching DynamoDB Local (${dynamoDbLocalPackage}, about 56 MB, once) into ${cacheDir} ...\n`);
  try {
    await run('npm', ['pack', dynamoDbLocalPackage, '--pack-destination', staging, '--silent'], { cwd: staging });
    const tarball = readdirSync(staging).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack produced no tarball');
    await run('tar', ['-xzf', tarball, '--strip-components=1', 'package/emulator'], { cwd: staging });
    rmSync(join(staging, tarball));
    rmSync(cacheDir, { recursive: true, force: true });
    renameSync(staging, cacheDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `could not fetch DynamoDB Local with \`npm pack ${dynamoDbLocalPackage}\` (is the npm registry reachable?): ${
        (error as { stderr?: string }).stderr || error
      }`,
      { cause: error },
    );
  }
  return jar;
}

export interface DynamoDbLocalOptions {
  port: number;
  /**
   * Where tables are kept. Unset: in memory (gone at stop). The lab sets it so that the chaos
   * `sessions` fault (stop, wait, start) brings the sessions back as a real outage would.
   */
  dbPath?: string;
  cacheDir?: string;
  onLine?: (line: string) => void;
}

export interface DynamoDbLocalServer extends RestartableServer {
  readonly endpoint: string;
  readonly port: number;
}

/**
 * DynamoDB Local has no option to choose its address: it listens on ALL interfaces, not just
 * loopback. Run it only on a machine whose firewall you trust, and never with real data.
 * `-sharedDb` makes one database for every access key and region: without it, a table created
 * with one set of credentials is invisible to a client with another, a classic local-only trap.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocalServer> {
  const jar = await ensureDynamoDbLocalJar(options.cacheDir);
  const emulatorDir = join(jar, '..');
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: local.region,
    credentials: local.credentials,
    maxAttempts: 1,
  });

  const server = await startRestartableServer({
    what: `DynamoDB Local on port ${options.port}`,
    process: {
      name: 'dynamodb-local',
      command: 'java',
      args: [
        `-Djava.library.path=${join(emulatorDir, 'DynamoDBLocal_lib')}`,
        '-Xmx256m',
        '-jar',
        jar,
        ...storage,
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(options.port),
      ],
      cwd: emulatorDir,
      env: process.env,
      onLine: options.onLine,
    },
    isReady: async () => Boolean(await client.send(new ListTablesCommand({}))),
    readyTimeoutMs: 60_000,
    stopSignal: 'SIGTERM',
    stopGraceMs: 10_000,
  });
  return { endpoint, port: options.port, ...server };
}
