import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configKeys, loadConfig } from '../../app/config';
import { readTemplate } from '../../scripts/lint-infra/cfn-yaml';
import {
  availabilityZone,
  renderUserData,
  repositoryRoot,
  stackValues,
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
import { healthPath } from '../../app/contracts';

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
    const healthy = request.url === ${JSON.stringify(healthPath)};
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
      expect(result.calls).toContainEqual(['dnf', 'install', '-y', 'amazon-cloudwatch-agent']);
      expect(result.calls).toContainEqual([
        'amazon-cloudwatch-agent-ctl',
        '-a',
        'fetch-config',
        '-m',
        'ec2',
        '-s',
        '-c',
        'file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json',
      ]);
      // Every AWS CLI call names its region; nothing is fetched with curl but IMDS and /health.
      for (const call of result.calls.filter(([command]) => command === 'aws')) expect(call).toContain('--region');
      expect(result.calls.filter(([command]) => command === 'curl')).toEqual([]);
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
      expect(harness.imdsRequests).toEqual(expect.arrayContaining(['PUT /latest/api/token', 'GET /latest/meta-data/instance-id']));

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
        BACKUP_SITE_BUCKET: 'cloudwiki-backup-test',
        ASSET_BASE_URL: 'https://assets.wiki.example.com/assets',
        TRUST_PROXY: 1,
        HOST: '0.0.0.0',
        DRAIN_DELAY_MS: 25_000,
        DRAIN_TIMEOUT_MS: 15_000,
      });
      // Production never points at local services, and identity comes from IMDS, not overrides.
      for (const key of ['DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'INSTANCE_ID', 'INSTANCE_AZ'] as const) expect(config[key]).toBeUndefined();
      // The RDS CA bundle comes from inside the checksummed artifact, not from the internet.
      expect(readFileSync(path.join(result.root, 'opt', 'cloudwiki', 'current', 'rds-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
      expect(unitFile(result.root)).toMatch(/^Environment=NODE_EXTRA_CA_CERTS=\/opt\/cloudwiki\/current\/rds-ca\.pem$/m);
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when the artifact does not match its checksum, then nothing starts and failure is signalled', async () => {
    await harness.publishRelease('1.0.2-tampered', goodArtifact, 'f'.repeat(64));
    const result = await harness.boot('1.0.2-tampered', 'f'.repeat(64));
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain(
      `checksum mismatch: releases/1.0.2-tampered/${'f'.repeat(64)}/cloudwiki.tar.gz is not ${'f'.repeat(64)}`,
    );
    expect(signalsSent(result)).toEqual([
      {
        exitCode: '1',
        stack: 'cloudwiki-web',
        resource: 'WebAutoScalingGroup',
        region,
        reason: expect.stringMatching(/^user data failed at line \d+$/),
      },
    ]);
    // The boot scripts come out of the artifact, so a tampered artifact never runs them.
    expect(existsSync(path.join(result.root, 'opt', 'cloudwiki', 'bootstrap', 'bootstrap.sh'))).toBe(false);
    expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([]);
    expect(existsSync(path.join(result.root, 'etc', 'cloudwiki', 'cloudwiki.env'))).toBe(false);
  }, 60_000);

  test('when the package mirror fails twice at boot, then the user data retries the install and the boot succeeds', async () => {
    const sha256 = await harness.publishRelease('1.0.6-flaky-mirror', goodArtifact);
    const result = await harness.boot('1.0.6-flaky-mirror', sha256, { bootstrapEnv: { STANDIN_DNF_FAILURES: '2' } });
    try {
      expect(result.exitCode).toBe(0);
      expect(result.calls.filter((call) => call.join(' ') === 'dnf install -y aws-cfn-bootstrap')).toHaveLength(3);
      expect(result.output).toContain('attempt 2 of 5 failed: dnf install -y aws-cfn-bootstrap');
      expect(signalsSent(result).map((signal) => signal.exitCode)).toEqual(['0']);
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when aws-cfn-bootstrap cannot be installed at all, then the AWS CLI sends the failure signal instead', async () => {
    const sha256 = await harness.publishRelease('1.0.7-no-mirror', goodArtifact);
    // Five failed attempts: the retries sleep 2 + 4 + 6 + 8 s between them.
    const result = await harness.boot('1.0.7-no-mirror', sha256, { bootstrapEnv: { STANDIN_DNF_FAILURES: '5' } });
    expect(result.exitCode).not.toBe(0);
    expect(signalsSent(result)).toEqual([]);
    expect(result.calls).toContainEqual([
      'aws',
      'cloudformation',
      'signal-resource',
      '--region',
      region,
      '--stack-name',
      'cloudwiki-web',
      '--logical-resource-id',
      'WebAutoScalingGroup',
      '--unique-id',
      expect.any(String),
      '--status',
      'FAILURE',
    ]);
    expect(result.calls.filter(([command]) => command === 'systemctl')).toEqual([]);
  }, 90_000);

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

/** The KEY='value' lines the user data writes into bootstrap.env. */
function bootstrapEnvOfUserData(): Record<string, string> {
  const text = renderUserData({ ...stackValues('1.0.0', 'a'.repeat(64), 3000) });
  const block = text.slice(text.indexOf('<<BOOTSTRAP_ENV'), text.lastIndexOf('BOOTSTRAP_ENV'));
  return Object.fromEntries([...block.matchAll(/^([A-Z_]+)='([^']*)'$/gm)].map(([, key, value]) => [key as string, value as string]));
}

describe('drain settings', () => {
  test('when an instance is stopped, then the load balancer, the app and systemd agree on the drain', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed template JSON, checked by test/infra
    const resources = readTemplate(path.join(repositoryRoot, 'infra', '03-web.yaml')).Resources as Record<string, any>;
    const targetGroup = resources.TargetGroup.Properties;
    const deregistrationDelaySeconds = Number(
      (targetGroup.TargetGroupAttributes as { Key: string; Value: string }[]).find((a) => a.Key === 'deregistration_delay.timeout_seconds')
        ?.Value,
    );
    const env = bootstrapEnvOfUserData();
    const drainDelaySeconds = Number(env.DRAIN_DELAY_MS) / 1000;
    const drainTimeoutSeconds = Number(env.DRAIN_TIMEOUT_MS) / 1000;

    // /health answers 503 for longer than the load balancer needs to see it fail.
    expect(drainDelaySeconds).toBeGreaterThan(targetGroup.HealthCheckIntervalSeconds * targetGroup.UnhealthyThresholdCount);
    // The load balancer keeps a deregistered instance's requests for the whole drain.
    expect(deregistrationDelaySeconds).toBeGreaterThan(drainDelaySeconds + drainTimeoutSeconds);
    // The values the instance runs with are the ones the user data passed.
    const sha256 = await harness.publishRelease('1.0.4-drain', goodArtifact);
    const result = await harness.boot('1.0.4-drain', sha256);
    try {
      expect(result.exitCode).toBe(0);
      expect(readEnvFile(result.root)).toMatchObject({ DRAIN_DELAY_MS: env.DRAIN_DELAY_MS, DRAIN_TIMEOUT_MS: env.DRAIN_TIMEOUT_MS });
      const unit = unitFile(result.root);
      // systemd waits for the whole drain plus a margin before it kills anything, and signals
      // only the cluster primary, which drains its own workers.
      const stopTimeoutSeconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
      expect(stopTimeoutSeconds).toBeGreaterThanOrEqual(drainDelaySeconds + drainTimeoutSeconds + 10);
      expect(unit).toMatch(/^KillMode=mixed$/m);
      expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);

  test('when the unit starts, then it runs without capabilities, behind a system-call filter and kernel protections', async () => {
    const sha256 = await harness.publishRelease('1.0.5-hardened', goodArtifact);
    const result = await harness.boot('1.0.5-hardened', sha256);
    try {
      const unit = unitFile(result.root);
      for (const line of [
        'CapabilityBoundingSet=',
        'NoNewPrivileges=yes',
        'SystemCallFilter=@system-service',
        'SystemCallFilter=~@privileged',
        'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
        'RestrictNamespaces=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectKernelLogs=yes',
        'ProtectClock=yes',
        'ProtectSystem=strict',
        'PrivateUsers=yes',
      ]) {
        expect(unit.split('\n')).toContain(line);
      }
    } finally {
      await stopApp(result.root);
    }
  }, 60_000);
});
