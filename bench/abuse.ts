// `npm run build && npx tsx bench/abuse.ts`: what the costliest anonymous requests an attacker can
// build do to one production process (dist/app/server.js, one worker) on the embedded services:
// - a diff of two 50,000-line revisions that share no line, asked for in a closed loop by 1 and by
//   4 clients, while a load balancer's probe reads /health every 20 ms;
// - a log-in spray: 6 clients from one address, each try a new made-up username, while a real
//   person logs in from another address every 250 ms (the review's 6 at once plus one real log-in).
// Loopback only, bounded by --seconds per run; --part diff|login runs one of them.
import { parseArgs } from 'node:util';
import { build } from 'hdr-histogram-js';
import pg from 'pg';
import { csrfField, healthPath } from '../app/contracts';
import { local } from '../app/contracts';
import { startEmbeddedServices } from '../dev/services';
import { compareRevisions } from '../app/pages/revision-diff';
import { freePort, startNodeServer } from './lib/processes';
import path from 'node:path';

const revisionLines = 50_000;
const unlike = { older: 'a\n'.repeat(revisionLines), newer: 'b\n'.repeat(revisionLines) };
const probeIntervalMs = 20;

interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function summarize(samplesMs: number[]): Latencies {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
  // Recorded in microseconds so that sub-millisecond answers keep their precision.
  for (const ms of samplesMs) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  const at = (percentile: number) => histogram.getValueAtPercentile(percentile) / 1000;
  return { count: samplesMs.length, p50: at(50), p99: at(99), max: histogram.maxValue / 1000 };
}

async function timed(url: string): Promise<{ ms: number; status: number }> {
  const startedAt = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return { ms: performance.now() - startedAt, status: response.status };
}

/** `clients` closed loops on `url` for `seconds`, with /health probed alongside. */
async function underAttack(base: string, url: string, clients: number, seconds: number) {
  const until = performance.now() + seconds * 1000;
  const attack: number[] = [];
  const health: number[] = [];
  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const attackers = Array.from({ length: clients }, async () => {
    while (performance.now() < until) {
      const { ms, status } = await timed(url);
      attack.push(ms);
      count(status);
    }
  });
  const probe = (async () => {
    while (performance.now() < until) {
      const { ms, status } = await timed(`${base}${healthPath}`);
      health.push(ms);
      if (status !== 200) count(status);
      await new Promise((resolve) => setTimeout(resolve, probeIntervalMs));
    }
  })();
  await Promise.all([...attackers, probe]);
  return { attack: summarize(attack), health: summarize(health), statuses: Object.fromEntries(statuses) };
}

async function seedUnlikeRevisions(databaseUrl: string, slug: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO pages (slug, title, body, revision) VALUES ($1, $1, $2, 2) RETURNING id`,
      [slug, unlike.newer],
    );
    await client.query(`INSERT INTO revisions (page_id, revision, body, summary) VALUES ($1, 1, $2, ''), ($1, 2, $3, '')`, [
      rows[0]!.id,
      unlike.older,
      unlike.newer,
    ]);
  } finally {
    await client.end();
  }
}

interface LoginForm {
  cookie: string;
  token: string;
}

/** The log-in form as a browser loads it: its anonymous CSRF cookie and token. */
async function loginForm(base: string, address: string): Promise<LoginForm> {
  const response = await fetch(`${base}/login`, { headers: { 'X-Forwarded-For': address } });
  const html = await response.text();
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token on /login (${response.status})`);
  return { cookie, token };
}

async function postForm(base: string, path: string, form: LoginForm, address: string, fields: Record<string, string>) {
  const startedAt = performance.now();
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': address, Cookie: form.cookie },
    body: new URLSearchParams({ [csrfField]: form.token, ...fields }),
  });
  await response.arrayBuffer();
  return { ms: performance.now() - startedAt, status: response.status };
}

/**
 * `sprayers` closed loops of failed log-ins from `sprayAddress`, each with a new username, while a
 * real person logs in (right password) from another address every 250 ms. Only the real log-in's
 * POST is timed; it loads its form first, as a browser does.
 */
