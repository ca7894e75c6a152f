import { decideScaling, type ScalingInput, type ScalingPolicy } from '../../../scripts/lab/scaling-policy';

const policy: ScalingPolicy = { metric: 'requests', target: 50, scaleOutCooldownMs: 30_000, scaleInCooldownMs: 60_000 };
const longAgo = -1_000_000;

function input(overrides: Partial<ScalingInput>): ScalingInput {
  return {
    policy,
    desired: 3,
    min: 2,
    max: 6,
    metricPerInstance: 50,
    inService: 3,
    now: 0,
    lastScaleOutAt: longAgo,
    lastScaleInAt: longAgo,
    ...overrides,
  };
}

describe('target tracking scaling policy', () => {
  test('when the metric is at target, then capacity is left alone', () => {
    expect(decideScaling(input({ metricPerInstance: 50 }))).toBeUndefined();
  });

  test('when the load needs more instances, then it scales out to as many as the load needs at once', () => {
    // 3 instances x 120 req/s = 360 req/s; at 50 per instance that is 8, capped at max 6.
    expect(decideScaling(input({ metricPerInstance: 120 }))).toMatchObject({ desired: 6, direction: 'out' });
    expect(decideScaling(input({ metricPerInstance: 70 }))).toMatchObject({ desired: 5, direction: 'out' });
  });

  test('when already at max, then it does not scale out', () => {
    expect(decideScaling(input({ desired: 6, inService: 6, metricPerInstance: 200 }))).toBeUndefined();
  });

  test('when the scale-out cooldown has not passed, then it waits', () => {
    expect(decideScaling(input({ metricPerInstance: 120, now: 10_000, lastScaleOutAt: 0 }))).toBeUndefined();
    expect(decideScaling(input({ metricPerInstance: 120, now: 30_000, lastScaleOutAt: 0 }))).toMatchObject({ direction: 'out' });
  });

  test('when the load drops, then it scales in one instance at a time, never below min', () => {
    expect(decideScaling(input({ desired: 5, inService: 5, metricPerInstance: 1 }))).toMatchObject({ desired: 4, direction: 'in' });
    expect(decideScaling(input({ desired: 2, inService: 2, metricPerInstance: 0 }))).toBeUndefined();
  });

  test('when removing an instance would push the rest over target, then it does not scale in', () => {
    // 3 x 40 = 120 req/s: on 2 instances that is 60 each, above 50.
    expect(decideScaling(input({ metricPerInstance: 40 }))).toBeUndefined();
  });

  test('when the scale-in cooldown has not passed since any scaling, then it waits', () => {
    expect(decideScaling(input({ desired: 5, inService: 5, metricPerInstance: 1, now: 50_000, lastScaleInAt: 0 }))).toBeUndefined();
    expect(decideScaling(input({ desired: 5, inService: 5, metricPerInstance: 1, now: 50_000, lastScaleOutAt: 0 }))).toBeUndefined();
  });

  test('when nothing is in service, then the policy has no metric and does nothing', () => {
    expect(decideScaling(input({ inService: 0, metricPerInstance: 0 }))).toBeUndefined();
  });

  test('when tracking CPU, then the same rule applies to percent per instance', () => {
    const cpu: ScalingPolicy = { ...policy, metric: 'cpu', target: 60 };
    expect(decideScaling(input({ policy: cpu, metricPerInstance: 90 }))).toMatchObject({ desired: 5, direction: 'out' });
  });
});
