import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { AutoScalingGroup, ScalingProcess } from './auto-scaling-group';
import { FaultInjectionError, localFaults, type FaultInjector } from './faults';
import type { LabStatus } from './lab';
import { loadRelease } from './release-builds';
import { RollInProgressError, type ReleaseRoller } from './release-roll';
import { renderStatusLive, renderStatusPage } from './status-page';

export interface StatusServer {
  readonly url: string;
  readonly stop: () => Promise<void>;
}

const faultBody = z.object({
  seconds: z.number().int().min(1).max(600).optional(),
  instance: z.string().max(64).optional(),
  az: z.string().max(64).optional(),
});
const capacityBody = z.object({
  min: z.number().int().min(0).optional(),
  max: z.number().int().min(0).optional(),
  desired: z.number().int().min(0).optional(),
});
const processesBody = z.object({
  processes: z.array(z.enum(['Launch', 'Terminate', 'ReplaceUnhealthy', 'AlarmNotification', 'AZRebalance'])).min(1),
});

const releaseBody = z.object({
  /** A directory under <state dir>/releases/ (npm run lab -- release stages one). */
  directory: z.string().min(1).max(1000),
  /** The entry point inside it (default app/server.js). */
  entry: z.string().min(1).max(200).optional(),
  healthTimeoutSeconds: z.number().int().min(1).max(600).optional(),
  canarySeconds: z.number().int().min(1).max(600).optional(),
});

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body, null, 2));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  // Requiring a JSON content type is the CSRF defence: a page on another origin cannot send it
  // without a CORS preflight, which this server never answers.
  if (!request.headers['content-type']?.startsWith('application/json')) {
    throw new RequestError(415, 'send Content-Type: application/json');
  }
  let text = '';
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > 10_000) throw new RequestError(413, 'body too large');
  }
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new RequestError(400, 'the body is not valid JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new RequestError(400, result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
  return result.data;
}

/**
 * The lab's one URL for people and programs, on loopback: the live status page, its JSON, and
 * the control interface that `npm run chaos` and the game day use (documented in docs/lab.md).
 */
export async function startStatusServer(options: {
  port: number;
  status: () => LabStatus;
  group: AutoScalingGroup;
  faults: FaultInjector;
  releases: ReleaseRoller;
  stateDir: string;
  /** The manual lever on the lab's domain (docs/lab.md): absent without a DNS layer. */
  sendDomainTo?: (target: 'backup' | 'live') => Promise<void>;
}): Promise<StatusServer> {
  const { group, faults, releases } = options;
  const routes: Record<string, (request: IncomingMessage, match: RegExpMatchArray) => Promise<[number, unknown]>> = {
    'GET /api/status': async () => [200, options.status()],
    'POST /api/faults/([a-z-]+)': async (request, match) => {
      const fault = match[1] as (typeof localFaults)[number];
      if (!localFaults.includes(fault))
        throw new RequestError(404, `unknown fault "${fault}"; the local faults are ${localFaults.join(', ')}`);
      const body = parse(faultBody, await readJson(request));
      return [202, await faults.inject({ fault, ...body })];
    },
    'GET /api/releases': async () => [200, options.status().releases],
    'POST /api/releases': async (request) => {
      const body = parse(releaseBody, await readJson(request));
      try {
        const release = loadRelease(options.stateDir, body.directory, body.entry);
        const record = releases.start(release, {
          ...(body.healthTimeoutSeconds ? { healthTimeoutMs: body.healthTimeoutSeconds * 1000 } : {}),
          ...(body.canarySeconds ? { canaryMs: body.canarySeconds * 1000 } : {}),
        });
        return [202, record];
      } catch (error) {
        throw new RequestError(error instanceof RollInProgressError ? 409 : 400, error instanceof Error ? error.message : String(error));
      }
    },
    'PUT /api/capacity': async (request) => {
      const body = parse(capacityBody, await readJson(request));
      try {
        group.setCapacity(body, 'a user request (PUT /api/capacity)');
      } catch (error) {
        throw new RequestError(400, error instanceof Error ? error.message : String(error));
      }
      return [200, options.status().group];
    },
    'POST /api/domain/(backup|live)': async (_request, match) => {
      if (!options.sendDomainTo) throw new RequestError(409, 'this lab has no DNS layer');
      await options.sendDomainTo(match[1] as 'backup' | 'live');
      return [200, options.status().domain];
    },
    'POST /api/processes/(suspend|resume)': async (request, match) => {
      const { processes } = parse(processesBody, await readJson(request));
      if (match[1] === 'suspend') group.suspend(processes as ScalingProcess[]);
      else group.resume(processes as ScalingProcess[]);
      return [200, options.status().group];
    },
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://lab').pathname;
    if (request.method === 'GET' && (path === '/' || path === '/live')) {
      let html: string;
      try {
        html = path === '/' ? renderStatusPage(options.status()) : renderStatusLive(options.status());
      } catch (error) {
        send(response, 500, { error: `the status page could not be rendered: ${error instanceof Error ? error.message : String(error)}` });
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      response.end(html);
      return;
    }
    const key = `${request.method} ${path}`;
    for (const [pattern, handler] of Object.entries(routes)) {
      const match = key.match(new RegExp(`^${pattern}$`));
      if (!match) continue;
      handler(request, match).then(
        ([status, body]) => send(response, status, body),
        (error: unknown) => {
          const status = error instanceof RequestError || error instanceof FaultInjectionError ? error.status : 500;
          send(response, status, { error: error instanceof Error ? error.message : String(error) });
        },
      );
      return;
    }
    send(response, 404, { error: `no route ${key}; see docs/lab.md for the control interface` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
