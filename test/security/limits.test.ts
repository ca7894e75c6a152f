import crypto from 'node:crypto';
import { createServer } from 'node:net';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Express } from 'express';
import request from 'supertest';
import { csrfField, local } from '../../app/contracts';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName } from '../support/browser-like';

// The limits must hold in total behind a load balancer, not per instance: two app instances share
// the session table (dynalite here) as two EC2 instances share DynamoDB.

const lowLimits = {
  LOGIN_FAILURES_PER_15_MIN: '3',
  LOGIN_FAILURES_PER_ADDRESS_PER_15_MIN: '5',
  PASSWORD_HASHES_PER_ADDRESS: '1',
  SIGNUPS_PER_HOUR: '2',
  ANONYMOUS_SEARCHES_PER_MINUTE: '2',
  TRUST_PROXY: 'true',
};
let first: TestApp;
let second: TestApp;
beforeAll(() => {
  first = buildTestApp({ instanceId: 'i-limits-a', config: lowLimits });
  second = buildTestApp({ instanceId: 'i-limits-b', config: lowLimits });
});
afterAll(() => Promise.all([first.close(), second.close()]));

let addressCounter = 0;
/** Each test comes from its own client address (trust proxy: the ALB's X-Forwarded-For). */
function newAddress(): string {
  addressCounter += 1;
  return `198.51.100.${(process.pid + addressCounter) % 250}`;
}

