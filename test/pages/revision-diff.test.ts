import { compareRevisions, createRevisionDiffs, diffBudget, type DiffPart } from '../../app/pages/revision-diff';

const lines = (count: number, make: (index: number) => string) => Array.from({ length: count }, (_, index) => `${make(index)}\n`).join('');
const older = (parts: DiffPart[]) =>
  parts
    .filter((part) => !part.added)
    .map((part) => part.value)
    .join('');
const newer = (parts: DiffPart[]) =>
  parts
    .filter((part) => !part.removed)
    .map((part) => part.value)
    .join('');

describe('compareRevisions', () => {
  test('when one line of a long page changed, then the diff marks that line and keeps the rest as it was', () => {
    const before = lines(50_000, (index) => `line ${index}`);
    const after = before.replace('line 25000\n', 'line 25000, edited\n');
    const parts = compareRevisions(before, after)!;
    expect(parts.filter((part) => part.removed).map((part) => part.value)).toEqual(['line 25000\n']);
    expect(parts.filter((part) => part.added).map((part) => part.value)).toEqual(['line 25000, edited\n']);
    expect(older(parts)).toBe(before);
    expect(newer(parts)).toBe(after);
  });

  test('when the texts have no final line break or are empty, then joining the parts gives them back exactly', () => {
    for (const [before, after] of [
      ['a\nb', 'a\nb\nc'],
      ['', 'new page\n'],
      ['x\ny\n', 'x\ny'],
    ]) {
      const parts = compareRevisions(before!, after!)!;
      expect([older(parts), newer(parts)]).toEqual([before, after]);
    }
  });

  test('when two 50,000-line revisions share no line, then the comparison gives up instead of holding the process', () => {
    // The attack of the review: "a\n" × N against "b\n" × N cost seconds at 4,000 lines, quadratically more beyond.
    expect(compareRevisions('a\n'.repeat(50_000), 'b\n'.repeat(50_000))).toBeNull();
  });

  test('when the changed lines exceed the edit budget, then it gives up even with time to spare', () => {
    const budget = { maxEditLines: 10, timeoutMs: 60_000 };
    const before = lines(20, (index) => `old ${index}`);
    const after = lines(20, (index) => `new ${index}`);
    expect(compareRevisions(before, after, budget)).toBeNull();
    expect(compareRevisions(before, after, { ...budget, maxEditLines: 40 })).not.toBeNull();
  });

  test('when a hundred lines of a thousand changed, then the default edit budget still compares them', () => {
    // The time bound is a safety net whose reach depends on the machine; the edit bound is the rule.
    const untimed = { ...diffBudget, timeoutMs: 60_000 };
    const before = lines(1_000, (index) => `line ${index}`);
    const after = lines(1_000, (index) => (index % 10 === 0 ? `changed ${index}` : `line ${index}`));
    expect(diffBudget.maxEditLines).toBeGreaterThanOrEqual(200);
    expect(newer(compareRevisions(before, after, untimed)!)).toBe(after);
  });
});

describe('createRevisionDiffs', () => {
  test('when the same pair is asked for again, then the texts are read and compared once', async () => {
    const diffs = createRevisionDiffs({ maxChars: 1_000_000 });
    const load = jest.fn(async () => ({ older: 'a\n'.repeat(50_000), newer: 'b\n'.repeat(50_000) }));
    const key = { slug: 'Unlike', from: 1, to: 2 };
    expect(await diffs.between(key, load)).toEqual({ parts: null });
    expect(await diffs.between(key, load)).toEqual({ parts: null });
    expect(load).toHaveBeenCalledTimes(1);
    await diffs.between({ ...key, from: 2, to: 1 }, load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  test('when a revision is missing, then null, and the next request reads again', async () => {
    const diffs = createRevisionDiffs({ maxChars: 1_000_000 });
    const load = jest.fn(async () => null);
    const key = { slug: 'Gone', from: 1, to: 9 };
    expect(await diffs.between(key, load)).toBeNull();
    expect(await diffs.between(key, load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(2);
  });
});
