import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import pLimit from 'p-limit';
import { dictionary } from '@zxcvbn-ts/language-common';

// scrypt is memory-hard (each hash needs 128·N·r bytes), which makes GPU guessing expensive.
// N=2^14, r=8, p=5 is one of OWASP's equivalent recommended settings (Password Storage Cheat
// Sheet): 16 MiB per hash and about 0.3 s of one core here. Hashes stored with other settings
// (2^15, 8, 3 before) keep verifying: each hash carries its own.
const params = { N: 2 ** 14, r: 8, p: 5 };
const keyLength = 32;

// Hashes run on libuv's thread pool (4 threads), which also resolves host names (every new
// database connection) and reads files. A burst of sign-ups or log-ins must neither take all of
// it, or connections would queue behind seconds of hashing and trip the database circuit breaker,
// nor multiply the memory: at most two hashes at once per process, the rest wait their turn.
export const hashingQueue = pLimit(2);

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
  const scryptOptions: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
  return hashingQueue(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFKC'), salt, keyLength, scryptOptions, (error, key) => (error ? reject(error) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// ASVS 2.1.7: refuse the passwords attackers try first. zxcvbn-ts keeps this list (about 49,000
// passwords seen most often in breaches, lower case), so an update is an npm update.
let commonPasswords: Set<string> | undefined;

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common']);
  return commonPasswords.has(password.normalize('NFKC').toLowerCase());
}
