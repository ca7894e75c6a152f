import autocannon, { type AutocannonClient, type AutocannonOptions, type AutocannonRequest } from 'autocannon';
import { paceClient } from './pacer';
import { ResponseRecorder } from './recorder';
import type { BeeProgress, BeeResult, BeeSpec, Route } from './spec';
import { prepareVirtualUsers, type VirtualUser } from './virtual-users';

/**
 * Picks routes in proportion to their weights: one random draw a request, found among the
 * cumulative weights by binary search (a scenario may list thousands of URLs).
 */
export function weightedPicker(routes: readonly Route[], random: () => number = Math.random): () => Route {
  if (routes.length === 0) throw new Error('a scenario needs at least one request');
  const cumulative: number[] = [];
  let total = 0;
  for (const route of routes) cumulative.push((total += route.weight));
  return () => {
    const draw = random() * total;
    // The first route whose cumulative weight exceeds the draw.
    let low = 0;
    let high = routes.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (draw < cumulative[middle]!) high = middle;
      else low = middle + 1;
    }
    return routes[low] as Route;
  };
}

const lostRequestKind = 'no answer (connection closed)';

function errorKind(error: Error & { code?: string }): string {
  if (error.message === 'request timed out') return 'timeout';
  return error.code ?? error.message;
}

function setCookieHeaders(headers: Record<string, string | string[]>): string[] {
  const found = Object.entries(headers).find(([name]) => name.toLowerCase() === 'set-cookie')?.[1];
  if (found === undefined) return [];
  return Array.isArray(found) ? found : [found];
}

/**
 * Per-connection requests: each connection is one virtual user with its own cookie jar, drawing
 * its next route from the scenario's weights.
 */
function virtualUserRequests(spec: BeeSpec, connection: number, user: VirtualUser | undefined): AutocannonRequest[] {
  const routes = spec.routes ?? [{ method: spec.method, path: new URL(spec.url).pathname + new URL(spec.url).search, weight: 1 }];
  const pick = weightedPicker(routes);
  const vu = String(connection);
  let sent = 0;
  return [
    {
      setupRequest: (request) => {
        const route = pick();
        const path = route.path
          .replaceAll('[<run>]', spec.runId)
          .replaceAll('[<bee>]', String(spec.bee))
          .replaceAll('[<vu>]', vu)
          .replaceAll('[<n>]', String(sent++));
        const headers: Record<string, string> = { ...spec.headers, ...route.headers };
        const cookies = user?.client.cookieHeader();
        if (cookies) headers.cookie = [spec.headers.cookie, cookies].filter(Boolean).join('; ');
        return {
          ...request,
          method: route.method,
          path,
          headers,
          body: route.body ?? spec.body ?? '',
        };
      },
      onResponse: (_status, _body, _context, headers) => user?.client.absorb(setCookieHeaders(headers)),
    },
  ];
}

/** performance.now() as milliseconds since 1970, comparable between bees (processes or machines). */
const epochMs = (now: number): number => performance.timeOrigin + now;

/**
 * What a bee counts of its answers and errors. Its listeners run once per response, and
 * everything they do is a cost autocannon alone does not pay, so they only count and hand the
 * latency to the recorder (`npm run bench` times them against autocannon's own cost per response).
 */
export class BeeTally {
  requests = 0;
  errors = 0;
  bytes = 0;
  readonly statusCodes: Record<string, number> = {};
  readonly errorsByKind: Record<string, number> = {};
  /** performance.now() of the last answer or error. */
  lastEventAt: number;
  readonly recorder: ResponseRecorder;

  /**
   * @param intendedSendTimes open loop only: when each client's request was due, so that time
   *   spent queued behind a slow response counts in its latency.
   */
  constructor(
    readonly startedAt: number,
    timeline: boolean,
    private readonly intendedSendTimes?: WeakMap<AutocannonClient, number>,
  ) {
    this.lastEventAt = startedAt;
    this.recorder = new ResponseRecorder(startedAt, timeline);
  }

