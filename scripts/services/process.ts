import { spawn, type SpawnOptions } from 'node:child_process';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>;
  readonly hasExited: () => boolean;
  /** The last lines the process printed: shown when it fails to start. */
  readonly recentOutput: () => string;
  /** Sends `signal`, then SIGKILL if the process is still there after `graceMs`. */
  readonly stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>;
}

export interface StartProcessOptions extends Pick<SpawnOptions, 'env' | 'cwd' | 'uid' | 'gid'> {
  name: string;
  command: string;
  args: string[];
  /** Called with each line of output (stdout and stderr); output is kept for errors either way. */
  onLine?: (line: string) => void;
}

const keptLines = 40;

// Children still running when this process exits for any reason (an uncaught error, a second
// Ctrl-C) are killed on the way out: a lab must never leave a server behind.
const running = new Set<ReturnType<typeof spawn>>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a long-running child whose output is captured, never inherited, so servers stay quiet. */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  const child = spawn(options.command, options.args, {
    env: options.env,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop the children
    // in order (instances before the database they use) instead of all at once.
    detached: true,
  });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > keptLines) lines.shift();
      options.onLine?.(line);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exitedFlag = false;
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve) => {
    child.on('error', (error) => {
      lines.push(String(error));
      exitedFlag = true;
      running.delete(child);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      running.delete(child);
      resolve({ code, signal });
    });
  });

  return {
    name: options.name,
    pid: child.pid ?? -1,
    exited,
    hasExited: () => exitedFlag,
    recentOutput: () => lines.join('\n'),
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (exitedFlag) return;
      child.kill(signal);
      // A process frozen by SIGSTOP (the chaos db-freeze fault) only acts on the signal once it runs.
      child.kill('SIGCONT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs `stop` once, then exits, on Ctrl-C, SIGTERM, or when the process that started us goes away:
 * `npm run` does not pass a SIGTERM on to its script, so CI killing npm would otherwise orphan
 * every server we started. An orphan is re-parented, so its parent pid changes. A second Ctrl-C
 * exits at once (the exit hook above still kills the children).
 */
export function stopOnShutdown(what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutDown = (reason: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error(`\n${reason}: stopping ${what} ...`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutDown('SIGINT'));
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !stopping) shutDown('the parent process (npm) exited');
  }, 1000).unref();
}
