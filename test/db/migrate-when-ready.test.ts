import pino from 'pino';
import { migrateWhenReady } from '../../app/db/migrate';
import { freePort } from '../../scripts/services/ports';

describe('migrateWhenReady', () => {
  test('when the database never answers, then it tries the given number of times, pausing between, and throws the last error', async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${await freePort()}/postgres?sslmode=disable`;
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
