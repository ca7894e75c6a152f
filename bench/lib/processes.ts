import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { startProcess, type ManagedProcess } from '../../scripts/services/process';
import { waitUntil } from '../../scripts/services/wait';

export { freePort } from '../../scripts/services/ports';
export type { ManagedProcess };

/** Starts a Node.js script of the benchmark's (a target server) and waits until `url` answers 200. */
export async function startNodeServer(
  name: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  url: string,
): Promise<ManagedProcess> {
  const server = startProcess({ name, command: process.execPath, args: [script, ...args], env });
  await waitUntil(
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.status === 200;
    },
    {
      what: `${name} at ${url}`,
      timeoutMs: 60_000,
      intervalMs: 50,
      giveUp: () => (server.hasExited() ? `it exited:\n${server.recentOutput()}` : undefined),
    },
  );
  return server;
}

/** Peak and current resident memory of a process, from /proc (Linux). */
export function memoryMiB(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kib('VmHWM') / 1024, current: kib('VmRSS') / 1024 };
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
  const script = `${quoted} 2>/tmp/.bench-stderr-$$; code=$?; times >&2; cat /tmp/.bench-stderr-$$ >&2; rm -f /tmp/.bench-stderr-$$; exit $code`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  // `times` prints the shell's own user/sys, then its children's: "0m1.234s 0m0.056s".
  const lines = stderr.split('\n');
  const seconds = [...(lines[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { stdout, stderr: lines.slice(2).join('\n'), code, cpuSeconds: seconds };
}

/** A process and all its descendants (a cluster primary and its workers), from /proc (Linux). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces; the parent pid follows the state.
      const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(afterName[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [root];
  for (let index = 0; index < tree.length; index += 1) {
    for (const [pid, parent] of parents) if (parent === tree[index]) tree.push(pid);
  }
  return tree;
}
