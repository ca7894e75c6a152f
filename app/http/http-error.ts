/**
 * An error whose message is safe and useful to show the person who made the request. Errors of
 * other modules get the same treatment by carrying `status` and `expose: true` (as
 * DatabaseUnavailableError does), so this module needs to know none of them.
 */
export class HttpError extends Error {
  readonly expose = true;
  /** Sent as Retry-After: when a refusal (429, 503) is worth trying again. */
  readonly retryAfterSeconds?: number;
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** The headers an error's answer carries besides its status: Retry-After when it says when. */
export function errorHeaders(error: unknown): Record<string, string> {
  return error instanceof HttpError && error.retryAfterSeconds !== undefined ? { 'Retry-After': String(error.retryAfterSeconds) } : {};
}

/** The status and the message a person may see for any error (details of a 5xx stay in the log). */
export function describeError(error: unknown): { status: number; message: string } {
  const status = statusOf(error);
  return { status, message: publicMessage(error, status) };
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  const status = (error as { status?: unknown; statusCode?: unknown })?.status ?? (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  // A session store that cannot be reached (DynamoDB down): the page can't know who you are.
  if ((error as { $metadata?: unknown })?.$metadata || (error as Error)?.name === 'TimeoutError') return 503;
  return 500;
}

function publicMessage(error: unknown, status: number): string {
  if ((error as { expose?: unknown })?.expose === true || status < 500) return (error as Error).message;
  if (status === 503) return 'The session store is unavailable right now, so we cannot tell who you are. Try again in a few seconds.';
  return 'Something went wrong on our side. It has been logged; try again in a moment.';
}
