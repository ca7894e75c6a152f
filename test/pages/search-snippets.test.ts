import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { snippetsFor, type SnippetShape } from '../../app/pages/search-snippets';
import { buildTestApp } from '../support/app';

const shape: SnippetShape = { wordsPerFragment: 6, fragments: 2, lead: 2 };
const words = (count: number, word = 'filler') => Array.from({ length: count }, () => word).join(' ');

describe('search snippets', () => {
  test('when a page uses other forms of the query word, then each of them is marked', () => {
    const html = snippetsFor(['balanc'])('Balancers balance; the balancer is balancing.');
    expect(html).toBe('<mark>Balancers</mark> <mark>balance</mark>; the <mark>balancer</mark> is <mark>balancing</mark>.');
  });

  test('when the text holds markup, then it is escaped and only the matches are marked', () => {
    const html = snippetsFor(['zebra'])(`"Zebra" Tom & Jerry's <img src=x onerror=alert(1)>`);
    expect(html).toBe(`&quot;<mark>Zebra</mark>&quot; Tom &amp; Jerry's &lt;img src=x onerror=alert(1)&gt;`);
    expect(html).not.toMatch(/<(?!\/?mark>)/);
  });

  test('when matches are far apart, then each gets a fragment, with the words between left out', () => {
    const text = `${words(10)} alpha ${words(20)} alpha ${words(20)}`;
    expect(snippetsFor(['alpha'], shape)(text)).toBe(
      '… filler filler <mark>alpha</mark> filler filler filler … filler filler <mark>alpha</mark> filler filler filler …',
    );
  });

  test('when matches are close, then one fragment shows them, and no more fragments than asked are made', () => {
    const text = `alpha filler alpha ${words(10)} alpha ${words(10)} alpha ${words(10)} alpha`;
    const html = snippetsFor(['alpha'], shape)(text);
    expect(html.startsWith('<mark>alpha</mark> filler <mark>alpha</mark> filler filler filler …')).toBe(true);
    expect(html.match(/<mark>/g)).toHaveLength(3);
  });

  test('when nothing in the text matches, then the snippet is its first words', () => {
    expect(snippetsFor(['absent'], shape)(`The\n\nfirst   words ${words(10)}`)).toBe('The first words filler filler filler …');
    expect(snippetsFor(['absent'], shape)('# Short page.\n')).toBe('# Short page.');
    expect(snippetsFor(['absent'], shape)('')).toBe('');
  });

  test("when PostgreSQL stems a word, then the snippet marks it by the same stem (every word of the project's docs, and words with digits)", async () => {
    const docs = ['README.md', ...readdirSync('docs').map((name) => path.join('docs', name))].filter((file) => file.endsWith('.md'));
    const vocabulary = [
      ...new Set(
        docs.flatMap(
          (file) =>
            readFileSync(file, 'utf8')
              .toLowerCase()
              .match(/\p{L}{2,}/gu) ?? [],
        ),
      ),
      // Words with digits, which PostgreSQL does not stem: a stemmer would cut these.
      ...['zebra4cats', 'r2d2ed', 'ipv6s', 'mx4bi33y', 'ec2'],
      // Where Snowball 2 and the older Porter2 part: a, e, o words keep their double letter.
      ...['added', 'adding', 'ebbed', 'egged', 'erred', 'offed', 'inned', 'upped'],
    ];
    expect(vocabulary.length).toBeGreaterThan(1000);
    const wiki = buildTestApp();
    try {
      const { rows } = await wiki.db.query<{ word: string; lexemes: string[] }>(
        `SELECT word, tsvector_to_array(to_tsvector('english', word)) AS lexemes FROM unnest($1::text[]) AS word`,
        [vocabulary],
      );
      const unmarked = rows.filter((row) => row.lexemes.length === 1 && snippetsFor(row.lexemes)(row.word) !== `<mark>${row.word}</mark>`);
      expect(unmarked).toEqual([]);
      // Stop words have no lexeme, and so are never marked.
      expect(rows.find((row) => row.word === 'the')?.lexemes).toEqual([]);
    } finally {
      await wiki.close();
    }
  });
});
