import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, RDSClient, RebootDBInstanceCommand } from '@aws-sdk/client-rds';
import { setTimeout as sleep } from 'node:timers/promises';

export interface AwsChaosContext {
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
  rds: RDSClient;
  /** Without it every action is described, not done. */
  execute: boolean;
  log: (line: string) => void;
  random?: () => number;
  wait?: (ms: number) => Promise<unknown>;
}

export class ChaosRefusal extends Error {}

async function describeGroup(context: AwsChaosContext, groupName: string): Promise<AutoScalingGroup> {
  const { AutoScalingGroups: groups = [] } = await context.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const [group] = groups;
  if (!group) throw new ChaosRefusal(`no Auto Scaling group named ${groupName} in this account and region (check --asg and AWS_REGION)`);
  return group;
}

function inServiceInstances(group: AutoScalingGroup) {
  return (group.Instances ?? []).filter((instance) => instance.LifecycleState === 'InService' && instance.HealthStatus === 'Healthy');
}

/**
 * The fewest healthy instances the group may have while we break it: its MinSize, or the instance
 * maintenance policy's MinHealthyPercentage of desired capacity when that asks for more.
 */
export function minimumHealthyCapacity(group: AutoScalingGroup): number {
  const percent = group.InstanceMaintenancePolicy?.MinHealthyPercentage;
  const byPolicy = percent !== undefined && percent >= 0 ? Math.ceil(((group.DesiredCapacity ?? 0) * percent) / 100) : 0;
  return Math.max(group.MinSize ?? 0, byPolicy);
}

async function act(context: AwsChaosContext, description: string, action: () => Promise<unknown>): Promise<void> {
  if (!context.execute) {
    context.log(`DRY RUN: would ${description} (add --yes to do it)`);
    return;
  }
  context.log(`doing: ${description}`);
  await action();
  context.log(`done: ${description}`);
}

/** Terminates one random healthy InService instance; the group replaces it (desired unchanged). */
export async function terminateRandomInstance(context: AwsChaosContext, groupName: string): Promise<string> {
  const group = await describeGroup(context, groupName);
  const healthy = inServiceInstances(group);
  const floor = minimumHealthyCapacity(group);
  context.log(`${groupName}: ${healthy.length} healthy InService instances, minimum healthy capacity ${floor}`);
  if (healthy.length - 1 < floor) {
    throw new ChaosRefusal(
      `refusing: terminating one of ${healthy.length} healthy instances would leave the group below its minimum healthy capacity (${floor}); wait for it to recover or raise its capacity`,
    );
  }
  const victim = healthy[Math.floor((context.random ?? Math.random)() * healthy.length)]!;
  await act(context, `terminate ${victim.InstanceId} in ${victim.AvailabilityZone} (the group launches a replacement)`, () =>
    context.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: victim.InstanceId, ShouldDecrementDesiredCapacity: false }),
    ),
  );
  return victim.InstanceId!;
}

/** Reboots a Multi-AZ RDS instance with failover: the standby in the other AZ becomes primary. */
export async function rebootDatabaseWithFailover(context: AwsChaosContext, dbInstanceId: string): Promise<void> {
  const { DBInstances: instances = [] } = await context.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceId }));
  const [db] = instances;
  if (!db) throw new ChaosRefusal(`no RDS instance ${dbInstanceId} (check --db-instance and AWS_REGION)`);
  if (!db.MultiAZ) throw new ChaosRefusal(`refusing: ${dbInstanceId} is not Multi-AZ, so there is no standby to fail over to`);
  if (db.DBInstanceStatus !== 'available') {
    throw new ChaosRefusal(`refusing: ${dbInstanceId} is "${db.DBInstanceStatus}", not "available"; wait until it is`);
  }
  await act(
    context,
    `reboot ${dbInstanceId} with failover (primary now in ${db.AvailabilityZone}, standby in ${db.SecondaryAvailabilityZone})`,
    () => context.rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: dbInstanceId, ForceFailover: true })),
  );
}

/**
 * Simulates the loss of one AZ for the web tier by removing the AZ's subnets from the group: it
 * terminates the instances there and launches replacements in the other AZs. After `seconds` the
 * original subnets are put back (and the undo command is logged first, in case we are interrupted).
 */
export async function availabilityZoneOutage(
  context: AwsChaosContext,
  groupName: string,
  availabilityZone: string | undefined,
  seconds: number,
): Promise<void> {
  const group = await describeGroup(context, groupName);
  const subnetIds = (group.VPCZoneIdentifier ?? '').split(',').filter(Boolean);
  if (subnetIds.length === 0) throw new ChaosRefusal(`${groupName} has no VPC subnets (VPCZoneIdentifier is empty)`);
  const { Subnets: subnets = [] } = await context.ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
  const zones = [...new Set(subnets.map((subnet) => subnet.AvailabilityZone!))].sort();
  const zone = availabilityZone ?? zones[Math.floor((context.random ?? Math.random)() * zones.length)];
  if (!zone || !zones.includes(zone)) throw new ChaosRefusal(`${groupName} has no subnet in ${zone}; its zones are ${zones.join(', ')}`);
  const remaining = subnets.filter((subnet) => subnet.AvailabilityZone !== zone).map((subnet) => subnet.SubnetId!);
  if (remaining.length === 0)
    throw new ChaosRefusal(`refusing: ${zone} is the group's only zone; removing it would take the whole web tier down`);

  const healthyElsewhere = inServiceInstances(group).filter((instance) => instance.AvailabilityZone !== zone).length;
  const floor = minimumHealthyCapacity(group);
  context.log(`${groupName}: ${healthyElsewhere} healthy instances outside ${zone}, minimum healthy capacity ${floor}`);
  if (healthyElsewhere < floor) {
    throw new ChaosRefusal(
      `refusing: only ${healthyElsewhere} healthy instances are outside ${zone}, below the minimum healthy capacity (${floor})`,
    );
  }
  const original = group.VPCZoneIdentifier!;
  context.log(
    `to undo by hand: aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${groupName} --vpc-zone-identifier ${original}`,
  );
  await act(context, `remove ${zone}'s subnets from ${groupName} (keep ${remaining.join(',')}) for ${seconds} s`, () =>
    context.autoScaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, VPCZoneIdentifier: remaining.join(',') }),
    ),
  );
  if (!context.execute) return;
  await (context.wait ?? sleep)(seconds * 1000);
  await act(context, `put ${zone}'s subnets back into ${groupName}`, () =>
    context.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, VPCZoneIdentifier: original })),
  );
}
