import { createServer } from 'node:net';
import pino from 'pino';
import { migrateWhenReady } from '../../app/db/migrate';

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('migrateWhenReady', () => {
  test('when the database never answers, then it tries the given number of times, pausing between, and throws the last error', async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${await closedPort()}/postgres?sslmode=disable`;
    const pauses: number[] = [];
    const pause = async (attempt: number) => void pauses.push(attempt);
    await expect(migrateWhenReady(url, pino({ level: 'silent' }), undefined, { attempts: 3, pause })).rejects.toThrow(
      /ECONNREFUSED|connect/,
    );
    expect(pauses).toEqual([1, 2]);
  });

  test('when the database answers, then the migrations are applied (or already are) without a pause', async () => {
    const pause = jest.fn(async () => undefined);
    const applied = await migrateWhenReady(process.env.TEST_DATABASE_URL!, pino({ level: 'silent' }), undefined, { attempts: 3, pause });
    expect(Array.isArray(applied)).toBe(true);
    expect(pause).not.toHaveBeenCalled();
  });
});