async function loginSpray(base: string, real: { username: string; password: string }, sprayers: number, seconds: number) {
  const until = performance.now() + seconds * 1000;
  const sprayAddress = '203.0.113.7';
  const realAddress = '198.51.100.20';
  const spray = new Map<number, number>();
  const realStatuses = new Map<number, number>();
  const realMs: number[] = [];
  let attempt = 0;
  const attackers = Array.from({ length: sprayers }, async () => {
    const form = await loginForm(base, sprayAddress);
    while (performance.now() < until) {
      attempt += 1;
      const { status } = await postForm(base, '/login', form, sprayAddress, { username: `spray_${attempt}`, password: 'a guess at it' });
      spray.set(status, (spray.get(status) ?? 0) + 1);
    }
  });
  const person = (async () => {
    while (performance.now() < until) {
      const form = await loginForm(base, realAddress);
      const { ms, status } = await postForm(base, '/login', form, realAddress, real);
      realMs.push(ms);
      realStatuses.set(status, (realStatuses.get(status) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await Promise.all([...attackers, person]);
  return { real: summarize(realMs), realStatuses: Object.fromEntries(realStatuses), spray: Object.fromEntries(spray) };
}

const format = (figures: Latencies) =>
  `p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms, max ${figures.max.toFixed(1)} ms (${figures.count} requests)`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, part: { type: 'string', default: 'all' } } });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error('--seconds takes a positive number');
  if (!['all', 'diff', 'login'].includes(values.part)) throw new Error('--part takes all, diff or login');
  const runs = (part: 'diff' | 'login') => values.part === 'all' || values.part === part;
  const log = (line: string) => console.error(`bench: ${line}`);

  // The comparison alone, in this process: the work one diff or edit-conflict page does.
  if (runs('diff')) {
    const own: number[] = [];
    for (let round = 0; round < 50; round += 1) {
      const startedAt = performance.now();
      compareRevisions(unlike.older, unlike.newer);
      own.push(performance.now() - startedAt);
    }
    console.log(`compareRevisions, two unlike ${revisionLines.toLocaleString('en')}-line texts, 50 calls: ${format(summarize(own))}`);
  }

  const services = await startEmbeddedServices({ sessionTable: local.sessionTable, buckets: Object.values(local.buckets) });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startNodeServer(
    'cloudwiki',
    path.resolve(__dirname, '..', 'dist', 'app', 'server.js'),
    [],
    {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: '1',
      DATABASE_URL: services.databaseUrl,
      DYNAMODB_ENDPOINT: services.dynamodbEndpoint,
      S3_ENDPOINT: services.s3Endpoint,
      SESSION_TABLE: local.sessionTable,
      SESSION_SECRET: 'bench-session-secret-that-is-long-enough-0123456789',
      AWS_REGION: local.region,
      ASSETS_BUCKET: local.buckets.assets,
      UPLOADS_BUCKET: local.buckets.uploads,
      AWS_EC2_METADATA_DISABLED: 'true',
      INSTANCE_ID: 'bench',
      INSTANCE_AZ: 'local',
      LOG_LEVEL: 'warn',
      // The spray and the real person are told apart by X-Forwarded-For, as behind an ALB.
      TRUST_PROXY: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    `${base}${healthPath}`,
  );
  try {
    if (runs('diff')) {
      await seedUnlikeRevisions(services.databaseUrl, 'Unlike');
      const url = `${base}/wiki/Unlike/diff?from=1&to=2`;
      const quiet = await underAttack(base, `${base}${healthPath}`, 0, Math.min(seconds, 3));
      console.log(`/health alone: ${format(quiet.health)}`);
      for (const clients of [1, 4]) {
        log(`${clients} client(s) asking for the diff for ${seconds} s ...`);
        const figures = await underAttack(base, url, clients, seconds);
        console.log(
          `diff of two unlike ${revisionLines.toLocaleString('en')}-line revisions, ${clients} client(s): ${format(figures.attack)}`,
        );
        console.log(`  /health meanwhile: ${format(figures.health)}; statuses ${JSON.stringify(figures.statuses)}`);
      }
    }
    if (runs('login')) {
      const real = { username: 'real_person', password: 'a real and long passphrase' };
      const signUpForm = await loginForm(base, '198.51.100.20');
      const signedUp = await postForm(base, '/signup', signUpForm, '198.51.100.20', real);
      if (signedUp.status !== 303) throw new Error(`the real person could not sign up (${signedUp.status})`);
      const quiet = await loginSpray(base, real, 0, Math.min(seconds, 3));
      console.log(`a real log-in alone: ${format(quiet.real)}; statuses ${JSON.stringify(quiet.realStatuses)}`);
      log(`6 clients spraying log-ins from one address for ${seconds} s ...`);
      const figures = await loginSpray(base, real, 6, seconds);
      console.log(
        `a real log-in from another address during the spray: ${format(figures.real)}; statuses ${JSON.stringify(figures.realStatuses)}`,
      );
      console.log(`  the spray's answers: ${JSON.stringify(figures.spray)}`);
    }
  } finally {
    await server.stop();
    await services.stop();
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exit(1);
});
