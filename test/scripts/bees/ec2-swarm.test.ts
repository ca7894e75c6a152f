import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runBee } from '../../../scripts/bees/bee';
import { deployNodeMajor } from '../../../app/contracts';
import { bundleAgent, renderUserData, shellQuote, userDataLimitBytes } from '../../../scripts/bees/user-data';
import type { AttackReport } from '../../../scripts/bees/report';
import type { BeeSpec } from '../../../scripts/bees/spec';
import { bees, listenOnLoopback } from './support/loopback';

const execFileAsync = promisify(execFile);

// AWS is mocked with the SDK's own command classes; everything else is real, including the bee
// results that SSM hands back, which a real bee produced against a loopback server.

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const awsClients = () => ({
  ec2: new EC2Client({ region: 'eu-west-1' }),
  ssm: new SSMClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
});

function dryRunOperation(): Error {
  return Object.assign(new Error('Request would have succeeded, but DryRun flag is set.'), { name: 'DryRunOperation' });
}

const twoBees = {
  Reservations: [
    {
      Instances: [
        {
          InstanceId: 'i-0bbb',
          State: { Name: 'running' as const },
          InstanceType: 'c7i.large' as const,
          Placement: { AvailabilityZone: 'eu-west-1b' },
          Tags: [{ Key: 'bees:expires-at', Value: '2026-11-25T20:00:00.000Z' }],
        },
        {
          InstanceId: 'i-0aaa',
          State: { Name: 'running' as const },
          InstanceType: 'c7i.large' as const,
          Placement: { AvailabilityZone: 'eu-west-1a' },
        },
      ],
    },
  ],
};

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  s3.reset();
});

describe('bees up', () => {
  const upArgs = [
    'up',
    '-s',
    '3',
    '--swarm',
    'lab',
    '--instance-profile',
    'bees-ssm',
    '--subnet',
    'subnet-0123',
    '--security-group',
    'sg-0456',
    '--max-lifetime',
    '45',
    '--tag',
    'team=perf',
  ];

  it('when --yes is not given, then EC2 only checks the launch (DryRun) and nothing starts', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-0al2023' } });
    ec2.on(RunInstancesCommand).rejects(dryRunOperation());

    const run = await bees(upArgs, awsClients);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Dry run: EC2 accepts launching 3 c7i.large bee(s) from ami-0al2023');
    expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.DryRun).toBe(true);
  });

  it('when --yes is given, then the bees launch tagged, SSM-managed, and set to terminate themselves', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' })
      .resolves({ Parameter: { Value: 'ami-0al2023' } });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }, { InstanceId: 'i-2' }, { InstanceId: 'i-3' }] });

    const run = await bees([...upArgs, '--yes'], awsClients);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Launched 3 bee(s) into swarm "lab": i-1, i-2, i-3');
    const input = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      ImageId: 'ami-0al2023',
      InstanceType: 'c7i.large',
      MinCount: 3,
      MaxCount: 3,
      SubnetId: 'subnet-0123',
      SecurityGroupIds: ['sg-0456'],
      IamInstanceProfile: { Name: 'bees-ssm' },
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required' },
      DryRun: false,
    });
    expect(input.KeyName).toBeUndefined();
    const tags = input.TagSpecifications![0]!.Tags!;
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'bees:swarm', Value: 'lab' },
        { Key: 'team', Value: 'perf' },
      ]),
    );
    expect(tags.find((tag) => tag.Key === 'bees:expires-at')?.Value).toMatch(/^\d{4}-\d\d-\d\dT/);
    const userData = Buffer.from(input.UserData!, 'base64').toString('utf8');
    expect(userData.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(userData).toContain("MAX_LIFETIME_MINUTES='45'");
    expect(userData).toContain(`NODE_MAJOR='${deployNodeMajor}'`);
    expect(userData).toContain('shutdown -h "+${MAX_LIFETIME_MINUTES}"');
    // The self-termination is scheduled before anything that could fail.
    expect(userData.indexOf('shutdown -h "+')).toBeLessThan(userData.indexOf('dnf install'));
  });
});

describe('bees report and down', () => {
  it('when the swarm has bees, then report lists each with its SSM status and expiry', async () => {
    ec2.on(DescribeInstancesCommand).resolves(twoBees);
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'i-0aaa', PingStatus: 'Online' }] });

    const run = await bees(['report', '--swarm', 'lab'], awsClients);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Swarm "lab": 2 bee(s)');
    expect(run.stdout).toMatch(/i-0aaa\s+running\s+c7i.large\s+eu-west-1a\s+SSM Online/);
    expect(run.stdout).toMatch(/i-0bbb.*SSM not registered\s+expires 2026-11-25T20:00:00.000Z/);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'tag:bees:swarm', Values: ['lab'] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
  });

  it('when down runs without --yes, then nothing is terminated', async () => {
    ec2.on(DescribeInstancesCommand).resolves(twoBees);
    ec2.on(TerminateInstancesCommand).rejects(dryRunOperation());

    const run = await bees(['down', '--swarm', 'lab'], awsClients);

    expect(run.stdout).toContain('Dry run: would terminate i-0aaa, i-0bbb. Add --yes to terminate.');
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-0aaa', 'i-0bbb'], DryRun: true });
  });

  it('when down runs with --yes, then every bee of the swarm, across pages, is terminated', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ ...twoBees, NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0ccc', State: { Name: 'pending' } }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});

    const run = await bees(['down', '--swarm', 'lab', '--yes'], awsClients);

    expect(run.code).toBe(0);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({
      InstanceIds: ['i-0aaa', 'i-0bbb', 'i-0ccc'],
      DryRun: false,
    });
  });
});

