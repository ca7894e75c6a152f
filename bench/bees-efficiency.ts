// How much load bees itself can make, side by side with the autocannon CLI it wraps: against a
// target that costs almost nothing per request, each tool gets the same connections and time, and
// the figure that matters is bees' req/s ÷ autocannon's. Every bees run sits between two
// autocannon runs (autocannon, bees, autocannon, bees, ..., autocannon) and is divided by their
// mean, as page views are by the hello-world runs around them; consecutive autocannon runs,
// divided one by the other, show how far the same tool moves on this machine from run to run.
//
//   npx tsx bench/bees-efficiency.ts [--rounds N] [--seconds N] [--connections N]
//
// (also part of `npm run bench`). Load stays on 127.0.0.1 and every run is bounded by --seconds.
import type { AutocannonClient } from 'autocannon';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BeeTally } from '../scripts/bees/bee';
import { median } from './lib/median';
import { freePort, runMeasured, startNodeServer } from './lib/processes';

/** The goal from issue 11: bees within 5% of the autocannon it wraps. */
export const targetRatio = 0.95;

/** bees runs per comparison: with six, one noisy round could move the median by 0.1. */
export const defaultRounds = 10;

const root = path.resolve(__dirname, '..');

interface Run {
  requests: number;
  /** Requests ÷ the configured duration: no tool's start-up or reporting tail counts for or against it. */
  rps: number;
  cpuSeconds: number;
}

export interface Round {
  /** The autocannon runs just before and just after this round's bees run. */
  autocannon: [Run, Run];
  bees: Run & { headlineRps: number };
  /** bees' req/s ÷ the mean req/s of the autocannon runs around it. */
  ratio: number;
}

export interface EfficiencyFigures {
  connections: number;
  seconds: number;
  rounds: Round[];
  medianRatio: number;
  /** Every round's bees requests ÷ the sum of every round's autocannon means. */
  pooledRatio: number;
  /**
   * Each autocannon run ÷ the one before it: the same tool against itself, how much of a ratio
   * the machine alone makes. Its median should be near 1 and its range says how precise one
   * round's ratio is.
   */
  sameTool: { median: number; lowest: number; highest: number };
  /** bees' requests per CPU-second ÷ autocannon's, start-up included (tsx compiles the queen and the bee). */
  medianCpuRatio: number;
  commands: { autocannon: string; bees: string };
  /**
   * What a bee adds to each response: its listeners (BeeTally) on autocannon's 'response' event,
   * timed alone, against autocannon's own CPU per response in the runs above (start-up included).
   */
  perResponse: { tallyNanos: number; autocannonMicros: number };
}

const autocannonArgs = (url: string, seconds: number, connections: number): string[] => [
  '-c',
  String(connections),
  '-d',
  String(seconds),
  '-j',
  url,
];
const beesArgs = (url: string, seconds: number, connections: number): string[] => [
  'attack',
  '-u',
  url,
  '--local',
  '1',
  '-c',
  String(connections),
  '-d',
  String(seconds),
  '--json',
  '--no-progress',
];

async function runAutocannon(url: string, seconds: number, connections: number): Promise<Run> {
  const run = await runMeasured(process.execPath, [
    path.join(root, 'node_modules/autocannon/autocannon.js'),
    ...autocannonArgs(url, seconds, connections),
  ]);
  if (run.code !== 0) throw new Error(`autocannon exited ${run.code}:\n${run.stderr}`);
  const json = JSON.parse(run.stdout) as { requests: { total: number } };
  return { requests: json.requests.total, rps: json.requests.total / seconds, cpuSeconds: run.cpuSeconds };
}

