import { z } from 'zod';
import { local } from './contracts';

// Every setting the web tier reads. The infra templates and the EC2 bootstrap write exactly these
// names; .env.example documents each one for people. test/config.test.ts holds .env.example to
// them, and test/scripts/bootstrap.test.ts the environment file the bootstrap writes.
const settings = {
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('TCP port to listen on (0: any free port).'),
  HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address such as 127.0.0.1 or 0.0.0.0, or localhost' })
    .default('0.0.0.0')
    .describe('Address to listen on: all interfaces behind a load balancer; npm start uses 127.0.0.1.'),
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional().describe('Worker processes (one per vCPU when unset).'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).describe('Writer (primary) PostgreSQL URL.'),
  DATABASE_READ_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' })
    .optional()
    .describe('Read replica URL for page views; the writer is used when unset.'),
  DATABASE_SECRET_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN')
    .optional()
    .describe('Secrets Manager secret holding the RDS username/password (rotated by RDS).'),
  SESSION_STORE: z
    .enum(['dynamodb', 'memory'])
    .default('dynamodb')
    .describe('dynamodb (stateless) or memory (the stateful "before" picture; breaks behind a load balancer).'),
  SESSION_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')
    .default(local.sessionTable),
  SESSION_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(2000, 'must be at most 2000: a logout elsewhere may take this long to reach this instance')
    .default(2000)
    .describe('How long an instance reuses a session it read from DynamoDB (0: read on every request).'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters (use a random string)'),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1'),
  DYNAMODB_ENDPOINT: z.url().optional().describe('Local DynamoDB (dynalite, DynamoDB Local); unset on AWS.'),
  S3_ENDPOINT: z.url().optional().describe('Local S3 (s3rver); unset on AWS.'),
  ASSETS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  UPLOADS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  BACKUP_SITE_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional()
    .describe(
      'Bucket of the static backup copy: every instance publishes each saved change to it within seconds (unset: nothing is published, changes wait in the outbox).',
    ),
  ASSET_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('CloudFront URL serving the assets bucket; static files are served by the app when unset.'),
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d+|[0-9a-f.:/, ]+|loopback|linklocal|uniquelocal)$/i, 'must be true, false, a hop count or addresses')
    .default('false')
    .transform(parseTrustProxy)
    .describe('Express "trust proxy": 1 behind one ALB, 2 behind CloudFront + ALB.'),
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional()
    .describe('Overrides the IMDS instance id (the lab).'),
  INSTANCE_AZ: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional()
    .describe('Overrides the IMDS Availability Zone (the lab).'),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z
    .url()
    .default('http://169.254.169.254')
    .describe('EC2 instance metadata service (IMDSv2), read once at start for the instance id and AZ.'),
  AWS_EC2_METADATA_DISABLED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .describe('true off EC2: skip the metadata lookup and report hostname/pid.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DRAIN_DELAY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(25_000)
    .describe(
      'After SIGTERM, how long /health answers 503 while requests are still served, so the load balancer stops routing here first.',
    ),
  DRAIN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(15_000)
    .describe('How long SIGTERM waits for in-flight requests before closing anyway.'),
  LOGIN_FAILURES_PER_15_MIN: limitSetting(
    10,
    'Failed log-ins per client address and account in 15 minutes, counted across instances (0: no limit).',
  ),
  LOGIN_FAILURES_PER_ADDRESS_PER_15_MIN: limitSetting(
    50,
    'Failed log-ins per client address in 15 minutes, whatever the accounts, counted across instances (0: no limit).',
  ),
  PASSWORD_HASHES_PER_ADDRESS: limitSetting(
    1,
    'Log-ins and sign-ups one client address may have being checked at once, per process; one more gets 429 (0: no limit, e.g. for load tests that log in many users at once from one machine).',
  ),
  SIGNUPS_PER_HOUR: limitSetting(
    30,
    'Sign-up attempts per client address in an hour, counted across instances (0: no limit, e.g. for load tests that sign up many users).',
  ),
  UPLOADS_PER_USER_PER_HOUR: limitSetting(30, 'Files one user may attach in an hour, counted across instances (0: no limit).'),
  UPLOAD_QUOTA_MB_PER_USER: limitSetting(
    100,
    'Megabytes (10^6 bytes) of attachments one user may have in all, counted in the database (0: no quota).',
  ),
  ANONYMOUS_SEARCHES_PER_MINUTE: limitSetting(
    30,
    'Searches per client address in a minute for people not logged in, per instance (0: no limit).',
  ),
};

function limitSetting(fallback: number, description: string) {
  return z.coerce.number().int().min(0).max(1_000_000).default(fallback).describe(description);
}

const configSchema = z.object(settings);
export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof typeof settings;

export const configKeys = Object.keys(settings) as ConfigKey[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`cloudwiki cannot start: fix these settings (see .env.example)\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment once, at start-up, and lists every bad or missing setting. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  return parse(configSchema, env);
}

/** The same validation for tools that need only some settings (e.g. assets:publish). */
export function loadSettings<K extends ConfigKey>(env: Record<string, string | undefined>, keys: readonly K[]): Pick<Config, K> {
  const subset = z.object(Object.fromEntries(keys.map((key) => [key, settings[key]])));
  // The subset's output is exactly Pick<Config, K>; zod cannot type a schema built from a list.
  return parse(subset, env) as unknown as Pick<Config, K>;
}

function parse<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>): T {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.');
        return key in present ? `${key}: ${issue.message}` : `${key}: missing (required)`;
      }),
    );
  }
  return result.data;
}

/** Express's "trust proxy" takes a boolean, a hop count, or a list of addresses and names. */
function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}
