import { once } from 'node:events';
import http from 'node:http';

export interface CountingProxy {
  url: string;
  stop: () => Promise<void>;
  /** DynamoDB operations seen, by name (GetItem, PutItem, ...). */
  counts: () => Record<string, number>;
  reset: () => void;
}

/**
 * Sits between the app and DynamoDB Local and counts operations by their X-Amz-Target header:
 * DynamoDB Local keeps no metrics, and this counts exactly what the app's session store sends.
 */
export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  let counts: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    const operation =
      String(request.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .at(-1) ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => response.destroy(error));
    request.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    stop: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}
