import { buildTestApp, type TestApp } from '../support/app';

// Every timestamptz the app reads goes through the pools' parser (app/db/type-parsers.ts). The
// expected instant comes from PostgreSQL itself (milliseconds since the epoch, as a float8) in
// the same row, so a parser that drops an offset, a fraction or an era is caught in any time zone.

const instants = [
  '2026-12-01 23:20:28.123456+00',
  '2026-12-01 23:20:28+00',
  '2026-12-01 23:20:28.5+00',
  '2026-06-30 12:00:00.999999+00',
  '1969-12-31 23:59:59.9995+00',
  '0099-01-01 00:00:00+00',
  '0044-03-15 12:00:00+00 BC',
  '2026-03-29 02:30:00 Europe/Amsterdam',
  // Local mean time: offsets with seconds in them (+05:53:28 in Kolkata, +00:19:32 in Amsterdam).
  '1890-01-01 00:00:00.25 Asia/Kolkata',
  '1890-01-01 00:00:00 Europe/Amsterdam',
];
const sessionTimeZones = ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Chatham'];

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp();
});
afterAll(() => wiki.close());

test.each(sessionTimeZones)(
  'when the session time zone is %s, then every timestamptz is read as the instant PostgreSQL holds',
  async (zone) => {
    const rows = await wiki.db.withTransaction(async (client) => {
      // PostgreSQL writes timestamptz in the session's zone, with that zone's offset.
      await client.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
      const { rows } = await client.query<{ text: string; parsed: Date; ms: number }>(
        `SELECT v::text AS text, v AS parsed, floor(extract(epoch FROM v) * 1000)::float8 AS ms
           FROM unnest($1::timestamptz[]) AS v`,
        [instants],
      );
      return rows;
    });
    expect(rows).toHaveLength(instants.length);
    for (const { text, parsed, ms } of rows) {
      expect({ text, parsedMs: parsed instanceof Date ? parsed.getTime() : parsed }).toEqual({ text, parsedMs: ms });
    }
  },
);

test('when PostgreSQL answers infinity, then the value is Infinity, as pg has always given it', async () => {
  const { rows } = await wiki.db.read<{ future: number; past: number }>(
    `SELECT 'infinity'::timestamptz AS future, '-infinity'::timestamptz AS past`,
  );
  expect(rows[0]).toEqual({ future: Infinity, past: -Infinity });
});

test('when a timestamptz is read, then it is a Date to the millisecond', async () => {
  const { rows } = await wiki.db.read<{ at: Date }>(`SELECT '2026-12-01 23:20:28.123+00'::timestamptz AS at`);
  expect(rows[0]!.at).toBeInstanceOf(Date);
  expect(rows[0]!.at.toISOString()).toBe('2026-12-01T23:20:28.123Z');
});
