import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AttackReport } from '../../../scripts/bees/report';
import { startCloudwikiStandIn } from './support/cloudwiki-stand-in';
import { bees, listenOnLoopback } from './support/loopback';

// Every attack here targets a server the test started on 127.0.0.1 and is bounded by -n.

const scratch = mkdtempSync(path.join(tmpdir(), 'bees-test-'));

// Each attack starts real bee processes under tsx (about a CPU-second each before the first
// request); on a shared two-core machine a logged-in run has taken over 20 s. Correctness only.
jest.setTimeout(120_000);

describe('bees attack --local (real bee processes against a loopback server)', () => {
  it('when two local bees send 300 requests, then the server sees 300 and the JSON report adds up', async () => {
    let served = 0;
    const target = await listenOnLoopback((_request, response) => {
      served++;
      response.end('hello');
    });
    try {
      const run = await bees(['attack', '-u', `${target.url}/`, '--local', '2', '-n', '300', '-c', '6', '--json', '--no-progress']);

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as AttackReport;
      expect(served).toBe(300);
      expect(report).toMatchObject({ requests: 300, errors: 0, statusCodes: { 200: 300 }, bees: 2, mode: 'closed-loop' });
      expect(report.perBee.map((bee) => bee.requests)).toEqual([150, 150]);
      expect(report.latency.count).toBe(300);
      expect(report.latency.p50).toBeLessThanOrEqual(report.latency.p99);
      expect(report.rps).toBeGreaterThan(0);
      expect(report.verdict.passed).toBe(true);
    } finally {
      await target.close();
    }
  });

  it('when an attack runs with progress on, then the bees report a live progress line while it runs', async () => {
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    try {
      const run = await bees(['attack', '-u', target.url, '--local', '2', '-d', '2', '-c', '2']);

      expect(run.code).toBe(0);
      // Not a terminal here, so whole lines rather than one rewritten line.
      expect(run.stderr).toMatch(/^\[\d+s\] [12] bee\(s\) reporting: [\d,]+ responses, ~[\d,]+ req\/s, 0 errors$/m);
    } finally {
      await target.close();
    }
  });

  it('when the target answers 503 too often, then the verdict fails and the exit code is 1', async () => {
    let served = 0;
    const target = await listenOnLoopback((_request, response) => {
      response.statusCode = ++served % 4 === 0 ? 503 : 200;
      response.end();
    });
    try {
      const run = await bees([
        'attack',
        '-u',
        target.url,
        '--local',
        '1',
        '-n',
        '200',
        '-c',
        '2',
        '--max-error-rate',
        '0.1',
        '--no-progress',
      ]);

      expect(run.code).toBe(1);
      expect(run.stdout).toContain('503: 50');
      expect(run.stdout).toContain('Mission Assessment: Target severely compromised.');
      expect(run.stdout).toContain('failure rate 25.00% is above the 10.00% threshold');
    } finally {
      await target.close();
    }
  });

  it('when nothing listens at the target, then connection errors are counted by kind and the attack fails', async () => {
    const target = await listenOnLoopback(() => undefined);
    await target.close();

    const run = await bees(['attack', '-u', target.url, '--local', '1', '-d', '1', '-c', '1', '--json', '--no-progress']);

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as AttackReport;
    expect(report.requests).toBe(0);
    expect(report.errors).toBeGreaterThan(0);
    expect(Object.keys(report.errorsByKind)).toEqual(['ECONNREFUSED']);
  });

  it('when the server closes connections under requests, then the lost requests are counted as errors', async () => {
    let served = 0;
    const target = await listenOnLoopback((_request, response) => {
      // Every tenth answer closes its connection; the request the client already wrote after it is lost.
      if (++served % 10 === 0) response.setHeader('connection', 'close');
      response.end('ok');
    });
    try {
      const run = await bees(['attack', '-u', target.url, '--local', '1', '-n', '200', '-c', '2', '--json', '--no-progress']);

      const report = JSON.parse(run.stdout) as AttackReport;
      expect(report.requests).toBe(served);
      expect(report.errors).toBe(200 - served);
      expect(report.errors).toBeGreaterThan(0);
      expect(report.errorsByKind).toEqual({ 'no answer (connection closed)': 200 - served });
      expect(report.failureRate).toBeGreaterThan(0);
    } finally {
      await target.close();
    }
  });

  it('when a scenario weights two paths 3:1, then both are requested in roughly that proportion, with its method, body and placeholders', async () => {
    const hits: Record<string, number> = {};
    const bodies: string[] = [];
    const target = await listenOnLoopback((request, response) => {
      const key = `${request.method} ${request.url}`;
      hits[key] = (hits[key] ?? 0) + 1;
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.method === 'PUT') bodies.push(`${request.headers['content-type']} ${body}`);
        response.end('ok');
      });
    });
    const scenario = path.join(scratch, 'weighted.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        url: target.url,
        requests: [
          { path: '/wiki/Home', weight: 3 },
          { method: 'PUT', path: '/api/pages/Bee-[<bee>]-[<vu>]-[<n>]', weight: 1, body: { body: 'buzz', summary: 'load' } },
        ],
      }),
    );
    try {
      const run = await bees(['attack', '-s', scenario, '--local', '2', '-n', '800', '-c', '4', '--json', '--no-progress']);

      expect(run.code).toBe(0);
      const reads = hits['GET /wiki/Home'] ?? 0;
      const writes = Object.entries(hits)
        .filter(([key]) => key.startsWith('PUT /api/pages/Bee-'))
        .reduce((sum, [, n]) => sum + n, 0);
      expect(reads + writes).toBe(800);
      // 3:1 of 800 is 600:200; the bounds are many standard deviations wide.
      expect(reads).toBeGreaterThan(500);
      expect(writes).toBeGreaterThan(120);
      expect(bodies[0]).toBe('application/json {"body":"buzz","summary":"load"}');
      // [<bee>]-[<vu>]-[<n>] names a new page on every write.
      expect(
        Object.entries(hits)
          .filter(([key]) => key.startsWith('PUT '))
          .every(([, n]) => n === 1),
      ).toBe(true);
    } finally {
      await target.close();
    }
  });

  it('when one response stalls under an open-loop rate, then the requests due during the stall carry the wait (coordinated omission)', async () => {
    const stallMs = 1000;
    const target = (await listenOnLoopback((_request, response) => {
      const stall = !target.stalled;
      target.stalled = true;
      setTimeout(() => response.end('ok'), stall ? stallMs : 0);
    })) as Awaited<ReturnType<typeof listenOnLoopback>> & { stalled?: boolean };
    try {
      const argv = ['attack', '-u', target.url, '--local', '1', '-n', '50', '-c', '1', '--json', '--no-progress'];
      // One connection at 50/s: the one-second stall holds up every request scheduled behind the first.
      const open = JSON.parse((await bees([...argv, '--rate', '50'])).stdout) as AttackReport;
      target.stalled = false;
      const closed = JSON.parse((await bees(argv)).stdout) as AttackReport;

      expect(open.latency.correctedForCoordinatedOmission).toBe(true);
      expect(open.latency.p90).toBeGreaterThanOrEqual(300);
      // A closed loop records the stall once and hides the queue behind it.
      expect(closed.latency.correctedForCoordinatedOmission).toBe(false);
      expect(closed.latency.p90).toBeLessThan(300);
      expect(closed.latency.max).toBeGreaterThanOrEqual(stallMs - 1);
    } finally {
      await target.close();
    }
  });

  it('when --html is given, then the report has a latency-over-time chart and a histogram, with no external resources', async () => {
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    const file = path.join(scratch, 'report.html');
    try {
      const run = await bees(['attack', '-u', target.url, '--local', '1', '-n', '200', '-c', '2', '--html', file, '--no-progress']);

      expect(run.code).toBe(0);
      const html = readFileSync(file, 'utf8');
      expect(html).toContain('aria-label="p50 and p99 latency per second"');
      expect(html).toMatch(/<polyline class="p99" points="[\d., ]+"/);
      expect(html).toContain('aria-label="latency histogram');
      expect(html).toMatch(/<rect [^>]*height="[\d.]+"><title>≤ [\d.]+ ms: \d+<\/title>/);
      expect(html).not.toMatch(/<script|src="http|href="http/);
    } finally {
      await target.close();
    }
  });

  it('when a logged-in scenario runs, then each virtual user signs up through the form and sends its own session cookie', async () => {
    const wiki = await startCloudwikiStandIn();
    const scenario = path.join(scratch, 'logged-in.json');
    writeFileSync(
      scenario,
      JSON.stringify({ login: { mode: 'signup', password: 'correct-horse-battery' }, requests: [{ path: '/wiki/Home' }] }),
    );
    try {
      const run = await bees(['attack', '-u', wiki.url, '-s', scenario, '--local', '2', '-n', '120', '-c', '4', '--json', '--no-progress']);

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as AttackReport;
      expect(report.virtualUsers).toBe(4);
      expect(wiki.signups).toHaveLength(4);
      expect(new Set(wiki.signups).size).toBe(4);
      expect(wiki.anonymousPageViews).toBe(0);
      expect(wiki.sessionIdsSeen.size).toBe(4);
      expect([...wiki.pageViewsByUser.values()].reduce((sum, n) => sum + n, 0)).toBe(120);
    } finally {
      await wiki.close();
    }
  });

  it('when a login answers 303 but the app says nobody is logged in, then bees stops before sending load', async () => {
    const wiki = await startCloudwikiStandIn({ dropSessions: true });
    const scenario = path.join(scratch, 'lost-session.json');
    writeFileSync(
      scenario,
      JSON.stringify({ login: { mode: 'signup', password: 'correct-horse-battery' }, requests: [{ path: '/wiki/Home' }] }),
    );
    try {
      const run = await bees(['attack', '-u', wiki.url, '-s', scenario, '--local', '1', '-n', '10', '-c', '1', '--no-progress']);

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/\/api\/me answers that nobody is logged in/);
      expect(wiki.anonymousPageViews).toBe(0);
    } finally {
      await wiki.close();
    }
  });

  it('when login fails, then every bee stops before sending load and the error says why', async () => {
    const wiki = await startCloudwikiStandIn();
    const scenario = path.join(scratch, 'bad-login.json');
    writeFileSync(
      scenario,
      JSON.stringify({ login: { mode: 'login', password: 'not-the-password', users: ['nobody'] }, requests: [{ path: '/wiki/Home' }] }),
    );
    try {
      const run = await bees(['attack', '-u', wiki.url, '-s', scenario, '--local', '2', '-n', '10', '-c', '2', '--no-progress']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('POST');
      expect(run.stderr).toContain('answered 401; expected 303 and a session');
      expect(wiki.anonymousPageViews).toBe(0);
    } finally {
      await wiki.close();
    }
  });
});

