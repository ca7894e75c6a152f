import type { RequestHandler } from 'express';
import { HttpError } from './http-error';

// PostgreSQL's text type cannot hold U+0000: a NUL that reaches a query fails there as a 500
// ("invalid byte sequence for encoding UTF8: 0x00"). No person types one, so each route refuses
// it at its edge, with a 400 that says what to fix.

export function hasNulByte(value: string): boolean {
  return value.includes('\u0000');
}

export function nulByteMessage(field: string): string {
  return `The ${field} contains a NUL character (U+0000), which cannot be stored. Remove it and try again.`;
}

/** For routes whose query string reaches the database (search). */
export const refuseNulBytesInQuery: RequestHandler = (req, _res, next) => {
  const values = Object.values(req.query).flat();
  next(values.some((value) => typeof value === 'string' && hasNulByte(value)) ? new HttpError(400, nulByteMessage('search')) : undefined);
};
