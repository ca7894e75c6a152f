import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const started = new Set<ChildProcess>();

// Whatever happens to the benchmark, the servers it started do not outlive it.
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a long-running process, keeping the tail of its output for error messages. */
export function startProcess(command: string, args: string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  started.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => started.delete(child));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port nothing listens on right now, on loopback. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls until the URL answers with `status` (or any status when omitted). */
export async function waitForHttp(url: string, what: Started, timeoutMs: number, status?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (what.child.exitCode !== null) throw new Error(`${url}: the process exited (${what.child.exitCode}):\n${what.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (status === undefined || response.status === status) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${what.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Peak and current resident memory of a process, from /proc (Linux). */
export function memoryMiB(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kib('VmHWM') / 1024, current: kib('VmRSS') / 1024 };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of stat; index 11 and 12 after the command name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

export interface CommandRun {
  stdout: string;
  stderr: string;
  code: number;
  /** User + system CPU of the command and every process it started (bash's `times`). */
  cpuSeconds: number;
}

/** Runs a command to completion and measures the CPU it and its children used. */
export async function runMeasured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
  const quoted = [command, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn(
    'bash',
    ['-c', `${quoted} 2>/tmp/.bench-stderr-$$; code=$?; times >&2; cat /tmp/.bench-stderr-$$ >&2; rm -f /tmp/.bench-stderr-$$; exit $code`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  // `times` prints the shell's own user/sys, then its children's: "0m1.234s 0m0.056s".
  const lines = stderr.split('\n');
  const childTimes = lines[1] ?? '';
  const seconds = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { stdout, stderr: lines.slice(2).join('\n'), code, cpuSeconds: seconds };
}
