import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../app/config';
import { startServer, type RunningServer } from '../app/server';
import { productionEnv } from './support/app';

const root = path.resolve(__dirname, '..');

/** Reads everything the server sends on a socket until it closes it. */
function readUntilClosed(socket: Socket): Promise<string> {
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  return new Promise((resolve) => socket.on('close', () => resolve(received)));
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('graceful shutdown', () => {
  let running: RunningServer;
  let port: number;
  beforeEach(async () => {
    running = await startServer(loadConfig(productionEnv({ DRAIN_TIMEOUT_MS: '1000' })));
    port = Number(new URL(running.url).port);
  });
  afterEach(() => running.shutdown('test cleanup'));

  test('when draining starts, then new connections are refused, the in-flight request finishes and health answers 503', async () => {
    const inFlight = await connectTo(port);
    const received = readUntilClosed(inFlight);
    const body = 'username=nobody&password=whatever';
    inFlight.write(
      `POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    const stopped = running.shutdown('test');
    await expect(connectTo(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    // Finish the request, and pipeline a health check behind it on the same connection.
    inFlight.write(`${body.slice(10)}GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const responses = await received;
    await stopped;
    expect(responses).toMatch(/^HTTP\/1\.1 403 /);
    expect(responses).toMatch(/HTTP\/1\.1 503 [\s\S]*"status":"draining"/);
  });

  test('when a request never finishes, then shutdown still completes after the drain timeout', async () => {
    const stuck = await connectTo(port);
    const closed = readUntilClosed(stuck);
    stuck.write('POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nnever finished');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await running.shutdown('test');
    await closed;
    expect(stuck.destroyed).toBe(true);
  });
});

describe('the production entry point', () => {
  function runServer(environment: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'app/server.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH!, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...environment },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { child, exited, output: () => output };
  }

  test('when configuration is missing, then it exits with every missing variable named and starts nothing', async () => {
    const server = runServer({ SESSION_STORE: 'memory' });
    expect(await server.exited).toBe(2);
    for (const key of ['DATABASE_URL', 'SESSION_SECRET', 'AWS_REGION', 'ASSETS_BUCKET', 'UPLOADS_BUCKET']) {
      expect(server.output()).toContain(`${key}: missing (required)`);
    }
    expect(server.output()).not.toMatch(/PGlite|dynalite|s3rver/);
  });

  test('when it receives SIGTERM, then it drains and exits 0', async () => {
    const server = runServer(productionEnv({ LOG_LEVEL: 'info' }));
    await new Promise<void>((resolve, reject) => {
      server.child.stdout.on('data', () => server.output().includes('cloudwiki listening') && resolve());
      server.exited.then(() => reject(new Error(`exited early: ${server.output()}`)));
    });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('draining');
    expect(server.output()).toContain('shut down cleanly');
  });
});
