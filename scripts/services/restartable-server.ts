import { startProcess, type ManagedProcess, type StartProcessOptions } from './process';
import { waitUntil } from './wait';

export interface RestartableServer {
  /** Answering requests: a server that has been started again is not running until it answers. */
  readonly isRunning: () => boolean;
  /** Starts it again after stop() (the chaos faults); does nothing while it runs. */
  readonly start: () => Promise<void>;
  readonly stop: () => Promise<void>;
  /** The running process's id (the chaos `db-freeze` fault signals it); undefined when stopped. */
  readonly pid: () => number | undefined;
}

export interface RestartableServerOptions {
  /** What it is and where, for errors: "PostgreSQL on 127.0.0.1:5432". */
  what: string;
  process: StartProcessOptions;
  /** Resolves true once the server answers a real request. */
  isReady: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** The signal for a quick, clean shutdown (SIGINT for PostgreSQL's fast shutdown). */
  stopSignal: NodeJS.Signals;
  stopGraceMs: number;
}

/** A server process that can be stopped and started again on the same port and data. */
export async function startRestartableServer(options: RestartableServerOptions): Promise<RestartableServer> {
  let server: ManagedProcess | undefined;
  let ready = false;
  const start = async () => {
    ready = false;
    const current = (server = startProcess(options.process));
    await waitUntil(options.isReady, {
      what: options.what,
      timeoutMs: options.readyTimeoutMs,
      giveUp: () => (current.hasExited() ? `${options.process.name} exited:\n${current.recentOutput()}` : undefined),
    });
    ready = true;
  };
  await start();
  return {
    isRunning: () => ready && Boolean(server && !server.hasExited()),
    start: async () => {
      if (server && !server.hasExited()) return;
      await start();
    },
    stop: async () => {
      await server?.stop(options.stopSignal, options.stopGraceMs);
    },
    pid: () => (server && !server.hasExited() ? server.pid : undefined),
  };
}
