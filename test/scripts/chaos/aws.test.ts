import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { readTemplate } from '../../../scripts/lint-infra/cfn-yaml';
import {
  awsFaults,
  chaosTemplateFile,
  ChaosRefusal,
  experimentTemplates,
  fisActions,
  startFaultExperiment,
  type AwsCli,
  type TemplateNode,
} from '../../../scripts/chaos/aws';

// Parsed template JSON; the assertions are what check its shape.
type Node = TemplateNode;

const template = readTemplate(chaosTemplateFile);
const resources = template.Resources as Record<string, Node>;
const experiments = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::FIS::ExperimentTemplate');

function recordingCli(answers: Record<string, string>): AwsCli & { calls: string[][] } {
  const calls: string[][] = [];
  const cli = async (args: string[]) => {
    calls.push(args);
    return answers[`${args[0]} ${args[1]}`] ?? '';
  };
  return Object.assign(cli, { calls });
}

describe('FIS experiment templates (infra/05-chaos.yaml)', () => {
  test('when a fault has an AWS version, then exactly one experiment template carries it', () => {
    const tagged = experiments.map(([, resource]) => resource.Properties.Tags.CloudwikiFault as string);
    expect(tagged.sort()).toEqual([...awsFaults].sort());
  });

  test.each(experiments)('when %s runs, then its actions are FIS actions with the targets and parameters FIS takes', (_id, resource) => {
    const { Actions: actions, Targets: targets } = resource.Properties as Node;
    expect(Object.keys(actions).length).toBeGreaterThan(0);
    for (const [name, action] of Object.entries(actions as Record<string, Node>)) {
      const known = fisActions[action.ActionId as string];
      expect({ name, actionId: action.ActionId, known: Boolean(known) }).toEqual({ name, actionId: action.ActionId, known: true });
      if (!known) continue;
      // Each action names its target under the key FIS defines, and that target is of the right type.
      expect(Object.keys(action.Targets)).toEqual([known.target]);
      const target = targets[action.Targets[known.target]];
      expect({ name, resourceType: target?.ResourceType }).toEqual({ name, resourceType: known.resourceType });
      expect(target.SelectionMode).toMatch(/^(ALL|COUNT\(\d+\)|PERCENT\(\d+\))$/);
      // A target is narrowed to this deployment: by ARN, or by one of its stacks' tags.
      expect(Boolean(target.ResourceArns) || Object.keys(target.ResourceTags ?? {}).length > 0).toBe(true);
      const parameters = (action.Parameters ?? {}) as Node;
      for (const key of Object.keys(parameters))
        expect({ name, parameter: key, known: key in known.parameters }).toEqual({ name, parameter: key, known: true });
      for (const [key, rule] of Object.entries(known.parameters)) {
        if (rule.required) expect({ name, parameter: key, given: key in parameters }).toEqual({ name, parameter: key, given: true });
        if (rule.values && typeof parameters[key] === 'string') expect(rule.values).toContain(parameters[key]);
      }
      if ('duration' in parameters) expect(parameters.duration).toEqual({ 'Fn::Sub': 'PT${FaultMinutes}M' });
    }
    // Every target is used by some action.
    const used = Object.values(actions as Record<string, Node>).flatMap((action) => Object.values(action.Targets));
    expect(Object.keys(targets).sort()).toEqual([...new Set(used)].sort());
  });

  test.each(experiments)('when %s misbehaves, then the 5xx alarm stops it and it runs as the stack-scoped role', (_id, resource) => {
    expect(resource.Properties.StopConditions).toEqual([
      { Source: 'aws:cloudwatch:alarm', Value: { 'Fn::ImportValue': { 'Fn::Sub': '${WebStackName}:ServerErrorRateAlarmArn' } } },
    ]);
    expect(resource.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['ExperimentRole', 'Arn'] });
  });

  test('when the database fault runs, then it is a reboot with a forced failover of this deployment writer', () => {
    const { properties } = experimentTemplates(template).get('database')!;
    expect(properties.Actions.RebootWithFailover).toMatchObject({
      ActionId: 'aws:rds:reboot-db-instances',
      Parameters: { forceFailover: 'true' },
    });
    expect(JSON.stringify(properties.Targets.Writer.ResourceArns)).toContain('${DataStackName}:DatabaseWriterInstanceId');
  });

  test('when the zone faults run, then they hit only the FaultZone, and the API faults only the dynamodb and s3 paths', () => {
    const zone = (fault: string) =>
      Object.values(experimentTemplates(template).get(fault)!.properties.Targets as Record<string, Node>).flatMap((t) => t.Filters ?? []);
    expect(zone('az')).toContainEqual({ Path: 'Placement.AvailabilityZone', Values: [{ Ref: 'FaultZone' }] });
    expect(zone('az-network')).toContainEqual({ Path: 'AvailabilityZone', Values: [{ Ref: 'FaultZone' }] });
    const scope = (fault: string) =>
      Object.values(experimentTemplates(template).get(fault)!.properties.Actions as Record<string, Node>).map((a) => a.Parameters?.scope);
    expect(scope('az-network')).toEqual(['all']);
    expect(scope('dynamodb')).toEqual(['dynamodb']);
    expect(scope('s3')).toEqual(['s3']);
  });

  test('when FIS terminates or reboots, then its role can touch only this group and this writer', () => {
    const statements = resources.ExperimentRole!.Properties.Policies[0].PolicyDocument.Statement as Node[];
    const terminate = statements.find((s) => s.Action === 'ec2:TerminateInstances');
    expect(terminate?.Condition).toEqual({
      StringEquals: {
        'aws:ResourceTag/aws:autoscaling:groupName': { 'Fn::ImportValue': { 'Fn::Sub': '${WebStackName}:AutoScalingGroupName' } },
      },
    });
    const reboot = statements.find((s) => s.Action === 'rds:RebootDBInstance');
    expect(JSON.stringify(reboot?.Resource)).toContain('${DataStackName}:DatabaseWriterInstanceId');
    for (const statement of statements.filter((s) => s.Resource === '*')) {
      for (const action of [statement.Action].flat()) expect(action).toMatch(/^(tag:GetResources|ec2:Describe\w+|rds:Describe\w+)$/);
    }
  });
});

