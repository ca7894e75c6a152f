import { randomBytes, scryptSync } from 'node:crypto';
import { hashingQueue, hashPassword, isCommonPassword, verifyPassword } from '../../app/accounts/passwords';

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
