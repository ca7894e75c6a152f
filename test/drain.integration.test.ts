import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/services/ports';
import { startProcess, type ManagedProcess } from '../scripts/services/process';
import { waitUntil } from '../scripts/services/wait';
import { productionEnv } from './support/app';
import { healthPath, servedByHeader } from '../app/contracts';

// A bare SIGTERM to one of two app processes behind a real HAProxy, under keep-alive load: what
// an Auto Scaling group's scale-in or an instance refresh does. HAProxy here neither retries nor
// redispatches, so a refused connection or a reset reaches the client: only the app's drain
// (docs/operations.md) keeps the count at zero.

const root = path.resolve(__dirname, '..');
// HAProxy marks a server down after fall x inter = 1 s of 503s; the delay gives it three times that.
const checkIntervalMs = 500;
const drainDelayMs = 3_000;

function haproxyConfig(frontendPort: number, servers: Record<string, number>): string {
  return `global
  maxconn 200

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 0
  option http-keep-alive

frontend wiki
  bind 127.0.0.1:${frontendPort}
  default_backend app

backend app
  balance roundrobin
  option httpchk
  http-check send meth GET uri /health ver HTTP/1.1 hdr Host drain-test
  http-check expect status 200
  default-server inter ${checkIntervalMs}ms fall 2 rise 2
${Object.entries(servers)
  .map(([name, port]) => `  server ${name} 127.0.0.1:${port} check`)
  .join('\n')}
`;
}

function startApp(instanceId: string, port: number): ManagedProcess {
  return startProcess({
    name: instanceId,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(root, 'app/server.ts')],
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...productionEnv({
        PORT: String(port),
        INSTANCE_ID: instanceId,
        INSTANCE_AZ: 'drain-1a',
        WEB_CONCURRENCY: '1',
        DRAIN_DELAY_MS: String(drainDelayMs),
        DRAIN_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
      }),
    },
  });
}

interface Outcome {
  startedAt: number;
  status: number;
  servedBy: string;
  error?: string;
}

test('when one of two instances gets a bare SIGTERM under keep-alive load through HAProxy, then no request fails and its /health answers 503 during the drain delay', async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-drain-'));
  const ports = { victim: await freePort(), survivor: await freePort(), frontend: await freePort() };
  const victim = startApp('i-victim', ports.victim);
  const survivor = startApp('i-survivor', ports.survivor);
  const configFile = path.join(scratch, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig(ports.frontend, { victim: ports.victim, survivor: ports.survivor }));
  const haproxy = startProcess({
    name: 'haproxy',
    command: 'haproxy',
    args: ['-db', '-f', configFile],
    env: { PATH: process.env.PATH ?? '' },
  });
  const frontend = `http://127.0.0.1:${ports.frontend}`;
  let running = true;
  let load: Promise<unknown> = Promise.resolve();
  try {
    const everyone = new Set<string>();
    await waitUntil(
      async () => {
        const response = await fetch(`${frontend}${healthPath}`);
        everyone.add(response.headers.get(servedByHeader) ?? '');
        return everyone.has('i-victim/drain-1a') && everyone.has('i-survivor/drain-1a');
      },
      {
        what: 'both instances in service behind HAProxy',
        timeoutMs: 60_000,
        giveUp: () => (victim.hasExited() ? victim.recentOutput() : undefined),
      },
    );

    const outcomes: Outcome[] = [];
    // Keep-alive clients (fetch pools its connections), one request at a time each, lightly paced.
    const client = async () => {
      while (running) {
        const startedAt = performance.now();
        try {
          const response = await fetch(`${frontend}/wiki/Home`, { signal: AbortSignal.timeout(10_000) });
          await response.arrayBuffer();
          outcomes.push({ startedAt, status: response.status, servedBy: response.headers.get(servedByHeader) ?? '' });
        } catch (error) {
          outcomes.push({ startedAt, status: 0, servedBy: '', error: String((error as Error).cause ?? error) });
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    load = Promise.all([client(), client(), client(), client()]);
    await waitUntil(async () => outcomes.some((outcome) => outcome.servedBy.startsWith('i-victim')), { what: 'load reaching the victim' });

    const sigtermAt = performance.now();
    process.kill(victim.pid, 'SIGTERM');
    // Straight to the instance, as the load balancer's health check sees it. The signal reaches
    // the process's handler on a later turn of its event loop than a request already on the wire,
    // so the first answer may still be 200: it must turn 503 well inside the drain delay, while the
    // instance is still listening.
    let healthWhileDraining: { status: number; body: unknown } | undefined;
    await waitUntil(
      async () => {
        const response = await fetch(`http://127.0.0.1:${ports.victim}${healthPath}`);
        healthWhileDraining = { status: response.status, body: await response.json() };
        return response.status === 503;
      },
      { what: "the victim's /health answering 503", timeoutMs: drainDelayMs / 2 },
    );
    expect(healthWhileDraining).toEqual({ status: 503, body: expect.objectContaining({ status: 'draining' }) });

    const exit = await victim.exited;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    running = false;
    await load;

    const afterSigterm = outcomes.filter((outcome) => outcome.startedAt >= sigtermAt);
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    console.log(
      `drain: ${outcomes.length} requests, ${afterSigterm.length} after SIGTERM ` +
        `(${afterSigterm.filter((outcome) => outcome.servedBy.startsWith('i-victim')).length} still served by the draining instance), ` +
        `${failed.length} failed`,
    );
    expect(failed).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
    // The load carried on through the survivor.
    expect(afterSigterm.filter((outcome) => outcome.servedBy.startsWith('i-survivor')).length).toBeGreaterThan(0);
  } finally {
    running = false;
    await load;
    await Promise.all([victim.stop('SIGKILL'), survivor.stop('SIGKILL'), haproxy.stop('SIGKILL')]);
    rmSync(scratch, { recursive: true, force: true });
  }
}, 120_000);
