import { decodeHistogram, summarizeLatency } from '../../../scripts/bees/histograms';
import { ResponseRecorder } from '../../../scripts/bees/recorder';

describe('bees response recorder', () => {
  it('when answers span seconds with a quiet gap, then each second keeps its own latencies and the total holds them all', () => {
    const recorder = new ResponseRecorder(1_000, true);
    recorder.response(1_100, 1);
    recorder.response(1_900, 3);
    recorder.error(2_500);
    recorder.response(2_999, 5);
    // Seconds 2 and 3 see nothing.
    recorder.response(5_200, 100);

    const { latency, timeline } = recorder.finish();

    expect(timeline.map(({ second, requests, errors }) => ({ second, requests, errors }))).toEqual([
      { second: 0, requests: 2, errors: 0 },
      { second: 1, requests: 1, errors: 1 },
      { second: 4, requests: 1, errors: 0 },
    ]);
    expect(summarizeLatency(decodeHistogram(timeline[0]!.latency))).toMatchObject({ count: 2, max: 3.001 });
    expect(summarizeLatency(decodeHistogram(timeline[2]!.latency))).toMatchObject({ count: 1, p50: 100.031 });
    expect(summarizeLatency(decodeHistogram(latency))).toMatchObject({ count: 4, max: 100.031 });
  });

  it('when no timeline is asked for, then only the total is kept', () => {
    const recorder = new ResponseRecorder(0, false);
    for (let at = 0; at < 5_000; at += 100) recorder.response(at, 2);

    const { latency, timeline } = recorder.finish();

    expect(timeline).toEqual([]);
    expect(summarizeLatency(decodeHistogram(latency)).count).toBe(50);
  });
});
