import { ProgressLine, SwarmWaitLine } from '../../../scripts/bees/progress';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe('bees live progress line', () => {
  it('when bees report on a terminal, then one line with the swarm totals is rewritten in place', () => {
    const stream = fakeStream(true);
    const progress = new ProgressLine(stream, true);

    progress.update({ bee: 0, requests: 1200, errors: 0 });
    progress.update({ bee: 1, requests: 1300, errors: 2 });

    expect(stream.written[0]).toMatch(/^\r\[\d+s\] 1 bee\(s\) reporting: 1,200 responses, ~[\d,]+ req\/s, 0 errors\u001b\[K$/);
    expect(progress.describe()).toMatch(/2 bee\(s\) reporting: 2,500 responses, .* 2 errors$/);
    progress.finish();
    expect(stream.written.at(-1)).toBe('\n');
  });

  it('when progress is switched off, then nothing is written', () => {
    const stream = fakeStream(true);
    const progress = new ProgressLine(stream, false);
    progress.update({ bee: 0, requests: 5, errors: 0 });
    progress.finish();
    expect(stream.written).toEqual([]);
  });

  it('when EC2 bees finish one by one, then the line counts them as they report', () => {
    const stream = fakeStream(true);
    const waiting = new SwarmWaitLine(stream, true, 2);

    waiting.beeDone();
    waiting.finish();

    expect(stream.written[0]).toMatch(/^\r\[\d+s\] 1 of 2 bee\(s\) reported; the attack runs on the bees\u001b\[K$/);
    expect(stream.written.at(-1)).toBe('\n');
  });
});
