import '../../app/embedded/quiet-sdk-warning';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stopOnShutdown } from '../services/process';
import { productionStart } from './instances';
import { startLab } from './lab';
import { labStateFile } from './lab-file';
import type { ScalingPolicy } from './scaling-policy';

const help = `npm run lab [-- options]

The high-availability lab on this machine, on 127.0.0.1: PostgreSQL 15 (data under .lab/),
DynamoDB Local, s3rver with the backup site's website bucket, HAProxy as the load balancer
(health checks on /health every second, the backup site as its backup server) and an Auto
Scaling group of app instances spread over three simulated AZs (lab-a, lab-b, lab-c).
Prints the wiki's URL and the status page's URL. Ctrl-C stops everything it started.

Options (defaults in brackets):
  --instances N        desired capacity at start [3]
  --min N              minimum capacity [the same as --instances]
  --max N              maximum capacity [6]
  --scale-on METRIC    target tracking on "requests" (per instance per second), "cpu" (%), or "none" [requests]
  --target N           the policy's target per instance [50 for requests, 60 for cpu]
  --session-store S    dynamodb, or memory (the stateful "before" picture) [dynamodb]
  --sticky             sticky sessions at the load balancer (a cookie pins a browser to an instance)
  --wiki-port N        the load balancer's port [8080]
  --status-port N      the status page and control API's port [8081]
  --app PATH           the app's entry point, run with node [dist/app/server.js]
  --no-build           do not run \`npm run build\` first
  --fresh              delete .lab/ first (the database, sessions and objects)
  --state-dir PATH     [.lab]
  --verbose            print the instances' own logs
  -h, --help           this help

Break it with \`npm run chaos -- instance\` (az, database, sessions, all-web): see docs/lab.md.
Needs (Debian): apt-get install -y postgresql haproxy openjdk-17-jre-headless; runs as root.`;

function integer(value: string | undefined, name: string, min = 0): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be a whole number >= ${min}, got ${value}`);
  return parsed;
}

function scalingPolicy(metric: string, target: string | undefined): ScalingPolicy | undefined {
  if (metric === 'none') return undefined;
  if (metric !== 'requests' && metric !== 'cpu') throw new Error(`--scale-on must be requests, cpu or none, got ${metric}`);
  return {
    metric,
    target: target === undefined ? (metric === 'requests' ? 50 : 60) : integer(target, 'target', 1),
    // Minutes on AWS; seconds here, so that a person watching sees the loop close.
    scaleOutCooldownMs: 30_000,
    scaleInCooldownMs: 60_000,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '3' },
      min: { type: 'string' },
      max: { type: 'string', default: '6' },
      'scale-on': { type: 'string', default: 'requests' },
      target: { type: 'string' },
      'session-store': { type: 'string', default: 'dynamodb' },
      sticky: { type: 'boolean', default: false },
      'wiki-port': { type: 'string', default: '8080' },
      'status-port': { type: 'string', default: '8081' },
      app: { type: 'string', default: 'dist/app/server.js' },
      'no-build': { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: '.lab' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const root = process.cwd();
  const stateDir = resolve(values['state-dir']);
  const sessionStore = values['session-store'];
  if (sessionStore !== 'dynamodb' && sessionStore !== 'memory')
    throw new Error(`--session-store must be dynamodb or memory, got ${sessionStore}`);
  const capacity = {
    min: integer(values.min ?? values.instances, 'min'),
    max: integer(values.max, 'max', 1),
    desired: integer(values.instances, 'instances'),
  };
  const policy = scalingPolicy(values['scale-on'], values.target);

  if (!values['no-build']) {
    console.error('building the app (npm run build; skip with --no-build) ...');
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  }
  const entry = resolve(values.app);
  if (!existsSync(entry)) throw new Error(`the app's entry point ${entry} does not exist: run \`npm run build\` (or pass --app)`);
  if (values.fresh) rmSync(stateDir, { recursive: true, force: true });

  const lab = await startLab({
    root,
    stateDir,
    wikiPort: integer(values['wiki-port'], 'wiki-port', 1),
    statusPort: integer(values['status-port'], 'status-port', 1),
    capacity,
    app: { command: productionStart.command, args: [entry] },
    sessionStore,
    sticky: values.sticky,
    policy,
    log: (line) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`),
    onInstanceLine: values.verbose ? (id, line) => console.error(`[${id}] ${line}`) : undefined,
  });
  const stateFile = labStateFile(stateDir);
  writeFileSync(stateFile, JSON.stringify({ pid: process.pid, wikiUrl: lab.wikiUrl, statusUrl: lab.statusUrl, stateDir }, null, 2));

  console.log(`\nwiki:    ${lab.wikiUrl}\nstatus:  ${lab.statusUrl}\n`);
  console.error(`lab state in ${stateDir}; HAProxy runtime API: echo 'show stat' | socat - UNIX:${join(stateDir, 'haproxy.sock')}`);
  console.error('Ctrl-C stops everything.');

  stopOnShutdown('instances, HAProxy and services', async () => {
    await lab.stop();
    rmSync(stateFile, { force: true });
    console.error('stopped; nothing left running.');
  });
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
