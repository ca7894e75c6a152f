import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, runMeasured, startNodeServer } from './lib/processes';

// How much load bees itself can make: against a target that costs almost nothing per request,
// each generator gets the same connections and time, and we compare the rates they report and
// how many requests each gets out of a CPU-second.

export interface GeneratorFigures {
  tool: string;
  command: string;
  requests: number;
  rps: number;
  /** The rate as the tool itself reports it. */
  ownRps: number;
  cpuSeconds: number;
  requestsPerCpuSecond: number;
  rounds: number;
}

const root = path.resolve(__dirname, '..');

function parseWrk(output: string): { requests: number; ownRps: number } {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  if (!(requests > 0)) throw new Error(`could not read wrk's output:\n${output}`);
  return { requests, ownRps: rps };
}

interface Sample {
  command: string;
  requests: number;
  ownRps: number;
  cpuSeconds: number;
}

type Generator = { tool: string; run: (url: string, seconds: number, connections: number) => Promise<Sample> };

const generators: Generator[] = [
  {
    // One thread for wrk, one process for autocannon and for one bee: each generator gets one
    // core, the target the other.
    tool: 'wrk (1 thread)',
    run: async (url, seconds, connections) => {
      const args = ['-t1', `-c${connections}`, `-d${seconds}s`, url];
      const run = await runMeasured('wrk', args);
      return { command: ['wrk', ...args].join(' '), ...parseWrk(run.stdout), cpuSeconds: run.cpuSeconds };
    },
  },
  {
    tool: 'autocannon alone',
    run: async (url, seconds, connections) => {
      const args = ['-c', String(connections), '-d', String(seconds), '-j', url];
      const run = await runMeasured(process.execPath, [path.join(root, 'node_modules/autocannon/autocannon.js'), ...args]);
      const json = JSON.parse(run.stdout) as { requests: { total: number; average: number } };
      return {
        command: ['autocannon', ...args].join(' '),
        requests: json.requests.total,
        ownRps: json.requests.average,
        cpuSeconds: run.cpuSeconds,
      };
    },
  },
  ...[1, 2].map((bees): Generator => ({
    tool: `bees --local ${bees}`,
    run: async (url, seconds, connections) => {
      const args = [
        'attack',
        '-u',
        url,
        '--local',
        String(bees),
        '-c',
        String(connections),
        '-d',
        String(seconds),
        '--json',
        '--no-progress',
      ];
      const run = await runMeasured(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/bees/cli.ts'), ...args]);
      const report = JSON.parse(run.stdout) as { requests: number; rps: number };
      return { command: ['npm run bees --', ...args].join(' '), requests: report.requests, ownRps: report.rps, cpuSeconds: run.cpuSeconds };
    },
  })),
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * Runs every generator `rounds` times, interleaved, and keeps the median of each: on a shared
 * two-core machine one run of one tool can land on a busy moment, and interleaving spreads that
 * over all tools.
 */
export async function benchGenerators(seconds: number, connections: number, rounds = 3): Promise<GeneratorFigures[]> {
  if (!existsSync('/usr/bin/wrk')) throw new Error('wrk is missing: apt-get install -y wrk');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const target = await startNodeServer(
    'trivial target',
    path.join(__dirname, 'trivial-server.cjs'),
    [],
    { ...process.env, PORT: String(port) },
    url,
  );
  const samples = new Map<string, Sample[]>(generators.map((generator) => [generator.tool, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const generator of generators) samples.get(generator.tool)!.push(await generator.run(url, seconds, connections));
    }
  } finally {
    await target.stop();
  }
  return generators.map(({ tool }) => {
    const runs = samples.get(tool)!;
    // Every tool's rate is its requests over the same configured duration, so start-up and
    // reporting tails count against none of them; each tool's own figure is kept beside it.
    return {
      tool,
      command: runs[0]!.command,
      requests: median(runs.map((run) => run.requests)),
      rps: Math.round(median(runs.map((run) => run.requests / seconds))),
      ownRps: Math.round(median(runs.map((run) => run.ownRps))),
      cpuSeconds: median(runs.map((run) => run.cpuSeconds)),
      requestsPerCpuSecond: Math.round(median(runs.map((run) => run.requests / run.cpuSeconds))),
      rounds: runs.length,
    };
  });
}
