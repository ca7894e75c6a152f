import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { deepHealthPath, healthPath, servedByHeader } from '../../app/contracts';
import { startProcess, type ManagedProcess } from '../services/process';
import { websiteHost, backupSiteBucket } from '../services/s3';
import { waitUntil, httpAnswers } from '../services/wait';

const webBackend = 'web';
const slotPrefix = 'app';
export const backupServerName = 'backup-site';

/** The load balancer's health check, as an ALB target group's (interval, unhealthy/healthy thresholds). */
const healthCheck = { intervalMs: 1000, fastIntervalMs: 500, fall: 2, rise: 2 } as const;

/**
 * How long an instance keeps serving after SIGTERM while its /health answers 503 (the app's
 * DRAIN_DELAY_MS): HAProxy needs up to interval × fall to mark it down, and one more interval
 * covers requests it routed just before.
 */
export const drainDelayMs = healthCheck.intervalMs * healthCheck.fall + healthCheck.intervalMs;

/** Every instance's share of traffic; a release's canary gets less (setWeight) until it has proved itself. */
export const fullWeight = 100;

/** What the backup answers to a write: nothing was saved (the same words as JSON and as a page). */
export const readOnlyMessage =
  'The wiki is read-only right now: you are seeing its backup copy. Nothing was saved; please try again in a few minutes.';

