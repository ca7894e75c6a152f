import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AwsClients, Bee } from './ec2-swarm';
import { formatHtml } from './format-html';
import { formatText } from './format-text';
import { attackWithLocalBees } from './local-swarm';
import { planAttack, type AttackOptions } from './plan';
import { ProgressLine, SwarmWaitLine } from './progress';
import { buildReport } from './report';
import { loadScenario } from './scenario';
import type { BeeResult, BeeSpec } from './spec';

// The AWS SDK and esbuild cost most of a CPU-second to load, on the cores a --local attack shares
// with its target: only the EC2 commands load them. `require` because this file is CommonJS and a
// dynamic import() would need a file extension that differs between tsx, jest and the build.
const ec2Swarm = (): typeof import('./ec2-swarm') => require('./ec2-swarm');
const userData = (): typeof import('./user-data') => require('./user-data');

const exitCodes = { ok: 0, thresholdsExceeded: 1, failed: 2 } as const;

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  awsClients: (region?: string) => AwsClients;
}

const defaultIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  awsClients: (region) => {
    const { EC2Client } = require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
    const { SSMClient } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
    const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    return { ec2: new EC2Client({ region }), ssm: new SSMClient({ region }), s3: new S3Client({ region }) };
  },
};

interface NumberRule {
  whole?: boolean;
  min: number;
  /** The minimum itself is meaningless (a zero duration, a zero timeout). */
  aboveMin?: boolean;
  max?: number;
}

function describeRule({ whole, min, aboveMin, max }: NumberRule): string {
  const kind = whole ? 'a whole number' : 'a number';
  if (max !== undefined) return `${kind} from ${min} to ${max}`;
  return aboveMin ? `${kind} above ${min}` : `${kind} of at least ${min}`;
}

/** A commander parser for a numeric option: anything but a number inside the rule is refused by name (exit 2). */
const numberOption =
  (name: string, rule: NumberRule) =>
  (text: string): number => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    const fits =
      Number.isFinite(value) &&
      (!rule.whole || Number.isInteger(value)) &&
      (rule.aboveMin ? value > rule.min : value >= rule.min) &&
      (rule.max === undefined || value <= rule.max);
    if (!fits) throw new InvalidArgumentError(`${name} must be ${describeRule(rule)} (got "${text}")`);
    return value;
  };
const atLeastOne = (name: string) => numberOption(name, { whole: true, min: 1 });
const aboveZero = (name: string) => numberOption(name, { min: 0, aboveMin: true });
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseHeaders(lines: readonly string[], cookies: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header "${line}" is not "Name: value"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  if (cookies.length > 0) headers.cookie = [headers.cookie, ...cookies].filter(Boolean).join('; ');
  return headers;
}

function parseTags(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals <= 0) throw new Error(`tag "${pair}" is not key=value`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}

interface AttackFlags {
  url?: string;
  local?: number;
  swarm: string;
  region?: string;
  requests?: number;
  duration?: number;
  concurrency: number;
  rate?: number;
  rampUp: number;
  timeout: number;
  method: string;
  header: string[];
  cookie: string[];
  bodyFile?: string;
  scenario?: string;
  maxErrorRate: number;
  maxP99: number;
  json?: boolean;
  html?: string;
  progress: boolean;
  outputBucket?: string;
  pollSeconds: number;
}

async function attackFromHere(specs: BeeSpec[], flags: AttackFlags, io: CliIo): Promise<BeeResult[]> {
  const progress = new ProgressLine(io.stderr, flags.progress);
  try {
    return await attackWithLocalBees(specs, (update) => progress.update(update));
  } finally {
    progress.finish();
  }
}

async function attackFromEc2(clients: AwsClients, bees: Bee[], specs: BeeSpec[], flags: AttackFlags, io: CliIo): Promise<BeeResult[]> {
  const waiting = new SwarmWaitLine(io.stderr, flags.progress, specs.length);
  try {
    const { attackWithEc2Bees } = ec2Swarm();
    return await attackWithEc2Bees(clients, bees, specs, {
      outputBucket: flags.outputBucket,
      pollIntervalMs: flags.pollSeconds * 1000,
      // Long enough for the attack itself plus the bee's start-up; SSM stops the agent after it.
      executionTimeoutSeconds: Math.ceil((flags.duration ?? 600) + 300),
      onBeeDone: () => waiting.beeDone(),
    });
  } finally {
    waiting.finish();
  }
}

