import { LRUCache } from 'lru-cache';
import stem from 'wink-porter2-stemmer';
import { escapeHtml } from './markdown';

// Search snippets are built here, in the web tier, from the start of each hit's text. PostgreSQL's
// ts_headline re-parses every hit and cost about 0.3 ms of database CPU each: six of the seven
// milliseconds a search took there, on the one tier that does not scale out.
//
// A word is a match when its Snowball English stem is one of the query's lexemes, which PostgreSQL
// returns with the hits (so its stop words and parser decide what the query is). The stemmer is
// the same algorithm as PostgreSQL's `english` configuration; test/pages/search-snippets.test.ts holds
// the two to the same stems.

export interface SnippetShape {
  /** Words in one fragment, counting a few before its first match. */
  wordsPerFragment: number;
  fragments: number;
  /** Words shown before a fragment's first match. */
  lead: number;
}

const snippetShape: SnippetShape = { wordsPerFragment: 16, fragments: 2, lead: 4 };

interface Word {
  start: number;
  end: number;
  match: boolean;
}

/**
 * A word's stems under the Snowball English of either age PostgreSQL ships. The newer one (PGlite,
 * PostgreSQL 17) keeps the double letter of a word that is a, e or o and a double consonant (add,
 * ebb, egg, err, off: "added" is `add`), where the older one (Debian's PostgreSQL 15) and
 * wink-porter2-stemmer drop it (`ad`); i and u words (inn, upp) lose it in both. The query's
 * lexemes come from whichever server answers, so a word matches by either.
 */
function snowballStems(word: string): readonly string[] {
  const stemmed = stem(word);
  const [first, second] = stemmed;
  return stemmed.length === 2 && 'aeo'.includes(first!) && word.startsWith(stemmed + second) ? [stemmed, stemmed + second] : [stemmed];
}

/** Stems of lower-case words: a wiki's words repeat from hit to hit and search to search. */
const stems = new LRUCache<string, readonly string[]>({ max: 20_000, memoMethod: snowballStems });

/** A matcher for one query: cheap for the words that cannot match, since most words do not. */
function matcherFor(lexemes: readonly string[]): (word: string) => boolean {
  const wanted = new Set(lexemes);
  // Porter2 keeps a word's first two letters, so words that start differently need no stemming.
  const starts = new Set(lexemes.map((lexeme) => lexeme.slice(0, 2)));
  return (word) => {
    const lower = word.toLowerCase();
    // PostgreSQL stems words of letters only: one with a digit in it is its own lexeme.
    return (
      starts.has(lower.slice(0, 2)) && (/\d/.test(lower) ? wanted.has(lower) : stems.memo(lower).some((stemmed) => wanted.has(stemmed)))
    );
  };
}

/**
 * The snippet builder for one query's hits: up to `fragments` runs of words around the first
 * matches in a text, as HTML: escaped, matches in <mark>, an ellipsis where text was left out.
 * With no match (the word is further down the page, or only in the title), the first words.
 */
export function snippetsFor(lexemes: readonly string[], shape: SnippetShape = snippetShape): (text: string) => string {
  const isMatch = matcherFor(lexemes);
  return (text) => {
    const words: Word[] = [];
    const fragments: Array<{ from: number; to: number }> = [];
    for (const found of text.matchAll(/[\p{L}\p{N}]+/gu)) {
      const last = fragments.at(-1);
      if (fragments.length === shape.fragments && last && words.length >= last.to) break;
      const word = { start: found.index, end: found.index + found[0].length, match: isMatch(found[0]) };
      words.push(word);
      const index = words.length - 1;
      if (word.match && fragments.length < shape.fragments && (!last || index >= last.to)) {
        const from = Math.max(last?.to ?? 0, index - shape.lead);
        fragments.push({ from, to: from + shape.wordsPerFragment });
      }
    }
    if (words.length === 0) return '';
    if (fragments.length === 0) fragments.push({ from: 0, to: shape.wordsPerFragment });

    const shown = fragments.map(({ from, to }) => renderWords(text, words.slice(from, Math.min(to, words.length))));
    // Punctuation before the first word and after the last stays; left-out words become an ellipsis.
    const before = fragments[0]!.from > 0 ? '… ' : separator(text.slice(0, words[0]!.start)).trimStart();
    const rest = text.slice(words[Math.min(fragments.at(-1)!.to, words.length) - 1]!.end);
    const after = /[\p{L}\p{N}]/u.test(rest) ? ' …' : separator(rest).trimEnd();
    return before + shown.join(' … ') + after;
  };
}

const separator = (between: string) => escapeHtml(between.replace(/\s+/g, ' '));

/** The text from a fragment's first word to its last, spaces collapsed, escaped, matches marked. */
function renderWords(text: string, words: Word[]): string {
  let html = '';
  let from = words[0]!.start;
  for (const word of words) {
    if (!word.match) continue;
    html += `${separator(text.slice(from, word.start))}<mark>${escapeHtml(text.slice(word.start, word.end))}</mark>`;
    from = word.end;
  }
  return html + separator(text.slice(from, words.at(-1)!.end));
}
