import { diffArrays } from 'diff';
import { LRUCache } from 'lru-cache';

/** One run of lines in a comparison: kept, added or removed. */
export interface DiffPart {
  value: string;
  added: boolean;
  removed: boolean;
}

/**
 * How much work one comparison may do. Myers' algorithm costs about (lines × edit distance), so two
 * unlike 50,000-line revisions (a page may hold 100,000 characters) would hold the event loop for
 * minutes, and an anonymous visitor can ask for any pair of revisions. Both bounds stop it early:
 * the edit distance caps the work on any machine, the time caps it on a slow or busy one, so a
 * comparison never holds a worker (and its /health answers) for more than a few tens of ms.
 */
export interface DiffBudget {
  /** Lines added plus lines removed, after the common head and tail are set aside. */
  maxEditLines: number;
  /** Wall-clock time the comparison itself may take. */
  timeoutMs: number;
}

export const diffBudget: DiffBudget = {
  maxEditLines: 1_000,
  timeoutMs: 15,
};

/**
 * The line-by-line changes from `older` to `newer`, or null when they are too far apart to compare
 * within `budget`: the page then says so instead of a diff.
 */
export function compareRevisions(older: string, newer: string, budget: DiffBudget = diffBudget): DiffPart[] | null {
  const before = splitLines(older);
  const after = splitLines(newer);
  // Most edits touch a few lines: setting the common head and tail aside is linear and leaves
  // the quadratic part only the lines that changed.
  const head = commonHeadLength(before, after);
  const tail = commonTailLength(before, after, head);
  const removable = before.slice(head, before.length - tail);
  const addable = after.slice(head, after.length - tail);
  if (unmatchedLines(removable, addable) > budget.maxEditLines) return null;
  const changed = diffArrays(removable, addable, {
    maxEditLength: budget.maxEditLines,
    timeout: budget.timeoutMs,
  });
  if (changed === undefined) return null;
  const parts: DiffPart[] = [];
  const push = (lines: string[], kind: 'same' | 'added' | 'removed') => {
    if (lines.length > 0) parts.push({ value: lines.join(''), added: kind === 'added', removed: kind === 'removed' });
  };
  push(before.slice(0, head), 'same');
  for (const part of changed) push(part.value, part.added ? 'added' : part.removed ? 'removed' : 'same');
  push(before.slice(before.length - tail), 'same');
  return parts;
}

/**
 * Lines of either text that have no equal in the other, counting repeats: every such line is an
 * edit, so this linear count is a floor under the edit distance, and a pair far beyond the budget
 * is turned away before the quadratic search starts.
 */
function unmatchedLines(before: string[], after: string[]): number {
  const balance = new Map<string, number>();
  for (const line of before) balance.set(line, (balance.get(line) ?? 0) + 1);
  for (const line of after) balance.set(line, (balance.get(line) ?? 0) - 1);
  let unmatched = 0;
  for (const count of balance.values()) unmatched += Math.abs(count);
  return unmatched;
}

/** Lines with their line breaks kept, so joining the parts gives the texts back exactly. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const next = end === -1 ? text.length : end + 1;
    lines.push(text.slice(start, next));
    start = next;
  }
  return lines;
}

function commonHeadLength(a: string[], b: string[]): number {
  const most = Math.min(a.length, b.length);
  let length = 0;
  while (length < most && a[length] === b[length]) length++;
  return length;
}

function commonTailLength(a: string[], b: string[], head: number): number {
  const most = Math.min(a.length, b.length) - head;
  let length = 0;
  while (length < most && a[a.length - 1 - length] === b[b.length - 1 - length]) length++;
  return length;
}

export interface RevisionDiffsOptions {
  /** Characters of compared text kept over all pairs, least recently used out first. */
  maxChars: number;
}

/**
 * Comparisons of stored revisions, kept: a revision never changes once saved, so neither does the
 * comparison of two, and an attacker who asks for the costliest pair again and again pays for the
 * work once. A pair too far apart to compare is kept as that verdict, at almost no cost.
 */
export function createRevisionDiffs({ maxChars }: RevisionDiffsOptions) {
  const kept = new LRUCache<string, { parts: DiffPart[] | null }>({
    maxSize: maxChars,
    sizeCalculation: ({ parts }, key) => key.length + 100 + (parts ?? []).reduce((sum, part) => sum + part.value.length + 50, 0),
  });
  return {
    /** The comparison of two stored revisions; `load` reads their texts, or null when either is missing. */
    async between(
      key: { slug: string; from: number; to: number },
      load: () => Promise<{ older: string; newer: string } | null>,
    ): Promise<{ parts: DiffPart[] | null } | null> {
      const id = `${key.slug}\n${key.from}\n${key.to}`;
      const known = kept.get(id);
      if (known) return known;
      const texts = await load();
      if (!texts) return null;
      const comparison = { parts: compareRevisions(texts.older, texts.newer) };
      kept.set(id, comparison);
      return comparison;
    },
  };
}

export type RevisionDiffs = ReturnType<typeof createRevisionDiffs>;
