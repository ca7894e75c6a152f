import { spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { productionEnv } from './support/app';
import { childrenOf } from './support/processes';
import { healthPath, servedByHeader } from '../app/contracts';

// The production start with a worker per vCPU (app/cluster.ts), as `node dist/app/server.js`
// runs it on an instance, on the embedded services of the test run.

const root = path.resolve(__dirname, '..');

function startInstance(environment: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'app/server.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH!, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...environment },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waiters: Array<() => void> = [];
  const collect = (chunk: Buffer) => {
    output += chunk;
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  /** The first log line (JSON) after output offset `since` whose message is `msg` and that `matches`; waits for it. */
  const logged = (msg: string, matches: (line: Record<string, unknown>) => boolean = () => true, since = 0) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = output
          .slice(since)
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.msg === msg && matches(line));
        if (found) resolve(found);
      };
      waiters.push(check);
      check();
      exited.then(() => reject(new Error(`exited before logging "${msg}": ${output}`)));
    });
  return { child, exited, logged, output: () => output };
}

/** GET on a new connection each time, so that the primary deals it to the next worker. */
function get(url: string): Promise<{ status: number; servedBy: string; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, servedBy: String(response.headers[servedByHeader.toLowerCase()]), body }),
      );
    }).once('error', reject);
  });
}

/** Asks until every worker has answered once; returns their answers by X-Served-By. */
async function answersFromEveryWorker(url: string, workers: number) {
  const seen = new Map<string, { status: number; body: string }>();
  for (let attempt = 0; attempt < 50 && seen.size < workers; attempt += 1) {
    const answer = await get(url);
    seen.set(answer.servedBy, answer);
  }
  return seen;
}

test('when it runs two workers, then both serve and name themselves, a crashed one is replaced, and SIGTERM drains them all together', async () => {
  const instance = startInstance(productionEnv({ LOG_LEVEL: 'info', WEB_CONCURRENCY: '2', DRAIN_DELAY_MS: '5000' }));
  try {
    const { url } = (await instance.logged('cloudwiki listening')) as { url: string };
    // Migrations and seeding ran once, in the primary, before any worker started.
    expect(instance.output().indexOf('database ready; starting workers')).toBeLessThan(instance.output().indexOf('worker listening'));

    const serving = await answersFromEveryWorker(`${url}${healthPath}`, 2);
    expect([...serving.keys()].sort()).toEqual(['i-shutdown/test-1b/w1', 'i-shutdown/test-1b/w2']);

    const [victim] = childrenOf(instance.child.pid!);
    process.kill(victim!, 'SIGKILL');
    const { worker } = await instance.logged('a worker exited; starting a replacement');
    await instance.logged('worker listening', (line) => line.worker === worker, instance.output().indexOf('a worker exited'));
    expect([...(await answersFromEveryWorker(`${url}${healthPath}`, 2)).keys()].sort()).toEqual([
      'i-shutdown/test-1b/w1',
      'i-shutdown/test-1b/w2',
    ]);

    instance.child.kill('SIGTERM');
    await instance.logged('draining every worker');
    // One drain delay for the whole instance: every worker answers 503 while still serving.
    const draining = await answersFromEveryWorker(`${url}${healthPath}`, 2);
    expect(draining.size).toBe(2);
    for (const answer of draining.values()) {
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 'draining' });
    }
    expect(await instance.exited).toBe(0);
    expect(instance.output()).toContain('every worker has drained');
  } finally {
    instance.child.kill('SIGKILL');
  }
}, 120_000);