describe('npm run chaos -- --aws <fault>', () => {
  test.each([...awsFaults])('when %s is asked for without --yes, then it prints the FIS experiment and starts nothing', async (fault) => {
    const lines: string[] = [];
    const aws = recordingCli({});
    const id = await startFaultExperiment({
      fault,
      stackName: 'cloudwiki-chaos',
      region: 'eu-west-1',
      execute: false,
      log: (l) => lines.push(l),
      aws,
    });
    expect(id).toBeUndefined();
    expect(aws.calls).toEqual([]);
    const { logicalId, properties } = experimentTemplates(template).get(fault)!;
    expect(lines[0]).toBe(`FIS experiment template ${logicalId}: ${properties.Description}`);
    for (const action of Object.values(properties.Actions as Record<string, Node>)) expect(lines.join('\n')).toContain(action.ActionId);
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}stops when aws:cloudwatch:alarm <export \$\{WebStackName\}:ServerErrorRateAlarmArn> alarms$/),
    );
    expect(lines.at(-1)).toBe(
      'DRY RUN: then aws fis start-experiment --experiment-template-id <that id> --region eu-west-1 (add --yes to do it)',
    );
  });

  test('when --yes is given, then it looks the template up in the chaos stack and starts it', async () => {
    const aws = recordingCli({ 'cloudformation describe-stack-resource': 'EXT1a2b3c4d5e6f7', 'fis start-experiment': 'EXP9z8y7x6w5v4u3' });
    const lines: string[] = [];
    const id = await startFaultExperiment({
      fault: 'database',
      stackName: 'cloudwiki-chaos',
      region: 'eu-west-1',
      execute: true,
      log: (l) => lines.push(l),
      aws,
    });
    expect(id).toBe('EXP9z8y7x6w5v4u3');
    expect(aws.calls).toEqual([
      expect.arrayContaining([
        'cloudformation',
        'describe-stack-resource',
        '--stack-name',
        'cloudwiki-chaos',
        '--logical-resource-id',
        'DatabaseFailoverExperiment',
      ]),
      [
        'fis',
        'start-experiment',
        '--experiment-template-id',
        'EXT1a2b3c4d5e6f7',
        '--tags',
        'CloudwikiFault=database',
        '--query',
        'experiment.id',
        '--output',
        'text',
        '--region',
        'eu-west-1',
      ],
    ]);
  });

  test('when the chaos stack is not deployed, then it refuses before starting anything', async () => {
    const aws = recordingCli({ 'cloudformation describe-stack-resource': 'None' });
    await expect(
      startFaultExperiment({ fault: 'instance', stackName: 'cloudwiki-chaos', region: 'eu-west-1', execute: true, log: () => {}, aws }),
    ).rejects.toBeInstanceOf(ChaosRefusal);
    expect(aws.calls).toHaveLength(1);
  });

  test('when run from the command line without --yes, then it prints the experiment and exits 0', async () => {
    const root = path.join(__dirname, '..', '..', '..');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/chaos/cli.ts', '--aws', 'az-network'], {
      cwd: root,
      env: { ...process.env, AWS_REGION: 'eu-west-1' },
    });
    expect(stdout).toContain('FIS experiment template ZoneNetworkExperiment');
    expect(stdout).toContain('aws:network:disrupt-connectivity (duration=PT${FaultMinutes}M, scope=all)');
    expect(stdout).toContain('--stack-name cloudwiki-chaos');
    expect(stdout).toContain('DRY RUN');
  }, 60_000);
});