describe('bees attack on the EC2 swarm', () => {
  it('when the swarm is empty, then attack explains how to get bees', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    const run = await bees(['attack', '-u', 'http://127.0.0.1:1/', '--swarm', 'lab'], awsClients);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('swarm "lab" has no running bees: start some with `bees up`');
  });

  it('when two bees run their shares through SSM, then their outputs are merged into one report', async () => {
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    try {
      ec2.on(DescribeInstancesCommand).resolves(twoBees);
      ssm.on(SendCommandCommand).callsFake(async (input) => ({ Command: { CommandId: `cmd-${input.InstanceIds[0]}` } }));
      // The bee's real output for whatever spec the queen sent it.
      const outputs = new Map<string, string>();
      const outputFor = async (commandId: string): Promise<string> => {
        const call = ssm.commandCalls(SendCommandCommand).find((c) => `cmd-${c.args[0].input.InstanceIds![0]}` === commandId)!;
        const script = call.args[0].input.Parameters!.commands![0]!;
        const spec = JSON.parse(Buffer.from(script.split('--spec-base64 ')[1]!, 'base64').toString()) as BeeSpec;
        if (!outputs.has(commandId)) outputs.set(commandId, `${JSON.stringify(await runBee(spec))}\n`);
        return outputs.get(commandId)!;
      };
      ssm
        .on(GetCommandInvocationCommand)
        .rejectsOnce(Object.assign(new Error('invocation not yet'), { name: 'InvocationDoesNotExist' }))
        .callsFake(async (input) => ({ Status: 'Success', StandardOutputContent: await outputFor(input.CommandId) }));

      const run = await bees(
        ['attack', '-u', target.url, '--swarm', 'lab', '-n', '200', '-c', '4', '--poll-seconds', '0', '--json', '--no-progress'],
        awsClients,
      );

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as AttackReport;
      expect(report).toMatchObject({ bees: 2, requests: 200, statusCodes: { 200: 200 } });
      const sends = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
      expect(sends.map((input) => input.InstanceIds)).toEqual([['i-0aaa'], ['i-0bbb']]);
      expect(sends[0]).toMatchObject({
        DocumentName: 'AWS-RunShellScript',
        Parameters: { executionTimeout: [expect.stringMatching(/^\d+$/)] },
      });
      expect(sends[0]!.Parameters!.commands![0]).toContain('test -f /opt/bees/ready');
    } finally {
      await target.close();
    }
  });

  it('when an output bucket is given, then each bee output is read from SSM’s S3 key', async () => {
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    try {
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [twoBees.Reservations[0]!.Instances[1]!] }] });
      ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
      ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: '{"cut at 24000 chars' });
      const spec = (): BeeSpec =>
        JSON.parse(
          Buffer.from(
            ssm.commandCalls(SendCommandCommand)[0]!.args[0].input.Parameters!.commands![0]!.split('--spec-base64 ')[1]!,
            'base64',
          ).toString(),
        );
      s3.on(GetObjectCommand, {
        Bucket: 'bees-out',
        Key: 'bees-output/cmd-1/i-0aaa/awsrunShellScript/0.awsrunShellScript/stdout',
      }).callsFake(async () => ({
        // The SDK's streaming body; only transformToString is read.
        Body: { transformToString: async () => JSON.stringify(await runBee(spec())) } as never,
      }));

      const run = await bees(
        [
          'attack',
          '-u',
          target.url,
          '--swarm',
          'lab',
          '-n',
          '50',
          '-c',
          '1',
          '--output-bucket',
          'bees-out',
          '--poll-seconds',
          '0',
          '--json',
          '--no-progress',
        ],
        awsClients,
      );

      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as AttackReport;
      expect(report.requests).toBe(50);
      expect(report.timeline.length).toBeGreaterThan(0);
      expect(ssm.commandCalls(SendCommandCommand)[0]!.args[0].input).toMatchObject({
        OutputS3BucketName: 'bees-out',
        OutputS3KeyPrefix: 'bees-output',
      });
    } finally {
      await target.close();
    }
  });

  it('when a bee is still installing, then the attack fails with the bee’s own explanation', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [twoBees.Reservations[0]!.Instances[1]!] }] });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', StandardErrorContent: 'bee not ready yet: user data is still installing; retry in a minute\n' });

    const run = await bees(['attack', '-u', 'http://127.0.0.1:1/', '--swarm', 'lab', '-n', '10', '--poll-seconds', '0'], awsClients);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bee i-0aaa Failed: bee not ready yet');
  });
});

