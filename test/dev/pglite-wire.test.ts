import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

let server: ChildProcess;
let url: string;

// PGlite compiles its WebAssembly on start: seconds on a busy 2-core machine.
beforeAll(async () => {
  server = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/pglite-wire-process.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  url = await new Promise<string>((resolve) => createInterface({ input: server.stdout! }).once('line', resolve));
  await query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
}, 60_000);

afterAll(async () => {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});

async function query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

test('when a pool runs parameterised queries and transactions on many connections at once, then none interleave', async () => {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined);
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; i < 60; i += 1) {
        try {
          if (i % 6 === 0) {
            const client = await pool.connect();
            try {
              await client.query('BEGIN');
              await client.query('INSERT INTO counters VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = counters.n + 1', [worker]);
              await client.query('COMMIT');
            } finally {
              client.release();
            }
          } else {
            const { rows } = await pool.query<{ sum: number }>('SELECT $1::int + $2::int AS sum', [i, worker]);
            if (rows[0]!.sum !== i + worker) failures.push(`wrong answer ${rows[0]!.sum} for ${i}+${worker}`);
          }
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    }),
  );
  await pool.end();
  expect(failures).toEqual([]);
  const [totals] = await query<{ total: number }>('SELECT sum(n)::int AS total FROM counters');
  expect(totals!.total).toBe(8 * 10);
});

test('when a client disconnects inside a transaction, then it is rolled back and others carry on', async () => {
  const quitter = new pg.Client({ connectionString: url });
  quitter.on('error', () => undefined);
  await quitter.connect();
  await quitter.query('BEGIN');
  await quitter.query('INSERT INTO counters VALUES (999, 1)');
  (quitter as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();

  const [left] = await query<{ count: number }>('SELECT count(*)::int AS count FROM counters WHERE id = 999');
  expect(left!.count).toBe(0);
});

test('when several connections prepare statements of the same name, then each runs its own, and a reconnect can prepare it again', async () => {
  const clients = await Promise.all(
    [1, 2, 3].map(async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  try {
    const answers = await Promise.all(
      clients.map(async (client, index) => {
        const sums: number[] = [];
        for (let round = 0; round < 5; round += 1) {
          const text = index === 2 ? 'SELECT $1::int * 10 AS sum' : 'SELECT $1::int + 1 AS sum';
          const { rows } = await client.query<{ sum: number }>({ name: 'shared-name', text, values: [round] });
          sums.push(rows[0]!.sum);
        }
        return sums;
      }),
    );
    expect(answers).toEqual([
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
      [0, 10, 20, 30, 40],
    ]);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
  // The connections' statements were deallocated when they left: a new one may reuse the name.
  const again = new pg.Client({ connectionString: url });
  await again.connect();
  try {
    const { rows } = await again.query<{ sum: number }>({ name: 'shared-name', text: 'SELECT $1::int + 1 AS sum', values: [41] });
    expect(rows[0]!.sum).toBe(42);
  } finally {
    await again.end();
  }
});
