/**
 * Rejects with `reason` (a message, or a function that makes the error: only called on timeout, so
 * the fast path builds no Error) if `work` has not settled within `timeoutMs`.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, reason: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof reason === 'string' ? new Error(reason) : reason()), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
