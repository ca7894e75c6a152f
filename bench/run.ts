// `npm run bench`: every benchmark, then one table. Load stays on 127.0.0.1 and every run is
// bounded by --seconds. Figures depend on the machine: the ratios (each against a baseline
// measured in the same run) are what carries over.
import '../dev/quiet-sdk-warning';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { benchBeesEfficiency, defaultRounds, efficiencyRows } from './bees-efficiency';
import { benchCloudwiki, type CloudwikiFigures, type LatencyFigures, type ListFigures, type ViewFigures } from './cloudwiki';

const usage = `Usage: npm run bench -- [--seconds N] [--connections N] [--only generators|cloudwiki]

  --seconds N       length of each measured run (default 10); page-view rounds take half of it
  --connections N   connections for the closed-loop runs (default 32)
  --only WHAT       run one group: generators (bees vs autocannon, each bees run between two autocannon runs) or cloudwiki
  --node-options=S  NODE_OPTIONS for the cloudwiki processes instead of the production start's
                    (productionRuntimeEnv in app/contracts.ts), e.g. --node-options= for none

Needs postgresql-15, and Java 17 for DynamoDB Local.`;

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(rows[0]!), line(widths.map((width) => '-'.repeat(width))), ...rows.slice(1).map(line)].join('\n');
}

const format = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const perOperation = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([operation, n]) => `${n} ${operation}`)
    .join(', ') || 'none';

function latencyRow(name: string, figures: LatencyFigures, what: string): string[] {
  return [
    name,
    `p50 ${format(figures.p50Ms, 1)} ms`,
    `${what}; ${format(figures.rps)} req/s, p99 ${format(figures.p99Ms)} ms; p50 ${format(figures.lightP50Ms, 1)} ms with 2 connections`,
  ];
}

function listRows(lists: ListFigures, start: string, seeded: string): string[][] {
  return [
    latencyRow(`search, a word on every page, one URL, ${start}`, lists.search, `GET /search?q=health at ${seeded}`),
    latencyRow(
      `search, a word on every page, new URLs, ${start}`,
      lists.newSearches,
      `GET /search?q=health&n=<random> (no reuse) at ${seeded}`,
    ),
    latencyRow(`all pages, first slice, one URL, ${start}`, lists.pageList, `GET /pages at ${seeded}`),
    latencyRow(
      `all pages, a slice from a random page, ${start}`,
      lists.newPageLists,
      `GET /pages?after=<random page> (no reuse) at ${seeded}`,
    ),
  ];
}

function cloudwikiRows(figures: CloudwikiFigures): string[][] {
  const { single, perCore } = figures;
  const workers = `WEB_CONCURRENCY=${perCore.workers}${perCore.processes > 1 ? `: ${perCore.processes - 1} workers and their primary` : ', but the start ran one process'}`;
  const rounds = (views: ViewFigures, ratio: 'anonymous' | 'loggedIn') => {
    const [lowest, highest] = views[`${ratio}RatioRange`];
    return `${format(views[`${ratio}Ratio`], 3)} × hello world (median of ${views.helloRps.length - 1} rounds, ${format(lowest, 3)}–${format(highest, 3)})`;
  };
  const seeded = `${format(figures.seeded.pages)} pages × ${figures.seeded.revisionsPerPage} revisions`;
  return [
    [
      'Express hello world (baseline)',
      `${format(figures.helloRps)} req/s`,
      `bare Express 5, same machine; median of ${single.helloRps.length + perCore.helloRps.length} runs between the page-view rounds, ${format(figures.helloRange[0])}–${format(figures.helloRange[1])}`,
    ],
    [
      'cloudwiki anonymous page views, one process',
      `${format(single.anonymousRps)} req/s`,
      `${rounds(single, 'anonymous')}; GET /wiki/Home`,
    ],
    [
      'cloudwiki logged-in page views, one process',
      `${format(single.loggedInRps)} req/s`,
      `${rounds(single, 'loggedIn')}; a session per virtual user`,
    ],
    [
      'cloudwiki anonymous page views, a worker per core',
      `${format(perCore.anonymousRps)} req/s`,
      `${rounds(perCore, 'anonymous')}; ${workers}`,
    ],
    [
      'cloudwiki logged-in page views, a worker per core',
      `${format(perCore.loggedInRps)} req/s`,
      `${rounds(perCore, 'loggedIn')}; ${workers}`,
    ],
    [
      'DynamoDB operations per logged-in view',
      perOperation(figures.dynamoDbPerLoggedInView),
      `per signup: ${perOperation(figures.dynamoDbPerSignup)}`,
    ],
    ...listRows(figures.lists, 'one process', seeded),
    ...listRows(figures.perCoreLists, 'a worker per core', seeded),
    [
      'p99 at half of peak (open loop)',
      `${figures.halfPeakP99Ms} ms`,
      `${format(figures.halfPeakRate)} req/s scheduled; p50 ${figures.halfPeakP50Ms} ms; p99 at peak ${figures.peakP99Ms} ms`,
    ],
    [
      'process start to healthy',
      `${format(figures.warmStartToHealthyMs)} ms`,
      `${format(figures.coldStartToHealthyMs)} ms on an empty database (migrations); ${format(figures.perCoreStartToHealthyMs)} ms with a worker per core`,
    ],
    [
      'memory per process under load',
      `${format(figures.peakMemoryMiB)} MiB`,
      `peak RSS of the one process; ${format(figures.idleMemoryMiB)} MiB idle after start; ${format(figures.perCorePeakMemoryMiB)} MiB largest process with a worker per core`,
    ],
    [
      'failed requests in cloudwiki runs',
      `${figures.errors} errors, ${figures.non2xx} non-2xx`,
      'any here makes the figures above suspect',
    ],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      only: { type: 'string' },
      'node-options': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  if (!(seconds > 0) || !Number.isInteger(connections) || connections < 1) throw new Error(`bad --seconds or --connections\n\n${usage}`);
  const log = (line: string) => console.error(`bench: ${line}`);
  const startedAt = Date.now();
  const loadBefore = loadavg()[0]!;
  const rows: string[][] = [['benchmark', 'result', 'notes']];
  if (values.only !== 'cloudwiki') {
    log(`bees, each run between two autocannon runs, against a trivial loopback server, ${seconds} s each ...`);
    rows.push(...efficiencyRows(await benchBeesEfficiency(seconds, 50, defaultRounds, log)));
  }
  if (values.only !== 'generators') rows.push(...cloudwikiRows(await benchCloudwiki(seconds, connections, log, values['node-options'])));
  console.log(`\nMachine: ${machine()}\nCommand: npm run bench -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  // Other work on the machine shows up in every figure; the load average says how much there was.
  console.log(
    `Total time: ${Math.round((Date.now() - startedAt) / 1000)} s; 1-minute load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after\n`,
  );
  console.log(table(rows));
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exit(1);
});
