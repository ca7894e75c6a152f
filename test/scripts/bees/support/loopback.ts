import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../../../scripts/bees/cli';
import { runCli } from '../../../../scripts/bees/cli';

export interface Loopback {
  url: string;
  close: () => Promise<void>;
}

/** Listens on 127.0.0.1 on a free port; tests attack only this. */
export async function listenOnLoopback(handler: http.RequestListener): Promise<Loopback> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bees CLI in-process with captured output (bees themselves are real child processes). */
export async function bees(argv: string[], awsClients?: CliIo['awsClients']): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  (stderr as unknown as PassThrough).on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const code = await runCli(argv, {
    stdout,
    stderr,
    awsClients:
      awsClients ??
      (() => {
        throw new Error('this test expected no AWS call');
      }),
  });
  return { code, stdout: Buffer.concat(chunks.stdout).toString(), stderr: Buffer.concat(chunks.stderr).toString() };
}
