import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { configKeys, loadConfig } from '../../app/config';
import { readTemplate } from '../../scripts/infra/cfn-yaml';

// Runs the web instances' boot end to end on this machine: the user data from infra/03-web.yaml,
// then scripts/bootstrap/bootstrap.sh, in a scratch root. The release comes from a local s3rver
// bucket, instance identity from a fake IMDSv2 on loopback; dnf, the AWS CLI, systemctl and
// cfn-signal are recording stand-ins (test/scripts/stand-ins).
//
// TODO(after merge): build the artifact with `npm run release` from the real app once it is on
// main, and give the stand-in systemctl a TEST_DATABASE_URL; until then the artifact is a tiny
// app that serves /health the way the real one does.

// s3rver ships no typings (main adds them in types/embedded.d.ts); this is the part used here.
type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: object) => S3rver;

const run = promisify(execFile);
const repositoryRoot = path.join(__dirname, '..', '..');
const standIns = path.join(__dirname, 'stand-ins');
const releasesBucket = 'cloudwiki-releases-test';
const instanceId = 'i-0123456789abcdef0';
const region = 'us-test-1';
const sessionSecretArn = `arn:aws:secretsmanager:${region}:123456789012:secret:cloudwiki-session-AbCdEf`;
const databaseSecretArn = `arn:aws:secretsmanager:${region}:123456789012:secret:rds!db-0123-AbCdEf`;

const standInApp = `
const http = require('node:http');
const server = http.createServer((request, response) => {
  const body = request.url === '/health'
    ? { status: 'ok', instance: process.env.INSTANCE_ID, az: process.env.INSTANCE_AZ, version: 'stand-in' }
    : { error: 'not found' };
  response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let scratch: string;
let s3rver: S3rver;
let s3Endpoint: string;
let imds: Server;
let imdsEndpoint: string;
const imdsRequests: string[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await listen(probe);
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** IMDSv2 as EC2 serves it: a PUT for a token, then GETs that must carry it. */
function fakeImds(request: IncomingMessage, response: ServerResponse): void {
  imdsRequests.push(`${request.method} ${request.url}`);
  const token = 'imds-session-token';
  if (request.method === 'PUT' && request.url === '/latest/api/token' && request.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
    response.end(token);
    return;
  }
  if (request.url === '/rds-ca.pem') {
    response.end('-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n');
    return;
  }
  if (request.headers['x-aws-ec2-metadata-token'] !== token) {
    response.writeHead(401).end();
    return;
  }
  const metadata: Record<string, string> = {
    '/latest/meta-data/instance-id': instanceId,
    '/latest/meta-data/placement/region': region,
    '/latest/meta-data/placement/availability-zone': `${region}b`,
  };
  const value = metadata[request.url ?? ''];
  if (value === undefined) response.writeHead(404).end();
  else response.end(value);
}

async function upload(key: string, body: Buffer | string): Promise<void> {
  const client = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new PutObjectCommand({ Bucket: releasesBucket, Key: key, Body: body }));
  client.destroy();
}

/** Builds a release artifact the way `npm run release` lays it out, and uploads it with the bootstrap scripts. */
async function publishRelease(releaseId: string): Promise<string> {
  const stage = path.join(scratch, `stage-${releaseId}`);
  mkdirSync(path.join(stage, 'dist', 'app'), { recursive: true });
  writeFileSync(path.join(stage, 'dist', 'app', 'server.js'), standInApp);
  const artifact = path.join(scratch, `${releaseId}.tar.gz`);
  await run('tar', ['-czf', artifact, '-C', stage, '.']);
  const bytes = readFileSync(artifact);
  await upload(`releases/${releaseId}/cloudwiki.tar.gz`, bytes);
  for (const script of readdirSync(path.join(repositoryRoot, 'scripts', 'bootstrap'))) {
    await upload(`releases/${releaseId}/bootstrap/${script}`, readFileSync(path.join(repositoryRoot, 'scripts', 'bootstrap', script)));
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** The launch template's user data with CloudFormation's Fn::Sub applied to test values. */
function renderUserData(values: Record<string, string>): string {
  const launchTemplate = (readTemplate(path.join(repositoryRoot, 'infra', '03-web.yaml')).Resources as Record<string, any>).LaunchTemplate;
  const [text, variables] = launchTemplate.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'] as [string, Record<string, unknown>];
  for (const name of Object.keys(variables)) expect(values).toHaveProperty([name]);
  return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const value = values[name];
    if (value === undefined) throw new Error(`the test gives no value for \${${name}} in the user data`);
    return value;
  });
}

interface Boot {
  root: string;
  exitCode: number;
  output: string;
  calls: string[][];
  appPort: number;
}

async function boot(releaseId: string, artifactSha256: string): Promise<Boot> {
  const root = mkdtempSync(path.join(scratch, 'root-'));
  const appPort = await freePort();
  const userData = path.join(root, 'user-data.sh');
  writeFileSync(
    userData,
    renderUserData({
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
      AssetBaseUrl: 'https://wiki.example.com/assets',
    }),
  );
  const log = path.join(root, 'calls.log');
  writeFileSync(log, '');
  const env = {
    PATH: `${standIns}:${process.env.PATH}`,
    HOME: root,
    CLOUDWIKI_ROOT: root,
    IMDS_ENDPOINT: imdsEndpoint,
    RDS_CA_BUNDLE_URL: `${imdsEndpoint}/rds-ca.pem`,
    HEALTH_TIMEOUT_SECONDS: '15',
    STANDIN_LOG: log,
    STANDIN_S3_ENDPOINT: s3Endpoint,
    STANDIN_SECRETS: JSON.stringify({ [sessionSecretArn]: 'a'.repeat(24) + 'SessionSecretFromSM1234567890' }),
  };
  let exitCode = 0;
  let output = '';
  try {
    const result = await run('bash', [userData], { env, cwd: root });
    output = result.stdout + result.stderr;
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    exitCode = failure.code;
    output = failure.stdout + failure.stderr;
  }
  const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
  return { root, exitCode, output, calls, appPort };
}

function readEnvFile(root: string): Record<string, string> {
  const lines = readFileSync(path.join(root, 'etc', 'cloudwiki', 'cloudwiki.env'), 'utf8').trim().split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

async function stopApp(root: string): Promise<void> {
  if (existsSync(path.join(root, 'run', 'cloudwiki.service.pid'))) {
    await run(path.join(standIns, 'systemctl'), ['stop', 'cloudwiki.service'], { env: { ...process.env, CLOUDWIKI_ROOT: root, STANDIN_LOG: '/dev/null' } });
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-bootstrap-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(scratch, 's3'), configureBuckets: [{ name: releasesBucket, configs: [] }] });
  const { port } = await s3rver.run();
  s3Endpoint = `http://127.0.0.1:${port}`;
  imds = createServer(fakeImds);
  imdsEndpoint = await listen(imds);
});

