import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { judge, type DependencyCheck } from '../../app/health/checks';
import { createDeepHealthMonitor } from '../../app/health/monitor';
import { createDeepHealthRouter } from '../../app/health/router';
import { deepHealthPath } from '../../app/contracts';

const logger = pino({ level: 'silent' });

/** Checks whose outcome a test sets, counting every call. */
function fakeChecks() {
  const up: Record<string, boolean> = { writer: true, reader: true, sessions: true, assets: true, uploads: true };
  let calls = 0;
  const check = (name: string, pageViewsNeed?: DependencyCheck['pageViewsNeed']): DependencyCheck => ({
    pageViewsNeed,
    probe: async () => {
      calls += 1;
      if (!up[name]) throw new Error(`${name} is down`);
    },
  });
  const checks = {
    writer: check('writer', 'database'),
    reader: check('reader', 'database'),
    sessions: check('sessions', 'session table'),
    assets: check('assets'),
    uploads: check('uploads'),
  };
  return { up, checks, calls: () => calls };
}

function monitorWithClock() {
  const fake = fakeChecks();
  const clock = { ms: 1_000_000 };
  const monitor = createDeepHealthMonitor({ checks: fake.checks, intervalMs: 5_000, checkTimeoutMs: 1_500, now: () => clock.ms, logger });
  const app = express().use(
    createDeepHealthRouter({ identity: { id: 'i', az: 'a' }, version: 't', isDraining: () => false, deepHealth: monitor }),
  );
  return { ...fake, clock, monitor, app };
}

describe('judge: can this site serve page views?', () => {
  const { checks } = fakeChecks();
  const allUp = { writer: true, reader: true, sessions: true, assets: true, uploads: true };

  test.each([
    ['nothing', 'ok', {}],
    ['the writer (failing over)', 'degraded', { writer: false }],
    ['the reader', 'degraded', { reader: false }],
    ['a bucket', 'degraded', { uploads: false }],
    ['the writer and the reader', 'fail', { writer: false, reader: false }],
    ['the session table', 'fail', { sessions: false }],
  ])('when %s is down, then the answer is %s', (_what, expected, down) => {
    expect(judge(checks, { ...allUp, ...down }).status).toBe(expected);
  });

  test('when the writer is down and the reader answers, then the writer is degraded, not failed', () => {
    expect(judge(checks, { ...allUp, writer: false }).checks).toMatchObject({ writer: 'degraded', reader: 'ok' });
    expect(judge(checks, { ...allUp, writer: false, reader: false }).checks).toMatchObject({ writer: 'fail', reader: 'fail' });
  });
});

describe('the deep health monitor', () => {
  test('when two hundred requests ask, then no dependency is called for any of them', async () => {
    const { app, monitor, calls } = monitorWithClock();
    await monitor.refresh();
    const afterOneRound = calls();
    expect(afterOneRound).toBe(5);
    for (let n = 0; n < 200; n += 1) await request(app).get(deepHealthPath).expect(200);
    expect(calls()).toBe(afterOneRound);
  });

  test('when its timer runs, then it probes once at start and once per interval', async () => {
    jest.useFakeTimers();
    const { monitor, calls } = monitorWithClock();
    try {
      monitor.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(calls()).toBe(5);
      await jest.advanceTimersByTimeAsync(15_000);
      expect(calls()).toBe(20);
      monitor.stop();
      await jest.advanceTimersByTimeAsync(15_000);
      expect(calls()).toBe(20);
    } finally {
      jest.useRealTimers();
    }
  });

  test('when the writer fails, then the answer stays 200 "degraded" until the reader fails too, then 503', async () => {
    const { app, monitor, up } = monitorWithClock();
    up.writer = false;
    await monitor.refresh();
    const readOnly = await request(app).get(deepHealthPath);
    expect(readOnly.status).toBe(200);
    expect(readOnly.body).toMatchObject({ status: 'degraded', checks: { writer: { status: 'degraded' }, reader: { status: 'ok' } } });
    up.reader = false;
    // The answer changes only when a round runs: requests read memory.
    expect((await request(app).get(deepHealthPath)).status).toBe(200);
    await monitor.refresh();
    const down = await request(app).get(deepHealthPath);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('fail');
  });

  test('when no round has finished yet, then it answers 503 "starting"', async () => {
    const { app } = monitorWithClock();
    const response = await request(app).get(deepHealthPath);
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ status: 'fail', reason: 'starting' });
  });

  test('when rounds stop coming while it runs, then the old "ok" turns into 503 "stale"; after stop() (draining) the last answer stands', async () => {
    const { app, monitor, clock } = monitorWithClock();
    await monitor.refresh();
    clock.ms += 15_000;
    expect((await request(app).get(deepHealthPath)).body).toMatchObject({ status: 'ok', ageMs: 15_000 });
    clock.ms += 2_000;
    const stale = await request(app).get(deepHealthPath);
    expect(stale.status).toBe(503);
    expect(stale.body).toMatchObject({ status: 'fail', reason: 'stale' });
    monitor.stop();
    expect((await request(app).get(deepHealthPath)).status).toBe(200);
  });

  test('when a check never settles, then the round still ends, with that check failed', async () => {
    jest.useFakeTimers();
    try {
      const { checks } = fakeChecks();
      const hanging = { ...checks, sessions: { pageViewsNeed: 'session table' as const, probe: () => new Promise<void>(() => undefined) } };
      const monitor = createDeepHealthMonitor({ checks: hanging, intervalMs: 5_000, checkTimeoutMs: 1_500, now: Date.now, logger });
      const round = monitor.refresh();
      await jest.advanceTimersByTimeAsync(1_600);
      expect(await round).toMatchObject({ status: 'fail', checks: { sessions: { status: 'fail' } } });
    } finally {
      jest.useRealTimers();
    }
  });
});
