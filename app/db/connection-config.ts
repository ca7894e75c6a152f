import type pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

/**
 * pg's settings for one database URL. With a password source (the Secrets Manager secret RDS
 * rotates), the URL carries no password, and pg would let the URL's empty one override the
 * `password` option if both were given as `{ connectionString, password }`: so the URL is parsed
 * here and the source takes the password's place.
 */
export function connectionConfig<P extends string | (() => Promise<string>)>(url: string, password?: P): pg.ClientConfig {
  if (!password) return { connectionString: url };
  const { password: _fromUrl, ...fields } = parseIntoClientConfig(url);
  return { ...fields, password };
}
