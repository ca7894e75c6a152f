export interface CircuitBreakerOptions {
  /** Consecutive "unavailable" outcomes that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before it lets one probe through. */
  coolDownMs: number;
  /** Told when the circuit opens or closes, so an outage shows in the logs once, not per request. */
  onChange?: (state: 'open' | 'closed') => void;
  now?: () => number;
}

/**
 * A short circuit breaker for one connection pool. While a database is known to be down, each
 * request answers 503 at once instead of queueing for the pool and waiting out its timeout; one
 * probe at a time finds out when it is back, so recovery needs no restart.
 *
 * Only outcomes the caller reports as "unavailable" count against the circuit: a SQL error is an
 * answer, and proves the server is there.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.openedAt !== undefined;
  }

  /**
   * Runs `work` unless the circuit refuses it, in which case `refused()` is thrown. `isUnavailable`
   * decides which failures count against the circuit.
   */
  async run<T>(work: () => Promise<T>, isUnavailable: (error: unknown) => boolean, refused: () => Error): Promise<T> {
    const probe = this.admit();
    if (probe === undefined) throw refused();
    try {
      const result = await work();
      this.succeeded();
      return result;
    } catch (error) {
      if (isUnavailable(error)) this.failed();
      else this.succeeded();
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** undefined: refused; true: admitted as the one probe of an open circuit; false: admitted. */
  private admit(): boolean | undefined {
    if (this.openedAt === undefined) return false;
    if (this.probing || this.now() - this.openedAt < this.options.coolDownMs) return undefined;
    this.probing = true;
    return true;
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    if (this.openedAt === undefined) return;
    this.openedAt = undefined;
    this.options.onChange?.('closed');
  }

  private failed(): void {
    this.consecutiveFailures += 1;
    if (this.openedAt !== undefined) {
      // A failed probe (or a call admitted before the circuit opened): wait another cool-down.
      this.openedAt = this.now();
      return;
    }
    if (this.consecutiveFailures < this.options.failureThreshold) return;
    this.openedAt = this.now();
    this.options.onChange?.('open');
  }
}
