import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readTemplate } from '../../scripts/lint-infra/cfn-yaml';

const run = promisify(execFile);
const repositoryRoot = path.join(__dirname, '..', '..');
const deploy = path.join(repositoryRoot, 'scripts', 'deploy');

let scratch: string;
let artifact: string;
let callLog: string;
let backupSite: string;
let artifactSha256: string;

const requiredOptions = () => [
  '--domain',
  'wiki.example.com',
  '--hosted-zone-id',
  'Z0123456789ABCDEFGHIJ',
  '--certificate-arn',
  'arn:aws:acm:eu-west-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-0123456789ab',
  '--cloudfront-certificate-arn',
  'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab',
  '--backup-site',
  backupSite,
  '--artifact',
  artifact,
  '--region',
  'eu-west-1',
];

/**
 * Runs scripts/deploy with the stand-in `aws`. `standIn` sets its answers: STANDIN_STACKS
 * ("<stack>:<key>=<value>" lines), STANDIN_S3 (the bucket directory; a fresh one by default),
 * STANDIN_AMI, STANDIN_EMPTY_CHANGE_SET.
 */
async function deployWith(args: string[], standIn: Record<string, string> = {}) {
  writeFileSync(callLog, '');
  const env = {
    ...process.env,
    PATH: `${path.join(__dirname, 'deploy-stand-ins')}:${process.env.PATH}`,
    STANDIN_LOG: callLog,
    STANDIN_S3: mkdtempSync(path.join(scratch, 's3-')),
    ...standIn,
  };
  const result = await run(deploy, args, { env });
  return { ...result, calls: readFileSync(callLog, 'utf8').split('\n').filter(Boolean) };
}

const printedCalls = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('+ '));

/** The lines that create or update a stack: `cloudformation deploy`, or the web stack's change set. */
const stackDeploys = (lines: string[]) =>
  lines.filter((line) => line.startsWith('+ aws cloudformation deploy') || line.startsWith('+ aws cloudformation create-change-set'));

/**
 * The parameter keys of a printed `cloudformation deploy` line (`--parameter-overrides K=V ...`)
 * or `create-change-set` line (`--parameters ParameterKey=K,ParameterValue=V ...`), with its template.
 */
