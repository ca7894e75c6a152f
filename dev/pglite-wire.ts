import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

// PGlite is one PostgreSQL session in one thread. To serve a pg pool (several connections) over
// the wire protocol, each client's *exchange* must reach it whole: with the extended protocol a
// query is Parse, Bind, Describe, Execute, then Sync, and if another connection's messages land in
// between they clobber the unnamed statement and portal ("portal "" does not exist").
// @electric-sql/pglite-socket queues single messages, which interleaves exactly that way under
// concurrency, so this server queues whole exchanges instead: everything up to a Sync or a simple
// Query runs under one lock, and a connection that leaves a transaction open keeps the lock until
// it ends the transaction (or disconnects, which rolls it back).
//
// Named prepared statements are per connection in PostgreSQL, but here every connection shares
// PGlite's one session: two pool connections preparing "page-view" would collide ("prepared
// statement already exists"). Each connection's statement and portal names are therefore given
// its own prefix on the way in, and its statements are deallocated when it disconnects.

const sslRequestCode = 80877103;
const cancelRequestCode = 80877102;
const protocolVersion3 = 196608;
const endsExchange = new Set(['S', 'Q']); // Sync, simple Query
const terminate = 'X';

/** Rewrites the statement and portal names in one client message so they are unique to `scope`. */
function scopeNames(message: Buffer, scope: string): { message: Buffer; prepared?: string } {
  const type = String.fromCharCode(message[0]!);
  const body = message.subarray(5);
  const readName = (at: number): [string, number] => {
    const end = body.indexOf(0, at);
    return [body.toString('utf8', at, end), end + 1];
  };
  const scoped = (name: string) => (name === '' ? '' : `${scope}${name}`);
  const pieces: Buffer[] = [];
  let prepared: string | undefined;
  if (type === 'P' || type === 'E') {
    // Parse: statement name first. Execute: portal name first.
    const [name, rest] = readName(0);
    if (name === '') return { message };
    if (type === 'P') prepared = scoped(name);
    pieces.push(Buffer.from(`${scoped(name)}\0`), body.subarray(rest));
  } else if (type === 'B') {
    const [portal, afterPortal] = readName(0);
    const [statement, rest] = readName(afterPortal);
    if (portal === '' && statement === '') return { message };
    pieces.push(Buffer.from(`${scoped(portal)}\0${scoped(statement)}\0`), body.subarray(rest));
  } else if (type === 'D' || type === 'C') {
    const [name, rest] = readName(1);
    if (name === '') return { message };
    pieces.push(body.subarray(0, 1), Buffer.from(`${scoped(name)}\0`), body.subarray(rest));
  } else {
    return { message };
  }
  const newBody = Buffer.concat(pieces);
  const header = Buffer.alloc(5);
  header[0] = message[0]!;
  header.writeInt32BE(newBody.length + 4, 1);
  return { message: Buffer.concat([header, newBody]), prepared };
}

/** A lock that the holder keeps across exchanges while its transaction is open. */
class SessionLock {
  private holder: object | null = null;
  private readonly waiting: Array<{ owner: object; grant: () => void }> = [];

  async acquire(owner: object): Promise<void> {
    if (this.holder === owner) return;
    if (this.holder === null) {
      this.holder = owner;
      return;
    }
    await new Promise<void>((grant) => this.waiting.push({ owner, grant }));
  }

  release(owner: object): void {
    if (this.holder !== owner) return;
    const next = this.waiting.shift();
    this.holder = next?.owner ?? null;
    next?.grant();
  }

  forget(owner: object): void {
    const index = this.waiting.findIndex((waiter) => waiter.owner === owner);
    if (index >= 0) this.waiting.splice(index, 1);
  }
}

export class PGliteWireServer {
  private readonly lock = new SessionLock();
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private server: Server | undefined;

  constructor(private readonly db: PGlite) {}

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    this.connections += 1;
    const connection = { scope: `c${this.connections}_`, prepared: new Set<string>() };
    let buffered = Buffer.alloc(0);
    let exchange: Buffer[] = [];
    let started = false;
    // Data events can arrive while an exchange still runs; a chain keeps them in order.
    let work = Promise.resolve();

    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const complete: Array<{ message: Buffer; endsExchange: boolean; close?: boolean }> = [];
      for (;;) {
        if (!started) {
          if (buffered.length < 8) break;
          const length = buffered.readInt32BE(0);
          const code = buffered.readInt32BE(4);
          if (code === sslRequestCode) {
            buffered = buffered.subarray(8);
            socket.write('N'); // no TLS on loopback
            continue;
          }
          if (code === cancelRequestCode) return socket.destroy();
          if (buffered.length < length) break;
          if (code !== protocolVersion3) return socket.destroy();
          complete.push({ message: buffered.subarray(0, length), endsExchange: true });
          buffered = buffered.subarray(length);
          started = true;
          continue;
        }
        if (buffered.length < 5) break;
        const length = 1 + buffered.readInt32BE(1);
        if (buffered.length < length) break;
        const type = String.fromCharCode(buffered[0]!);
        complete.push({ message: buffered.subarray(0, length), endsExchange: endsExchange.has(type), close: type === terminate });
        buffered = buffered.subarray(length);
      }
      for (const item of complete) {
        if (item.close) {
          work = work.then(() => {
            socket.end();
          });
          continue;
        }
        exchange.push(Buffer.from(item.message));
        if (!item.endsExchange) continue;
        const messages = exchange;
        exchange = [];
        work = work
          .then(() => this.run(connection, messages, socket))
          .catch(() => {
            socket.destroy();
          });
      }
    });

    socket.on('close', () => {
      this.sockets.delete(socket);
      this.lock.forget(connection);
      // A client that vanished inside a transaction must not leave PGlite stuck in it.
      void work.then(async () => {
        if (!this.db.closed && this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => undefined);
        this.lock.release(connection);
        if (connection.prepared.size === 0 || this.db.closed) return;
        // Under the lock: a simple query between another connection's Parse and Sync would
        // clobber its unnamed statement.
        await this.lock.acquire(connection);
        try {
          for (const name of connection.prepared) await this.db.exec(`DEALLOCATE "${name.replace(/"/g, '""')}"`).catch(() => undefined);
        } finally {
          this.lock.release(connection);
        }
      });
    });
    socket.on('error', () => socket.destroy());
  }

  private async run(connection: { scope: string; prepared: Set<string> }, messages: Buffer[], socket: Socket): Promise<void> {
    await this.lock.acquire(connection);
    try {
      for (const raw of messages) {
        const { message, prepared } = scopeNames(raw, connection.scope);
        if (prepared) connection.prepared.add(prepared);
        await this.db.execProtocolRawStream(new Uint8Array(message), {
          onRawData: (data) => {
            if (socket.writable) socket.write(data);
          },
        });
      }
    } finally {
      if (this.db.closed || !this.db.isInTransaction()) this.lock.release(connection);
    }
  }
}
