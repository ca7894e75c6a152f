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

const sslRequestCode = 80877103;
const cancelRequestCode = 80877102;
const protocolVersion3 = 196608;
const endsExchange = new Set(['S', 'Q']); // Sync, simple Query
const terminate = 'X';

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
    const connection = {};
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
      });
    });
    socket.on('error', () => socket.destroy());
  }

  private async run(connection: object, messages: Buffer[], socket: Socket): Promise<void> {
    await this.lock.acquire(connection);
    try {
      for (const message of messages) {
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
