import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Instance,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { BeeResult, BeeSpec } from './spec';

// Bees are found by tag, never by a local state file: any machine with the credentials sees the
// same swarm, and a crashed `bees` run leaves nothing stale behind.
const swarmTagKey = 'bees:swarm';
const expiresTagKey = 'bees:expires-at';

/** Amazon Linux 2023 comes with the SSM agent, which is all a bee needs to be driven. */
const defaultAmiParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

export interface AwsClients {
  ec2: EC2Client;
  ssm: SSMClient;
  s3: S3Client;
}

export interface Bee {
  instanceId: string;
  state: string;
  instanceType: string;
  availabilityZone: string;
  launchedAt?: string;
  expiresAt?: string;
}

function toBee(instance: Instance): Bee {
  const tag = (key: string): string | undefined => instance.Tags?.find((t) => t.Key === key)?.Value;
  return {
    instanceId: instance.InstanceId ?? '?',
    state: instance.State?.Name ?? 'unknown',
    instanceType: instance.InstanceType ?? '?',
    availabilityZone: instance.Placement?.AvailabilityZone ?? '?',
    launchedAt: instance.LaunchTime?.toISOString(),
    expiresAt: tag(expiresTagKey),
  };
}

/**
 * The swarm's live bees (pending or running), across every page of DescribeInstances.
 * @public cli.ts loads this module on demand (require), which knip cannot follow.
 */