  /** autocannon's 'response' event. */
  readonly response = (client: AutocannonClient, statusCode: number, responseBytes: number, responseTime: number): void => {
    const now = performance.now();
    this.lastEventAt = now;
    const millis = this.intendedSendTimes ? now - (this.intendedSendTimes.get(client) ?? now - responseTime) : responseTime;
    this.requests++;
    this.bytes += responseBytes;
    this.statusCodes[statusCode] = (this.statusCodes[statusCode] ?? 0) + 1;
    this.recorder.response(now, millis);
  };

  /** autocannon's 'reqError' event. */
  readonly error = (error: Error): void => {
    const now = performance.now();
    this.lastEventAt = now;
    this.errors++;
    const kind = errorKind(error);
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
    this.recorder.error(now);
  };
}

/**
 * Runs one bee's share of the attack with autocannon and returns its exact latency histogram
 * (plus one a second for the timeline), status codes and errors, ready to merge with other bees'.
 */
export async function runBee(spec: BeeSpec, onProgress?: (progress: BeeProgress) => void): Promise<BeeResult> {
  const setupStarted = performance.now();
  const users = spec.login ? await prepareVirtualUsers(spec.url, spec.login, spec.connections, spec.runId, spec.bee) : undefined;
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  const needsPacing = spec.rate !== undefined || spec.rampUpSeconds > 0;
  // Paced connections get a moment to connect before their first scheduled send.
  const startedAt = performance.now() + (needsPacing ? 20 : 0);
  const intendedSendTimes = new WeakMap<AutocannonClient, number>();
  const openLoop = spec.rate !== undefined;
  const tally = new BeeTally(startedAt, spec.timeline, openLoop ? intendedSendTimes : undefined);
  const needsPerClientSetup = Boolean(users || spec.routes);
  let clientsSetUp = 0;

  const options: AutocannonOptions = {
    url: spec.url,
    connections: spec.connections,
    timeout: spec.timeoutSeconds,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
  };
  if (spec.amount !== undefined) options.amount = spec.amount;
  else options.duration = spec.durationSeconds ?? 10;
  if (needsPerClientSetup || needsPacing) {
    options.setupClient = (client) => {
      const index = clientsSetUp++;
      if (needsPerClientSetup) client.setRequests(virtualUserRequests(spec, index, users?.[index]));
      if (needsPacing) {
        const firstAt = startedAt + (spec.rampUpSeconds * 1000 * index) / spec.connections;
        // Connections start evenly spread over one interval so the bee's sends are evenly spaced.
        const intervalMs = openLoop ? (1000 * spec.connections) / (spec.rate as number) : undefined;
        const offset = intervalMs === undefined ? 0 : (intervalMs * index) / spec.connections;
        paceClient(client, { firstAt: firstAt + offset, intervalMs }, intendedSendTimes);
      }
    };
  }

  const progressTimer = onProgress
    ? setInterval(() => onProgress({ bee: spec.bee, requests: tally.requests, errors: tally.errors }), 1000)
    : undefined;

  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(options, (error) => (error ? reject(error) : resolve()));
    instance.on('response', tally.response);
    instance.on('reqError', tally.error);
  });
  if (progressTimer) clearInterval(progressTimer);
  // autocannon writes a connection's next request as soon as an answer arrives; when the server
  // closed the connection with that answer, the request is lost without any error event. With -n
  // every request is accounted for, so the lost ones are counted as errors here.
  const { requests, bytes, statusCodes, errorsByKind, lastEventAt } = tally;
  let { errors } = tally;
  const unanswered = spec.amount === undefined ? 0 : spec.amount - requests - errors;
  if (unanswered > 0) {
    errors += unanswered;
    errorsByKind[lostRequestKind] = (errorsByKind[lostRequestKind] ?? 0) + unanswered;
  }

  const { latency, timeline } = tally.recorder.finish();
  return {
    bee: spec.bee,
    requests,
    errors,
    errorsByKind,
    statusCodes,
    // From the first scheduled send to the last answer: autocannon's own duration includes up to
    // a second of its sampling tick after the work is done.
    elapsedSeconds: Math.max(0.001, (lastEventAt - startedAt) / 1000),
    startedAtMs: epochMs(startedAt),
    finishedAtMs: epochMs(lastEventAt),
    bytes,
    latency,
    timeline,
    virtualUsers: users?.length ?? 0,
    setupSeconds,
  };
}
