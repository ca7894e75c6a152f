import '../../dev/quiet-sdk-warning';
import { Command } from 'commander';
import { defaultFaultSeconds, localFaults, type LocalFault } from '../lab/faults';
import { readLabFile } from '../lab/lab-file';
import { wholeNumber } from '../services/cli-options';
import { awsFaults, startFaultExperiment, type AwsFault } from './aws';
import { awsCli, domainLever, setDomainLeverOnAws } from './domain-lever';
import { LabClient, runLocalFault } from './local';

const program = new Command('npm run chaos --')
  .description('Breaks something on purpose and follows the recovery: the running lab, or a deployed stack with --aws.')
  .argument('<fault>', 'what to break (the lists below)')
  .option('--seconds <n>', `how long a local fault lasts [default: ${defaultFaultSeconds}]`, wholeNumber(1, 600))
  .option('--az <name>', "the zone: lab-b or b in the lab [default: random]; on AWS the chaos stack's FaultZone")
  .option('--instance <id>', 'the local instance to kill or signal [default: a random in-service one]')
  .option('--no-follow', 'return after injecting instead of following the recovery')
  .option('--json', 'print the fault record (id, fault, victims, zone, ...) as one JSON line on stdout; progress goes to stderr', false)
  .option('--timeout <n>', 'give up following after N seconds', wholeNumber(1), 180)
  .option('--lab <url>', "the lab's status URL [default: read from .lab/lab.json]")
  .option('--aws', 'start the fault as an AWS FIS experiment of a deployed stack instead of in the lab', false)
  .option('--stack-prefix <prefix>', 'the deployment (--aws): its chaos stack is <prefix>-chaos', 'cloudwiki')
  .option('--yes', 'really start the experiment on AWS (otherwise a dry run)', false)
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

AWS faults (--aws): AWS Fault Injection Service experiments of the chaos stack (infra/05-chaos.yaml),
each stopped by the web stack's 5xx alarm. Prints the experiment; starts it only with --yes:
  instance     terminate one running web instance
  az           terminate every web instance in the chaos stack's FaultZone
  az-network   cut the FaultZone's subnets off the network for FaultMinutes
  database     reboot the Multi-AZ writer with a forced failover
  dynamodb     make DynamoDB (the sessions table) unreachable from the VPC for FaultMinutes
  s3           make S3 unreachable from the VPC for FaultMinutes

Examples:
  npm run chaos -- instance
  npm run chaos -- db-failover
  npm run chaos -- database --seconds 10
  npm run chaos -- az --az b --no-follow --json
  npm run chaos -- --aws database
  npm run chaos -- --aws az-network --stack-prefix cloudwiki --yes
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
  stackPrefix: string;
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
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region)
      throw new Error('--aws needs a region: set AWS_REGION (and credentials, e.g. AWS_PROFILE) for the account the stack is in');
    if (!awsFaults.includes(fault as AwsFault))
      throw new Error(`"${fault}" has no AWS version; with --aws the faults are ${awsFaults.join(', ')}`);
    await startFaultExperiment({
      fault: fault as AwsFault,
      stackName: `${options.stackPrefix}-chaos`,
      region,
      execute: options.yes,
      log: stamp,
    });
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