async function runBees(url: string, seconds: number, connections: number): Promise<Run & { headlineRps: number }> {
  const run = await runMeasured(process.execPath, [
    '--import',
    'tsx',
    path.join(root, 'scripts/bees/cli.ts'),
    ...beesArgs(url, seconds, connections),
  ]);
  if (run.code !== 0) throw new Error(`bees exited ${run.code}:\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as { requests: number; rps: number };
  return { requests: report.requests, rps: report.requests / seconds, cpuSeconds: run.cpuSeconds, headlineRps: report.rps };
}

/**
 * Nanoseconds a bee's listeners add to each response: the 'response' event that autocannon emits
 * anyway, with and without a BeeTally listening, in a tight loop with no network, so neither the
 * target nor the machine's scheduling is in the figure (median of 5 runs).
 */
function tallyNanosPerResponse(responses = 1_000_000): number {
  const client = {} as AutocannonClient;
  const emitNanos = (withTally: boolean): number => {
    const events = new EventEmitter();
    const tally = new BeeTally(performance.now(), true);
    if (withTally) events.on('response', tally.response);
    const started = process.hrtime.bigint();
    for (let response = 0; response < responses; response++) events.emit('response', client, 200, 120, 0.4 + (response % 9) * 0.05);
    const nanos = Number(process.hrtime.bigint() - started) / responses;
    tally.recorder.finish();
    return nanos;
  };
  emitNanos(true);
  return median(Array.from({ length: 5 }, () => emitNanos(true) - emitNanos(false)));
}

/**
 * Runs autocannon, then rounds of (bees, autocannon) against the trivial target. On a shared
 * machine one run can land on a busy moment: each bees run is compared with the autocannon runs
 * on both sides of it, so a slow spell that spans them is shared.
 */
export async function benchBeesEfficiency(
  seconds: number,
  connections: number,
  rounds: number,
  log: (line: string) => void = () => undefined,
): Promise<EfficiencyFigures> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const target = await startNodeServer(
    'trivial target',
    path.join(__dirname, 'trivial-server.cjs'),
    [],
    { ...process.env, PORT: String(port) },
    url,
  );
  const done: Round[] = [];
  try {
    // One short run of each first: tsx's compile cache is warm before anything is measured.
    await runAutocannon(url, 1, connections);
    await runBees(url, 1, connections);
    let before = await runAutocannon(url, seconds, connections);
    for (let round = 0; round < rounds; round++) {
      const bees = await runBees(url, seconds, connections);
      const after = await runAutocannon(url, seconds, connections);
      const ratio = bees.rps / ((before.rps + after.rps) / 2);
      done.push({ autocannon: [before, after], bees, ratio });
      log(
        `round ${round + 1}/${rounds}: autocannon ${Math.round(before.rps)}, bees ${Math.round(bees.rps)}, ` +
          `autocannon ${Math.round(after.rps)} req/s, ratio ${ratio.toFixed(3)}`,
      );
      before = after;
    }
  } finally {
    await target.stop();
  }
  const meanOf = (pair: [Run, Run], measure: (run: Run) => number): number => (measure(pair[0]) + measure(pair[1])) / 2;
  const perCpu = (run: Run): number => run.requests / run.cpuSeconds;
  const sameTool = done.map((round) => round.autocannon[1].rps / round.autocannon[0].rps);
  return {
    connections,
    seconds,
    rounds: done,
    medianRatio: median(done.map((round) => round.ratio)),
    pooledRatio:
      done.reduce((sum, round) => sum + round.bees.requests, 0) /
      done.reduce((sum, round) => sum + meanOf(round.autocannon, (run) => run.requests), 0),
    sameTool: { median: median(sameTool), lowest: Math.min(...sameTool), highest: Math.max(...sameTool) },
    medianCpuRatio: median(done.map((round) => perCpu(round.bees) / meanOf(round.autocannon, perCpu))),
    perResponse: {
      tallyNanos: tallyNanosPerResponse(),
      autocannonMicros: median(done.map((round) => (1e6 * round.autocannon[1].cpuSeconds) / round.autocannon[1].requests)),
    },
    commands: {
      autocannon: ['autocannon', ...autocannonArgs('http://127.0.0.1:PORT/', seconds, connections)].join(' '),
      bees: ['npm run bees --', ...beesArgs('http://127.0.0.1:PORT/', seconds, connections)].join(' '),
    },
  };
}

const format = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Rows for `npm run bench`'s table: every round, then the ratio against the goal. */
export function efficiencyRows(figures: EfficiencyFigures): string[][] {
  const rounds = figures.rounds.map((round, index) => [
    `bees ÷ autocannon, round ${index + 1}`,
    format(round.ratio, 3),
    `bees ${format(round.bees.rps)} req/s (its own headline ${format(round.bees.headlineRps)}) between autocannon ` +
      `${format(round.autocannon[0].rps)} and ${format(round.autocannon[1].rps)}; per CPU-second ` +
      `${format(round.bees.requests / round.bees.cpuSeconds)} vs ${format(round.autocannon[0].requests / round.autocannon[0].cpuSeconds)}`,
  ]);
  const verdict = figures.medianRatio >= targetRatio ? 'meets' : 'MISSES';
  return [
    ...rounds,
    [
      'bees ÷ autocannon req/s (median of rounds)',
      format(figures.medianRatio, 3),
      `${verdict} the ${targetRatio} goal; pooled over all rounds ${format(figures.pooledRatio, 3)}; ` +
        `${figures.connections} connections, ${figures.seconds} s each, trivial loopback target`,
    ],
    [
      'autocannon ÷ the autocannon run before it (the machine alone)',
      format(figures.sameTool.median, 3),
      `median of the ${figures.rounds.length} consecutive pairs above, ${format(figures.sameTool.lowest, 3)}–${format(figures.sameTool.highest, 3)}: ` +
        'how far one tool moves against itself from run to run here',
    ],
    [
      "a bee's own work per response",
      `${format(figures.perResponse.tallyNanos)} ns`,
      `its listeners on autocannon's response event, timed alone (median of 5 runs of 1,000,000 events): ` +
        `${format((100 * figures.perResponse.tallyNanos) / (1000 * figures.perResponse.autocannonMicros), 1)}% of autocannon's ` +
        `${format(figures.perResponse.autocannonMicros, 1)} µs of CPU per response in the runs above`,
    ],
    [
      'bees ÷ autocannon requests per CPU-second (median)',
      format(figures.medianCpuRatio, 3),
      'start-up included: tsx compiles the queen and the bee, autocannon is plain JavaScript',
    ],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: String(defaultRounds) },
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
    },
  });
  const [rounds, seconds, connections] = [values.rounds, values.seconds, values.connections].map(Number) as [number, number, number];
  for (const [name, value] of Object.entries({ rounds, seconds, connections })) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be a whole number of at least 1 (got ${values[name as keyof typeof values]})`);
  }
  const figures = await benchBeesEfficiency(seconds, connections, rounds, (line) => console.error(`bench: ${line}`));
  console.log(`${figures.commands.autocannon}\n${figures.commands.bees}\n`);
  for (const row of efficiencyRows(figures)) console.log(`${row[0]}: ${row[1]}  (${row[2]})`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`bench failed: ${error.message}`);
    process.exit(1);
  });
}
