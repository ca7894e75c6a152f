import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import request from 'supertest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createDynamoClient, createS3Client } from '../../app/platform/aws-clients';
import { ensureSessionTable } from '../../app/sessions/sessions-table';
import { buildTestApp, type TestApp } from '../support/app';
import { deepHealthPath, healthPath, local } from '../../app/contracts';

// This file starts its own DynamoDB and S3 stand-ins so that it can stop them.
let dynamo: Server;
let s3: S3rver;
let s3Dir: string;
let s3Endpoint: string;
let wiki: TestApp;
let wikiDynamoEndpoint: string;

beforeAll(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamodbEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const client = createDynamoClient({ region: 'us-east-1', endpoint: dynamodbEndpoint });
  await ensureSessionTable(client, local.sessionTable);
  client.destroy();
  s3Dir = mkdtempSync(path.join(tmpdir(), 'health-s3-'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: s3Dir,
    silent: true,
    configureBuckets: Object.values(local.buckets).map((name) => ({ name })),
  });
  const { port } = await s3.run();
  s3Endpoint = `http://127.0.0.1:${port}`;
  wikiDynamoEndpoint = dynamodbEndpoint;
  wiki = buildTestApp({ dynamodbEndpoint, s3Endpoint });
});

afterAll(async () => {
  await wiki.close();
  if (dynamo.listening) await new Promise((resolve) => dynamo.close(resolve));
  await s3.close().catch(() => undefined);
  rmSync(s3Dir, { recursive: true, force: true });
});

describe('GET /health (shallow)', () => {
  test('when the instance is up, then it answers 200 with its identity and version', async () => {
    const response = await request(wiki.app).get(healthPath);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', instance: 'i-test', az: 'test-1a', version: 'test' });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  test('when the instance is draining, then it answers 503 "draining"', async () => {
    wiki.draining.value = true;
    try {
      const response = await request(wiki.app).get(healthPath);
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('draining');
    } finally {
      wiki.draining.value = false;
    }
  });
});

describe('GET /health/deep', () => {
  test('when every dependency answers, then it is 200 with each check timed', async () => {
    await wiki.deepHealth.refresh();
    const response = await request(wiki.app).get(deepHealthPath);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(Object.keys(response.body.checks).sort()).toEqual(['assets', 'reader', 'sessions', 'uploads', 'writer']);
    for (const check of Object.values<{ status: string; ms: number }>(response.body.checks)) {
      expect(check.status).toBe('ok');
      expect(check.ms).toBeGreaterThanOrEqual(0);
    }
  });

  test('when the session table is checked, then it is a data-plane read (GetItem), not DescribeTable', async () => {
    const sent: string[] = [];
    wiki.dynamodb.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    try {
      await wiki.deepHealth.refresh();
    } finally {
      wiki.dynamodb.middlewareStack.remove('recordCommands');
    }
    expect(sent).toEqual(['GetItemCommand']);
  });

  test('when the buckets hold several objects, then the bucket checks still pass', async () => {
    const s3Client = createS3Client({ region: 'us-east-1', endpoint: s3Endpoint });
    try {
      for (const bucket of Object.values(local.buckets)) {
        for (const key of ['a.txt', 'b.txt', 'c.txt']) {
          await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: `several/${key}`, Body: key }));
        }
      }
    } finally {
      s3Client.destroy();
    }
    await wiki.deepHealth.refresh();
    const response = await request(wiki.app).get(deepHealthPath);
    expect(response.body.checks).toMatchObject({ assets: { status: 'ok' }, uploads: { status: 'ok' } });
    expect(response.status).toBe(200);
  });

  test('when a bucket accepts connections but never answers, then its check is degraded instead of hanging, the answer stays 200 and names no endpoint', async () => {
    const blackhole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const stuck = buildTestApp({ s3Endpoint: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}` });
    try {
      await stuck.deepHealth.refresh();
      const deep = await request(stuck.app).get(deepHealthPath);
      expect(deep.status).toBe(200);
      expect(deep.body.status).toBe('degraded');
      expect(deep.body.checks.assets).toEqual({ status: 'degraded', ms: expect.any(Number) });
      expect(deep.body.checks.writer.status).toBe('ok');
    } finally {
      await stuck.close();
      blackhole.closeAllConnections?.();
      await new Promise((resolve) => blackhole.close(resolve));
    }
  });

  test('when the session table cannot answer a read, then deep answers 503 and every response says Connection: close', async () => {
    await wiki.deepHealth.refresh();
    // A browser asks to keep its connection; a healthy site lets it.
    const keepAlive = (app: TestApp['app'], path: string) => request(app).get(path).set('Connection', 'keep-alive');
    expect((await keepAlive(wiki.app, healthPath)).headers.connection).toBe('keep-alive');
    const noTable = buildTestApp({ dynamodbEndpoint: wikiDynamoEndpoint, config: { SESSION_TABLE: 'no-such-table' } });
    try {
      await noTable.deepHealth.refresh();
      const deep = await keepAlive(noTable.app, deepHealthPath);
      expect(deep.status).toBe(503);
      expect(deep.body.checks.sessions.status).toBe('fail');
      // Browsers holding a connection open must reconnect, and so look the name up again.
      expect(deep.headers.connection).toBe('close');
      expect((await keepAlive(noTable.app, '/wiki/Home')).headers.connection).toBe('close');
    } finally {
      await noTable.close();
    }
  });

  // Runs last in this file: it stops the stand-ins for good.
  test('when DynamoDB and S3 stop, then deep answers 503 for the session table, S3 is degraded, no endpoint is named, and shallow stays 200', async () => {
    await new Promise((resolve) => dynamo.close(resolve));
    await s3.close();
    await wiki.deepHealth.refresh();
    const deep = await request(wiki.app).get(deepHealthPath);
    expect(deep.status).toBe(503);
    expect(deep.body.status).toBe('fail');
    expect(deep.body.checks.sessions.status).toBe('fail');
    expect(deep.body.checks.assets.status).toBe('degraded');
    expect(deep.body.checks.uploads.status).toBe('degraded');
    expect(deep.body.checks.writer.status).toBe('ok');
    expect(deep.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|localhost/);

    const shallow = await request(wiki.app).get(healthPath);
    expect(shallow.status).toBe(200);
  });
});