async function attack(flags: AttackFlags, io: CliIo): Promise<number> {
  const scenario = flags.scenario ? loadScenario(flags.scenario) : undefined;
  const url = flags.url ?? scenario?.url;
  if (!url) throw new Error('give the target with -u URL (or "url" in the scenario file)');
  const clients = flags.local === undefined ? io.awsClients(flags.region) : undefined;
  const ec2Bees = clients ? await ec2Swarm().findBees(clients.ec2, flags.swarm) : [];
  if (clients && ec2Bees.length === 0) {
    throw new Error(`swarm "${flags.swarm}" has no running bees: start some with \`bees up\`, or attack from this machine with --local N`);
  }
  const options: AttackOptions = {
    url,
    bees: flags.local ?? ec2Bees.length,
    connections: flags.concurrency,
    requests: flags.requests,
    durationSeconds: flags.requests === undefined ? (flags.duration ?? 10) : flags.duration,
    rate: flags.rate,
    rampUpSeconds: flags.rampUp,
    timeoutSeconds: flags.timeout,
    method: flags.method.toUpperCase(),
    headers: parseHeaders(flags.header, flags.cookie),
    body: flags.bodyFile ? readFileSync(flags.bodyFile, 'utf8') : undefined,
    routes: scenario?.routes,
    login: scenario?.login,
    // Per-second histograms do not fit SSM's inline output; with an output bucket they do.
    timeline: clients === undefined || flags.outputBucket !== undefined,
  };
  const specs = planAttack(options);
  const results = clients ? await attackFromEc2(clients, ec2Bees, specs, flags, io) : await attackFromHere(specs, flags, io);
  const report = buildReport(specs, results, { maxErrorRate: flags.maxErrorRate, maxP99Ms: flags.maxP99 });
  io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
  if (flags.html) {
    writeFileSync(flags.html, formatHtml(report));
    io.stderr.write(`HTML report written to ${flags.html}\n`);
  }
  return report.verdict.passed ? exitCodes.ok : exitCodes.thresholdsExceeded;
}

function swarmOptions(command: Command): Command {
  return command
    .option('--swarm <name>', 'the swarm: bees are found by the bees:swarm tag', 'default')
    .option('--region <region>', 'AWS region (default: from the AWS environment)');
}

