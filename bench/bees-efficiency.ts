import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, runMeasured, startProcess, waitForHttp } from './lib/processes';

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
}

const root = path.resolve(__dirname, '..');

function parseWrk(output: string): { requests: number; rps: number } {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  if (!(requests > 0)) throw new Error(`could not read wrk's output:\n${output}`);
  return { requests, rps };
}

export async function benchGenerators(seconds: number, connections: number): Promise<GeneratorFigures[]> {
  if (!existsSync('/usr/bin/wrk')) throw new Error('wrk is missing: apt-get install -y wrk');
  const port = await freePort();
  const target = startProcess(process.execPath, [path.join(__dirname, 'trivial-server.cjs')], { env: { ...process.env, PORT: String(port) } });
  const url = `http://127.0.0.1:${port}/`;
  await waitForHttp(url, target, 10_000, 200);
  const figures: GeneratorFigures[] = [];
  const record = (tool: string, command: string[], requests: number, rps: number, cpu: number): void => {
    // Every tool's rate is its requests over the same configured duration, so start-up and
    // reporting tails count against none of them; each tool's own figure is kept beside it.
    figures.push({ tool, command: command.join(' '), requests, rps: Math.round(requests / seconds), ownRps: Math.round(rps), cpuSeconds: cpu, requestsPerCpuSecond: Math.round(requests / cpu) });
  };
  try {
    // One thread for wrk, one process for autocannon and one bee: each generator gets one core
    // (the target has the other).
    const wrk = ['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, url];
    const wrkRun = await runMeasured(wrk[0]!, wrk.slice(1));
    const wrkFigures = parseWrk(wrkRun.stdout);
    record('wrk (1 thread)', wrk, wrkFigures.requests, wrkFigures.rps, wrkRun.cpuSeconds);

    const autocannon = [process.execPath, path.join(root, 'node_modules/autocannon/autocannon.js'), '-c', String(connections), '-d', String(seconds), '-j', url];
    const autocannonRun = await runMeasured(autocannon[0]!, autocannon.slice(1));
    const autocannonJson = JSON.parse(autocannonRun.stdout) as { requests: { total: number; average: number } };
    record('autocannon alone', ['autocannon', ...autocannon.slice(2)], autocannonJson.requests.total, autocannonJson.requests.average, autocannonRun.cpuSeconds);

    for (const bees of [1, 2]) {
      const beesCli = [process.execPath, '--import', 'tsx', path.join(root, 'scripts/bees/cli.ts'), 'attack', '-u', url, '--local', String(bees), '-c', String(connections), '-d', String(seconds), '--json', '--no-progress'];
      const beesRun = await runMeasured(beesCli[0]!, beesCli.slice(1));
      const report = JSON.parse(beesRun.stdout) as { requests: number; rps: number };
      record(`bees --local ${bees}`, ['npm run bees --', ...beesCli.slice(4)], report.requests, report.rps, beesRun.cpuSeconds);
    }
  } finally {
    await target.stop();
  }
  return figures;
}