/** Loads the form and posts it to `app`, as a browser behind the load balancer would. */
async function postForm(app: Express, formPath: string, fields: Record<string, string>, address: string) {
  const form = await request(app).get(formPath).set('X-Forwarded-For', address);
  const cookie = (form.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  return request(app)
    .post(formPath)
    .type('form')
    .set('X-Forwarded-For', address)
    .set('Cookie', cookie)
    .send({ [csrfField]: csrfTokenIn(form.text), ...fields });
}

/** An account made from an address of its own, so this file's low sign-up limit never gets in the way. */
async function signUp(app: Express) {
  const account = { username: uniqueName('lim'), password: 'a perfectly fine passphrase' };
  const response = await postForm(app, '/signup', account, newAddress());
  expect(response.status).toBe(303);
  const cookie = (response.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  return { ...account, cookie };
}

test('when failed log-ins for one account are spread over two instances, then the limit holds in total', async () => {
  const { username, password } = await signUp(first.app);
  const address = newAddress();
  const wrong = { username, password: 'not the password' };
  expect((await postForm(first.app, '/login', wrong, address)).status).toBe(401);
  expect((await postForm(second.app, '/login', wrong, address)).status).toBe(401);
  expect((await postForm(first.app, '/login', { ...wrong, username: ` ${username.toUpperCase()}` }, address)).status).toBe(401);
  const blocked = await postForm(second.app, '/login', { username, password }, address);
  expect(blocked.status).toBe(429);
  expect(blocked.text).toContain('Too many failed attempts');
  expect(blocked.text).toContain(`value="${username}"`);

  // Another address may still log in to the account: failures are counted per address and account.
  expect((await postForm(second.app, '/login', { username, password }, newAddress())).status).toBe(303);
});

test('when one address tries a different made-up username each time, then it reaches 429 within the per-address limit, spread over two instances, and the refused tries cost no hash', async () => {
  const { username, password } = await signUp(first.app);
  const address = newAddress();
  const scrypt = jest.spyOn(crypto, 'scrypt');
  try {
    for (const [attempt, app] of [first.app, second.app, first.app, second.app, first.app].entries()) {
      expect((await postForm(app, '/login', { username: uniqueName(`spray${attempt}`), password: 'a guess at it' }, address)).status).toBe(
        401,
      );
    }
    expect(scrypt).toHaveBeenCalledTimes(5);
    const blocked = await postForm(second.app, '/login', { username: uniqueName('spray'), password: 'a guess at it' }, address);
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed log-ins from your address');
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    // The limit is the address's: a real account's right password waits too, with no hash spent.
    expect((await postForm(first.app, '/login', { username, password }, address)).status).toBe(429);
    expect(scrypt).toHaveBeenCalledTimes(5);
  } finally {
    scrypt.mockRestore();
  }
  expect((await postForm(first.app, '/login', { username, password }, newAddress())).status).toBe(303);
});

test('when more log-ins arrive at once than the hashing queue holds, then the surplus gets 503 with Retry-After at once, without a hash, and the form back', async () => {
  const form = await request(first.app).get('/login');
  const cookie = (form.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  const token = csrfTokenIn(form.text);
  const scrypt = jest.spyOn(crypto, 'scrypt');
  try {
    // From as many addresses, so that no log-in limit is what refuses them.
    const names = Array.from({ length: 14 }, () => uniqueName('burst'));
    const answers = await Promise.all(
      names.map((username) =>
        request(first.app)
          .post('/login')
          .type('form')
          .set('X-Forwarded-For', newAddress())
          .set('Cookie', cookie)
          .send({ [csrfField]: token, username, password: 'a guess at it' }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    const refused = answers.filter((answer) => answer.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 503).every((status) => status === 401)).toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(statuses.filter((status) => status === 401).length);
    for (const answer of refused) {
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.text).toContain('Try again in a few seconds');
      expect(answer.text).toMatch(/name="username"[^>]*value="burst_/);
    }
  } finally {
    scrypt.mockRestore();
  }
});

test('when one address sends a second log-in while its first is still being checked, then the second gets 429 at once, and other addresses are served', async () => {
  const form = await request(first.app).get('/login');
  const cookie = (form.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  const attempt = (address: string) =>
    request(first.app)
      .post('/login')
      .type('form')
      .set('X-Forwarded-For', address)
      .set('Cookie', cookie)
      .send({ [csrfField]: csrfTokenIn(form.text), username: uniqueName('pair'), password: 'a guess at it' });
  const sprayer = newAddress();
  const [one, two, elsewhere] = await Promise.all([attempt(sprayer), attempt(sprayer), attempt(newAddress())]);
  expect([one.status, two.status].sort()).toEqual([401, 429]);
  expect([one, two].find((answer) => answer.status === 429)!.text).toContain('still being checked');
  expect(elsewhere.status).toBe(401);
});

test('when log-ins succeed, then they do not count toward the limit', async () => {
  const { username, password } = await signUp(first.app);
  const address = newAddress();
  for (const app of [first.app, second.app, first.app, second.app]) {
    expect((await postForm(app, '/login', { username, password }, address)).status).toBe(303);
  }
});

test('when sign-ups from one address are spread over two instances, then the limit holds in total and no account is made past it', async () => {
  const address = newAddress();
  const password = 'a perfectly fine passphrase';
  expect((await postForm(first.app, '/signup', { username: uniqueName('lim'), password }, address)).status).toBe(303);
  expect((await postForm(second.app, '/signup', { username: uniqueName('lim'), password }, address)).status).toBe(303);
  const refused = uniqueName('lim');
  const blocked = await postForm(first.app, '/signup', { username: refused, password }, address);
  expect(blocked.status).toBe(429);
  expect(blocked.text).toContain('Too many sign-ups');
  expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
  const { rows } = await first.db.query('SELECT 1 FROM users WHERE username = $1', [refused]);
  expect(rows).toHaveLength(0);
});

test('when the limits count, then their counters are session-table items under limit: with a TTL', async () => {
  const startedSeconds = Date.now() / 1000;
  await postForm(first.app, '/signup', { username: 'x', password: 'short' }, newAddress());
  const { Items = [] } = await first.dynamodb.send(
    new ScanCommand({
      TableName: local.sessionTable,
      FilterExpression: 'begins_with(id, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: 'limit:signup:' } },
    }),
  );
  const nowSeconds = Date.now() / 1000;
  for (const item of Items) {
    expect(item.id?.S).toMatch(/^limit:signup:\d+:[\w-]{43}$/);
    expect(Number(item.expires?.N)).toBeLessThanOrEqual(nowSeconds + 3600);
  }
  // Earlier tests' counters from a window that has closed stay until DynamoDB's TTL sweep (which
  // DynamoDB Local never runs): the one just counted expires after this test began.
  expect(Items.filter((item) => Number(item.expires?.N) > startedSeconds).length).toBeGreaterThan(0);
});

test('when anonymous searches from one address pass the limit, then 429, while logged-in searches and empty boxes are not counted', async () => {
  const address = newAddress();
  const search = (path: string) => request(first.app).get(path).set('X-Forwarded-For', address);
  expect((await search('/search')).status).toBe(200);
  expect((await search('/search?q=wiki')).status).toBe(200);
  expect((await search('/search?q=home')).status).toBe(200);
  const blocked = await search('/search?q=page');
  expect(blocked.status).toBe(429);
  expect(blocked.text).toContain('Too many searches');

  const { cookie } = await signUp(second.app);
  for (let count = 0; count < 3; count += 1) expect((await search('/search?q=wiki').set('Cookie', cookie)).status).toBe(200);
});

test('when sessions live in memory (the one-process picture), then the log-in limit still holds in that process', async () => {
  const alone = buildTestApp({ sessionStore: 'memory', config: lowLimits });
  try {
    const { username } = await signUp(alone.app);
    const address = newAddress();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await postForm(alone.app, '/login', { username, password: 'wrong password' }, address)).status).toBe(401);
    }
    expect((await postForm(alone.app, '/login', { username, password: 'wrong password' }, address)).status).toBe(429);
  } finally {
    await alone.close();
  }
});

test('when the session table does not answer, then log-in says so with a 503 instead of skipping the count', async () => {
  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const cut = buildTestApp({ dynamodbEndpoint: `http://127.0.0.1:${closedPort}`, config: lowLimits });
  try {
    const response = await postForm(cut.app, '/login', { username: 'someone', password: 'a wrong guess' }, newAddress());
    expect(response.status).toBe(503);
    expect(response.text).toContain('cannot be counted right now');
  } finally {
    await cut.close();
  }
});
