import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, configKeys, loadConfig } from '../app/config';

const valid = {
  DATABASE_URL: 'postgres://wiki:secret@db.example.internal:5432/wiki',
  SESSION_SECRET: 's'.repeat(40),
  AWS_REGION: 'eu-west-1',
  ASSETS_BUCKET: 'cloudwiki-assets-123',
  UPLOADS_BUCKET: 'cloudwiki-uploads-123',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('when the environment is empty, then every required setting is named at once', () => {
  expect(problemsOf({})).toEqual([
    'DATABASE_URL: missing (required)',
    'SESSION_SECRET: missing (required)',
    'AWS_REGION: missing (required)',
    'ASSETS_BUCKET: missing (required)',
    'UPLOADS_BUCKET: missing (required)',
  ]);
});

test('when values are wrong, then each bad key is named with what it must be', () => {
  const problems = problemsOf({
    ...valid,
    PORT: 'eighty',
    DATABASE_URL: 'mysql://x',
    SESSION_STORE: 'redis',
    SESSION_SECRET: 'short',
    AWS_REGION: 'Europe',
  });
  expect(problems).toHaveLength(5);
  expect(problems.join('\n')).toMatch(/PORT:/);
  expect(problems.join('\n')).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
  expect(problems.join('\n')).toMatch(/SESSION_STORE:/);
  expect(problems.join('\n')).toMatch(/SESSION_SECRET: must be at least 32 characters/);
  expect(problems.join('\n')).toMatch(/AWS_REGION: must be an AWS region/);
});

test('when only the required settings are given, then the defaults fill the rest', () => {
  const config = loadConfig(valid);
  expect(config).toMatchObject({
    PORT: 3000,
    SESSION_STORE: 'dynamodb',
    SESSION_TABLE: 'cloudwiki-sessions',
    TRUST_PROXY: false,
    AWS_EC2_METADATA_DISABLED: false,
  });
  expect(config.DATABASE_READ_URL).toBeUndefined();
});

test('when TRUST_PROXY is a hop count or a list, then Express gets a number or the list, typed once here', () => {
  expect(loadConfig({ ...valid, TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
  expect(loadConfig({ ...valid, TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
  expect(loadConfig({ ...valid, TRUST_PROXY: '10.0.0.0/8, fd00::/8' }).TRUST_PROXY).toBe('10.0.0.0/8, fd00::/8');
});

test('when a setting is empty, then it counts as missing rather than as an empty value', () => {
  expect(problemsOf({ ...valid, DATABASE_URL: '' })).toEqual(['DATABASE_URL: missing (required)']);
});

test('when a setting exists, then .env.example documents it, and documents nothing else', () => {
  const documented = readFileSync(path.join(__dirname, '..', '.env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => line.slice(0, line.indexOf('=')));
  expect([...documented].sort()).toEqual([...configKeys].sort());
});
