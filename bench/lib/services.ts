import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProcess, waitForHttp, type Started } from './processes';

const postgresBin = '/usr/lib/postgresql/15/bin';

export interface Service {
  url: string;
  stop: () => Promise<void>;
}

async function waitForPostgres(port: number, socketDir: string, server: Started): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      execFileSync(path.join(postgresBin, 'pg_isready'), ['-h', socketDir, '-p', String(port)], { stdio: 'ignore' });
      return;
    } catch {
      if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start:\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * A throwaway PostgreSQL 15 cluster (Debian's postgresql-15) on 127.0.0.1. PostgreSQL refuses to
 * run as root, so it runs as the postgres user in a directory that user owns.
 */
export async function startPostgres(): Promise<Service> {
  if (!existsSync(path.join(postgresBin, 'postgres'))) {
    throw new Error(`no PostgreSQL 15 in ${postgresBin}: apt-get install -y postgresql-15`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-pg-'));
  chownSync(dataDir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const asPostgres = (command: string, args: string[]) => ['-u', 'postgres', '--', path.join(postgresBin, command), ...args];
  execFileSync('runuser', asPostgres('initdb', ['-D', path.join(dataDir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']), {
    stdio: 'ignore',
  });
  const port = await freePort();
  const server = startProcess(
    'runuser',
    asPostgres('postgres', [
      '-D',
      path.join(dataDir, 'data'),
      '-p',
      String(port),
      '-k',
      dataDir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ]),
  );
  await waitForPostgres(port, dataDir, server);
  execFileSync('runuser', asPostgres('createdb', ['-h', dataDir, '-p', String(port), 'cloudwiki']), { stdio: 'ignore' });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/cloudwiki`,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const dynamoDbLocalPackage = 'amplify-dynamodb-simulator@2.9.30';

/**
 * AWS's DynamoDB Local jar, as shipped inside the npm package amplify-dynamodb-simulator. Only the
 * jar is needed, so the package is unpacked (npm pack) rather than installed with its CLI deps.
 */
function dynamoDbLocalJarDir(): string {
  const cache = path.resolve(__dirname, '..', '..', '.cache', 'bench');
  const emulator = path.join(cache, 'package', 'emulator');
  if (existsSync(path.join(emulator, 'DynamoDBLocal.jar'))) return emulator;
  mkdirSync(cache, { recursive: true });
  execFileSync('npm', ['pack', dynamoDbLocalPackage, '--pack-destination', cache, '--silent'], { stdio: 'ignore' });
  const tarball = readdirSync(cache).find((name) => name.startsWith('amplify-dynamodb-simulator-') && name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${dynamoDbLocalPackage} produced no tarball in ${cache}`);
  execFileSync('tar', ['-xzf', path.join(cache, tarball), '-C', cache]);
  return emulator;
}

/**
 * DynamoDB Local in memory, one database whatever the credentials (-sharedDb: the app signs with
 * its own local pair). It binds every interface; only loopback traffic reaches it here.
 */
export async function startDynamoDbLocal(): Promise<Service> {
  const jarDir = dynamoDbLocalJarDir();
  const port = await freePort();
  const server = startProcess(
    'java',
    [
      `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(jarDir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: jarDir },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, server, 60_000);
  return { url, stop: () => server.stop() };
}

export interface CountingProxy extends Service {
  /** DynamoDB operations seen, by name (GetItem, PutItem, ...). */
  counts: () => Record<string, number>;
  reset: () => void;
}

/**
 * Sits between the app and DynamoDB Local and counts operations by their X-Amz-Target header:
 * DynamoDB Local keeps no metrics, and this counts exactly what the app's session store sends.
 */
export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  let counts: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    const operation =
      String(request.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .at(-1) ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => response.destroy(error));
    request.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    stop: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}
