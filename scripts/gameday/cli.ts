import '../../dev/quiet-sdk-warning';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { productionStart } from '../lab/instances';
import { buildVersion } from '../lab/release-builds';
import { analyze, type GameDayReport } from './analysis';
import { gameDayPlan } from './plan';
import { formatHtml } from './report-html';
import { formatText } from './report-text';
import { runGameDay } from './run';
import type { GameDayRecord } from './samples';

export interface GameDayFlags {
  quick: boolean;
  sessionStore: 'dynamodb' | 'memory';
  sticky: boolean;
  json?: string;
  html?: string;
  stateDir: string;
  app: string;
  build: boolean;
  fromRecord?: string;
}

const description = `One command for a rehearsed outage: starts the lab (PostgreSQL 15 with a streaming replica, DynamoDB Local, s3rver, HAProxy, three instances in three simulated AZs), publishes the real backup site from the lab's database, puts steady load on the wiki from logged-in virtual users (each with its own session cookie), then rolls two releases through the group (a good build, and one failing page views that must be rolled back) and injects the lab's faults one after another through its control API, waiting for recovery after each: an instance killed, a bare SIGTERM, the zone that holds the replica lost, the replica stopped, the database frozen, restarted and failed over to the replica, and the whole web tier gone so the backup site takes over (--quick: a subset). At the end it checks that every edit that got a 2xx is in the database, reports, and stops the lab.

Report: the terminal, an HTML page with inline SVG charts (requests, failures and p99 latency per second per instance, faults marked), and optionally JSON. Exits 1 when a pass mark is missed: any session lost, any acknowledged edit lost, any save acknowledged by the backup site, users seeing errors for longer than the fault allows, too many failed requests for the fault, or the backup site never answering.`;

/** The command line of `npm run gameday`; `run` receives the validated flags. */
export function gameDayProgram(run: (flags: GameDayFlags) => Promise<number>, output = {}): Command {
  return new Command('gameday')
    .description(description)
    .option('--quick', 'the releases and a subset of the faults, held shorter: about four minutes', false)
    .addOption(
      new Option('--session-store <store>', 'dynamodb, or memory (the stateful "before" picture, which fails)')
        .choices(['dynamodb', 'memory'])
        .default('dynamodb'),
    )
    .option(
      '--sticky',
      "sticky sessions at the load balancer (the lab's --sticky): memory sessions then survive until their instance dies",
      false,
    )
    .option('--json <file>', 'also write the figures as JSON (faults[], sessionsLost, editsLost, backupSaves, verdict)')
    .option('--html <file>', 'the HTML report (default: .cache/gameday/report-<store>[-sticky].html)')
    .option('--state-dir <dir>', "the lab's data, deleted at start", '.cache/gameday/lab')
    .option('--app <file>', 'the built app each instance runs (node FILE), as the EC2 bootstrap starts it', 'dist/app/server.js')
    .option('--no-build', 'do not run `npm run build` first (the --app file must exist)')
    .option('--from-record <file>', 'run nothing: report again from a raw record a game day wrote (.cache/gameday/record-<store>.json)')
    .addHelpText('after', '\nNeeds what the lab needs (Debian): postgresql haproxy openjdk-17-jre-headless; runs as root.')
    .showHelpAfterError('(add --help for the options and their defaults)')
    .exitOverride()
    .configureOutput(output)
    .action(async (flags: GameDayFlags) => {
      process.exitCode = await run(flags);
    });
}

function label(record: Pick<GameDayRecord, 'sessionStore' | 'sticky'>): string {
  return `${record.sessionStore}${record.sticky ? '-sticky' : ''}`;
}

async function gameDay(flags: GameDayFlags): Promise<number> {
  if (flags.fromRecord) {
    const record = JSON.parse(readFileSync(flags.fromRecord, 'utf8')) as GameDayRecord;
    const report = analyze(record);
    writeReports(report, flags.html ?? `.cache/gameday/report-${label(record)}.html`, flags.json);
    console.log(formatText(report));
    return report.verdict === 'pass' ? 0 : 1;
  }
  if (flags.build) {
    console.error('building the app (npm run build; skip with --no-build) ...');
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  }
  const appEntry = path.resolve(flags.app);
  if (!existsSync(appEntry)) throw new Error(`${appEntry} does not exist: run \`npm run build\` (or drop --no-build), or check --app`);

  const started = Date.now();
  const stamp = () => `${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s`;
  const record = await runGameDay({
    root: process.cwd(),
    stateDir: path.resolve(flags.stateDir),
    app: { command: productionStart.command, args: [appEntry] },
    release: buildVersion(appEntry),
    // The release steps roll this same build out again as a new release (and a broken copy of it).
    releaseBuild: path.resolve(appEntry, '../..'),
    sessionStore: flags.sessionStore,
    sticky: flags.sticky,
    plan: gameDayPlan(flags.quick),
    log: (line) => console.error(`${stamp()} ${line}`),
  });
  const report = analyze(record);
  // Every request as recorded, for a closer look than the report gives.
  const rawFile = `.cache/gameday/record-${label(record)}.json`;
  mkdirSync(path.dirname(rawFile), { recursive: true });
  writeFileSync(rawFile, JSON.stringify(record));
  console.error(`raw record: ${path.resolve(rawFile)}`);
  writeReports(report, flags.html ?? `.cache/gameday/report-${label(record)}.html`, flags.json);
  console.log(`\n${formatText(report)}`);
  return report.verdict === 'pass' ? 0 : 1;
}

function writeReports(report: GameDayReport, htmlFile: string, jsonFile: string | undefined): void {
  mkdirSync(path.dirname(path.resolve(htmlFile)), { recursive: true });
  writeFileSync(htmlFile, formatHtml(report));
  console.error(`HTML report: ${path.resolve(htmlFile)}`);
  if (jsonFile) {
    mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
    // The per-second timeline stays in the HTML; the JSON is the figures a pipeline checks.
    const { timeline: _timeline, ...figures } = report;
    writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
    console.error(`JSON figures: ${path.resolve(jsonFile)}`);
  }
}

if (require.main === module) {
  gameDayProgram(gameDay)
    .parseAsync()
    .catch((error: unknown) => {
      // commander has printed its own message, or the help (exit code 0).
      if (error instanceof CommanderError) process.exit(error.exitCode);
      console.error(`gameday: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    });
}
