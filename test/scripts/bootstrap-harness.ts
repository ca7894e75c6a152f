import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { readTemplate } from '../../scripts/lint-infra/cfn-yaml';
import { freePort } from '../../scripts/services/ports';
import { healthPath, local } from '../../app/contracts';

// Runs a web instance's boot on this machine: the user data from infra/03-web.yaml, then the
// scripts/bootstrap/bootstrap.sh inside the release artifact, in a scratch root. The release comes
// from a local s3rver bucket, instance identity from a fake IMDSv2 on loopback; dnf, the AWS CLI,
// systemctl, the CloudWatch agent and cfn-signal are recording stand-ins (test/scripts/stand-ins).

export const run = promisify(execFile);
export const repositoryRoot = path.join(__dirname, '..', '..');
const standIns = path.join(__dirname, 'stand-ins');
const releasesBucket = 'cloudwiki-releases-test';
export const instanceId = 'i-0123456789abcdef0';
export const availabilityZone = 'us-test-1b';
export const region = 'us-test-1';
const sessionSecretArn = `arn:aws:secretsmanager:${region}:123456789012:secret:cloudwiki-session-AbCdEf`;
export const databaseSecretArn = `arn:aws:secretsmanager:${region}:123456789012:secret:rds!db-0123-AbCdEf`;
const imdsToken = 'imds-session-token';

/** The values CloudFormation would substitute into the user data, for this test's stacks. */
export function stackValues(releaseId: string, artifactSha256: string, appPort: number): Record<string, string> {
  return {
    'AWS::StackName': 'cloudwiki-web',
    'AWS::Region': region,
    ReleasesBucket: releasesBucket,
    ReleaseId: releaseId,
    ArtifactSha256: artifactSha256,
    AppPort: String(appPort),
    DatabaseWriterHost: 'writer.cluster.internal',
    DatabaseReaderHost: 'reader.cluster.internal',
    DatabasePort: '5432',
    DatabaseName: 'cloudwiki',
    DatabaseUsername: 'cloudwiki',
    DatabaseSecretArn: databaseSecretArn,
    SessionTable: 'cloudwiki-data-SessionTable-ABC',
    SessionSecretArn: sessionSecretArn,
    AssetsBucket: 'cloudwiki-assets-test',
    UploadsBucket: 'cloudwiki-uploads-test',
    BackupSiteBucket: 'cloudwiki-backup-test',
    AssetBaseUrl: 'https://assets.wiki.example.com/assets',
    AppLogGroup: '/cloudwiki/cloudwiki-web/app',
  };
}

/** The launch template's user data with CloudFormation's Fn::Sub applied to the given values. */
export function renderUserData(values: Record<string, string>): string {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed template JSON, checked by test/infra
  const resources = readTemplate(path.join(repositoryRoot, 'infra', '03-web.yaml')).Resources as Record<string, any>;
  const [text, variables] = resources.LaunchTemplate.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'] as [
    string,
    Record<string, unknown>,
  ];
  const unused = Object.keys(variables).filter((name) => !(name in values));
  if (unused.length > 0) throw new Error(`the test gives no value for ${unused.join(', ')}`);
  return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const value = values[name];
    if (value === undefined) throw new Error(`the test gives no value for \${${name}} in the user data`);
    return value;
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

export interface Boot {
  root: string;
  exitCode: number;
  output: string;
  calls: string[][];
  appPort: number;
}

interface BootOptions {
  bootstrapEnv?: Record<string, string>;
  serviceEnv?: Record<string, string | null>;
}

export interface BootHarness {
  imdsRequests: string[];
  /**
   * Uploads an artifact to releases/<id>/<sha256>/, as scripts/deploy does; returns its SHA-256.
   * `keySha256` puts it under another checksum's key, as a tampered bucket would.
   */
  publishRelease(releaseId: string, artifact: string, keySha256?: string): Promise<string>;
  /**
   * Runs the user data. `bootstrapEnv` adds to the bootstrap's environment (its defaults block);
   * `serviceEnv` is merged over the unit's environment by the stand-in systemctl.
   */
  boot(releaseId: string, artifactSha256: string, options?: BootOptions): Promise<Boot>;
  scratch: string;
  close(): Promise<void>;
}

/** IMDSv2 as EC2 serves it: a PUT for a token, then GETs that must carry it. */
function fakeImds(requests: string[]) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    requests.push(`${request.method} ${request.url}`);
    if (request.method === 'PUT' && request.url === '/latest/api/token' && request.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      response.end(imdsToken);
      return;
    }
    if (request.headers['x-aws-ec2-metadata-token'] !== imdsToken) {
      response.writeHead(401).end();
      return;
    }
    const metadata: Record<string, string> = {
      '/latest/meta-data/instance-id': instanceId,
      '/latest/meta-data/placement/region': region,
      '/latest/meta-data/placement/availability-zone': availabilityZone,
    };
    const value = metadata[request.url ?? ''];
    if (value === undefined) response.writeHead(404).end();
    else response.end(value);
  };
}

