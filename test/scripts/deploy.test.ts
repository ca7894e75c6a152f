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

async function deployWith(args: string[]) {
  writeFileSync(callLog, '');
  const env = { ...process.env, PATH: `${path.join(__dirname, 'deploy-stand-ins')}:${process.env.PATH}`, STANDIN_LOG: callLog };
  const result = await run(deploy, args, { env });
  return { ...result, calls: readFileSync(callLog, 'utf8').split('\n').filter(Boolean) };
}

const printedCalls = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('+ '));

/** The `--parameter-overrides` keys of a printed `cloudformation deploy` line, with its template. */
function parametersOf(line: string): { template: string; keys: string[] } {
  const words = line.split(' ');
  const template = path.basename(words[words.indexOf('--template-file') + 1] as string);
  const start = words.indexOf('--parameter-overrides') + 1;
  const keys = words
    .slice(start)
    .filter((word) => /^[A-Za-z][A-Za-z0-9]*=/.test(word))
    .map((word) => word.slice(0, word.indexOf('=')));
  return { template, keys };
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-deploy-'));
  artifact = path.join(scratch, 'cloudwiki-1.2.3-abcdef1234.tar.gz');
  writeFileSync(artifact, 'artifact bytes');
  await run('sh', ['-c', `sha256sum ${path.basename(artifact)} > ${path.basename(artifact)}.sha256`], { cwd: scratch });
  callLog = path.join(scratch, 'calls.log');
  backupSite = path.join(scratch, 'static-site');
  mkdirSync(backupSite);
  writeFileSync(path.join(backupSite, 'maintenance.html'), '<p>down for maintenance</p>');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Every deploy runs npm run lint:infra first (the spec check and cdk-nag): give each test room.
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
    const deploys = printed.filter((line) => line.startsWith('+ aws cloudformation deploy'));
    expect(deploys.map((line) => parametersOf(line).template)).toEqual(['01-network.yaml', '02-data.yaml', '03-web.yaml', '04-edge.yaml']);
    const uploadIndex = printed.findIndex((line) =>
      line.includes(
        `s3 cp --only-show-errors ${artifact} s3://cloudwiki-data:ReleasesBucketName/releases/1.2.3-abcdef1234/cloudwiki.tar.gz`,
      ),
    );
    expect(uploadIndex).toBeGreaterThan(printed.indexOf(deploys[1] as string));
    expect(uploadIndex).toBeLessThan(printed.indexOf(deploys[2] as string));
    // The boot scripts travel inside the checksummed artifact, not beside it.
    expect(printed).not.toContainEqual(expect.stringContaining('s3 cp --only-show-errors --recursive'));
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
    expect(deploys[2]).toMatch(/ArtifactSha256=[0-9a-f]{64} /);
    for (const line of printed.filter((l) => l.startsWith('+ aws '))) expect(line).toMatch(/ --region eu-west-1$/);
    expect(stdout).toContain('wiki:          cloudwiki-edge:WikiUrl');
  });

  test('when the stacks are deployed, then each template gets all its required parameters and only parameters it declares', async () => {
    const { stdout } = await deployWith(['--dry-run', ...requiredOptions()]);
    for (const line of printedCalls(stdout).filter((l) => l.startsWith('+ aws cloudformation deploy'))) {
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
    const env = { ...process.env, PATH: `${path.join(__dirname, 'deploy-stand-ins')}:${process.env.PATH}`, STANDIN_LOG: callLog };
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
});
