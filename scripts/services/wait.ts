import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What we are waiting for, in words: it ends up in the timeout error. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Stops waiting early, e.g. when the server process has exited. */
  giveUp?: () => string | undefined;
}

/** Polls `probe` until it resolves truthy; the last error is part of the timeout message. */
export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError = '';
  while (Date.now() < deadline) {
    const reason = options.giveUp?.();
    if (reason) throw new Error(`${options.what}: ${reason}`);
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.intervalMs ?? 200);
  }
  throw new Error(
    `timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${options.what}${lastError ? ` (last error: ${lastError})` : ''}`,
  );
}

/** True when `url` answers with a status below 500 within a second. */
export async function httpAnswers(url: string, init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, {
    ...init,
    signal: AbortSignal.timeout(1000),
  });
  await response.arrayBuffer();
  return response.status < 500;
}
