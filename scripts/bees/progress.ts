import type { BeeProgress } from './spec';

/**
 * The live line during an attack: totals across bees, rewritten in place on a terminal and
 * printed every few seconds otherwise (so CI logs stay readable).
 */
export class ProgressLine {
  private readonly latest = new Map<number, BeeProgress>();
  private readonly startedAt = Date.now();
  private lastPrintedAt = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  update(progress: BeeProgress): void {
    this.latest.set(progress.bee, progress);
    if (!this.enabled) return;
    const now = Date.now();
    const interval = this.stream.isTTY ? 250 : 5000;
    if (now - this.lastPrintedAt < interval) return;
    this.lastPrintedAt = now;
    const line = this.describe(now);
    this.stream.write(this.stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
  }

  describe(now = Date.now()): string {
    let requests = 0;
    let errors = 0;
    for (const progress of this.latest.values()) {
      requests += progress.requests;
      errors += progress.errors;
    }
    const seconds = (now - this.startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(requests / seconds) : 0;
    return `[${seconds.toFixed(0)}s] ${this.latest.size} bee(s) reporting: ${requests.toLocaleString('en-US')} responses, ~${rate.toLocaleString('en-US')} req/s, ${errors} errors`;
  }

  finish(): void {
    if (this.enabled && this.stream.isTTY && this.lastPrintedAt > 0) this.stream.write('\n');
  }
}

/**
 * EC2 bees report only when they finish (SSM returns a command's output at its end), so during an
 * EC2 attack the live line says how long it has run and how many bees are done.
 */
export class SwarmWaitLine {
  private readonly startedAt = Date.now();
  private done = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    enabled: boolean,
    private readonly bees: number,
  ) {
    this.timer = enabled ? setInterval(() => this.print(), stream.isTTY ? 1000 : 10_000) : undefined;
  }

  beeDone(): void {
    this.done++;
    if (this.timer) this.print();
  }

  describe(now = Date.now()): string {
    return `[${((now - this.startedAt) / 1000).toFixed(0)}s] ${this.done} of ${this.bees} bee(s) reported; the attack runs on the bees`;
  }

  finish(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private print(): void {
    this.stream.write(this.stream.isTTY ? `\r${this.describe()}\u001b[K` : `${this.describe()}\n`);
  }
}
