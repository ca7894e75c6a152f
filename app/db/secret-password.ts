import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A password read for each new connection, with a cache the pool can drop when it stops working. */
export interface RotatingPassword {
  (): Promise<string>;
  /** The server refused the password: the next connection reads the secret again at once. */
  forget(): void;
}

const cacheMs = 5 * 60_000;

/**
 * The database password from the Secrets Manager secret RDS manages. RDS rotates it on its own
 * schedule; reading it for each new connection (cached five minutes) means a rotation never needs
 * a redeploy, and the password is never written into an env file. After a rotation the cached
 * value is wrong until it expires, so the pool calls forget() on the first refused login.
 */
export function secretPassword(secretArn: string, region: string, client = new SecretsManagerClient({ region })): RotatingPassword {
  let cached: { value: string; fetchedAt: number } | undefined;
  const password = async () => {
    if (cached && Date.now() - cached.fetchedAt < cacheMs) return cached.value;
    const secret = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const { password: value } = JSON.parse(secret.SecretString ?? '{}') as { password?: string };
    if (!value) throw new Error(`Secret ${secretArn} has no "password" field`);
    cached = { value, fetchedAt: Date.now() };
    return value;
  };
  return Object.assign(password, { forget: () => (cached = undefined) });
}
