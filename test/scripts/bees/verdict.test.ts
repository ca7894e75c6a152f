import { judge } from '../../../scripts/bees/verdict';

const thresholds = { maxErrorRate: 0.01, maxP99Ms: 200 };
const figures = (requests: number, errors: number, p99: number, statusCodes: Record<string, number> = { 200: requests }) => ({
  requests,
  errors,
  statusCodes,
  latency: { p99 },
});

describe('bees verdict', () => {
  it('when the target answers everything fast, then it crushed the offensive', () => {
    expect(judge(figures(1000, 0, 20), thresholds)).toEqual({ passed: true, assessment: 'Target crushed bee offensive.', reasons: [] });
  });

  it('when p99 is within the threshold but above half of it, then the target fended off the swarm', () => {
    expect(judge(figures(1000, 0, 150), thresholds).assessment).toBe('Target successfully fended off the swarm.');
  });

  it('when a few requests fail below the threshold, then the target is wounded but passes', () => {
    const verdict = judge(figures(1000, 5, 20), thresholds);
    expect(verdict).toMatchObject({ passed: true, assessment: 'Target wounded, but operational.' });
  });

  it('when 5xx answers push failures over the threshold, then the attack fails and says why', () => {
    const verdict = judge(figures(1000, 0, 20, { 200: 900, 503: 100 }), thresholds);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual(['failure rate 10.00% is above the 1.00% threshold']);
  });

  it('when both thresholds are exceeded, then the swarm annihilated the target', () => {
    const verdict = judge(figures(100, 50, 900), thresholds);
    expect(verdict).toMatchObject({ passed: false, assessment: 'Swarm annihilated target.' });
    expect(verdict.reasons).toHaveLength(2);
  });

  it('when nothing was answered, then the attack fails', () => {
    expect(judge(figures(0, 0, 0), thresholds).passed).toBe(false);
  });
});
