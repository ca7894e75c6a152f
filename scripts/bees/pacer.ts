import type { AutocannonClient } from 'autocannon';

interface ClientSchedule {
  /** performance.now() at which this connection sends its first request (ramp-up staggers it). */
  firstAt: number;
  /** Open loop only: the fixed gap between this connection's scheduled sends. */
  intervalMs?: number;
}

/**
 * Holds each of a connection's sends until its scheduled time and remembers when the request was
 * *meant* to go. Latency measured from that moment includes the time a request spent waiting
 * behind a slow one: a closed-loop tester that only times the send would hide exactly that
 * (coordinated omission, as wrk2 corrects it).
 *
 * autocannon has no hook for this, so the connection's private `_doRequest` is wrapped; the
 * autocannon major version is pinned and a test drives this path for real.
 */
export function paceClient(client: AutocannonClient, schedule: ClientSchedule, intendedSendTimes: WeakMap<AutocannonClient, number>): void {
  const send = client._doRequest.bind(client);
  const destroy = client.destroy.bind(client);
  let sends = 0;
  let timer: NodeJS.Timeout | undefined;

  client._doRequest = () => {
    // A reconnect asks for a send while one is already scheduled: that one goes on the new socket.
    if (timer) return;
    const intendedAt =
      schedule.intervalMs === undefined
        ? Math.max(schedule.firstAt, sends === 0 ? schedule.firstAt : performance.now())
        : schedule.firstAt + sends * schedule.intervalMs;
    sends++;
    const fire = (): void => {
      timer = undefined;
      if (client.destroyed) return;
      // Node timers may fire up to a millisecond early: then the clock starts at the real send.
      intendedSendTimes.set(client, Math.min(intendedAt, performance.now()));
      send();
    };
    const wait = intendedAt - performance.now();
    if (wait > 0) timer = setTimeout(fire, wait);
    else fire();
  };

  client.destroy = () => {
    if (timer) clearTimeout(timer);
    destroy();
  };
}
