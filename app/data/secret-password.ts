import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The database password from the Secrets Manager secret RDS manages. RDS rotates it on its own
 * schedule; reading it for each new connection (cached five minutes) means a rotation never needs
 * a redeploy, and the password is never written into an env file.
 */
export function secretPassword(secretArn: string, region: string): () => Promise<string> {
  const client = new SecretsManagerClient({ region });
  let cached: { value: string; fetchedAt: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.fetchedAt < 5 * 60_000) return cached.value;
    const secret = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const { password } = JSON.parse(secret.SecretString ?? '{}') as { password?: string };
    if (!password) throw new Error(`Secret ${secretArn} has no "password" field`);
    cached = { value: password, fetchedAt: Date.now() };
    return password;
  };
}
