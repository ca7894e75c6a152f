import { connectionConfig } from '../../app/db/connection-config';

test('when a password source is given, then it replaces the URL’s (absent) password and the rest of the URL is kept', () => {
  const password = async () => 'from-the-secret';
  const config = connectionConfig('postgres://cloudwiki@writer.internal:5432/wiki?sslmode=verify-full&application_name=x', password);
  expect(config).not.toHaveProperty('connectionString');
  expect(config).toMatchObject({ user: 'cloudwiki', host: 'writer.internal', port: 5432, database: 'wiki', password });
  expect(config.ssl).toBeTruthy();
});

test('when there is no password source, then the URL is used as it is', () => {
  expect(connectionConfig('postgres://u:p@localhost/db')).toEqual({ connectionString: 'postgres://u:p@localhost/db' });
});
