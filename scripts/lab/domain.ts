/** Where the lab's domain sends people: the live site (the load balancer) or the backup copy. */
export type DomainTarget = 'live' | 'backup';

export interface DomainFlip {
  /** Epoch milliseconds of the lab tick that saw the change (ticks are a second apart). */
  at: number;
  to: DomainTarget;
  /** The manual lever moved it, not the health check. */
  forced: boolean;
}

export interface DomainStatus {
  target: DomainTarget;
  /** The DNS layer's check on the live site, as HAProxy reports it (UP, DOWN 1/3, MAINT ...). */
  liveCheck: string;
  /** The manual lever holds the domain on the backup. */
  forcedToBackup: boolean;
  /** The latest changes, newest last (at most 100). */
  flips: DomainFlip[];
}

/**
 * Follows the DNS layer from HAProxy's view of its live server, once a lab tick, and keeps the
 * moments the domain changed sides: the game day turns them into "flipped, for how long" per fault.
 */
export class DomainWatch {
  private current: DomainStatus = { target: 'live', liveCheck: 'unknown', forcedToBackup: false, flips: [] };

  /** `liveCheck` is HAProxy's status of the live server: in rotation only while it starts with UP. */
  update(liveCheck: string, now = Date.now()): void {
    const forced = liveCheck.startsWith('MAINT');
    const target: DomainTarget = liveCheck.startsWith('UP') ? 'live' : 'backup';
    const flips = this.current.flips;
    if (target !== this.current.target) {
      flips.push({ at: now, to: target, forced });
      if (flips.length > 100) flips.shift();
    }
    this.current = { target, liveCheck, forcedToBackup: forced, flips };
  }

  status(): DomainStatus {
    return { ...this.current, flips: [...this.current.flips] };
  }
}

/**
 * The time the domain spent on the backup within [from, to), from the flips (epoch ms), given
 * where it stood before the first of them.
 */
export function backupIntervals(
  flips: readonly DomainFlip[],
  from: number,
  to: number,
  before: DomainTarget = 'live',
): { start: number; end: number }[] {
  const intervals: { start: number; end: number }[] = [];
  let target = before;
  let since = from;
  for (const flip of flips) {
    if (flip.at < from) {
      target = flip.to;
      continue;
    }
    if (flip.at >= to) break;
    if (target === 'backup' && flip.to === 'live') intervals.push({ start: since, end: flip.at });
    if (flip.to === 'backup') since = flip.at;
    target = flip.to;
  }
  if (target === 'backup') intervals.push({ start: Math.max(since, from), end: to });
  return intervals;
}
