import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configKeys, loadConfig } from '../../app/config';
import {
  availabilityZone,
  databaseSecretArn,
  instanceId,
  healthAfterSuccessfulBoot,
  packArtifact,
  readEnvFile,
  region,
  signalsSent,
  startBootHarness,
  stopApp,
  unitFile,
  type BootHarness,
} from './bootstrap-harness';

// The boot end to end with a small stand-in app in the artifact: it serves /health the way the
// real one does, reading its identity from IMDSv2. bootstrap.integration.test.ts runs the same
// boot with the real release (npm run release) against PostgreSQL.

const standInApp = `
const http = require('node:http');
async function identity() {
  const imds = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  const token = await (await fetch(imds + '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
  const get = async (path) => (await fetch(imds + '/latest/meta-data/' + path, { headers: { 'X-aws-ec2-metadata-token': token } })).text();
  return { instance: await get('instance-id'), az: await get('placement/availability-zone') };
}
identity().then(({ instance, az }) => {
  const server = http.createServer((request, response) => {
    const healthy = request.url === '/health';
    response.writeHead(healthy ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(healthy ? { status: 'ok', instance, az, version: require('../package.json').version } : { error: 'not found' }));
  });
  server.listen(Number(process.env.PORT));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});
`;

let harness: BootHarness;
let goodArtifact: string;

beforeAll(async () => {
  harness = await startBootHarness();
  goodArtifact = await packArtifact(harness.scratch, { 'dist/app/server.js': standInApp, 'dist/package.json': '{"version":"1.0.0"}' });
});

afterAll(() => harness?.close());

describe('EC2 bootstrap', () => {
  test('when the release is intact, then the app runs under systemd, answers /health and success is signalled', async () => {
    const sha256 = await harness.publishRelease('1.0.0-good', goodArtifact);
    const result = await harness.boot('1.0.0-good', sha256);
    try {
      const health = await healthAfterSuccessfulBoot(result);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', instance: instanceId, az: availabilityZone, version: '1.0.0' });

      expect(result.calls).toContainEqual(['dnf', 'install', '-y', 'aws-cfn-bootstrap']);
      expect(result.calls).toContainEqual(['dnf', 'install', '-y', 'nodejs22']);
      expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', 'cloudwiki.service'],
      ]);
      expect(signalsSent(result)).toEqual([
        {
          exitCode: '0',
          stack: 'cloudwiki-web',
          resource: 'WebAutoScalingGroup',
          region,
          reason: `cloudwiki answers /health on ${instanceId}`,
        },
      ]);
      expect(harness.imdsRequests).toEqual(expect.arrayContaining(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region']));

      const unit = unitFile(result.root);
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
    const sha256 = await harness.publishRelease('1.0.1-env', goodArtifact);
    const result = await harness.boot('1.0.1-env', sha256);
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
        SESSION_SECRET: 'SessionSecretFromSecretsManager0123456789',
        AWS_REGION: region,
        ASSETS_BUCKET: 'cloudwiki-assets-test',
        UPLOADS_BUCKET: 'cloudwiki-uploads-test',
        ASSET_BASE_URL: 'https://wiki.example.com/assets',
        TRUST_PROXY: 2,
      });
      // Production never points at local services, and identity comes from IMDS, not overrides.
      for (const key of ['DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'INSTANCE_ID', 'INSTANCE_AZ'] as const) expect(config[key]).toBeUndefined();
      expect(readFileSync(path.join(result.root, 'etc', 'cloudwiki', 'rds-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when the artifact does not match its checksum, then nothing starts and failure is signalled', async () => {
    await harness.publishRelease('1.0.2-tampered', goodArtifact);
    const result = await harness.boot('1.0.2-tampered', 'f'.repeat(64));
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain('checksum mismatch');
    expect(signalsSent(result)).toEqual([
      {
        exitCode: '1',
        stack: 'cloudwiki-web',
        resource: 'WebAutoScalingGroup',
        region,
        reason: expect.stringMatching(/checksum mismatch .* expected f{64}, got [0-9a-f]{64}/),
      },
    ]);
    expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([]);
    expect(existsSync(path.join(result.root, 'etc', 'cloudwiki', 'cloudwiki.env'))).toBe(false);
  }, 60_000);

  test('when the app never answers /health, then failure is signalled instead of waiting for the timeout', async () => {
    const silentArtifact = await packArtifact(harness.scratch, { 'dist/app/server.js': 'setInterval(() => {}, 1000);\n' });
    const sha256 = await harness.publishRelease('1.0.3-silent', silentArtifact);
    const result = await harness.boot('1.0.3-silent', sha256, { bootstrapEnv: { HEALTH_TIMEOUT_SECONDS: '2' } });
    try {
      expect(result.exitCode).not.toBe(0);
      expect(signalsSent(result)).toEqual([
        expect.objectContaining({ exitCode: '1', reason: expect.stringMatching(/\/health did not answer within 2s/) }),
      ]);
    } finally {
      await stopApp(result.root);
    }
  }, 90_000);
});