afterAll(async () => {
  await s3rver?.close();
  await new Promise((resolve) => imds?.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

describe('EC2 bootstrap', () => {
  test('when the release is intact, then the app runs under systemd, answers /health and success is signalled', async () => {
    const sha256 = await publishRelease('1.0.0-good');
    const result = await boot('1.0.0-good', sha256);
    try {
      expect({ exitCode: result.exitCode, output: result.output }).toEqual({ exitCode: 0, output: expect.stringContaining('done') });

      const health = await fetch(`http://127.0.0.1:${result.appPort}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', instance: instanceId, az: `${region}b` });

      expect(result.calls).toContainEqual(['dnf', 'install', '-y', 'aws-cfn-bootstrap']);
      expect(result.calls).toContainEqual(['dnf', 'install', '-y', 'nodejs22']);
      expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', 'cloudwiki.service'],
      ]);
      expect(result.calls.filter(([command]) => command === 'cfn-signal')).toEqual([
        ['cfn-signal', '--exit-code', '0', '--stack', 'cloudwiki-web', '--resource', 'WebAutoScalingGroup', '--region', region, '--reason', `cloudwiki answers /health on ${instanceId}`],
      ]);
      expect(imdsRequests).toEqual(expect.arrayContaining(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region']));

      const unit = readFileSync(path.join(result.root, 'etc', 'systemd', 'system', 'cloudwiki.service'), 'utf8');
      expect(unit).toMatch(/^DynamicUser=yes$/m);
      expect(unit).not.toMatch(/^User=root$/m);
      expect(unit).toMatch(/^Restart=on-failure$/m);
      expect(unit).toMatch(/^EnvironmentFile=\/etc\/cloudwiki\/cloudwiki\.env$/m);
      expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node-22 \/opt\/cloudwiki\/current\/dist\/app\/server\.js$/m);
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when the bootstrap writes the environment file, then it uses only the names app/config.ts reads and the app accepts it', async () => {
    const sha256 = await publishRelease('1.0.1-env');
    const result = await boot('1.0.1-env', sha256);
    try {
      expect(result.exitCode).toBe(0);
      const env = readEnvFile(result.root);
      expect(Object.keys(env).filter((key) => !(configKeys as string[]).includes(key))).toEqual([]);
      const config = loadConfig(env);
      expect(config).toMatchObject({
        PORT: result.appPort,
        DATABASE_URL: 'postgres://cloudwiki@writer.cluster.internal:5432/cloudwiki?sslmode=verify-full',
        DATABASE_READ_URL: 'postgres://cloudwiki@reader.cluster.internal:5432/cloudwiki?sslmode=verify-full',
        DATABASE_SECRET_ARN: databaseSecretArn,
        SESSION_STORE: 'dynamodb',
        SESSION_TABLE: 'cloudwiki-data-SessionTable-ABC',
        AWS_REGION: region,
        ASSETS_BUCKET: 'cloudwiki-assets-test',
        UPLOADS_BUCKET: 'cloudwiki-uploads-test',
        ASSET_BASE_URL: 'https://wiki.example.com/assets',
        TRUST_PROXY: '2',
        INSTANCE_ID: instanceId,
      });
      expect(config.DYNAMODB_ENDPOINT).toBeUndefined();
      expect(config.S3_ENDPOINT).toBeUndefined();
      expect(readFileSync(path.join(result.root, 'etc', 'cloudwiki', 'rds-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when the artifact does not match its checksum, then nothing starts and failure is signalled', async () => {
    await publishRelease('1.0.2-tampered');
    const wrongSha256 = 'f'.repeat(64);
    const result = await boot('1.0.2-tampered', wrongSha256);
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain('checksum mismatch');
    const signals = result.calls.filter(([command]) => command === 'cfn-signal');
    expect(signals).toHaveLength(1);
    expect(signals[0]?.slice(0, 9)).toEqual(['cfn-signal', '--exit-code', '1', '--stack', 'cloudwiki-web', '--resource', 'WebAutoScalingGroup', '--region', region]);
    expect(signals[0]?.[10]).toMatch(/checksum mismatch .* expected f{64}, got [0-9a-f]{64}/);
    expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([]);
    expect(existsSync(path.join(result.root, 'etc', 'cloudwiki', 'cloudwiki.env'))).toBe(false);
  }, 60_000);
});

describe('bootstrap scripts', () => {
  test('when shellcheck reads them and the rendered user data, then it finds nothing', async () => {
    const rendered = path.join(scratch, 'user-data-for-shellcheck.sh');
    writeFileSync(
      rendered,
      renderUserData(
        Object.fromEntries(
          ['AWS::StackName', 'AWS::Region', 'ReleasesBucket', 'ReleaseId', 'ArtifactSha256', 'AppPort', 'DatabaseWriterHost', 'DatabaseReaderHost', 'DatabasePort', 'DatabaseName', 'DatabaseUsername', 'DatabaseSecretArn', 'SessionTable', 'SessionSecretArn', 'AssetsBucket', 'UploadsBucket', 'AssetBaseUrl'].map((name) => [name, 'value']),
        ),
      ),
    );
    const scripts = [
      ...readdirSync(path.join(repositoryRoot, 'scripts', 'bootstrap')).map((name) => path.join('scripts', 'bootstrap', name)),
      ...['cfn-signal', 'dnf', 'record.sh'].map((name) => path.join('test', 'scripts', 'stand-ins', name)),
    ];
    // CI must install Debian's shellcheck package; without it this test fails rather than skips.
    await expect(run('shellcheck', ['-x', ...scripts, rendered], { cwd: repositoryRoot })).resolves.toMatchObject({ stdout: '' });
  });
});
