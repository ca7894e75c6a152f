import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A database endpoint the lab owns, as RDS's writer and reader endpoints are DNS names that RDS
 * repoints: clients connect to this port, and each connection is piped to the server the
 * endpoint points at right now. Repointing cuts the open connections, as a failover does (the old
 * primary is gone), so clients reconnect and land on the new target.
 */
export interface TcpEndpoint {
  readonly port: number;
  /** The port connections go to; undefined while nothing serves (connections are closed at once). */
  readonly target: () => number | undefined;
  readonly repoint: (port: number | undefined) => void;
  readonly stop: () => Promise<void>;
}

export async function startTcpEndpoint(options: { port: number; target: number | undefined }): Promise<TcpEndpoint> {
  let target = options.target;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (target === undefined) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    const pair = [client, upstream];
    for (const socket of pair) {
      open.add(socket);
      // Either side failing or closing ends both, as a dropped TCP connection would.
      socket.on('error', () => pair.forEach((end) => end.destroy()));
      socket.on('close', () => {
        open.delete(socket);
        pair.forEach((end) => end.destroy());
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const cutAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    port: options.port,
    target: () => target,
    repoint: (port) => {
      target = port;
      cutAll();
    },
    stop: () =>
      new Promise((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
