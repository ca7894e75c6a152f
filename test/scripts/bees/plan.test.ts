import { planAttack, share, type AttackOptions } from '../../../scripts/bees/plan';

const base: AttackOptions = {
  url: 'http://127.0.0.1:3000/wiki/Home',
  bees: 3,
  connections: 10,
  rampUpSeconds: 0,
  timeoutSeconds: 10,
  method: 'GET',
  headers: {},
  timeline: true,
};

describe('bees attack plan', () => {
  it('when totals do not divide evenly, then the shares still add up to the totals', () => {
    expect([0, 1, 2].map((bee) => share(10, 3, bee))).toEqual([4, 3, 3]);

    const specs = planAttack({ ...base, requests: 1000, durationSeconds: undefined }, 'run1');

    expect(specs.map((spec) => spec.connections)).toEqual([4, 3, 3]);
    expect(specs.reduce((sum, spec) => sum + (spec.amount ?? 0), 0)).toBe(1000);
    expect(specs.every((spec) => spec.runId === 'run1' && spec.durationSeconds === undefined)).toBe(true);
  });

  it('when an open-loop rate is given, then each bee schedules its share and no more connections than sends a second', () => {
    const specs = planAttack({ ...base, connections: 50, rate: 30, durationSeconds: 5 });

    expect(specs.map((spec) => spec.rate)).toEqual([10, 10, 10]);
    expect(specs.every((spec) => spec.connections === 10)).toBe(true);
  });

  it('when there are more bees than connections, then only as many bees as connections fly', () => {
    expect(planAttack({ ...base, bees: 4, connections: 2, durationSeconds: 1 })).toHaveLength(2);
  });

  it('when the flags contradict each other or the URL is not http, then the error says what to fix', () => {
    expect(() => planAttack({ ...base, requests: 10, durationSeconds: 5 })).toThrow('either -n/--requests or -d/--duration');
    expect(() => planAttack({ ...base, url: 'localhost:3000' })).toThrow(/only http and https|not a URL/);
    expect(() => planAttack({ ...base, connections: 0 })).toThrow('-c/--concurrency must be a whole number');
  });
});
