/**
 * Target tracking, as an Auto Scaling group's policy does it: keep a metric (requests per second
 * per instance, or CPU % per instance) near a target by changing the desired capacity. Scale out
 * fast (as many instances as needed at once), scale in slowly (one at a time), and wait out a
 * cooldown after each change so the new capacity's effect shows in the metric before acting again.
 */
export interface ScalingPolicy {
  metric: 'requests' | 'cpu';
  /** Requests per second per instance, or CPU percent per instance. */
  target: number;
  scaleOutCooldownMs: number;
  scaleInCooldownMs: number;
}

export interface ScalingInput {
  policy: ScalingPolicy;
  desired: number;
  min: number;
  max: number;
  /** The metric, averaged over the in-service instances (per instance). */
  metricPerInstance: number;
  inService: number;
  now: number;
  lastScaleOutAt: number | undefined;
  lastScaleInAt: number | undefined;
}

export interface ScalingDecision {
  desired: number;
  direction: 'out' | 'in';
  reason: string;
}

/** The new desired capacity, or undefined when the policy leaves it alone. */
export function decideScaling(input: ScalingInput): ScalingDecision | undefined {
  const { policy, desired, min, max, metricPerInstance, inService, now } = input;
  // With nothing in service there is no metric to track: replacing instances is the group's job.
  if (inService === 0 || policy.target <= 0) return undefined;
  const unit = policy.metric === 'requests' ? 'requests/s' : '% CPU';
  const total = metricPerInstance * inService;
  const needed = Math.max(1, Math.ceil(total / policy.target));
  const metricText = `${policy.metric === 'requests' ? 'request rate' : 'CPU'} ${metricPerInstance.toFixed(1)} ${unit} per instance, target ${policy.target}`;

  const sinceLastChange = Math.min(
    input.lastScaleOutAt === undefined ? Infinity : now - input.lastScaleOutAt,
    input.lastScaleInAt === undefined ? Infinity : now - input.lastScaleInAt,
  );
  if (needed > desired && desired < max) {
    if (sinceLastChange < policy.scaleOutCooldownMs) return undefined;
    const next = Math.min(max, needed);
    return { desired: next, direction: 'out', reason: `${metricText}: scaling out from ${desired} to ${next}` };
  }
  // Scale in only when the smaller group would still be under target: avoids flapping in and out.
  if (needed < desired && desired > min && total / (desired - 1) < policy.target) {
    if (sinceLastChange < policy.scaleInCooldownMs) return undefined;
    const next = Math.max(min, desired - 1);
    return { desired: next, direction: 'in', reason: `${metricText}: scaling in from ${desired} to ${next}` };
  }
  return undefined;
}
