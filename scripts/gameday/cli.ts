import '../../app/embedded/quiet-sdk-warning';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { productionStart } from '../lab/instances';
import { analyze, type GameDayReport } from './analysis';
import { gameDayPlan } from './plan';
import { formatHtml } from './report-html';
import { formatText } from './report-text';
import { runGameDay } from './run';
import type { GameDayRecord } from './samples';

const help = `npm run gameday [-- options]

One command for a rehearsed outage: starts the lab (PostgreSQL 15, DynamoDB Local, s3rver, HAProxy,
three instances in three simulated AZs), publishes the real backup site from the lab's database,
puts steady load on the wiki from logged-in virtual users (each with its own session cookie), then
through the lab's control API: kills one instance of three, restarts the database, and takes every
web instance down so the backup site takes over — waiting for recovery after each. At the end it
checks that every edit that got a 2xx is in the database, reports, and stops the lab.

Report: the terminal, an HTML page with inline SVG charts (requests, failures and p99 latency per
second per instance, faults marked), and optionally JSON. Exits 1 when a threshold is missed:
any session lost, any acknowledged edit lost, users seeing errors for longer than the fault allows,
more than 5% failed requests when one instance dies, or the backup site never answering.

Options (defaults in brackets):
  --quick               short faults and waits: the whole day fits in 5 minutes
  --session-store S     dynamodb, or memory (the stateful "before" picture, which fails) [dynamodb]
  --sticky              sticky sessions at the load balancer (the lab's --sticky): memory sessions
                        then survive until their instance dies
  --json FILE           also write the figures as JSON (faults[], sessionsLost, editsLost, verdict)
  --html FILE           the HTML report [.cache/gameday/report-<store>[-sticky].html]
  --state-dir DIR       the lab's data, deleted at start [.cache/gameday/lab]
  --no-build            do not run \`npm run build\` first (dist/app/server.js must exist)
  --from-record FILE    run nothing: report again from a raw record a game day wrote
                        (.cache/gameday/record-<store>.json)
  -h, --help            this help

Needs what the lab needs (Debian): postgresql haproxy openjdk-17-jre-headless; runs as root.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'session-store': { type: 'string', default: 'dynamodb' },
      sticky: { type: 'boolean', default: false },
      json: { type: 'string' },
      html: { type: 'string' },
      'state-dir': { type: 'string', default: '.cache/gameday/lab' },
      'no-build': { type: 'boolean', default: false },
      'from-record': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values['from-record']) {
    const record = JSON.parse(readFileSync(values['from-record'], 'utf8')) as GameDayRecord;
    const report = analyze(record);
    const label = `${record.sessionStore}${record.sticky ? '-sticky' : ''}`;
    writeReports(report, values.html ?? `.cache/gameday/report-${label}.html`, values.json);
    console.log(formatText(report));
    return report.verdict === 'pass' ? 0 : 1;
  }
  const sessionStore = values['session-store'];
  if (sessionStore !== 'dynamodb' && sessionStore !== 'memory')
    throw new Error(`--session-store must be dynamodb or memory, got ${sessionStore}`);
  if (!values['no-build']) {
    console.error('building the app (npm run build; skip with --no-build) ...');
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  }
  const appEntry = path.resolve('dist/app/server.js');
  if (!existsSync(appEntry)) throw new Error(`${appEntry} does not exist: run \`npm run build\` (or drop --no-build)`);

  const label = `${sessionStore}${values.sticky ? '-sticky' : ''}`;
  const started = Date.now();
  const stamp = () => `${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s`;
  const record = await runGameDay({
    root: process.cwd(),
    stateDir: path.resolve(values['state-dir']),
    app: { command: productionStart.command, args: [appEntry] },
    sessionStore,
    sticky: values.sticky,
    plan: gameDayPlan(values.quick),
    log: (line) => console.error(`${stamp()} ${line}`),
  });
  const report = analyze(record);
  // Every request as recorded, for a closer look than the report gives.
  const rawFile = `.cache/gameday/record-${label}.json`;
  mkdirSync(path.dirname(rawFile), { recursive: true });
  writeFileSync(rawFile, JSON.stringify(record));
  console.error(`raw record: ${path.resolve(rawFile)}`);
  writeReports(report, values.html ?? `.cache/gameday/report-${label}.html`, values.json);
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

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`gameday: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
