import '../../dev/quiet-sdk-warning';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Command } from 'commander';
import { defaultFaultSeconds, localFaults, type LocalFault } from '../lab/faults';
import { readLabFile } from '../lab/lab-file';
import { wholeNumber } from '../services/cli-options';
import { availabilityZoneOutage, rebootDatabaseWithFailover, terminateRandomInstance, type AwsChaosContext } from './aws';
import { awsCli, domainLever, setDomainLeverOnAws } from './domain-lever';
import { LabClient, runLocalFault } from './local';

const program = new Command('npm run chaos --')
  .description('Breaks something on purpose and follows the recovery: the running lab, or a deployed stack with --aws.')
  .argument('<fault>', 'what to break (the lists below)')
  .option('--seconds <n>', `how long the fault lasts [default: ${defaultFaultSeconds}; 300 for --aws az]`, wholeNumber(1, 600))
  .option('--az <name>', 'the zone: lab-b or b locally, eu-west-1b on AWS [default: random]')
  .option('--instance <id>', 'the local instance to kill or signal [default: a random in-service one]')
  .option('--no-follow', 'return after injecting instead of following the recovery')
  .option('--json', 'print the fault record (id, fault, victims, zone, ...) as one JSON line on stdout; progress goes to stderr', false)
  .option('--timeout <n>', 'give up following after N seconds', wholeNumber(1), 180)
  .option('--lab <url>', "the lab's status URL [default: read from .lab/lab.json]")
  .option('--aws', 'act on AWS instead of the lab', false)
  .option('--asg <name>', 'the Auto Scaling group (--aws instance, az)')
  .option('--db-instance <id>', 'the RDS DB instance identifier (--aws database)')
  .option('--yes', 'really do it on AWS (otherwise a dry run)', false)
  .option('--undo', `${domainLever}: bring the domain back (the health check decides again)`, false)
  .option('--edge-stack <name>', `the edge stack (--aws ${domainLever})`, 'cloudwiki-edge')
  .addHelpText(
    'after',
    `
Local faults (against the running \`npm run lab\`; the lab undoes each when --seconds are up):
  instance     kill an in-service instance (SIGKILL: a crash); the group replaces it
  sigterm      a bare SIGTERM to an in-service instance, no help from the load balancer: the app
               drains by itself; the group sends a second SIGTERM once HAProxy marks it down
  az           every instance in one AZ dies (and the database replica, when it lives there);
               nothing launches there for --seconds
  database     stop PostgreSQL (the primary) for --seconds, then start it
  db-freeze    SIGSTOP PostgreSQL and its backends for --seconds, then SIGCONT: a hung primary or
               a network partition (connections open, nothing answers)
  replica      stop the read replica for --seconds, then start it (it catches up by streaming)
  db-failover  stop the primary, promote the replica, move the writer endpoint to it (like an RDS
               Multi-AZ failover); prints the seconds until writes succeed again; the old primary
               is rebuilt as the new replica
  sessions     stop DynamoDB Local for --seconds, then start it
  all-web      kill every instance, launches suspended for --seconds: HAProxy serves the read-only
               backup site

The manual lever (the domain to the backup copy and back, no record edited; docs/operations.md):
  ${domainLever}   the lab's domain serves the backup copy until --undo; with --aws, the edge
               stack's SendDomainToBackup parameter (a dry run unless --yes)

AWS faults (--aws; a DRY RUN unless --yes; never below the group's minimum healthy capacity):
  instance     terminate a random healthy InService instance of --asg
  database     reboot the Multi-AZ RDS instance --db-instance with failover
  az           remove one AZ's subnets (--az, or a random one) from --asg for --seconds, then restore

Examples:
  npm run chaos -- instance
  npm run chaos -- db-failover
  npm run chaos -- database --seconds 10
  npm run chaos -- az --az b --no-follow --json
  npm run chaos -- --aws instance --asg cloudwiki-web-WebAutoScalingGroup-abc --yes
  npm run chaos -- ${domainLever}            then: npm run chaos -- ${domainLever} --undo
  npm run chaos -- --aws ${domainLever} --edge-stack cloudwiki-edge --yes`,
  );

interface ChaosCliOptions {
  seconds?: number;
  az?: string;
  instance?: string;
  follow: boolean;
  json: boolean;
  timeout: number;
  lab?: string;
  aws: boolean;
  asg?: string;
  dbInstance?: string;
  yes: boolean;
  undo: boolean;
  edgeStack: string;
}

function stamp(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  program.parse();
  const [fault] = program.args as [string];
  const options = program.opts<ChaosCliOptions>();
  const { seconds } = options;

  if (fault === domainLever) {
    const toBackup = !options.undo;
    if (options.aws) await setDomainLeverOnAws({ aws: awsCli, execute: options.yes, log: stamp }, options.edgeStack, toBackup);
    else {
      const domain = await new LabClient(options.lab ?? readLabFile().statusUrl).sendDomainTo(toBackup ? 'backup' : 'live');
      stamp(
        toBackup
          ? `the lab's domain now serves the backup copy (held there by hand: undo with --undo)`
          : `released: the domain follows /health/deep again (now ${domain.target}, live server ${domain.liveCheck})`,
      );
    }
    return;
  }

  if (options.aws) {
    if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION && !process.env.AWS_PROFILE) {
      throw new Error('--aws needs a region: set AWS_REGION (and credentials, e.g. AWS_PROFILE) for the account the stack is in');
    }
    const context: AwsChaosContext = {
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      rds: new RDSClient({}),
      execute: options.yes,
      log: stamp,
    };
    const need = (value: string | undefined, flag: string) => {
      if (!value) throw new Error(`--aws ${fault} needs ${flag}`);
      return value;
    };
    if (fault === 'instance') await terminateRandomInstance(context, need(options.asg, '--asg NAME'));
    else if (fault === 'database') await rebootDatabaseWithFailover(context, need(options.dbInstance, '--db-instance ID'));
    else if (fault === 'az') await availabilityZoneOutage(context, need(options.asg, '--asg NAME'), options.az, seconds ?? 300);
    else throw new Error(`"${fault}" has no AWS version; with --aws the faults are instance, database and az`);
    return;
  }

  if (!localFaults.includes(fault as LocalFault))
    throw new Error(`unknown fault "${fault}"; the local faults are ${localFaults.join(', ')}`);
  const client = new LabClient(options.lab ?? readLabFile().statusUrl);
  await runLocalFault(
    client,
    { fault: fault as LocalFault, seconds, az: options.az, instance: options.instance },
    {
      follow: options.follow,
      timeoutSeconds: options.timeout,
      // With --json, stdout carries only the record: the progress lines go to stderr.
      log: options.json ? (line) => console.error(`${new Date().toISOString()} ${line}`) : stamp,
      onInjected: options.json ? (record) => console.log(JSON.stringify(record)) : undefined,
    },
  );
}

main().catch((error: unknown) => {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
