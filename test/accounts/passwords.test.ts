import crypto, { randomBytes, scryptSync } from 'node:crypto';
import { createPasswordHashing, isCommonPassword } from '../../app/accounts/passwords';
import { HttpError } from '../../app/http/http-error';

const passwords = createPasswordHashing({ running: 2, waiting: 4, perClient: 1 });
const hashPassword = (password: string) => passwords.hash(password);
const verifyPassword = (password: string, stored: string) => passwords.verify(password, stored);
const hashingQueue = passwords.queue;

test('when a password is hashed, then only that password verifies, and each hash is salted', async () => {
  const first = await hashPassword('correct horse battery staple');
  const second = await hashPassword('correct horse battery staple');
  expect(first).not.toBe(second);
  expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
  expect(await verifyPassword('correct horse battery stapler', first)).toBe(false);
  expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
});

test('when a password is on the common list in any case or width, then it is common; a passphrase is not', () => {
  expect(isCommonPassword('password')).toBe(true);
  expect(isCommonPassword('PassWord1')).toBe(true);
  expect(isCommonPassword('\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44')).toBe(true);
  expect(isCommonPassword('correct horse battery')).toBe(false);
});

test('when a hash was stored with the earlier settings (N=2^15, p=3), then its password still verifies', async () => {
  const salt = randomBytes(16);
  const key = scryptSync('an older passphrase', salt, 32, { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 2 ** 20 });
  const stored = ['scrypt', 2 ** 15, 8, 3, salt.toString('base64'), key.toString('base64')].join('$');
  expect(await verifyPassword('an older passphrase', stored)).toBe(true);
  expect(await verifyPassword('another passphrase', stored)).toBe(false);
});

test('when many sign-ups and log-ins hash at once, then two hashes run at a time and the rest wait their turn', async () => {
  const hashing = Array.from({ length: 6 }, (_, index) => hashPassword(`passphrase number ${index}`));
  await new Promise(setImmediate); // p-limit starts queued work on a later microtask
  expect(hashingQueue.activeCount).toBe(2);
  expect(hashingQueue.pendingCount).toBe(4);
  const hashes = await Promise.all(hashing);
  expect(new Set(hashes).size).toBe(6);
  expect(await verifyPassword('passphrase number 5', hashes[5]!)).toBe(true);
  expect(hashingQueue.activeCount + hashingQueue.pendingCount).toBe(0);
});

test('when the queue already holds as many hashes as may wait, then one more is refused at once with 503 and a Retry-After', async () => {
  const busy = createPasswordHashing({ running: 1, waiting: 2, perClient: 1 });
  const queued = Array.from({ length: 3 }, (_, index) => busy.hash(`passphrase number ${index}`));
  await new Promise(setImmediate);
  expect([busy.queue.activeCount, busy.queue.pendingCount]).toEqual([1, 2]);
  const refused = await busy.hash('one too many').catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(HttpError);
  expect(refused).toMatchObject({ status: 503, retryAfterSeconds: 5 });
  expect(await Promise.all(queued)).toHaveLength(3);
  // Once the queue has room again, hashing goes on.
  expect(await busy.hash('room again')).toMatch(/^scrypt\$/);
});

test('when the client has gone by the time its hash would run, then the hash is skipped', async () => {
  const scrypt = jest.spyOn(crypto, 'scrypt');
  try {
    const busy = createPasswordHashing({ running: 1, waiting: 4, perClient: 1 });
    const running = busy.hash('first in line');
    const client = new AbortController();
    const waiting = busy.hash('second in line', { signal: client.signal }).catch((error: unknown) => error);
    client.abort();
    await running;
    expect(await waiting).toMatchObject({ status: 499 });
    expect(scrypt).toHaveBeenCalledTimes(1);
  } finally {
    scrypt.mockRestore();
  }
});

test('when one client address already has a hash in the queue, then its next one is refused with 429 while other addresses queue as before', async () => {
  const busy = createPasswordHashing({ running: 1, waiting: 4, perClient: 1 });
  const first = busy.hash('from the sprayer', { client: '203.0.113.7' });
  const again = await busy.hash('again from the sprayer', { client: '203.0.113.7' }).catch((error: unknown) => error);
  expect(again).toMatchObject({ status: 429, retryAfterSeconds: 1 });
  const someoneElse = busy.hash('a real person', { client: '198.51.100.1' });
  await Promise.all([first, someoneElse]);
  // Its hash done, the address may try again.
  expect(await busy.hash('later from the sprayer', { client: '203.0.113.7' })).toMatch(/^scrypt\$/);
});