function parametersOf(line: string): { template: string; keys: string[]; values: Record<string, string> } {
  const words = line.split(' ');
  const templateWord = words.includes('--template-file')
    ? (words[words.indexOf('--template-file') + 1] as string)
    : (words[words.indexOf('--template-body') + 1] as string);
  const template = path.basename(templateWord);
  const values: Record<string, string> = {};
  if (words.includes('--parameter-overrides')) {
    for (const word of words.slice(words.indexOf('--parameter-overrides') + 1)) {
      const match = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(word);
      if (match) values[match[1] as string] = match[2] as string;
    }
  } else {
    for (const word of words) {
      // The call log quotes like printf %q: the comma comes escaped.
      const match = /^ParameterKey=([A-Za-z0-9]+)\\?,ParameterValue=(.*)$/.exec(word);
      if (match) values[match[1] as string] = match[2] as string;
    }
  }
  return { template, keys: Object.keys(values), values };
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-deploy-'));
  artifact = path.join(scratch, 'cloudwiki-1.2.3-abcdef1234.tar.gz');
  writeFileSync(artifact, 'artifact bytes');
  await run('sh', ['-c', `sha256sum ${path.basename(artifact)} > ${path.basename(artifact)}.sha256`], { cwd: scratch });
  artifactSha256 = readFileSync(`${artifact}.sha256`, 'utf8').split(' ')[0] as string;
  callLog = path.join(scratch, 'calls.log');
  backupSite = path.join(scratch, 'static-site');
  mkdirSync(backupSite);
  writeFileSync(path.join(backupSite, 'maintenance.html'), '<p>down for maintenance</p>');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Every deploy runs npm run lint:infra first; the stand-in npm passes it at once, except in the test
// that a failing template stops the deploy, which runs the real one (AWS's validator and cdk-nag:
// close to a minute on a busy two-core machine).
jest.setTimeout(120_000);

describe('scripts/deploy', () => {
  test('when asked for --help, then it explains every option', async () => {
    const { stdout } = await deployWith(['--help']);
    for (const option of [
      '--domain',
      '--hosted-zone-id',
      '--cloudfront-certificate-arn',
      '--certificate-arn',
      '--artifact',
      '--backup-site',
      '--dry-run',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  test('when run with --dry-run, then it prints every AWS call in deploy order and makes none', async () => {
    const { stdout, calls } = await deployWith(['--dry-run', ...requiredOptions()]);
    expect(calls).toEqual([]);
    const printed = printedCalls(stdout);
    const deploys = stackDeploys(printed);
    expect(deploys.map((line) => parametersOf(line).template)).toEqual(['01-network.yaml', '02-data.yaml', '03-web.yaml', '04-edge.yaml']);
    const uploadIndex = printed.findIndex((line) =>
      line.includes(
        `s3api put-object --bucket cloudwiki-data:ReleasesBucketName --key releases/1.2.3-abcdef1234/${artifactSha256}/cloudwiki.tar.gz --body ${artifact} --if-none-match \\*`,
      ),
    );
    expect(uploadIndex).toBeGreaterThan(printed.indexOf(deploys[1] as string));
    expect(uploadIndex).toBeLessThan(printed.indexOf(deploys[2] as string));
    // The boot scripts travel inside the checksummed artifact, not beside it.
    expect(printed).not.toContainEqual(expect.stringContaining('s3 cp'));
    expect(printed).toContainEqual(
      `+ env ASSETS_BUCKET=cloudwiki-data:AssetsBucketName AWS_REGION=eu-west-1 npm --prefix ${repositoryRoot} run --silent assets:publish`,
    );
    // The backup site is published before the edge stack makes it Route 53's secondary.
    const backupPublish = printed.indexOf(
      `+ env BACKUP_SITE_BUCKET=cloudwiki-data:BackupSiteBucketName AWS_REGION=eu-west-1 npm --prefix ${repositoryRoot} run --silent static-site:publish -- --dir ${backupSite} --only-if-new`,
    );
    expect(backupPublish).toBeGreaterThan(printed.indexOf(deploys[1] as string));
    expect(backupPublish).toBeLessThan(printed.indexOf(deploys[3] as string));
    expect(deploys[2]).toContain('--capabilities CAPABILITY_IAM');
    expect(parametersOf(deploys[2] as string).values.ArtifactSha256).toBe(artifactSha256);
    for (const line of printed.filter((l) => l.startsWith('+ aws '))) expect(line).toMatch(/ --region eu-west-1$/);
    expect(stdout).toContain('wiki:          cloudwiki-edge:WikiUrl');
  });

  test('when the stacks are deployed, then each template gets all its required parameters and only parameters it declares', async () => {
    const { stdout } = await deployWith(['--dry-run', ...requiredOptions()]);
    for (const line of stackDeploys(printedCalls(stdout))) {
      const { template, keys } = parametersOf(line);
      const parameters = readTemplate(path.join(repositoryRoot, 'infra', template)).Parameters as Record<string, { Default?: unknown }>;
      const required = Object.entries(parameters)
        .filter(([, p]) => p.Default === undefined)
        .map(([name]) => name);
      expect({ template, unknown: keys.filter((key) => !(key in parameters)) }).toEqual({ template, unknown: [] });
      expect({ template, missing: required.filter((name) => !keys.includes(name)) }).toEqual({ template, missing: [] });
    }
  });

  test('when run for real, then it makes exactly the calls the dry run printed', async () => {
    const dryRun = await deployWith(['--dry-run', ...requiredOptions()]);
    const realRun = await deployWith(requiredOptions());
    expect(realRun.calls).toEqual(printedCalls(dryRun.stdout));
    expect(realRun.stdout).toContain('wiki:          cloudwiki-edge:WikiUrl');
  });

  test('when no load balancer certificate is given, then it refuses: there is no plain-HTTP mode', async () => {
    const options = requiredOptions();
    options.splice(options.indexOf('--certificate-arn'), 2);
    await expect(deployWith(['--dry-run', ...options])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--certificate-arn is required'),
    });
  });

  test('when there is no built backup site, then nothing is deployed', async () => {
    const options = requiredOptions();
    options[options.indexOf('--backup-site') + 1] = path.join(scratch, 'no-such-site');
    await expect(deployWith(['--dry-run', ...options])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no backup site'),
    });
  });

  test('when a required option is missing, then it names it and exits 2', async () => {
    await expect(deployWith(['--dry-run', '--domain', 'wiki.example.com'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--hosted-zone-id is required'),
    });
  });

  test('when no region is given, then it asks for one before calling AWS', async () => {
    const options = requiredOptions().slice(0, -2);
    const { AWS_REGION: _unset, ...environment } = process.env;
    const result = run(deploy, options, { env: { ...environment, STANDIN_LOG: callLog } });
    await expect(result).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('set --region or AWS_REGION') });
  });

  test('when a template fails lint:infra, then nothing is deployed', async () => {
    const brokenCheckout = mkdtempSync(path.join(scratch, 'checkout-'));
    await run('cp', [
      '-r',
      path.join(repositoryRoot, 'scripts'),
      path.join(repositoryRoot, 'infra'),
      path.join(repositoryRoot, 'package.json'),
      brokenCheckout,
    ]);
    await run('ln', ['-s', path.join(repositoryRoot, 'node_modules'), path.join(brokenCheckout, 'node_modules')]);
    await run('ln', ['-s', path.join(repositoryRoot, 'app'), path.join(brokenCheckout, 'app')]);
    const web = path.join(brokenCheckout, 'infra', '03-web.yaml');
    writeFileSync(web, readFileSync(web, 'utf8').replace('HealthCheckPath: /health', 'HealthCheckPaht: /health'));
    writeFileSync(callLog, '');
    const env = {
      ...process.env,
      PATH: `${path.join(__dirname, 'deploy-stand-ins')}:${process.env.PATH}`,
      STANDIN_LOG: callLog,
      STANDIN_REAL_LINT: '1',
    };
    await expect(run(path.join(brokenCheckout, 'scripts', 'deploy'), requiredOptions(), { env })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /FAIL infra\/03-web\.yaml\n {2}Resources\.TargetGroup\.Properties\.HealthCheckPaht: unknown property[\s\S]*fix the templates first/,
      ),
    });
    expect(readFileSync(callLog, 'utf8')).toBe('');
  });

  test('when the artifact does not match its checksum file, then nothing is deployed', async () => {
    const tampered = path.join(scratch, 'cloudwiki-1.2.4-tampered.tar.gz');
    writeFileSync(tampered, 'other bytes');
    writeFileSync(`${tampered}.sha256`, `${'0'.repeat(64)}  ${path.basename(tampered)}\n`);
    const options = requiredOptions();
    options[options.indexOf('--artifact') + 1] = tampered;
    await expect(deployWith(options)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('does not match') });
    expect(readFileSync(callLog, 'utf8')).toBe('');
  });

  test('when the same commit is deployed again, rebuilt or not, then no existing release key is ever overwritten', async () => {
    const bucket = mkdtempSync(path.join(scratch, 's3-'));
    const releases = path.join(bucket, 'cloudwiki-data:ReleasesBucketName', 'releases', '1.2.3-abcdef1234');
    const first = await deployWith(requiredOptions(), { STANDIN_S3: bucket });
    const firstKey = path.join(releases, artifactSha256, 'cloudwiki.tar.gz');
    expect(readFileSync(firstKey, 'utf8')).toBe('artifact bytes');
    for (const upload of first.calls.filter((call) => call.includes(' s3api put-object ')))
      expect(upload).toContain(' --if-none-match \\* ');

    // The same commit rebuilt: the same file name, other bytes (a new timestamp in the tarball).
    const rebuilt = path.join(mkdtempSync(path.join(scratch, 'rebuilt-')), path.basename(artifact));
    writeFileSync(rebuilt, 'rebuilt artifact bytes');
    await run('sh', ['-c', `sha256sum ${path.basename(rebuilt)} > ${path.basename(rebuilt)}.sha256`], { cwd: path.dirname(rebuilt) });
    const rebuiltSha256 = readFileSync(`${rebuilt}.sha256`, 'utf8').split(' ')[0] as string;
    const options = requiredOptions();
    options[options.indexOf('--artifact') + 1] = rebuilt;
    const second = await deployWith(options, { STANDIN_S3: bucket });
    // What the running (and any rolling-back) launch template names is untouched; the new one
    // names its own key.
    expect(readFileSync(firstKey, 'utf8')).toBe('artifact bytes');
    expect(readFileSync(path.join(releases, rebuiltSha256, 'cloudwiki.tar.gz'), 'utf8')).toBe('rebuilt artifact bytes');
    expect(parametersOf(stackDeploys(second.calls)[2] as string).values.ArtifactSha256).toBe(rebuiltSha256);

    // The very same bytes again: S3 refuses the conditional put, and the deploy carries on.
    const third = await deployWith(requiredOptions(), { STANDIN_S3: bucket });
    expect(third.stderr).toContain('already in the releases bucket; left as it is');
    expect(readFileSync(firstKey, 'utf8')).toBe('artifact bytes');
    expect(stackDeploys(third.calls)).toHaveLength(4);
  }, 240_000);

  test('when a new release is deployed, then the AMI is resolved once, from SSM, and passed in', async () => {
    const { calls } = await deployWith(requiredOptions(), { STANDIN_AMI: 'ami-0fedcba9876543210' });
    expect(calls.filter((call) => call.includes(' ssm get-parameter '))).toEqual([
      '+ aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64 --query Parameter.Value --output text --region eu-west-1',
    ]);
    expect(parametersOf(stackDeploys(calls)[2] as string).values.ImageId).toBe('ami-0fedcba9876543210');
  });

  test('when the running release is deployed again, then it keeps its AMI and the fleet does not roll', async () => {
    const { calls } = await deployWith(requiredOptions(), {
      STANDIN_STACKS: `cloudwiki-web:ArtifactSha256=${artifactSha256}\ncloudwiki-web:ImageId=ami-0aaaaaaaaaaaaaaaa`,
      STANDIN_AMI: 'ami-0fedcba9876543210',
    });
    expect(calls.filter((call) => call.includes(' ssm '))).toEqual([]);
    expect(parametersOf(stackDeploys(calls)[2] as string).values.ImageId).toBe('ami-0aaaaaaaaaaaaaaaa');
  });

  test('when --ami is given, then that AMI runs and nothing is looked up', async () => {
    const { calls } = await deployWith([...requiredOptions(), '--ami', 'ami-0bbbbbbbbbbbbbbbb']);
    expect(calls.filter((call) => call.includes(' ssm '))).toEqual([]);
    expect(parametersOf(stackDeploys(calls)[2] as string).values.ImageId).toBe('ami-0bbbbbbbbbbbbbbbb');
  });

  test('when the web stack is updated, then its change set rolls back on the 5xx and latency alarms', async () => {
    const { calls } = await deployWith(requiredOptions());
    const web = stackDeploys(calls)[2] as string;
    expect(web).toMatch(/^\+ aws cloudformation create-change-set --stack-name cloudwiki-web .*--change-set-type UPDATE /);
    expect(web).toContain('--capabilities CAPABILITY_IAM');
    const rollback = /--rollback-configuration (\S+)/.exec(web)?.[1]?.replace(/\\/g, '');
    expect(rollback).toBe(
      'RollbackTriggers=[{Arn=cloudwiki-web:ServerErrorRateAlarmArn,Type=AWS::CloudWatch::Alarm},{Arn=cloudwiki-web:LatencyP99AlarmArn,Type=AWS::CloudWatch::Alarm}],MonitoringTimeInMinutes=15',
    );
    const changeSet = /--change-set-name (\S+)/.exec(web)?.[1];
    const after = calls.slice(calls.indexOf(web) + 1).map((call) => call.split(' --stack-name')[0]);
    expect(after.slice(0, 3)).toEqual([
      '+ aws cloudformation wait change-set-create-complete',
      '+ aws cloudformation execute-change-set',
      '+ aws cloudformation wait stack-update-complete',
    ]);
    expect(calls).toContainEqual(
      `+ aws cloudformation execute-change-set --stack-name cloudwiki-web --change-set-name ${changeSet} --region eu-west-1`,
    );
    // The web template travels inline in the change set: CloudFormation takes at most 51,200 bytes so.
    expect(readFileSync(path.join(repositoryRoot, 'infra', '03-web.yaml')).length).toBeLessThanOrEqual(51_200);
  });

  test('when the web stack does not exist yet, then it is created without triggers: its alarms do not exist either', async () => {
    const { calls } = await deployWith(requiredOptions(), {
      STANDIN_STACKS: 'cloudwiki-web:ServerErrorRateAlarmArn=\ncloudwiki-web:LatencyP99AlarmArn=',
    });
    const web = stackDeploys(calls)[2] as string;
    expect(web).toMatch(/^\+ aws cloudformation deploy --stack-name cloudwiki-web --template-file \S+\/03-web\.yaml /);
    expect(calls.filter((call) => call.includes('change-set'))).toEqual([]);
  });

  test('when the change set has nothing to change, then it is deleted and the deploy goes on', async () => {
    const { calls, stderr } = await deployWith(requiredOptions(), { STANDIN_EMPTY_CHANGE_SET: '1' });
    expect(calls.filter((call) => call.includes('execute-change-set'))).toEqual([]);
    expect(calls).toContainEqual(expect.stringMatching(/^\+ aws cloudformation delete-change-set --stack-name cloudwiki-web /));
    expect(stderr).toContain('cloudwiki-web already runs this release with these settings');
    expect(stackDeploys(calls).map((line) => parametersOf(line).template)).toContain('04-edge.yaml');
  });
});
