import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import pLimit from 'p-limit';
import { dictionary } from '@zxcvbn-ts/language-common';
import { HttpError } from '../http/http-error';

// scrypt is memory-hard (each hash needs 128·N·r bytes), which makes GPU guessing expensive.
// N=2^14, r=8, p=5 is one of OWASP's equivalent recommended settings (Password Storage Cheat
// Sheet): 16 MiB per hash and about 0.3 s of one core here. Hashes stored with other settings
// (2^15, 8, 3 before) keep verifying: each hash carries its own.
const params = { N: 2 ** 14, r: 8, p: 5 };
const keyLength = 32;

export interface HashingQueueSize {
  /** Hashes running at once in this process. */
  running: number;
  /** Hashes waiting for a turn; one more is refused with 503 rather than queued. */
  waiting: number;
  /** Hashes one client address may have running or waiting; one more is refused with 429 (0: no limit). */
  perClient: number;
}

/** Who a hash is for: skipped if the client has gone, and counted against its address. */
export interface HashRequest {
  signal?: AbortSignal;
  client?: string;
}

// Hashes run on libuv's thread pool (4 threads), which also resolves host names (every new
// database connection) and reads files. A burst of sign-ups or log-ins must neither take all of
// it, or connections would queue behind seconds of hashing and trip the database circuit breaker,
// nor multiply the memory: a few hashes at once per process, the rest wait their turn. The wait
// is bounded too: a log-in spray would otherwise queue hashes without end, and a real person's
// log-in behind them would take seconds. A full queue answers 503 at once, and a hash whose
// client has gone is skipped when its turn comes. One address may hold only `perClient` places,
// so a spray from one address (before its failure limit stops it) leaves the other places to
// everyone else: a real log-in waits for at most the hashes already running.
export function createPasswordHashing(size: HashingQueueSize) {
  const queue = pLimit(size.running);
  const heldBy = new Map<string, number>();
  const isBusy = (client: string) => size.perClient > 0 && (heldBy.get(client) ?? 0) >= size.perClient;

  async function derive(
    password: string,
    salt: Buffer,
    options: { N: number; r: number; p: number },
    request: HashRequest,
  ): Promise<Buffer> {
    const { signal, client } = request;
    if (client !== undefined && isBusy(client)) throw stillChecking();
    // p-limit starts queued work on a later microtask, so a hash just handed over still counts as
    // pending: the bound is on everything it holds, running or waiting.
    if (queue.activeCount + queue.pendingCount >= size.running + size.waiting)
      throw new HttpError(503, 'Too many log-ins and sign-ups are being checked right now. Try again in a few seconds.', {
        retryAfterSeconds: 5,
      });
    const scryptOptions: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
    if (client !== undefined) heldBy.set(client, (heldBy.get(client) ?? 0) + 1);
    try {
      return await queue(
        () =>
          new Promise<Buffer>((resolve, reject) => {
            if (signal?.aborted) return reject(new HttpError(499, 'The client closed the request before its password was checked.'));
            scrypt(password.normalize('NFKC'), salt, keyLength, scryptOptions, (error, key) => (error ? reject(error) : resolve(key)));
          }),
      );
    } finally {
      if (client !== undefined) {
        const held = (heldBy.get(client) ?? 1) - 1;
        if (held > 0) heldBy.set(client, held);
        else heldBy.delete(client);
      }
    }
  }

  return {
    /**
     * Refuses (429) a request whose address already holds all its places, before it costs a
     * counter update or a database query: a spray from one address sends these in a tight loop.
     */
    refuseWhileChecking(client: string): void {
      if (isBusy(client)) throw stillChecking();
    },

    /** How many hashes run and wait, for tests and the benchmark. */
    queue: queue as { readonly activeCount: number; readonly pendingCount: number },

    async hash(password: string, request: HashRequest = {}): Promise<string> {
      const salt = randomBytes(16);
      const key = await derive(password, salt, params, request);
      return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
    },

    async verify(password: string, stored: string, request: HashRequest = {}): Promise<boolean> {
      const [scheme, N, r, p, salt, key] = stored.split('$');
      if (scheme !== 'scrypt' || !salt || !key) return false;
      const expected = Buffer.from(key, 'base64');
      const actual = await derive(password, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) }, request);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

export type PasswordHashing = ReturnType<typeof createPasswordHashing>;

function stillChecking(): HttpError {
  return new HttpError(429, 'A log-in or sign-up from your address is still being checked. Wait for its answer, then try again.', {
    retryAfterSeconds: 1,
  });
}

// ASVS 2.1.7: refuse the passwords attackers try first. zxcvbn-ts keeps this list (about 49,000
// passwords seen most often in breaches, lower case), so an update is an npm update.
let commonPasswords: Set<string> | undefined;

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common']);
  return commonPasswords.has(password.normalize('NFKC').toLowerCase());
}
