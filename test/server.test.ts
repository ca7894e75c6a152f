import { spawn } from 'node:child_process';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../app/config';
import { startServer, type RunningServer } from '../app/server';
import { productionEnv } from './support/app';
import { healthPath } from '../app/contracts';

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

/** Resolves when the server has parsed the next request's headers: the request has arrived. */
function nextRequest(running: RunningServer): Promise<void> {
  return new Promise((resolve) => running.server.once('request', () => resolve()));
}

/** A GET on a connection of its own (no keep-alive pool), so each lands where a new client would. */
function getOnce(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.once('error', reject);
  });
}

describe('graceful shutdown', () => {
  let running: RunningServer;
  let port: number;
  const start = async (extra: Record<string, string> = {}) => {
    running = await startServer(loadConfig(productionEnv({ DRAIN_TIMEOUT_MS: '1000', ...extra })));
    port = Number(new URL(running.url).port);
  };
  afterEach(() => running.shutdown('test cleanup'));

  test('when draining starts, then health answers 503 at once while requests are still served with Connection: close until the delay ends', async () => {
    // Long enough for two requests on a loaded machine; the test waits it out once.
    await start({ DRAIN_DELAY_MS: '4000' });
    const stopped = running.shutdown('test');

    const health = await getOnce(`${running.url}${healthPath}`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'draining' });
    expect(health.headers.connection).toBe('close');
    const page = await getOnce(`${running.url}/wiki/Home`);
    expect(page.status).toBe(200);
    expect(page.headers.connection).toBe('close');
    expect(running.server.listening).toBe(true);

    await stopped;
    await expect(connectTo(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('when the drain delay is over, then new connections are refused, the in-flight request finishes and health answers 503', async () => {
    await start();
    const inFlight = await connectTo(port);
    const received = readUntilClosed(inFlight);
    const body = 'username=nobody&password=whatever';
    const arrived = nextRequest(running);
    inFlight.write(
      `POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await arrived;

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
    await start();
    const stuck = await connectTo(port);
    const closed = readUntilClosed(stuck);
    const arrived = nextRequest(running);
    stuck.write('POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nnever finished');
    await arrived;
    await running.shutdown('test');
    await closed;
    expect(stuck.destroyed).toBe(true);
  });
});

/** The URL from the JSON log line that announces it. */
function listeningUrl(output: string): string {
  const line = output.split('\n').find((candidate) => candidate.includes('"cloudwiki listening"'));
  if (!line) throw new Error(`no "cloudwiki listening" line in: ${output}`);
  return (JSON.parse(line) as { url: string }).url;
}

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
    /** Resolves with the output so far once it contains `text`; rejects if the process exits first. */
    const printed = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const check = () => output.includes(text) && resolve(output);
        check();
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        exited.then(() => reject(new Error(`exited before printing "${text}": ${output}`)));
      });
    return { child, exited, output: () => output, printed };
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
    const server = runServer(productionEnv({ LOG_LEVEL: 'info', WEB_CONCURRENCY: '1' }));
    await server.printed('cloudwiki listening');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('draining');
    expect(server.output()).toContain('shut down cleanly');
  });

  test('when a second SIGTERM arrives while draining, then the drain goes on: health still answers 503 and it exits 0', async () => {
    const server = runServer(productionEnv({ LOG_LEVEL: 'info', WEB_CONCURRENCY: '1', DRAIN_DELAY_MS: '4000' }));
    const url = listeningUrl(await server.printed('cloudwiki listening'));
    server.child.kill('SIGTERM');
    await server.printed('draining');
    // What the Auto Scaling group (and the lab) does once the load balancer marks the instance down.
    server.child.kill('SIGTERM');
    await server.printed('already draining');
    const health = await getOnce(`${url}${healthPath}`);
    expect(health.status).toBe(503);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('shut down cleanly');
  });
});
