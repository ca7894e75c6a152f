import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { readTemplate, type Template } from '../lint-infra/cfn-yaml';

// Faults on AWS are AWS Fault Injection Service experiments, defined as templates in
// infra/05-chaos.yaml (each with the web stack's 5xx alarm as stop condition and a role scoped to
// the deployment): this module finds the one for a fault, prints what it would do, and starts it
// only when told to. FIS, not this script, makes the API calls, undoes what can be undone (network
// ACLs) and stops on the alarm, so an interrupted script leaves nothing half-broken.

/** The FIS actions infra/05-chaos.yaml uses: each one's target key, resource type and parameters. */
export interface FisAction {
  target: string;
  resourceType: string;
  parameters: Record<string, { required: boolean; values?: string[] }>;
}

// From the AWS FIS actions reference (docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html).
export const fisActions: Record<string, FisAction> = {
  'aws:ec2:terminate-instances': { target: 'Instances', resourceType: 'aws:ec2:instance', parameters: {} },
  'aws:rds:reboot-db-instances': {
    target: 'DBInstances',
    resourceType: 'aws:rds:db',
    parameters: { forceFailover: { required: false, values: ['true', 'false'] } },
  },
  'aws:network:disrupt-connectivity': {
    target: 'Subnets',
    resourceType: 'aws:ec2:subnet',
    parameters: {
      duration: { required: true },
      scope: { required: false, values: ['all', 'availability-zone', 'dynamodb', 'prefix-list', 's3'] },
      prefixListIdentifier: { required: false },
    },
  },
};

export const awsFaults = ['instance', 'az', 'az-network', 'database', 'dynamodb', 's3'] as const;
export type AwsFault = (typeof awsFaults)[number];

export const chaosTemplateFile = path.join(__dirname, '..', '..', 'infra', '05-chaos.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed template JSON, checked by the tests
export type TemplateNode = Record<string, any>;

export interface ExperimentTemplate {
  logicalId: string;
  properties: TemplateNode;
}

/** Every AWS::FIS::ExperimentTemplate of the chaos template, by the fault its CloudwikiFault tag names. */
export function experimentTemplates(template: Template = readTemplate(chaosTemplateFile)): Map<string, ExperimentTemplate> {
  const found = new Map<string, ExperimentTemplate>();
  for (const [logicalId, resource] of Object.entries(template.Resources as Record<string, TemplateNode>)) {
    if (resource.Type !== 'AWS::FIS::ExperimentTemplate') continue;
    found.set(String(resource.Properties.Tags?.CloudwikiFault), { logicalId, properties: resource.Properties });
  }
  return found;
}

/** CloudFormation's intrinsics, printed the way a person reads them. */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(show).join(', ');
  const node = value as TemplateNode;
  if (node?.Ref) return `<${node.Ref}>`;
  if (node?.['Fn::ImportValue']) return `<export ${show(node['Fn::ImportValue'])}>`;
  if (node?.['Fn::Sub']) return show(Array.isArray(node['Fn::Sub']) ? node['Fn::Sub'][0] : node['Fn::Sub']);
  if (node?.['Fn::GetAtt']) return `<${node['Fn::GetAtt'].join('.')}>`;
  return JSON.stringify(value);
}

/** What the experiment does, one line per action, target and stop condition. */
function describeExperiment({ logicalId, properties }: ExperimentTemplate): string[] {
  const lines = [`FIS experiment template ${logicalId}: ${properties.Description}`];
  for (const [name, action] of Object.entries(properties.Actions as Record<string, TemplateNode>)) {
    const parameters = Object.entries((action.Parameters ?? {}) as TemplateNode).map(([key, value]) => `${key}=${show(value)}`);
    lines.push(`  action ${name}: ${action.ActionId}${parameters.length > 0 ? ` (${parameters.join(', ')})` : ''}`);
    for (const [key, targetName] of Object.entries(action.Targets as Record<string, string>)) {
      const target = (properties.Targets as Record<string, TemplateNode>)[targetName] ?? {};
      const selectors = [
        ...Object.entries((target.ResourceTags ?? {}) as TemplateNode).map(([tag, value]) => `tag ${tag}=${show(value)}`),
        ...((target.Filters ?? []) as TemplateNode[]).map((filter) => `${filter.Path} in [${show(filter.Values)}]`),
        ...((target.ResourceArns ?? []) as unknown[]).map((arn) => show(arn)),
      ];
      lines.push(`    ${key} = ${target.ResourceType}, ${target.SelectionMode}: ${selectors.join('; ')}`);
    }
  }
  for (const condition of properties.StopConditions as TemplateNode[])
    lines.push(`  stops when ${condition.Source} ${show(condition.Value)} alarms`);
  return lines;
}

export type AwsCli = (args: string[]) => Promise<string>;

const run = promisify(execFile);

/** The AWS CLI (no FIS SDK client is needed for two calls). */
const awsCli: AwsCli = async (args) => (await run('aws', args)).stdout.trim();

export class ChaosRefusal extends Error {}

export interface StartOptions {
  fault: AwsFault;
  /** The chaos stack, infra/05-chaos.yaml deployed (scripts/deploy names it <prefix>-chaos). */
  stackName: string;
  region: string;
  /** Without it the experiment is described, not started. */
  execute: boolean;
  log: (line: string) => void;
  aws?: AwsCli;
}

/** Prints the experiment for the fault; with execute, starts it and returns its id. */
export async function startFaultExperiment({
  fault,
  stackName,
  region,
  execute,
  log,
  aws = awsCli,
}: StartOptions): Promise<string | undefined> {
  const experiment = experimentTemplates().get(fault);
  if (!experiment) throw new ChaosRefusal(`no experiment template for "${fault}" in infra/05-chaos.yaml`);
  for (const line of describeExperiment(experiment)) log(line);
  const lookup = [
    'cloudformation',
    'describe-stack-resource',
    '--stack-name',
    stackName,
    '--logical-resource-id',
    experiment.logicalId,
    '--query',
    'StackResourceDetail.PhysicalResourceId',
    '--output',
    'text',
    '--region',
    region,
  ];
  if (!execute) {
    log(`DRY RUN: would run aws ${lookup.join(' ')}`);
    log(`DRY RUN: then aws fis start-experiment --experiment-template-id <that id> --region ${region} (add --yes to do it)`);
    return undefined;
  }
  const templateId = await aws(lookup);
  if (!/^EXT[A-Za-z0-9]+$/.test(templateId)) {
    throw new ChaosRefusal(
      `${stackName} has no experiment template ${experiment.logicalId} (got "${templateId}"): deploy infra/05-chaos.yaml first`,
    );
  }
  const experimentId = await aws([
    'fis',
    'start-experiment',
    '--experiment-template-id',
    templateId,
    '--tags',
    `CloudwikiFault=${fault}`,
    '--query',
    'experiment.id',
    '--output',
    'text',
    '--region',
    region,
  ]);
  log(`started FIS experiment ${experimentId} from ${templateId}`);
  log(
    `follow it: aws fis get-experiment --id ${experimentId} --region ${region}; stop it: aws fis stop-experiment --id ${experimentId} --region ${region}`,
  );
  return experimentId;
}
