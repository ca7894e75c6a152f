import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The chaos CLI's word for the manual lever (docs/operations.md): the domain to the backup, or back with --undo. */
export const domainLever = 'failover-to-backup';

/** The edge stack's parameter that holds the domain on the backup (infra/04-edge.yaml). */
const leverParameter = 'SendDomainToBackup';

export interface LeverContext {
  /** Runs the AWS CLI with these arguments and returns what it printed. */
  aws: (args: string[]) => Promise<string>;
  /** Without it the update is described, not made. */
  execute: boolean;
  log: (line: string) => void;
}

export const awsCli: LeverContext['aws'] = async (args) => (await promisify(execFile)('aws', args, { maxBuffer: 1 << 20 })).stdout;

/**
 * Pulls (or releases) the lever on AWS: one stack update that changes SendDomainToBackup and
 * keeps the template and every other parameter as deployed. No DNS record is edited: the primary
 * record's health check turns unhealthy (or follows /health/deep again) and Route 53 does the rest.
 */
export async function setDomainLeverOnAws(context: LeverContext, edgeStack: string, toBackup: boolean): Promise<void> {
  const keys = JSON.parse(
    await context.aws([
      'cloudformation',
      'describe-stacks',
      '--stack-name',
      edgeStack,
      '--query',
      'Stacks[0].Parameters[].ParameterKey',
      '--output',
      'json',
    ]),
  ) as string[];
  if (!keys.includes(leverParameter))
    throw new Error(`${edgeStack} has no ${leverParameter} parameter: is it the edge stack, deployed from this infra/04-edge.yaml?`);
  const parameters = keys.map((key) =>
    key === leverParameter ? `ParameterKey=${key},ParameterValue=${toBackup}` : `ParameterKey=${key},UsePreviousValue=true`,
  );
  const update = ['cloudformation', 'update-stack', '--stack-name', edgeStack, '--use-previous-template', '--parameters', ...parameters];
  const what = toBackup ? 'send the domain to the backup site' : 'let /health/deep decide where the domain points again';
  if (!context.execute) {
    context.log(`DRY RUN: would ${what}: aws ${update.join(' ')} (add --yes to do it)`);
    return;
  }
  context.log(`doing: ${what} (${edgeStack}: ${leverParameter}=${toBackup})`);
  await context.aws(update);
  await context.aws(['cloudformation', 'wait', 'stack-update-complete', '--stack-name', edgeStack]);
  context.log(
    `done: Route 53 acts on its next checks (up to 30 s), then resolvers follow within the record's 60 s TTL, browsers within the ALB's keep-alive`,
  );
}
