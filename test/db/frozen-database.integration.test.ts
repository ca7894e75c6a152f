import type { AddressInfo, Server } from 'node:net';
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';
import { buildTestApp, type TestApp } from '../support/app';
import { uniqueName, visitor } from '../support/browser-like';
import { privateCluster } from '../support/postgres-cluster';
import { freezePostgres } from '../support/processes';

// What a network partition or a hung primary looks like from the app: PostgreSQL stops answering
// but keeps its sockets open (SIGSTOP on the postmaster and every backend). Only client-side
// bounds fire then, so this is where the request budget (app/db/db.ts) is proven.

const freezeMs = 12_000;
// The budget is 2 s end to end; the margin covers scheduling on a shared, loaded test machine.
const budgetWithMarginMs = 2_500;

interface Outcome {
  kind: 'read' | 'write';
  startedAt: number;
  ms: number;
  status: number;
  body: string;
}

test('when PostgreSQL freezes under load, then every response comes within the budget, none is a 500, and pages answer 200 again soon after it resumes', async () => {
  const cluster = await privateCluster();
  let wiki: TestApp | undefined;
  let server: Server | undefined;
  let thaw: () => void = () => undefined;
  try {
    await migrate(cluster.postgres.url, createLogger('silent'));
    wiki = buildTestApp({ databaseUrl: cluster.postgres.url });
    const author = visitor(wiki.app);
    await author.signUp();
    const slug = uniqueName('Frozen');
    expect((await author.putJson(`/api/pages/${slug}`, { body: 'written before the freeze', baseRevision: null })).status).toBe(201);
    const cookie = author.cookieHeader();

    const listening = wiki.app.listen(0, '127.0.0.1');
    server = listening;
    await new Promise((resolve) => listening.once('listening', resolve));
    const base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;

    const outcomes: Outcome[] = [];
    let running = true;
    const send = async (kind: Outcome['kind'], path: string, init: RequestInit = {}) => {
      const startedAt = performance.now();
      let status = 0;
      let body: string;
      try {
        // A backstop so that a hung request fails the test instead of hanging it.
        const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
        status = response.status;
        body = await response.text();
      } catch (error) {
        body = String(error);
      }
      outcomes.push({ kind, startedAt, ms: performance.now() - startedAt, status, body });
    };
    // A bounded load: five clients, each one request at a time with a short pause between them.
    const client = async (kind: Outcome['kind']) => {
      for (let request = 0; running && request < 2_000; request += 1) {
        if (kind === 'read') await send('read', `/wiki/${slug}`);
        else
          await send('write', `/api/pages/${uniqueName('FrozenWrite')}`, {
            method: 'PUT',
            headers: { 'Content-Type': 'application/json', Cookie: cookie },
            body: JSON.stringify({ body: 'a save during the outage', baseRevision: null }),
          });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const load = Promise.all([client('read'), client('read'), client('read'), client('read'), client('write')]);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    thaw = freezePostgres(cluster.postgres.port);
    const frozeAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, freezeMs));
    thaw();
    const resumedAt = performance.now();

    const recovered = () => outcomes.some((outcome) => outcome.kind === 'read' && outcome.startedAt >= resumedAt && outcome.status === 200);
    for (let wait = 0; wait < 100 && !recovered(); wait += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    running = false;
    await load;

    const duringFreeze = outcomes.filter((outcome) => outcome.startedAt >= frozeAt && outcome.startedAt < resumedAt);
    const slowestOutcome = outcomes.reduce((slow, outcome) => (outcome.ms > slow.ms ? outcome : slow));
    const slowest = slowestOutcome.ms;
    const firstBack = outcomes.find((outcome) => outcome.kind === 'read' && outcome.startedAt >= resumedAt && outcome.status === 200);
    const backAfterMs = firstBack ? firstBack.startedAt + firstBack.ms - resumedAt : Infinity;
    console.log(
      `frozen-database: ${outcomes.length} requests, ${duringFreeze.length} during the ${freezeMs} ms freeze; ` +
        `slowest ${Math.round(slowest)} ms (a ${slowestOutcome.kind}, ${slowestOutcome.status}); statuses ${JSON.stringify(countBy(outcomes.map((outcome) => outcome.status)))}; ` +
        `200 again ${Math.round(backAfterMs)} ms after SIGCONT; slowest five ${JSON.stringify(
          [...outcomes]
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 5)
            .map((outcome) => `${outcome.kind} ${outcome.status} ${Math.round(outcome.ms)} ms`),
        )}`,
    );

    expect(outcomes.filter((outcome) => outcome.status === 0)).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.status >= 500 && outcome.status !== 503).map((outcome) => outcome.status)).toEqual([]);
    const unavailable = duringFreeze.filter((outcome) => outcome.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const outcome of unavailable) expect(outcome.body).toContain('The database is unavailable right now');
    expect(slowest).toBeLessThan(budgetWithMarginMs);
    expect(backAfterMs).toBeLessThan(5_000);
  } finally {
    thaw();
    server?.close();
    await wiki?.close();
    await cluster.remove();
  }
}, 120_000);

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
