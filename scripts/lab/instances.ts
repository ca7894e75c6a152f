import { readFileSync } from 'node:fs';
import { startProcess, type ManagedProcess } from '../services/process';
import { freePort } from '../services/ports';
import type { Fleet, GroupInstance } from './auto-scaling-group';
import type { Haproxy } from './haproxy';

export interface AppCommand {
  command: string;
  args: string[];
}

/** The app's production start, as the EC2 bootstrap runs it. */
export const productionStart: AppCommand = { command: process.execPath, args: ['dist/app/server.js'] };

interface RunningInstance {
  process: ManagedProcess;
  port: number;
  lastCpuTicks?: { ticks: number; at: number };
}

const clockTicksPerSecond = 100;

/** CPU time (user + system) of a process in clock ticks, from /proc: no dependency needed. */
function cpuTicks(pid: number): number | undefined {
  try {
    // Fields after the command name (which may contain spaces) start at the closing parenthesis.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * The lab's "EC2": each instance is a child process running the app with its own PORT,
 * INSTANCE_ID and INSTANCE_AZ, registered in its HAProxy slot once started.
 */
export class ProcessFleet implements Fleet {
  private readonly running = new Map<string, RunningInstance>();
  private closed = false;

  constructor(
    private readonly options: {
      app: AppCommand;
      cwd: string;
      env: Record<string, string>;
      haproxy: Haproxy;
      drainTimeoutMs: number;
      onLine?: (instanceId: string, line: string) => void;
    },
  ) {}

  async launch(instance: GroupInstance): Promise<void> {
    const port = await freePort();
    // A launch decided just before the lab began stopping must not leave a process behind.
    if (this.closed) throw new Error('the lab is stopping');
    const child = startProcess({
      name: instance.id,
      command: this.options.app.command,
      args: this.options.app.args,
      cwd: this.options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...this.options.env,
        PORT: String(port),
        INSTANCE_ID: instance.id,
        INSTANCE_AZ: instance.az,
        DRAIN_TIMEOUT_MS: String(this.options.drainTimeoutMs),
      },
      onLine: (line) => this.options.onLine?.(instance.id, line),
    });
    this.running.set(instance.id, { process: child, port });
    // Registered at once: the health checks, not the launcher, decide when it takes traffic.
    await this.options.haproxy.register(instance.slot, port);
  }

  async terminate(instance: GroupInstance): Promise<void> {
    const running = this.running.get(instance.id);
    // Out of rotation first, then SIGTERM: the app drains in-flight requests and exits.
    await this.options.haproxy.deregister(instance.slot).catch(() => {});
    await running?.process.stop('SIGTERM', this.options.drainTimeoutMs + 2000);
    this.running.delete(instance.id);
  }

  /** A crash, not a shutdown: SIGKILL, no draining (the chaos `instance` fault). */
  kill(instanceId: string): boolean {
    const running = this.running.get(instanceId);
    if (!running || running.process.hasExited()) return false;
    process.kill(running.process.pid, 'SIGKILL');
    return true;
  }

  isAlive(instanceId: string): boolean {
    const running = this.running.get(instanceId);
    return Boolean(running && !running.process.hasExited());
  }

  describe(instanceId: string): { pid: number; port: number; recentOutput: string } | undefined {
    const running = this.running.get(instanceId);
    return running && { pid: running.process.pid, port: running.port, recentOutput: running.process.recentOutput() };
  }

  /** CPU use since the previous call, in percent of one core. */
  cpuPercent(instanceId: string, now = Date.now()): number {
    const running = this.running.get(instanceId);
    if (!running) return 0;
    const ticks = cpuTicks(running.process.pid);
    if (ticks === undefined) return 0;
    const previous = running.lastCpuTicks;
    running.lastCpuTicks = { ticks, at: now };
    if (!previous || now <= previous.at) return 0;
    return ((ticks - previous.ticks) / clockTicksPerSecond / ((now - previous.at) / 1000)) * 100;
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running.values()].map((running) => running.process.stop('SIGTERM', 5000)));
    this.running.clear();
  }
}