describe('bees --help', () => {
  it('when asked for help, then every command is listed with the exit codes', async () => {
    const run = await bees(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['attack', 'up', 'report', 'down']) expect(run.stdout).toContain(command);
    expect(run.stdout).toContain('Exit codes');
  });

  it('when a flag is wrong, then the exit code is 2 and the message names the flag', async () => {
    const run = await bees(['attack', '-u', 'http://127.0.0.1:1/', '--local', 'two']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--local must be a whole number');
  });

  // Every numeric option, with a value that is not a number, negative, or zero where zero means nothing.
  it.each([
    [['attack', '--local', '1', '-c', '-3'], '-c must be a whole number of at least 1 (got "-3")'],
    [['attack', '--local', '1', '-c', '2.5'], '-c must be a whole number of at least 1'],
    [['attack', '--local', '0'], '--local must be a whole number of at least 1'],
    [['attack', '--local', '1', '-n', 'lots'], '-n must be a whole number of at least 1'],
    [['attack', '--local', '1', '-d', '0'], '--duration must be a number above 0'],
    [['attack', '--local', '1', '-d', ''], '--duration must be a number above 0'],
    [['attack', '--local', '1', '--rate', '0'], '--rate must be a number above 0'],
    [['attack', '--local', '1', '--ramp-up', '-1'], '--ramp-up must be a number of at least 0'],
    [['attack', '--local', '1', '--timeout', '0'], '--timeout must be a number above 0'],
    [['attack', '--local', '1', '--max-error-rate', '5'], '--max-error-rate must be a number from 0 to 1'],
    [['attack', '--local', '1', '--max-p99', 'fast'], '--max-p99 must be a number above 0'],
    [['attack', '--poll-seconds', 'NaN'], '--poll-seconds must be a number of at least 0'],
    [['up', '--instance-profile', 'p', '-s', '0'], '--bees must be a whole number of at least 1'],
    [['up', '--instance-profile', 'p', '-s', '1', '--max-lifetime', '3'], '--max-lifetime must be a whole number of at least 5'],
  ])('when bees %j is run, then it exits 2 before any work and says: %s', async (argv, message) => {
    const run = await bees([...argv, ...(argv[0] === 'attack' ? ['-u', 'http://127.0.0.1:1/'] : [])]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('when asked for attack --help, then the numeric defaults are shown', async () => {
    const run = await bees(['attack', '--help']);
    expect(run.code).toBe(0);
    for (const shown of ['(default: 10)', '(default: 0)', '(default: 0.01)', '(default: 1000)', '(default: 2)'])
      expect(run.stdout).toContain(shown);
    expect(run.stdout).toContain('default 10 when -n is not');
  });
});