/** A bee's share against a loopback target: `amount` requests over `connections`. */
function loopbackSpec(url: string, connections: number, amount: number): BeeSpec {
  return {
    bee: 0,
    runId: 'r1',
    url: `${url}/`,
    connections,
    amount,
    rampUpSeconds: 0,
    timeoutSeconds: 5,
    method: 'GET',
    headers: {},
    timeline: false,
  };
}

describe('bee user data', () => {
  it('when rendered with the real agent bundle, then it is valid bash within EC2’s 16 KB limit', () => {
    const script = renderUserData({ maxLifetimeMinutes: 30, agentSource: bundleAgent() });
    expect(Buffer.byteLength(script)).toBeLessThan(userDataLimitBytes);
    expect(() => execFileSync('bash', ['-n'], { input: script })).not.toThrow();
  });

  it('when the bundled agent runs as SSM would run it, then it attacks and prints one result line', async () => {
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    const dir = mkdtempSync(path.join(tmpdir(), 'bees-agent-'));
    try {
      writeFileSync(path.join(dir, 'agent.js'), bundleAgent());
      const spec = loopbackSpec(target.url, 2, 40);
      // On a bee, autocannon and hdr-histogram-js sit in /opt/bees/node_modules; here, the repo's.
      const env = { ...process.env, NODE_PATH: path.resolve(__dirname, '../../../node_modules') };
      const { stdout } = await execFileAsync(
        process.execPath,
        [path.join(dir, 'agent.js'), '--spec-base64', Buffer.from(JSON.stringify(spec)).toString('base64')],
        { env },
      );

      const result = JSON.parse(stdout.trim()) as { requests: number; statusCodes: Record<string, number> };
      expect(result).toMatchObject({ requests: 40, statusCodes: { 200: 40 } });
    } finally {
      await target.close();
    }
  });

  it('when the rendered user data boots a bee (dnf, npm and shutdown stubbed), then it schedules its end, installs Node from the contract and a runnable agent', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'bees-boot-'));
    const bin = path.join(root, 'bin');
    const calls = path.join(root, 'calls.log');
    const stub = (name: string, body = '') => {
      writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>${shellQuote(calls)}\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    mkdirSync(bin);
    stub('shutdown');
    stub('dnf');
    stub(`npm-${deployNodeMajor}`);
    // The bee's versioned node is this machine's node.
    stub(`node-${deployNodeMajor}`, `exec ${shellQuote(process.execPath)} "$@"`);
    const target = await listenOnLoopback((_request, response) => response.end('ok'));
    try {
      const userData = path.join(root, 'user-data.sh');
      writeFileSync(userData, renderUserData({ maxLifetimeMinutes: 30, agentSource: bundleAgent() }));
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, BEES_HOME: path.join(root, 'bees') };
      await execFileAsync('bash', [userData], { env });

      const log = readFileSync(calls, 'utf8').split('\n');
      expect(log[0]).toBe('shutdown -h +30 bees: maximum lifetime reached');
      expect(log).toContain(`dnf install -y nodejs${deployNodeMajor} nodejs${deployNodeMajor}-npm`);
      expect(log).toContain(
        `npm-${deployNodeMajor} install --omit=dev --no-audit --no-fund autocannon@9 hdr-histogram-js@3 tough-cookie@6 p-limit@3`,
      );
      expect(readFileSync(path.join(root, 'bees', 'ready'), 'utf8')).toBe('');
      const spec = loopbackSpec(target.url, 1, 5);
      // npm was stubbed, so the agent's packages come from the repo's node_modules.
      const { stdout } = await execFileAsync(
        path.join(root, 'bees', 'agent'),
        ['--spec-base64', Buffer.from(JSON.stringify(spec)).toString('base64')],
        { env: { ...env, NODE_PATH: path.resolve(__dirname, '../../../node_modules') } },
      );
      expect(JSON.parse(stdout.trim())).toMatchObject({ requests: 5, statusCodes: { 200: 5 } });
    } finally {
      await target.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('when a value holds quotes and shell syntax, then shellQuote keeps it one literal word', () => {
    const hostile = `it's $(touch /tmp/pwned) "and" \`more\`; echo ok`;
    expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(hostile)}`]).toString()).toBe(hostile);
  });

  it('when the lifetime is too short to install, then rendering refuses', () => {
    expect(() => renderUserData({ maxLifetimeMinutes: 2, agentSource: '' })).toThrow(
      '--max-lifetime must be a whole number of minutes, at least 5',
    );
  });
});
