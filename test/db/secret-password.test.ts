import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { secretPassword } from '../../app/db/secret-password';

// Secrets Manager cannot be reached from here: the mock answers GetSecretValue in the API's own
// shape (SecretString holding the JSON that RDS writes).
const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0123-AbCdEf';
const rdsSecret = (password: string) => ({ SecretString: JSON.stringify({ username: 'cloudwiki', password }) });

test('when RDS rotates the password, then the cached one is used until the pool reports it refused', async () => {
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  const secrets = mockClient(client);
  secrets.on(GetSecretValueCommand, { SecretId: secretArn }).resolvesOnce(rdsSecret('before')).resolves(rdsSecret('after'));
  const password = secretPassword(secretArn, 'eu-west-1', client);

  expect(await password()).toBe('before');
  expect(await password()).toBe('before');
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);

  password.forget();
  expect(await password()).toBe('after');
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
});

test('when the secret has no password field, then the error names the secret', async () => {
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  mockClient(client).on(GetSecretValueCommand).resolves({ SecretString: '{"username":"cloudwiki"}' });
  await expect(secretPassword(secretArn, 'eu-west-1', client)()).rejects.toThrow(`Secret ${secretArn} has no "password" field`);
});
