import { judgeCanary, median } from '../../../scripts/lab/canary';

const side = (requests: number, errors: number, latenciesMs: number[] = []) => ({ requests, errors, latenciesMs });
const healthyOld = side(300, 0, [20, 22, 25, 21, 19, 23]);

describe('the canary check of a rolling release', () => {
  test('when the new instance answers as well as the old ones for the whole window, then it passes', () => {
    expect(judgeCanary(side(100, 0, [21, 24, 20, 22, 23]), healthyOld, 10_000, 10_000)).toMatchObject({ verdict: 'pass' });
  });

  test('when the window is not over and nothing is wrong yet, then it waits', () => {
    expect(judgeCanary(side(10, 0, [21]), healthyOld, 2_000, 10_000)).toEqual({ verdict: 'wait' });
  });

  test('when the new instance fails page views, then it fails as soon as three errors show, before the window ends', () => {
    const verdict = judgeCanary(side(4, 3), healthyOld, 500, 10_000);
    expect(verdict).toMatchObject({ verdict: 'fail' });
    expect(verdict.verdict === 'fail' && verdict.reason).toBe('error rate 75.0% (3 of 4) against 0.0% on the previous release');
  });

  test('when one or two requests fail, then that is not yet a bad release', () => {
    expect(judgeCanary(side(4, 2), healthyOld, 500, 10_000)).toEqual({ verdict: 'wait' });
  });

  test('when the old instances fail as often (a database outage, not the release), then the new one is not blamed', () => {
    expect(judgeCanary(side(100, 20), side(300, 60), 10_000, 10_000)).toMatchObject({ verdict: 'pass' });
  });

  test('when the new release is far slower on page views, then it fails on latency', () => {
    const verdict = judgeCanary(side(6, 0, [1500, 1510, 1490, 1520, 1505]), healthyOld, 8_000, 10_000);
    expect(verdict).toMatchObject({ verdict: 'fail' });
    expect(verdict.verdict === 'fail' && verdict.reason).toBe('median page view 1505 ms against 22 ms on the previous release');
  });

  test('when it is somewhat slower, within twice the old median plus 250 ms, then it passes', () => {
    expect(judgeCanary(side(50, 0, [200, 210, 190, 205, 195]), healthyOld, 10_000, 10_000)).toMatchObject({ verdict: 'pass' });
  });

  test('median of an even and an odd number of values, and of none', () => {
    expect([median([3, 1, 2]), median([4, 1, 3, 2]), median([])]).toEqual([2, 2.5, 0]);
  });
});