export async function findBees(ec2: EC2Client, swarm: string): Promise<Bee[]> {
  const bees: Bee[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${swarmTagKey}`, Values: [swarm] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
        NextToken,
      }),
    );
    for (const reservation of page.Reservations ?? []) bees.push(...(reservation.Instances ?? []).map(toBee));
    NextToken = page.NextToken;
  } while (NextToken);
  return bees.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

interface LaunchOptions {
  swarm: string;
  count: number;
  instanceType: string;
  subnetId?: string;
  securityGroupIds: string[];
  instanceProfile: string;
  imageId?: string;
  maxLifetimeMinutes: number;
  tags: Record<string, string>;
  userData: string;
  dryRun: boolean;
  now?: Date;
}

type LaunchOutcome = { dryRun: true; imageId: string } | { dryRun: false; imageId: string; instanceIds: string[] };

function isDryRunSuccess(error: unknown): boolean {
  return (error as { name?: string }).name === 'DryRunOperation';
}

/**
 * Launches the bees. In a dry run EC2 checks permissions and parameters without launching
 * (it answers DryRunOperation when the real call would have succeeded).
 * @public cli.ts loads this module on demand (require), which knip cannot follow.
 */
export async function launchBees(clients: AwsClients, options: LaunchOptions): Promise<LaunchOutcome> {
  const imageId = options.imageId ?? (await clients.ssm.send(new GetParameterCommand({ Name: defaultAmiParameter }))).Parameter?.Value;
  if (!imageId) throw new Error(`SSM parameter ${defaultAmiParameter} has no value; pass --ami`);
  const expiresAt = new Date((options.now ?? new Date()).getTime() + options.maxLifetimeMinutes * 60_000).toISOString();
  const tags = [
    { Key: 'Name', Value: `bee-${options.swarm}` },
    { Key: swarmTagKey, Value: options.swarm },
    { Key: expiresTagKey, Value: expiresAt },
    ...Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })),
  ];
  const command = new RunInstancesCommand({
    ImageId: imageId,
    InstanceType: options.instanceType as _InstanceType,
    MinCount: options.count,
    MaxCount: options.count,
    ...(options.subnetId ? { SubnetId: options.subnetId } : {}),
    ...(options.securityGroupIds.length ? { SecurityGroupIds: options.securityGroupIds } : {}),
    IamInstanceProfile: { Name: options.instanceProfile },
    // The user data's scheduled shutdown then terminates the instance instead of stopping it.
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: { HttpTokens: 'required' },
    UserData: Buffer.from(options.userData).toString('base64'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    DryRun: options.dryRun,
  });
  try {
    const launched = await clients.ec2.send(command);
    return { dryRun: false, imageId, instanceIds: (launched.Instances ?? []).map((i) => i.InstanceId ?? '?') };
  } catch (error) {
    if (options.dryRun && isDryRunSuccess(error)) return { dryRun: true, imageId };
    throw error;
  }
}

interface SwarmState {
  bees: (Bee & { ssmPing: string })[];
}

/**
 * What `bees report` shows: every live bee and whether its SSM agent answers.
 * @public cli.ts loads this module on demand (require), which knip cannot follow.
 */
export async function describeSwarm(clients: AwsClients, swarm: string): Promise<SwarmState> {
  const bees = await findBees(clients.ec2, swarm);
  const ping = new Map<string, string>();
  if (bees.length > 0) {
    const info = await clients.ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: bees.map((bee) => bee.instanceId) }],
      }),
    );
    for (const entry of info.InstanceInformationList ?? []) {
      if (entry.InstanceId) ping.set(entry.InstanceId, entry.PingStatus ?? 'unknown');
    }
  }
  return { bees: bees.map((bee) => ({ ...bee, ssmPing: ping.get(bee.instanceId) ?? 'not registered' })) };
}

type TerminateOutcome = { dryRun: boolean; instanceIds: string[] };

/**
 * Terminates every bee of the swarm; a dry run asks EC2 to check the call without doing it.
 * @public cli.ts loads this module on demand (require), which knip cannot follow.
 */
export async function terminateBees(clients: AwsClients, swarm: string, dryRun: boolean): Promise<TerminateOutcome> {
  const instanceIds = (await findBees(clients.ec2, swarm)).map((bee) => bee.instanceId);
  if (instanceIds.length === 0) return { dryRun, instanceIds };
  try {
    await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds, DryRun: dryRun }));
  } catch (error) {
    if (!(dryRun && isDryRunSuccess(error))) throw error;
  }
  return { dryRun, instanceIds };
}

interface Ec2AttackOptions {
  /** S3 bucket for SSM to write each bee's full output to (inline output stops at 24,000 chars). */
  outputBucket?: string;
  pollIntervalMs: number;
  /** How long SSM lets the agent run before it gives up on a bee. */
  executionTimeoutSeconds: number;
  sleep?: (ms: number) => Promise<void>;
  onBeeDone?: (bee: number, instanceId: string) => void;
}

const outputKeyPrefix = 'bees-output';
const finalStatuses = new Set([
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
  'Cancelling',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
  'DeliveryTimedOut',
  'ExecutionTimedOut',
]);

/** Shell run on the bee: refuse politely while the bee is still installing. */
function agentCommand(spec: BeeSpec): string {
  const encoded = Buffer.from(JSON.stringify(spec)).toString('base64');
  return `test -f /opt/bees/ready || { echo "bee not ready yet: user data is still installing; retry in a minute" >&2; exit 3; }\n/opt/bees/agent --spec-base64 ${encoded}`;
}

async function readBeeOutput(
  clients: AwsClients,
  options: Ec2AttackOptions,
  commandId: string,
  instanceId: string,
  inline: string,
): Promise<string> {
  if (!options.outputBucket) return inline;
  // SSM's own key layout for AWS-RunShellScript output in S3.
  const key = `${outputKeyPrefix}/${commandId}/${instanceId}/awsrunShellScript/0.awsrunShellScript/stdout`;
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: options.outputBucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

async function attackWithOneBee(clients: AwsClients, bee: Bee, spec: BeeSpec, options: Ec2AttackOptions): Promise<BeeResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const sent = await clients.ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [bee.instanceId],
      Comment: `bees attack ${spec.runId} bee ${spec.bee}`,
      Parameters: {
        commands: [agentCommand(spec)],
        executionTimeout: [String(options.executionTimeoutSeconds)],
      },
      ...(options.outputBucket ? { OutputS3BucketName: options.outputBucket, OutputS3KeyPrefix: outputKeyPrefix } : {}),
    }),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new Error(`SSM accepted no command for ${bee.instanceId}`);
  for (;;) {
    await sleep(options.pollIntervalMs);
    let invocation;
    try {
      invocation = await clients.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: bee.instanceId }));
    } catch (error) {
      // The invocation appears a moment after SendCommand returns.
      if ((error as { name?: string }).name === 'InvocationDoesNotExist') continue;
      throw error;
    }
    const status = invocation.Status ?? 'Pending';
    if (!finalStatuses.has(status)) continue;
    if (status !== 'Success') {
      throw new Error(`bee ${bee.instanceId} ${status}: ${(invocation.StandardErrorContent ?? '').trim() || 'no error output'}`);
    }
    const output = await readBeeOutput(clients, options, commandId, bee.instanceId, invocation.StandardOutputContent ?? '');
    const lastLine = output.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(lastLine) as BeeResult;
    } catch {
      throw new Error(`bee ${bee.instanceId} printed no result (output cut at 24,000 characters? use --output-bucket)`);
    }
  }
}

/**
 * One SSM command a bee, each with its own share of the attack; results are gathered by polling.
 * @public cli.ts loads this module on demand (require), which knip cannot follow.
 */
export async function attackWithEc2Bees(
  clients: AwsClients,
  bees: readonly Bee[],
  specs: readonly BeeSpec[],
  options: Ec2AttackOptions,
): Promise<BeeResult[]> {
  return Promise.all(
    specs.map(async (spec) => {
      const bee = bees[spec.bee];
      if (!bee) throw new Error(`no bee for share ${spec.bee}`);
      const result = await attackWithOneBee(clients, bee, spec, options);
      options.onBeeDone?.(spec.bee, bee.instanceId);
      return result;
    }),
  );
}
