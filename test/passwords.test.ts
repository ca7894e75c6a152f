import { hashPassword, isCommonPassword, verifyPassword } from '../app/passwords';

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
