// How much load bees itself can make, side by side with the autocannon CLI it wraps: against a
// target that costs almost nothing per request, each tool gets the same connections and time, in
// alternating rounds, and the figure that matters is bees' req/s ÷ autocannon's in each round.
//
//   npx tsx bench/bees-efficiency.ts [--rounds N] [--seconds N] [--connections N]
//
// (also part of `npm run bench`). Load stays on 127.0.0.1 and every run is bounded by --seconds.
import autocannon from 'autocannon';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBee } from '../scripts/bees/bee';
import { median } from './lib/median';
import { freePort, runMeasured, startNodeServer } from './lib/processes';

/** The goal from issue 11: bees within 5% of the autocannon it wraps. */
export const targetRatio = 0.95;

/** Alternating rounds per comparison: with six, one noisy round could move the median by 0.1. */
export const defaultRounds = 10;

const root = path.resolve(__dirname, '..');

interface Run {
  requests: number;
  /** Requests ÷ the configured duration: no tool's start-up or reporting tail counts for or against it. */
  rps: number;
  cpuSeconds: number;
}

export interface Round {
  /** Which tool ran first: the order alternates so a slow spell on the machine is shared. */
  first: 'autocannon' | 'bees';
  autocannon: Run;
  bees: Run & { headlineRps: number };
  ratio: number;
}

export interface EfficiencyFigures {
  connections: number;
  seconds: number;
  rounds: Round[];
  medianRatio: number;
  /** Every round's bees requests ÷ every round's autocannon requests. */
  pooledRatio: number;
  /** bees' requests per CPU-second ÷ autocannon's, start-up included (tsx compiles the queen and the bee). */
  medianCpuRatio: number;
  commands: { autocannon: string; bees: string };
  /** CPU per response in this process, autocannon's engine alone and with a bee around it (median µs). */
  inProcess: { requests: number; rounds: number; autocannonMicros: number; beeMicros: number };
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

/** CPU microseconds per response of `attack`, run in this process. */
async function cpuPerResponse(attack: () => Promise<number>): Promise<number> {
  const before = process.cpuUsage();
  const responses = await attack();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / responses;
}

/**
 * The bee's own per-response cost, apart from start-up and from a noisy machine: autocannon's
 * engine alone, then the same engine inside runBee (its listener, recorder and timeline), in one
 * process, alternating, each for a fixed number of requests.
 */
async function inProcessOverhead(url: string, connections: number, requests: number, rounds: number) {
  const bare = (): Promise<number> =>
    new Promise((resolve, reject) =>
      autocannon({ url, connections, amount: requests }, (error, result) =>
        error ? reject(error) : resolve((result as { requests: { total: number } }).requests.total),
      ),
    );
  const bee = async (): Promise<number> => {
    const spec = {
      bee: 0,
      runId: 'bench',
      url,
      connections,
      amount: requests,
      rampUpSeconds: 0,
      timeoutSeconds: 10,
      method: 'GET',
      headers: {},
    };
    return (await runBee({ ...spec, timeline: true })).requests;
  };
  await bare();
  await bee();
  const samples = { autocannon: [] as number[], bee: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    samples.autocannon.push(await cpuPerResponse(bare));
    samples.bee.push(await cpuPerResponse(bee));
  }
  return { requests, rounds, autocannonMicros: median(samples.autocannon), beeMicros: median(samples.bee) };
}

/**
 * Runs bees and autocannon in alternating rounds against the trivial target. On a shared machine
 * one run can land on a busy moment; alternating (autocannon first in odd rounds, bees first in
 * even ones) puts both tools in the same noise, and the per-round ratio cancels most of it.
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
  let inProcess: EfficiencyFigures['inProcess'] | undefined;
  try {
    // One short run of each first: tsx's compile cache is warm before anything is measured.
    await runAutocannon(url, 1, connections);
    await runBees(url, 1, connections);
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0 ? 'autocannon' : 'bees';
      let autocannon: Run;
      let bees: Run & { headlineRps: number };
      if (first === 'autocannon') {
        autocannon = await runAutocannon(url, seconds, connections);
        bees = await runBees(url, seconds, connections);
      } else {
        bees = await runBees(url, seconds, connections);
        autocannon = await runAutocannon(url, seconds, connections);
      }
      const ratio = bees.rps / autocannon.rps;
      done.push({ first, autocannon, bees, ratio });
      log(
        `round ${round + 1}/${rounds}: autocannon ${Math.round(autocannon.rps)} req/s, bees ${Math.round(bees.rps)} req/s, ratio ${ratio.toFixed(3)}`,
      );
    }
    log('CPU per response in one process, autocannon alone and inside a bee ...');
    inProcess = await inProcessOverhead(url, connections, 20_000, 12);
  } finally {
    await target.stop();
  }
  const total = (tool: 'autocannon' | 'bees'): number => done.reduce((sum, round) => sum + round[tool].requests, 0);
  const perCpu = (run: Run): number => run.requests / run.cpuSeconds;
  return {
    connections,
    seconds,
    rounds: done,
    medianRatio: median(done.map((round) => round.ratio)),
    pooledRatio: total('bees') / total('autocannon'),
    medianCpuRatio: median(done.map((round) => perCpu(round.bees) / perCpu(round.autocannon))),
    inProcess: inProcess as EfficiencyFigures['inProcess'],
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
    `bees ÷ autocannon, round ${index + 1} (${round.first} first)`,
    format(round.ratio, 3),
    `autocannon ${format(round.autocannon.rps)} req/s, bees ${format(round.bees.rps)} req/s ` +
      `(its own headline ${format(round.bees.headlineRps)}); per CPU-second ${format(round.autocannon.requests / round.autocannon.cpuSeconds)} ` +
      `vs ${format(round.bees.requests / round.bees.cpuSeconds)}`,
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
      'CPU per response, bee ÷ autocannon alone (one process)',
      format(figures.inProcess.beeMicros / figures.inProcess.autocannonMicros, 3),
      `${format(figures.inProcess.beeMicros, 1)} µs vs ${format(figures.inProcess.autocannonMicros, 1)} µs; median of ` +
        `${figures.inProcess.rounds} alternating runs of ${format(figures.inProcess.requests)} requests: the bee's own per-response cost, without start-up or scheduling noise`,
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
