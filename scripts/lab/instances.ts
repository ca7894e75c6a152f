import { readFileSync } from 'node:fs';
import { productionRuntimeEnv } from '../../app/contracts';
import { startProcess, type ManagedProcess } from '../services/process';
import { freePort } from '../services/ports';
import type { Fleet, GroupInstance } from './auto-scaling-group';
import { fullWeight, type Haproxy } from './haproxy';

export interface AppCommand {
  command: string;
  args: string[];
  /** Added to the instance's environment (a drill's faulty build uses it). */
  env?: Record<string, string>;
}

/** The app's production start, as the EC2 bootstrap runs it. */
export const productionStart: AppCommand = { command: process.execPath, args: ['dist/app/server.js'] };

interface RunningInstance {
  process: ManagedProcess;
  port: number;
  slot: number;
  /** When HAProxy confirmed its registration: stats read before then still show the slot's past. */
  registeredAt?: number;
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
  /**
   * Launches still under way (finding a port, starting, registering). A termination or a kill
   * that arrives meanwhile waits for it: otherwise the launch would go on after the termination
   * — the process left running unseen, and its `register` reaching HAProxy after the slot was
   * handed on, or the old slot's `maint` landing on the next instance's registration.
   */
  private readonly launching = new Map<string, Promise<void>>();
  /** Instances that take a reduced share of traffic (a release's canary), by id. */
  private readonly weights = new Map<string, number>();
  /** How to start each release the group may launch, by version: the lab's launch template versions. */
  private readonly releases = new Map<string, AppCommand>();
  private closed = false;

  constructor(
    private readonly options: {
      app: AppCommand;
      cwd: string;
      env: Record<string, string>;
      haproxy: Haproxy;
      /** After SIGTERM: how long the app keeps serving while /health answers 503 (DRAIN_DELAY_MS). */
      drainDelayMs: number;
      /** Then: how long it waits for in-flight requests (DRAIN_TIMEOUT_MS). */
      drainTimeoutMs: number;
      onLine?: (instanceId: string, line: string) => void;
    },
  ) {}

  /** Makes a release launchable; its build is never changed afterwards, so a rollback starts the same code. */
  addRelease(version: string, app: AppCommand): void {
    const known = this.releases.get(version);
    if (known && JSON.stringify(known) !== JSON.stringify(app)) throw new Error(`release ${version} exists with another build`);
    this.releases.set(version, app);
  }

  hasRelease(version: string): boolean {
    return this.releases.has(version);
  }

  /**
   * The instance's share of traffic against the others' (fullWeight each). Set right after the
   * group decides a launch, it applies from the instance's registration on: it never takes
   * traffic at full weight first.
   */
  async setWeight(instanceId: string, weight: number): Promise<void> {
    if (weight === fullWeight) this.weights.delete(instanceId);
    else this.weights.set(instanceId, weight);
    const running = this.running.get(instanceId);
    if (running?.registeredAt !== undefined) await this.options.haproxy.setWeight(running.slot, weight);
  }

  launch(instance: GroupInstance): Promise<void> {
    const launch = this.start(instance).finally(() => this.launching.delete(instance.id));
    this.launching.set(instance.id, launch);
    return launch;
  }

  private async start(instance: GroupInstance): Promise<void> {
    const port = await freePort();
    // A launch decided just before the lab began stopping must not leave a process behind.
    if (this.closed) throw new Error('the lab is stopping');
    const app = this.releases.get(instance.release) ?? this.options.app;
    const child = startProcess({
      name: instance.id,
      command: app.command,
      args: app.args,
      cwd: this.options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...productionRuntimeEnv,
        ...this.options.env,
        PORT: String(port),
        INSTANCE_ID: instance.id,
        INSTANCE_AZ: instance.az,
        DRAIN_DELAY_MS: String(this.options.drainDelayMs),
        DRAIN_TIMEOUT_MS: String(this.options.drainTimeoutMs),
        // One process per instance, as one small EC2 instance: the group, not a cluster, scales it.
        WEB_CONCURRENCY: '1',
        // The lab's stand-in app reports it as its version; the real app reads its build's package.json.
        LAB_RELEASE: instance.release,
        ...app.env,
      },
      onLine: (line) => this.options.onLine?.(instance.id, line),
    });
    const running: RunningInstance = { process: child, port, slot: instance.slot };
    this.running.set(instance.id, running);
    // Registered at once: the health checks, not the launcher, decide when it takes traffic.
    await this.options.haproxy.register(instance.slot, port, this.weights.get(instance.id));
    running.registeredAt = Date.now();
  }

  /** Instances being terminated: out of rotation on purpose. */
  private readonly terminating = new Set<string>();

  async terminate(instance: GroupInstance): Promise<void> {
    this.terminating.add(instance.id);
    try {
      await this.stopInstance(instance);
    } finally {
      this.terminating.delete(instance.id);
    }
  }

  private async stopInstance(instance: GroupInstance): Promise<void> {
    await this.launching.get(instance.id)?.catch(() => {});
    const running = this.running.get(instance.id);
    // Out of rotation first, then SIGTERM: the app drains in-flight requests and exits. It may
    // have had a bare SIGTERM already (the chaos `sigterm` fault): this second one, like an ASG's,
    // must not cut its drain short, so SIGKILL waits for the whole drain.
    await this.options.haproxy.deregister(instance.slot).catch(() => {});
    await running?.process.stop('SIGTERM', this.options.drainDelayMs + this.options.drainTimeoutMs + 2000);
    this.running.delete(instance.id);
    this.weights.delete(instance.id);
  }

  /** A crash, not a shutdown: SIGKILL, no draining (the chaos `instance` fault). */
  kill(instanceId: string): boolean {
    return this.signal(instanceId, 'SIGKILL');
  }

  /**
   * Sends a signal to an instance's process; one still launching gets it as soon as it runs.
   * False when there is no such instance or its process has ended.
   */
  signal(instanceId: string, signal: NodeJS.Signals): boolean {
    const launching = this.launching.get(instanceId);
    if (launching && !this.running.has(instanceId)) {
      void launching.then(
        () => this.signal(instanceId, signal),
        () => {},
      );
      return true;
    }
    const running = this.running.get(instanceId);
    if (!running || running.process.hasExited()) return false;
    process.kill(running.process.pid, signal);
    return true;
  }

  /**
   * Puts back a registration HAProxy lost: a live, launched instance whose slot is in
   * maintenance would otherwise stay out of rotation until its grace period ran out, and its
   * replacement could meet the same fate. Level-triggered, like the group: run every tick.
   */
  async reassertRegistrations(stats: { readAt: number; slotStatus: (slot: number) => string | undefined }): Promise<string[]> {
    const repaired: string[] = [];
    for (const [id, running] of this.running) {
      if (this.terminating.has(id) || running.process.hasExited()) continue;
      if (running.registeredAt === undefined || running.registeredAt >= stats.readAt) continue;
      if (!stats.slotStatus(running.slot)?.startsWith('MAINT')) continue;
      await this.options.haproxy.register(running.slot, running.port, this.weights.get(id));
      running.registeredAt = Date.now();
      repaired.push(id);
    }
    return repaired;
  }

  /** Settles when the instance's process has ended (at once if it has or there is none). */
  async whenExited(instanceId: string): Promise<void> {
    await this.running.get(instanceId)?.process.exited;
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
    await Promise.all([...this.launching.values()].map((launch) => launch.catch(() => {})));
    await Promise.all([...this.running.values()].map((running) => running.process.stop('SIGTERM', 5000)));
    this.running.clear();
  }
}
