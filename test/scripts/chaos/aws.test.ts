import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
  type Instance,
  type LifecycleState,
} from '@aws-sdk/client-auto-scaling';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, RDSClient, RebootDBInstanceCommand } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import {
  availabilityZoneOutage,
  ChaosRefusal,
  minimumHealthyCapacity,
  rebootDatabaseWithFailover,
  terminateRandomInstance,
  type AwsChaosContext,
} from '../../../scripts/chaos/aws';

const autoScaling = mockClient(AutoScalingClient);
const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);

function instance(id: string, az: string, state: LifecycleState = 'InService', health = 'Healthy'): Instance {
  return { InstanceId: id, AvailabilityZone: az, LifecycleState: state, HealthStatus: health, ProtectedFromScaleIn: false };
}

function group(overrides: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
  return {
    AutoScalingGroupName: 'web',
    MinSize: 2,
    MaxSize: 6,
    DesiredCapacity: 3,
    DefaultCooldown: 300,
    AvailabilityZones: ['eu-west-1a', 'eu-west-1b'],
    HealthCheckType: 'ELB',
    CreatedTime: new Date(0),
    VPCZoneIdentifier: 'subnet-a,subnet-b',
    Instances: [instance('i-1', 'eu-west-1a'), instance('i-2', 'eu-west-1b'), instance('i-3', 'eu-west-1a')],
    ...overrides,
  };
}

function context(execute: boolean): AwsChaosContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    autoScaling: new AutoScalingClient({ region: 'eu-west-1' }),
    ec2: new EC2Client({ region: 'eu-west-1' }),
    rds: new RDSClient({ region: 'eu-west-1' }),
    execute,
    log: (line) => lines.push(line),
    random: () => 0.5,
    wait: async () => {},
    lines,
  };
}

beforeEach(() => {
  autoScaling.reset();
  ec2.reset();
  rds.reset();
});

describe('chaos --aws instance', () => {
  test('when run without --yes, then it names its victim and terminates nothing', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['web'] }).resolves({ AutoScalingGroups: [group()] });
    const run = context(false);
    expect(await terminateRandomInstance(run, 'web')).toBe('i-2');
    expect(autoScaling.commandCalls(TerminateInstanceInAutoScalingGroupCommand)).toHaveLength(0);
    expect(run.lines.join('\n')).toMatch(/DRY RUN: would terminate i-2 in eu-west-1b/);
  });

  test('when run with --yes, then it terminates one healthy InService instance without lowering desired capacity', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group({
          Instances: [
            instance('i-1', 'eu-west-1a'),
            instance('i-2', 'eu-west-1b', 'Pending'),
            instance('i-3', 'eu-west-1a'),
            instance('i-4', 'eu-west-1b'),
          ],
        }),
      ],
    });
    autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
    await terminateRandomInstance(context(true), 'web');
    const [call] = autoScaling.commandCalls(TerminateInstanceInAutoScalingGroupCommand);
    expect(call?.args[0].input).toEqual({ InstanceId: 'i-3', ShouldDecrementDesiredCapacity: false });
  });

  test('when losing one more instance would go below the minimum healthy capacity, then it refuses', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group({ Instances: [instance('i-1', 'eu-west-1a'), instance('i-2', 'eu-west-1b', 'InService', 'Unhealthy')] })],
    });
    await expect(terminateRandomInstance(context(true), 'web')).rejects.toThrow(ChaosRefusal);
    expect(autoScaling.commandCalls(TerminateInstanceInAutoScalingGroupCommand)).toHaveLength(0);
  });

  test('when the group does not exist, then the error says which flag to check', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    await expect(terminateRandomInstance(context(true), 'nope')).rejects.toThrow(/no Auto Scaling group named nope.*--asg/);
  });

  test('when an instance maintenance policy asks for more than MinSize, then that is the floor', () => {
    expect(minimumHealthyCapacity(group({ MinSize: 1, DesiredCapacity: 4, InstanceMaintenancePolicy: { MinHealthyPercentage: 90 } }))).toBe(
      4,
    );
    expect(minimumHealthyCapacity(group({ MinSize: 2 }))).toBe(2);
  });
});

