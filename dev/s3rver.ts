import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

export interface S3rverOptions {
  /** 0: any free port, reported in the endpoint. */
  port: number;
  /** Where objects are stored on disk. */
  directory: string;
  buckets: string[];
  /** Buckets with S3 website hosting, each with its WebsiteConfiguration XML. */
  websites?: Array<{ name: string; configuration: string }>;
}

export interface S3rverServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * s3rver in this process on 127.0.0.1: S3 for `npm start`, the services and the lab. It does not
 * check signatures (never a security boundary), and it serves buckets by path, not virtual host.
 */
export async function startS3rver(options: S3rverOptions): Promise<S3rverServer> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [
      ...options.buckets.map((name) => ({ name, configs: [] })),
      ...(options.websites ?? []).map(({ name, configuration }) => ({ name, configs: [configuration] })),
    ],
  });
  const { port } = (await server.run()) as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: () => server.close() };
}
