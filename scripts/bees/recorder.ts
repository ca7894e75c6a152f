import { createRecordingHistogram, encodeHistogram, recordMillis, type LatencyHistogram } from './histograms';
import type { TimelineSlot } from './spec';

/**
 * A bee's tally of answers and errors, cut into one-second slots when a timeline is wanted.
 *
 * It runs once per response, so it does as little as it can there: each latency is recorded in
 * one histogram only (the open slot's; the bee's total is the sum of its slots), in HdrHistogram's
 * WebAssembly build, the open slot is
 * found by comparing with its end time rather than by a map lookup, and a slot is encoded and its
 * histogram reused the moment it closes, so a long run holds one histogram, not one a second.
 */
export class ResponseRecorder {
  private readonly total = createRecordingHistogram();
  private readonly open: LatencyHistogram;
  private readonly closed: TimelineSlot[] = [];
  private second = 0;
  private slotRequests = 0;
  private slotErrors = 0;
  private slotEndsAt: number;

  /** @param startedAt performance.now() of the bee's first send; second 0 of the timeline. */
  constructor(
    private readonly startedAt: number,
    private readonly timeline: boolean,
  ) {
    // Without a timeline the total is the only slot and it never closes.
    this.open = timeline ? createRecordingHistogram() : this.total;
    this.slotEndsAt = timeline ? startedAt + 1000 : Number.POSITIVE_INFINITY;
  }

  response(now: number, millis: number): void {
    if (now >= this.slotEndsAt) this.closeSlot(now);
    this.slotRequests++;
    recordMillis(this.open, millis);
  }

  error(now: number): void {
    if (now >= this.slotEndsAt) this.closeSlot(now);
    this.slotErrors++;
  }

  /** Closes the open slot and returns the bee's whole latency histogram and its timeline; the recorder is spent. */
  finish(): { latency: string; timeline: TimelineSlot[] } {
    if (this.timeline) this.closeSlot(this.slotEndsAt);
    const latency = encodeHistogram(this.total);
    this.total.destroy();
    if (this.open !== this.total) this.open.destroy();
    return { latency, timeline: this.closed };
  }

  private closeSlot(now: number): void {
    if (this.slotRequests > 0 || this.slotErrors > 0) {
      this.closed.push({ second: this.second, requests: this.slotRequests, errors: this.slotErrors, latency: encodeHistogram(this.open) });
      this.total.add(this.open);
      this.open.reset();
    }
    // A quiet stretch (a stalled target) skips seconds: only slots that saw something are kept.
    this.second = Math.max(this.second + 1, Math.floor((now - this.startedAt) / 1000));
    this.slotEndsAt = this.startedAt + (this.second + 1) * 1000;
    this.slotRequests = 0;
    this.slotErrors = 0;
  }
}
