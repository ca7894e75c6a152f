import { randomBytes } from 'node:crypto';
import type { BeeSpec } from './spec';

/** Settings every bee receives unchanged. */
type SharedSettings = Pick<BeeSpec, 'rampUpSeconds' | 'timeoutSeconds' | 'method' | 'headers' | 'body' | 'routes' | 'login' | 'timeline'>;

/** The attack as the user states it: totals for the whole swarm, shared out by planAttack. */
export interface AttackOptions extends SharedSettings {
  url: string;
  bees: number;
  connections: number;
  requests?: number;
  durationSeconds?: number;
  rate?: number;
}

/** Shares `total` out as evenly as whole numbers allow: 10 over 3 bees is 4, 3, 3. */
export function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function requireWhole(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new Error(`${name} must be a whole number of at least ${min} (got ${value})`);
  }
}

/**
 * Splits an attack across bees. Connections, request counts and rates are totals for the swarm,
 * as in the original bees; each bee gets an even share.
 */
export function planAttack(options: AttackOptions, runId = randomBytes(4).toString('hex')): BeeSpec[] {
  requireWhole('--bees/--local', options.bees, 1);
  requireWhole('-c/--concurrency', options.connections, 1);
  requireWhole('-n/--requests', options.requests, 1);
  if (options.requests !== undefined && options.durationSeconds !== undefined) {
    throw new Error('give either -n/--requests or -d/--duration, not both');
  }
  if (options.rate !== undefined && !(options.rate > 0)) throw new Error(`--rate must be above 0 (got ${options.rate})`);
  if (options.durationSeconds !== undefined && !(options.durationSeconds > 0)) {
    throw new Error(`--duration must be above 0 seconds (got ${options.durationSeconds})`);
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`not a URL: ${options.url} (give the full address, e.g. http://127.0.0.1:3000/)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`only http and https targets (got ${url.protocol})`);

  const { rampUpSeconds, timeoutSeconds, method, headers, body, routes, login, timeline } = options;
  const shared: SharedSettings = { rampUpSeconds, timeoutSeconds, method, headers, body, routes, login, timeline };
  const bees = Math.min(options.bees, options.connections);
  const specs: BeeSpec[] = [];
  for (let bee = 0; bee < bees; bee++) {
    let connections = share(options.connections, bees, bee);
    const amount = options.requests === undefined ? undefined : share(options.requests, bees, bee);
    const rate = options.rate === undefined ? undefined : options.rate / bees;
    // autocannon refuses more connections than requests; an open loop needs no more connections
    // than sends a second (a slower connection would sit idle past the server's keep-alive).
    if (amount !== undefined) connections = Math.min(connections, amount);
    if (rate !== undefined) connections = Math.max(1, Math.min(connections, Math.floor(rate)));
    if (amount === 0) continue;
    specs.push({
      ...shared,
      bee,
      runId,
      url: url.toString(),
      connections,
      ...(amount === undefined ? { durationSeconds: options.durationSeconds ?? 10 } : { amount }),
      ...(rate === undefined ? {} : { rate }),
    });
  }
  return specs;
}