function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('bees')
    .description(
      'A distributed HTTP load generator in the spirit of bees with machine guns: autocannon in every bee, ' +
        'exactly merged HDR latency histograms, open-loop rates, logged-in cloudwiki scenarios.\n\n' +
        'Exit codes: 0 target held, 1 a threshold was exceeded, 2 the command could not run.',
    )
    .addHelpText(
      'after',
      `
Examples:
  bees attack -u http://127.0.0.1:3000/wiki/Home --local 2 -c 50 -d 30
  bees attack -u http://127.0.0.1:3000 -s scripts/bees/scenarios/cloudwiki-logged-in.json --local 2 -c 20 -n 5000
  bees attack -u http://127.0.0.1:3000/ --local 2 --rate 2000 -d 60 --max-p99 50 --html report.html
  bees up -s 4 --instance-profile bees-ssm --subnet subnet-0abc --yes
  bees attack -u https://wiki.example.com/ -c 200 -d 120 --output-bucket my-bees-output
  bees report
  bees down --yes`,
    )
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  swarmOptions(
    program
      .command('attack')
      .description('load-test a URL from the EC2 swarm, or from N local processes with --local N')
      .option('-u, --url <url>', 'target URL (method and path apply unless a scenario lists requests)')
      .option('--local <bees>', 'run this many bees as local processes instead of EC2 instances', atLeastOne('--local'))
      .option('-n, --requests <count>', 'total requests for the swarm (instead of --duration)', atLeastOne('-n'))
      .option('-d, --duration <seconds>', 'how long to attack (default 10 when -n is not given)', aboveZero('--duration'))
      .option('-c, --concurrency <connections>', 'total connections (virtual users), shared across bees', atLeastOne('-c'), 10)
      .option(
        '-r, --rate <perSecond>',
        'open loop: total requests a second, latency measured from each scheduled send',
        aboveZero('--rate'),
      )
      .option('--ramp-up <seconds>', 'start connections gradually over this long', numberOption('--ramp-up', { min: 0 }), 0)
      .option('--timeout <seconds>', 'a request without an answer after this long is an error', aboveZero('--timeout'), 10)
      .option('-m, --method <method>', 'HTTP method', 'GET')
      .option('-H, --header <header>', '"Name: value", repeatable', collect, [])
      .option('--cookie <cookie>', '"name=value" sent with every request, repeatable', collect, [])
      .option('--body-file <file>', 'request body, read from a file')
      .option('-s, --scenario <file>', 'JSON scenario: weighted requests, optional logged-in users (see scripts/bees/scenarios/)')
      .option(
        '--max-error-rate <ratio>',
        'fail when errors and 5xx exceed this share of requests',
        numberOption('--max-error-rate', { min: 0, max: 1 }),
        0.01,
      )
      .option('--max-p99 <ms>', 'fail when p99 latency exceeds this many milliseconds', aboveZero('--max-p99'), 1000)
      .option('--json', 'print the report as JSON')
      .option('--html <file>', 'also write an HTML report with latency-over-time and histogram charts')
      .option('--no-progress', 'no live progress line')
      .option('--output-bucket <bucket>', 'EC2: S3 bucket for SSM to store bee output (needed for timelines and long runs)')
      .option(
        '--poll-seconds <seconds>',
        'EC2: how often to ask SSM whether the bees are done',
        numberOption('--poll-seconds', { min: 0 }),
        2,
      ),
  ).action(async (flags: AttackFlags) => setExitCode(await attack(flags, io)));

  swarmOptions(
    program
      .command('up')
      .description('launch bees on EC2 (a dry run unless --yes); each bee terminates itself after --max-lifetime')
      .requiredOption('-s, --bees <count>', 'how many bees', atLeastOne('--bees'))
      .requiredOption('--instance-profile <name>', 'instance profile whose role has AmazonSSMManagedInstanceCore')
      .option('--instance-type <type>', 'EC2 instance type', 'c7i.large')
      .option('--subnet <id>', 'subnet to launch into (default: the default VPC)')
      .option('--security-group <id>', 'security group, repeatable (bees need outbound HTTPS for SSM only)', collect, [])
      .option('--ami <id>', 'image (default: latest Amazon Linux 2023 from SSM)')
      .option(
        '--max-lifetime <minutes>',
        'the bee shuts down and terminates after this long',
        numberOption('--max-lifetime', { whole: true, min: 5 }),
        120,
      )
      .option('--tag <key=value>', 'extra tag, repeatable', collect, [])
      .option('--yes', 'really launch (without it, EC2 only checks the request)'),
  ).action(async (flags) => {
    const { bundleAgent, renderUserData } = userData();
    const { launchBees } = ec2Swarm();
    const outcome = await launchBees(io.awsClients(flags.region), {
      swarm: flags.swarm,
      count: flags.bees,
      instanceType: flags.instanceType,
      subnetId: flags.subnet,
      securityGroupIds: flags.securityGroup,
      instanceProfile: flags.instanceProfile,
      imageId: flags.ami,
      maxLifetimeMinutes: flags.maxLifetime,
      tags: parseTags(flags.tag),
      userData: renderUserData({ maxLifetimeMinutes: flags.maxLifetime, agentSource: bundleAgent() }),
      dryRun: !flags.yes,
    });
    io.stdout.write(
      outcome.dryRun
        ? `Dry run: EC2 accepts launching ${flags.bees} ${flags.instanceType} bee(s) from ${outcome.imageId} into swarm "${flags.swarm}". Add --yes to launch.\n`
        : `Launched ${outcome.instanceIds.length} bee(s) into swarm "${flags.swarm}": ${outcome.instanceIds.join(', ')}\n` +
            `They are ready when \`bees report\` shows SSM Online and a minute has passed for installation.\n`,
    );
  });

  swarmOptions(program.command('report').description("show the swarm's bees and whether SSM reaches them")).action(async (flags) => {
    const state = await ec2Swarm().describeSwarm(io.awsClients(flags.region), flags.swarm);
    if (state.bees.length === 0) {
      io.stdout.write(`Swarm "${flags.swarm}" has no live bees.\n`);
      return;
    }
    io.stdout.write(`Swarm "${flags.swarm}": ${state.bees.length} bee(s)\n`);
    for (const bee of state.bees) {
      io.stdout.write(
        `  ${bee.instanceId}  ${bee.state.padEnd(8)} ${bee.instanceType.padEnd(10)} ${bee.availabilityZone.padEnd(11)} SSM ${bee.ssmPing.padEnd(14)} expires ${bee.expiresAt ?? '?'}\n`,
      );
    }
  });

  swarmOptions(
    program.command('down').description('terminate every bee of the swarm (a dry run unless --yes)').option('--yes', 'really terminate'),
  ).action(async (flags) => {
    const outcome = await ec2Swarm().terminateBees(io.awsClients(flags.region), flags.swarm, !flags.yes);
    if (outcome.instanceIds.length === 0) io.stdout.write(`Swarm "${flags.swarm}" has no live bees.\n`);
    else if (outcome.dryRun) io.stdout.write(`Dry run: would terminate ${outcome.instanceIds.join(', ')}. Add --yes to terminate.\n`);
    else io.stdout.write(`Terminating ${outcome.instanceIds.join(', ')}.\n`);
  });
  return program;
}

/** Runs the CLI and returns its exit code (tests call this; the bin sets process.exitCode). */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const program = createProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.failed;
    }
    io.stderr.write(`bees: ${(error as Error).message}\n`);
    return exitCodes.failed;
  }
  return exitCode;
}

export function main(): void {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