describe('chaos --aws database', () => {
  const multiAz = {
    DBInstanceIdentifier: 'db',
    MultiAZ: true,
    DBInstanceStatus: 'available',
    AvailabilityZone: 'eu-west-1a',
    SecondaryAvailabilityZone: 'eu-west-1b',
  };

  test('when run with --yes on a Multi-AZ instance, then it reboots with failover', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'db' }).resolves({ DBInstances: [multiAz] });
    rds.on(RebootDBInstanceCommand).resolves({});
    await rebootDatabaseWithFailover(context(true), 'db');
    expect(rds.commandCalls(RebootDBInstanceCommand)[0]?.args[0].input).toEqual({ DBInstanceIdentifier: 'db', ForceFailover: true });
  });

  test('when run without --yes, then nothing is rebooted', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [multiAz] });
    await rebootDatabaseWithFailover(context(false), 'db');
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  test('when the instance is single-AZ or busy, then it refuses', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [{ ...multiAz, MultiAZ: false }] })
      .resolvesOnce({ DBInstances: [{ ...multiAz, DBInstanceStatus: 'rebooting' }] });
    await expect(rebootDatabaseWithFailover(context(true), 'db')).rejects.toThrow(/not Multi-AZ/);
    await expect(rebootDatabaseWithFailover(context(true), 'db')).rejects.toThrow(/"rebooting"/);
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });
});

describe('chaos --aws az', () => {
  beforeEach(() => {
    ec2.on(DescribeSubnetsCommand, { SubnetIds: ['subnet-a', 'subnet-b'] }).resolves({
      Subnets: [
        { SubnetId: 'subnet-a', AvailabilityZone: 'eu-west-1a' },
        { SubnetId: 'subnet-b', AvailabilityZone: 'eu-west-1b' },
      ],
    });
  });

  test('when run with --yes, then it removes the zone subnets, waits, and puts them back', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group({ Instances: [instance('i-1', 'eu-west-1a'), instance('i-2', 'eu-west-1b'), instance('i-3', 'eu-west-1a')] }),
      ],
    });
    autoScaling.on(UpdateAutoScalingGroupCommand).resolves({});
    const run = context(true);
    await availabilityZoneOutage(run, 'web', 'eu-west-1b', 60);
    expect(autoScaling.commandCalls(UpdateAutoScalingGroupCommand).map((call) => call.args[0].input)).toEqual([
      { AutoScalingGroupName: 'web', VPCZoneIdentifier: 'subnet-a' },
      { AutoScalingGroupName: 'web', VPCZoneIdentifier: 'subnet-a,subnet-b' },
    ]);
    expect(run.lines.join('\n')).toContain('--vpc-zone-identifier subnet-a,subnet-b');
  });

  test('when too few healthy instances are outside the zone, then it refuses', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group()] });
    // Two of the three instances are in eu-west-1a: one is left, MinSize is 2.
    await expect(availabilityZoneOutage(context(true), 'web', 'eu-west-1a', 60)).rejects.toThrow(/below the minimum healthy capacity/);
    expect(autoScaling.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0);
  });

  test("when the zone is the only one or not the group's, then it refuses", async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group()] });
    await expect(availabilityZoneOutage(context(true), 'web', 'eu-west-1c', 60)).rejects.toThrow(/no subnet in eu-west-1c/);
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group({ VPCZoneIdentifier: 'subnet-a' })] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-a', AvailabilityZone: 'eu-west-1a' }] });
    await expect(availabilityZoneOutage(context(true), 'web', 'eu-west-1a', 60)).rejects.toThrow(/only zone/);
  });

  test('when run without --yes, then the group is not changed', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group({ Instances: [instance('i-1', 'eu-west-1a'), instance('i-2', 'eu-west-1b'), instance('i-3', 'eu-west-1a')] }),
      ],
    });
    await availabilityZoneOutage(context(false), 'web', 'eu-west-1b', 60);
    expect(autoScaling.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0);
  });
});
