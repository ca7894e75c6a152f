import session from 'express-session';
import { cacheSessionReads } from '../../app/sessions/session-cache';

/** A store shared by several "instances", as the DynamoDB table is. */
class SharedStore extends session.Store {
  reads = 0;
  constructor(private readonly sessions: Map<string, string>) {
    super();
  }
  get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    this.reads += 1;
    const json = this.sessions.get(sid);
    setImmediate(() => callback(null, json ? (JSON.parse(json) as session.SessionData) : null));
  }
  set(sid: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
    this.sessions.set(sid, JSON.stringify(data));
    setImmediate(() => callback?.());
  }
  destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.sessions.delete(sid);
    setImmediate(() => callback?.());
  }
}

const ttlMs = 2_000;
const data = { cookie: { originalMaxAge: 1000, expires: new Date(), httpOnly: true, path: '/' }, userId: '7', username: 'ada' };

function twoInstances() {
  const table = new Map<string, string>();
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const make = () => {
    const backing = new SharedStore(table);
    const reader = cacheSessionReads(backing, { ttlMs, now: clock.now });
    return { backing, store: backing as session.Store, reader };
  };
  return { first: make(), second: make(), clock };
}

const read = (store: Pick<session.Store, 'get'>, sid: string) =>
  new Promise<session.SessionData | null | undefined>((resolve, reject) =>
    store.get(sid, (error, value) => (error ? reject(error) : resolve(value))),
  );
const write = (store: session.Store, sid: string) =>
  new Promise<void>((resolve) => store.set(sid, data as session.SessionData, () => resolve()));
const destroy = (store: session.Store, sid: string) => new Promise<void>((resolve) => store.destroy(sid, () => resolve()));

test('when a session is read again within the window, then the store is not asked again and the copy is independent', async () => {
  const { first, clock } = twoInstances();
  await write(first.store, 'sid-a');
  // A read in the same millisecond as a write here is not cached (it may have begun before it).
  clock.advance(1);
  const once = await read(first.reader, 'sid-a');
  (once as { username: string }).username = 'mutated by express-session';
  const twice = await read(first.reader, 'sid-a');
  expect(first.backing.reads).toBe(1);
  expect(twice).toMatchObject({ userId: '7', username: 'ada' });
});

test('when a user logs out on another instance, then this instance serves its copy only until the window ends', async () => {
  const { first, second, clock } = twoInstances();
  await write(first.store, 'sid-b');
  expect(await read(second.reader, 'sid-b')).toMatchObject({ userId: '7' });
  await destroy(first.store, 'sid-b');

  // The documented window: up to ttlMs after this instance read it, the old session still works here.
  clock.advance(ttlMs - 1);
  expect(await read(second.reader, 'sid-b')).toMatchObject({ userId: '7' });
  // And not one moment longer.
  clock.advance(1);
  expect(await read(second.reader, 'sid-b')).toBeNull();
});

test('when a user logs out or the session is replaced on this instance, then this instance sees it at once', async () => {
  const { first } = twoInstances();
  await write(first.store, 'sid-c');
  expect(await read(first.reader, 'sid-c')).toMatchObject({ userId: '7' });
  await destroy(first.store, 'sid-c');
  expect(await read(first.reader, 'sid-c')).toBeNull();

  await write(first.store, 'sid-c');
  expect(await read(first.reader, 'sid-c')).toMatchObject({ userId: '7' });
});

test('when a read that began before a logout here finishes after it, then the old session is not kept', async () => {
  const { first } = twoInstances();
  await write(first.store, 'sid-d');
  const inFlight = read(first.reader, 'sid-d');
  await destroy(first.store, 'sid-d');
  await inFlight;
  expect(await read(first.reader, 'sid-d')).toBeNull();
});

test('when a state-changing request reads the session (the store itself), then the table is read every time, whatever the cache holds', async () => {
  const { first, second, clock } = twoInstances();
  await write(first.store, 'sid-e');
  clock.advance(1);
  expect(await read(second.reader, 'sid-e')).toMatchObject({ userId: '7' });
  await destroy(first.store, 'sid-e');
  // Page views on the other instance may still see the copy for the window; a write never does.
  expect(await read(second.reader, 'sid-e')).toMatchObject({ userId: '7' });
  const readsBefore = second.backing.reads;
  expect(await read(second.store, 'sid-e')).toBeNull();
  expect(second.backing.reads).toBe(readsBefore + 1);
});