export async function startBootHarness(): Promise<BootHarness> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-bootstrap-'));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(scratch, 's3'),
    configureBuckets: [{ name: releasesBucket, configs: [] }],
  });
  const { port } = (await s3rver.run()) as AddressInfo;
  const s3Endpoint = `http://127.0.0.1:${port}`;
  const imdsRequests: string[] = [];
  const imds = createServer(fakeImds(imdsRequests));
  const imdsEndpoint = await listen(imds);
  const s3 = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: local.credentials,
  });
  const upload = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: releasesBucket, Key: key, Body: body }));

  return {
    imdsRequests,
    scratch,
    async publishRelease(releaseId, artifact, keySha256) {
      const bytes = readFileSync(artifact);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await upload(`releases/${releaseId}/${keySha256 ?? sha256}/cloudwiki.tar.gz`, bytes);
      return sha256;
    },
    async boot(releaseId, artifactSha256, { bootstrapEnv = {}, serviceEnv = {} } = {}) {
      const root = mkdtempSync(path.join(scratch, 'root-'));
      const appPort = await freePort();
      const userData = path.join(root, 'user-data.sh');
      writeFileSync(userData, renderUserData(stackValues(releaseId, artifactSha256, appPort)));
      const log = path.join(root, 'calls.log');
      writeFileSync(log, '');
      const env = {
        PATH: `${standIns}:${process.env.PATH}`,
        HOME: root,
        CLOUDWIKI_ROOT: root,
        IMDS_ENDPOINT: imdsEndpoint,
        HEALTH_TIMEOUT_SECONDS: '30',
        STANDIN_LOG: log,
        STANDIN_DIR: standIns,
        STANDIN_S3_ENDPOINT: s3Endpoint,
        STANDIN_SECRETS: JSON.stringify({ [sessionSecretArn]: 'SessionSecretFromSecretsManager0123456789' }),
        STANDIN_SERVICE_ENV: JSON.stringify(serviceEnv),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...bootstrapEnv,
      };
      let exitCode = 0;
      let output: string;
      try {
        const result = await run('bash', [userData], { env, cwd: root });
        output = result.stdout + result.stderr;
      } catch (error) {
        const failure = error as { code: number; stdout: string; stderr: string };
        exitCode = failure.code;
        output = failure.stdout + failure.stderr;
      }
      const calls = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t'));
      return { root, exitCode, output, calls, appPort };
    },
    async close() {
      s3.destroy();
      await s3rver.close();
      await new Promise((resolve) => imds.close(resolve));
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * A tar.gz laid out like `npm run release` makes them: the given files plus, as in every release,
 * this checkout's scripts/bootstrap and an RDS CA bundle.
 */
export async function packArtifact(directory: string, files: Record<string, string>): Promise<string> {
  const stage = mkdtempSync(path.join(directory, 'stage-'));
  const bootstrapDirectory = path.join(repositoryRoot, 'scripts', 'bootstrap');
  const releaseFiles: Record<string, string> = { 'rds-ca.pem': '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n' };
  for (const script of readdirSync(bootstrapDirectory)) {
    releaseFiles[`scripts/bootstrap/${script}`] = readFileSync(path.join(bootstrapDirectory, script), 'utf8');
  }
  for (const [name, content] of Object.entries({ ...releaseFiles, ...files })) {
    mkdirSync(path.dirname(path.join(stage, name)), { recursive: true });
    writeFileSync(path.join(stage, name), content);
  }
  const artifact = `${stage}.tar.gz`;
  await run('tar', ['-czf', artifact, '-C', stage, '.']);
  return artifact;
}

export function readEnvFile(root: string): Record<string, string> {
  const lines = readFileSync(path.join(root, 'etc', 'cloudwiki', 'cloudwiki.env'), 'utf8')
    .trim()
    .split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/** Stops what the stand-in systemctl started (SIGTERM, as systemd would). */
export async function stopApp(root: string): Promise<void> {
  if (existsSync(path.join(root, 'run', 'cloudwiki.service.pid'))) {
    await run(path.join(standIns, 'systemctl'), ['stop', 'cloudwiki.service'], {
      env: { ...process.env, CLOUDWIKI_ROOT: root, STANDIN_LOG: '/dev/null' },
    });
  }
}

export interface Signal {
  exitCode: string;
  stack: string;
  resource: string;
  region: string;
  reason: string;
}

/** The cfn-signal calls the stand-in recorded, by option name. */
export function signalsSent(boot: Boot): Signal[] {
  return boot.calls
    .filter(([command]) => command === 'cfn-signal')
    .map((args) => {
      const option = (name: string) => args[args.indexOf(`--${name}`) + 1] ?? '';
      return {
        exitCode: option('exit-code'),
        stack: option('stack'),
        resource: option('resource'),
        region: option('region'),
        reason: option('reason'),
      };
    });
}

/** Asserts the boot succeeded and returns the app's answer to GET /health. */
export async function healthAfterSuccessfulBoot(boot: Boot): Promise<Response> {
  expect({ exitCode: boot.exitCode, output: boot.output }).toEqual({
    exitCode: 0,
    output: expect.stringContaining('cloudwiki-bootstrap: done'),
  });
  return fetch(`http://127.0.0.1:${boot.appPort}${healthPath}`);
}

export function unitFile(root: string): string {
  return readFileSync(path.join(root, 'etc', 'systemd', 'system', 'cloudwiki.service'), 'utf8');
}
