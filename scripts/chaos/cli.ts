import '../services/quiet-sdk-warning';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { parseArgs } from 'node:util';
import { defaultFaultSeconds, localFaults, type LocalFault } from '../lab/faults';
import { readLabFile } from '../lab/lab-file';
import { availabilityZoneOutage, rebootDatabaseWithFailover, terminateRandomInstance, type AwsChaosContext } from './aws';
import { LabClient, runLocalFault } from './local';

const help = `npm run chaos -- <fault> [options]

Breaks something on purpose and follows the recovery.

Local faults (against the running \`npm run lab\`):
  instance   kill a random in-service instance (SIGKILL); the group replaces it
  az         every instance in one simulated AZ dies and nothing launches there for --seconds
  database   stop PostgreSQL for --seconds, then start it
  sessions   stop DynamoDB Local for --seconds, then start it
  all-web    kill every instance, launches suspended for --seconds: HAProxy serves the backup site

AWS faults (--aws; a DRY RUN unless --yes; never below the group's minimum healthy capacity):
  instance   terminate a random healthy InService instance of --asg
  database   reboot the Multi-AZ RDS instance --db-instance with failover
  az         remove one AZ's subnets (--az, or a random one) from --asg for --seconds, then restore

Options (defaults in brackets):
  --seconds N        how long the fault lasts [${defaultFaultSeconds}; 300 for --aws az]
  --az NAME          the zone: lab-b or b locally, eu-west-1b on AWS [random]
  --instance ID      the local instance to kill [random]
  --no-follow        return after injecting instead of following the recovery
  --json             print the fault record (id, victims, zone, ...) as one JSON line on stdout
  --timeout N        give up following after N seconds [180]
  --lab URL          the lab's status URL [read from .lab/lab.json]
  --aws              act on AWS instead of the lab
  --asg NAME         the Auto Scaling group (--aws instance, az)
  --db-instance ID   the RDS DB instance identifier (--aws database)
  --yes              really do it on AWS
  -h, --help         this help

Examples:
  npm run chaos -- instance
  npm run chaos -- database --seconds 10
  npm run chaos -- --aws instance --asg cloudwiki-web-WebAutoScalingGroup-abc --yes`;

function stamp(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string' },
      az: { type: 'string' },
      instance: { type: 'string' },
      'no-follow': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '180' },
      lab: { type: 'string' },
      aws: { type: 'boolean', default: false },
      asg: { type: 'string' },
      'db-instance': { type: 'string' },
      yes: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [fault] = positionals;
  if (values.help || !fault) {
    console.log(help);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 1))
    throw new Error(`--seconds must be a whole number >= 1, got ${values.seconds}`);

  if (values.aws) {
    if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION && !process.env.AWS_PROFILE) {
      throw new Error('--aws needs a region: set AWS_REGION (and credentials, e.g. AWS_PROFILE) for the account the stack is in');
    }
    const context: AwsChaosContext = {
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      rds: new RDSClient({}),
      execute: values.yes,
      log: stamp,
    };
    const need = (value: string | undefined, flag: string) => {
      if (!value) throw new Error(`--aws ${fault} needs ${flag}`);
      return value;
    };
    if (fault === 'instance') await terminateRandomInstance(context, need(values.asg, '--asg NAME'));
    else if (fault === 'database') await rebootDatabaseWithFailover(context, need(values['db-instance'], '--db-instance ID'));
    else if (fault === 'az') await availabilityZoneOutage(context, need(values.asg, '--asg NAME'), values.az, seconds ?? 300);
    else throw new Error(`"${fault}" has no AWS version; with --aws the faults are instance, database and az`);
    return;
  }

  if (!localFaults.includes(fault as LocalFault))
    throw new Error(`unknown fault "${fault}"; the local faults are ${localFaults.join(', ')}`);
  const client = new LabClient(values.lab ?? readLabFile().statusUrl);
  await runLocalFault(
    client,
    { fault: fault as LocalFault, seconds, az: values.az, instance: values.instance },
    {
      follow: !values['no-follow'],
      timeoutSeconds: Number(values.timeout),
      // With --json, stdout carries only the record: the progress lines go to stderr.
      log: values.json ? (line) => console.error(`${new Date().toISOString()} ${line}`) : stamp,
      onInjected: values.json ? (record) => console.log(JSON.stringify(record)) : undefined,
    },
  );
}

main().catch((error: unknown) => {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
