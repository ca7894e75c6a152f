import { hashPassword, verifyPassword } from '../app/passwords';

test('when a password is hashed, then only that password verifies, and each hash is salted', async () => {
  const first = await hashPassword('correct horse battery staple');
  const second = await hashPassword('correct horse battery staple');
  expect(first).not.toBe(second);
  expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
  expect(await verifyPassword('correct horse battery stapler', first)).toBe(false);
  expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
});