/** The bodies HAProxy answers writes with while the backup site serves, written beside its config. */
export function readOnlyBodies(): { json: string; html: string } {
  return {
    json: `${JSON.stringify({ error: readOnlyMessage, readOnly: true })}\n`,
    html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudwiki is read-only right now</title></head>
<body><h1>cloudwiki is read-only right now</h1><p>${readOnlyMessage}</p></body></html>
`,
  };
}

/**
 * Route 53's health check on /health/deep (infra/04-edge.yaml: RequestInterval 10 s,
 * FailureThreshold 3), played by HAProxy five times faster: every 2 s, 3 failures to send the
 * domain to the backup and 3 successes to bring it back, as Route 53 uses the one threshold both
 * ways. One checker instead of Route 53's ~15, and no DNS TTL: the lab's "resolver" follows at once.
 */
export const domainHealthCheck = { intervalMs: 2000, fall: 3, rise: 3, speedUp: 5 } as const;

/** The DNS layer's servers: the live site (the load balancer) and the backup copy. */
const domainBackend = 'domain';
const liveServerName = 'live';

export interface HaproxyConfigOptions {
  /** Where people reach the wiki: the domain's address. */
  frontendPort: number;
  /**
   * The load balancer's own port. When set, a DNS layer plays Route 53 on frontendPort: it sends
   * the domain to the load balancer while its /health/deep passes and to the backup copy when
   * it fails. Unset: people reach the load balancer directly on frontendPort.
   */
  loadBalancerPort?: number;
  /** Internal hop that presents the backup bucket's website endpoint to HAProxy. */
  backupSitePort: number;
  s3Port: number;
  /** How many instances the pool can hold at once: the ASG's max size. */
  slots: number;
  /**
   * Sticky sessions (the ALB's target group stickiness): a cookie pins each browser to the
   * instance that first served it. Off by default: the stateless app does not need it, and with
   * SESSION_STORE=memory it shows how stickiness hides the problem only until an instance dies.
   */
  sticky?: boolean;
  socketPath: string;
  /** Files holding readOnlyBodies() (HAProxy reads the body of its own answers from files). */
  readOnlyFiles: { json: string; html: string };
}

/**
 * The load balancer, as the ALB (and Route 53 failover) would be on AWS:
 * - one backend whose servers come from a `server-template`: empty, disabled slots that the
 *   supervisor fills and empties through the runtime API as it launches and terminates instances;
 * - a shallow health check (GET /health every second; 2 failures down, 2 successes up), so a
 *   database outage does not take every instance out of service;
 * - a `backup` server, used only when no instance is up: the static backup site, served from
 *   s3rver's website endpoint through a small internal proxy that sets the website Host header.
 *   That proxy lets only GET and HEAD through: a read-only copy must never acknowledge a save it
 *   cannot keep, nor let anyone change the static site, so HAProxy answers any other method
 *   itself, 503 with a JSON or HTML body saying that nothing was saved.
 */
export function renderHaproxyConfig(options: HaproxyConfigOptions): string {
  const host = websiteHost(backupSiteBucket);
  const readOnlyHeaders = `hdr ${servedByHeader} backup-site/read-only hdr Cache-Control no-store hdr Retry-After 60`;
  return `# Written by scripts/lab at start-up; the runtime API changes the pool while it runs.
global
  stats socket ${options.socketPath} mode 600 level admin
  stats timeout 10s

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  # A request that failed to connect to a dead instance is retried on another one.
  retries 2
  option redispatch
${options.loadBalancerPort ? renderDomainLayer(options.frontendPort, options.loadBalancerPort, options.backupSitePort) : ''}
frontend wiki
  bind 127.0.0.1:${options.loadBalancerPort ?? options.frontendPort}
  option forwardfor
  default_backend ${webBackend}

backend ${webBackend}
  balance roundrobin
${options.sticky ? "  # dynamic: the cookie value is derived from each server's address, so runtime-registered slots get one.\n  cookie LABSTICKY insert indirect nocache dynamic\n  dynamic-cookie-key cloudwiki-lab\n" : ''}  option httpchk
  http-check send meth GET uri ${healthPath} ver HTTP/1.1 hdr Host lab
  http-check expect status 200
  default-server inter ${healthCheck.intervalMs}ms fastinter ${healthCheck.fastIntervalMs}ms fall ${healthCheck.fall} rise ${healthCheck.rise} weight ${fullWeight}
  server-template ${slotPrefix} 1-${options.slots} 127.0.0.1:9 check disabled
  server ${backupServerName} 127.0.0.1:${options.backupSitePort} backup

listen backup_site
  bind 127.0.0.1:${options.backupSitePort}
  acl read_method method GET HEAD
  acl wants_json path_beg /api/
  acl wants_json req.hdr(accept) -m sub application/json
  http-request return status 503 content-type application/json file ${options.readOnlyFiles.json} ${readOnlyHeaders} if !read_method wants_json
  http-request return status 503 content-type "text/html; charset=utf-8" file ${options.readOnlyFiles.html} ${readOnlyHeaders} if !read_method
  http-request set-header Host ${host}
  http-response set-header ${servedByHeader} backup-site/s3
  server s3rver 127.0.0.1:${options.s3Port}
`;
}

/**
 * Route 53's failover pair, played by HAProxy: the primary record is the load balancer, checked
 * on /health/deep as Route 53 checks it; the secondary is the backup copy. A person's request
 * follows the record at once (a resolver with no TTL), so the flip is as fast as it can be.
 */
function renderDomainLayer(domainPort: number, loadBalancerPort: number, backupSitePort: number): string {
  const { intervalMs, fall, rise } = domainHealthCheck;
  return `
frontend domain
  bind 127.0.0.1:${domainPort}
  default_backend ${domainBackend}

backend ${domainBackend}
  option httpchk
  http-check send meth GET uri ${deepHealthPath} ver HTTP/1.1 hdr Host lab
  http-check expect status 200
  server ${liveServerName} 127.0.0.1:${loadBalancerPort} check inter ${intervalMs}ms fall ${fall} rise ${rise}
  server backup-copy 127.0.0.1:${backupSitePort} backup
`;
}

/** Sends one command to HAProxy's runtime API and returns its answer. */
function runtimeCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error(`HAProxy runtime API did not answer: ${command}`)));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

export interface ServerStat {
  name: string;
  /** UP, DOWN, MAINT, "UP 1/2" (going down), "DOWN 1/2" (coming up), "no check" ... */
  status: string;
  /** Requests sent to this server since HAProxy started (the slot's, not the instance's). */
  totalRequests: number;
  currentSessions: number;
  /** Responses with a 5xx status from this server, and responses it broke off (eresp): a canary's errors. */
  serverErrors: number;
}

/** Parses `show stat` CSV for the servers of one backend. */
export function parseServerStats(csv: string, backend = webBackend): ServerStat[] {
  const [header, ...rows] = csv.split('\n').filter((line) => line.trim() !== '');
  if (!header) return [];
  const columns = header.replace(/^# /, '').split(',');
  const column = (name: string) => columns.indexOf(name);
  return rows
    .map((row) => row.split(','))
    .filter((fields) => fields[column('pxname')] === backend && !['FRONTEND', 'BACKEND'].includes(fields[column('svname')] ?? ''))
    .map((fields) => ({
      name: fields[column('svname')] ?? '',
      status: fields[column('status')] ?? '',
      totalRequests: Number(fields[column('stot')] ?? 0),
      currentSessions: Number(fields[column('scur')] ?? 0),
      serverErrors: Number(fields[column('hrsp_5xx')] || 0) + Number(fields[column('eresp')] || 0),
    }));
}

export interface Haproxy {
  readonly socketPath: string;
  readonly stats: () => Promise<ServerStat[]>;
  /** Points slot `slot` (1-based) at 127.0.0.1:port and puts it in rotation, health checks on, at `weight` (default full). */
  readonly register: (slot: number, port: number, weight?: number) => Promise<void>;
  /** Takes a slot out of rotation (maintenance): no traffic, no checks. */
  readonly deregister: (slot: number) => Promise<void>;
  /** The slot's share of traffic against the others' (fullWeight each). */
  readonly setWeight: (slot: number, weight: number) => Promise<void>;
  /** The DNS layer's live server (UP, DOWN, MAINT ...); undefined without a DNS layer. */
  readonly domainStatus: () => Promise<string | undefined>;
  /**
   * The manual lever: forced, the live record is out (maintenance) and the domain serves the
   * backup copy whatever the check says; released, the check decides again.
   */
  readonly forceDomainToBackup: (forced: boolean) => Promise<void>;
  readonly stop: () => Promise<void>;
}

export function slotName(slot: number): string {
  return `${slotPrefix}${slot}`;
}

async function runChecked(socketPath: string, command: string): Promise<void> {
  const answer = (await runtimeCommand(socketPath, command)).trim();
  // Successful commands answer nothing or a short confirmation; failures name the problem.
  if (/no such|unknown|require|invalid|not found|error/i.test(answer)) throw new Error(`HAProxy refused "${command}": ${answer}`);
}

export async function startHaproxy(options: Omit<HaproxyConfigOptions, 'readOnlyFiles'> & { configPath: string }): Promise<Haproxy> {
  const bodies = readOnlyBodies();
  const readOnlyFiles = {
    json: join(dirname(options.configPath), 'read-only.json'),
    html: join(dirname(options.configPath), 'read-only.html'),
  };
  writeFileSync(readOnlyFiles.json, bodies.json);
  writeFileSync(readOnlyFiles.html, bodies.html);
  writeFileSync(options.configPath, renderHaproxyConfig({ ...options, readOnlyFiles }));
  const process_: ManagedProcess = startProcess({
    name: 'haproxy',
    command: 'haproxy',
    args: ['-db', '-f', options.configPath],
  });
  await waitUntil(() => runtimeCommand(options.socketPath, 'show info').then((info) => info.includes('Name: HAProxy')), {
    what: 'HAProxy runtime API',
    timeoutMs: 15_000,
    giveUp: () => (process_.hasExited() ? `haproxy exited:\n${process_.recentOutput()}` : undefined),
  });
  await waitUntil(() => httpAnswers(`http://127.0.0.1:${options.frontendPort}/`), { what: 'HAProxy frontend', timeoutMs: 15_000 });
  const server = (slot: number) => `${webBackend}/${slotName(slot)}`;
  return {
    socketPath: options.socketPath,
    stats: async () => parseServerStats(await runtimeCommand(options.socketPath, 'show stat')),
    register: async (slot, port, weight = fullWeight) => {
      // One line, so HAProxy runs the commands back to back. `health down` comes last because
      // leaving maintenance resets a server to UP: this way it takes traffic only after `rise`
      // passed checks, as a new target behind an ALB does, not before it listens.
      await runChecked(
        options.socketPath,
        [
          `set server ${server(slot)} addr 127.0.0.1 port ${port}`,
          // A slot keeps the weight its previous instance had: each instance gets its own.
          `set weight ${server(slot)} ${weight}`,
          `enable health ${server(slot)}`,
          `set server ${server(slot)} state ready`,
          `set server ${server(slot)} health down`,
        ].join('; '),
      );
    },
    deregister: async (slot) => {
      await runChecked(options.socketPath, `set server ${server(slot)} state maint`);
    },
    setWeight: async (slot, weight) => {
      await runChecked(options.socketPath, `set weight ${server(slot)} ${weight}`);
    },
    domainStatus: async () => {
      if (!options.loadBalancerPort) return undefined;
      const stats = parseServerStats(await runtimeCommand(options.socketPath, 'show stat'), domainBackend);
      return stats.find((stat) => stat.name === liveServerName)?.status;
    },
    forceDomainToBackup: async (forced) => {
      if (!options.loadBalancerPort) throw new Error('this HAProxy has no DNS layer');
      const live = `${domainBackend}/${liveServerName}`;
      // Released, the server comes back UP and its next checks confirm it (or take it down again).
      await runChecked(options.socketPath, `set server ${live} state ${forced ? 'maint' : 'ready'}`);
    },
    stop: () => process_.stop('SIGTERM', 5000),
  };
}
