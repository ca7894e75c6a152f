import '../../dev/quiet-sdk-warning';
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { oneOf, portNumber, wholeNumber } from '../services/cli-options';
import { stopOnShutdown } from '../services/process';
import { productionStart } from './instances';
import { startLab } from './lab';
import { labStateFile } from './lab-file';
import { buildVersion, releaseFaults, type ReleaseFault } from './release-builds';
import { rollSummary, runReleaseCommand } from './release-command';
import type { ScalingPolicy } from './scaling-policy';

const program = new Command('npm run lab --')
  // The lab's own options go before a subcommand: `release --build` is not `--no-build`.
  .enablePositionalOptions()
  .description('The high-availability lab on this machine, on 127.0.0.1; Ctrl-C stops everything it started.')
  .option('--instances <n>', 'desired capacity at start', wholeNumber(0), 3)
  .option('--min <n>', 'minimum capacity [default: the same as --instances]', wholeNumber(0))
  .option('--max <n>', 'maximum capacity', wholeNumber(1), 6)
  .option(
    '--scale-on <metric>',
    'target tracking on "requests" (per instance per second), "cpu" (%), or "none"',
    oneOf(['requests', 'cpu', 'none'] as const),
    'requests' as const,
  )
  .option('--target <n>', "the policy's target per instance [default: 50 for requests, 60 for cpu]", wholeNumber(1))
  .option(
    '--session-store <store>',
    'dynamodb, or memory (the stateful "before" picture)',
    oneOf(['dynamodb', 'memory'] as const),
    'dynamodb' as const,
  )
  .option('--sticky', 'sticky sessions at the load balancer (a cookie pins a browser to an instance)', false)
  .option('--no-replica', 'run PostgreSQL without its streaming replica (no DATABASE_READ_URL, no db-failover)')
  .option('--wiki-port <n>', "the load balancer's port", portNumber, 8080)
  .option('--status-port <n>', "the status page and control API's port", portNumber, 8081)
  .option('--app <path>', "the app's entry point, run with node", 'dist/app/server.js')
  .option('--no-build', 'do not run `npm run build` first')
  .option('--fresh', 'delete the state directory first (the database, sessions and objects)', false)
  .option('--state-dir <path>', 'where the lab keeps its state', '.lab')
  .option('--verbose', "print the instances' own logs", false)
  .addHelpText(
    'after',
    `
PostgreSQL 15 with a streaming replica (data under .lab/), DynamoDB Local, s3rver with the backup
site's website bucket, HAProxy as the load balancer (health checks on /health every second, the
backup site as its read-only backup server) and as Route 53 in front of it (the wiki's port goes to
the backup copy when /health/deep fails) and an Auto Scaling group of app instances spread over
three simulated AZs (lab-a, lab-b, lab-c). Prints the wiki's URL and the status page's URL.

Break it with \`npm run chaos -- instance\` (npm run chaos -- --help lists every fault): see docs/lab.md.
Roll a new build through it with \`npm run lab -- release\` (npm run lab -- release --help).
Needs (Debian): apt-get install -y postgresql haproxy openjdk-17-jre-headless; runs as root.`,
  );

interface LabCliOptions {
  instances: number;
  min?: number;
  max: number;
  scaleOn: 'requests' | 'cpu' | 'none';
  target?: number;
  sessionStore: 'dynamodb' | 'memory';
  sticky: boolean;
  replica: boolean;
  wikiPort: number;
  statusPort: number;
  app: string;
  build: boolean;
  fresh: boolean;
  stateDir: string;
  verbose: boolean;
}

function scalingPolicy(metric: LabCliOptions['scaleOn'], target: number | undefined): ScalingPolicy | undefined {
  if (metric === 'none') return undefined;
  return {
    metric,
    target: target ?? (metric === 'requests' ? 50 : 60),
    // Minutes on AWS; seconds here, so that a person watching sees the loop close.
    scaleOutCooldownMs: 30_000,
    scaleInCooldownMs: 60_000,
  };
}

interface ReleaseCliOptions {
  build?: string;
  fault?: ReleaseFault;
  stateDir: string;
  healthTimeout: number;
  canary: number;
  timeout: number;
}

program
  .command('release')
  .description(
    "Roll a build through the running lab, one instance at a time, as the template's UpdatePolicy does; a bad one rolls itself back.",
  )
  .option('--build <path>', 'a built tree to release (like dist/: app/server.js, package.json) [default: build the current tree]')
  .option('--fault <kind>', `a drill: release a bad build (${releaseFaults.join(', ')})`, oneOf(releaseFaults))
  .option('--state-dir <path>', "the running lab's state directory", '.lab')
  .option('--health-timeout <seconds>', 'how long each new instance has to pass the health checks', wholeNumber(1), 30)
  .option('--canary <seconds>', 'how long the first new instance is compared with the old ones', wholeNumber(1), 10)
  .option('--timeout <seconds>', 'give up following the roll after this long', wholeNumber(1), 600)
  .addHelpText(
    'after',
    `
Stages the release in <state dir>/releases/<version>/ (never changed again, so a rollback starts
the same code) with version <package version>-<commit>.lab<n>, which each instance reports in
/health. Then: launch one instance on it, wait until HAProxy finds it healthy, retire one old
instance; repeat. The first new instance is a canary: if its error rate or page-view latency is
worse than the old instances' within --canary seconds, or a new instance never gets healthy, the
group goes back to the previous release. Exits 0 when the release went out, 1 when it was rolled
back or failed. See docs/lab.md.`,
  )
  .action(async (options: ReleaseCliOptions) => {
    const log = (line: string) => console.error(line);
    const record = await runReleaseCommand({ root: process.cwd(), ...options, stateDir: resolve(options.stateDir), log });
    for (const line of rollSummary(record)) console.log(line);
    if (record.state !== 'succeeded') process.exitCode = 1;
  });

program.action(() => main());

async function main() {
  const options = program.opts<LabCliOptions>();
  const root = process.cwd();
  const stateDir = resolve(options.stateDir);
  const capacity = { min: options.min ?? options.instances, max: options.max, desired: options.instances };
  const policy = scalingPolicy(options.scaleOn, options.target);

  if (options.build) {
    console.error('building the app (npm run build; skip with --no-build) ...');
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  }
  const entry = resolve(options.app);
  if (!existsSync(entry)) throw new Error(`the app's entry point ${entry} does not exist: run \`npm run build\` (or pass --app)`);
  if (options.fresh) rmSync(stateDir, { recursive: true, force: true });

  const lab = await startLab({
    root,
    stateDir,
    wikiPort: options.wikiPort,
    statusPort: options.statusPort,
    capacity,
    app: { command: productionStart.command, args: [entry] },
    release: buildVersion(entry),
    sessionStore: options.sessionStore,
    sticky: options.sticky,
    replica: options.replica,
    policy,
    log: (line) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`),
    onInstanceLine: options.verbose ? (id, line) => console.error(`[${id}] ${line}`) : undefined,
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

program.parseAsync().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
