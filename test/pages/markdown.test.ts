import { parseMarkdown } from '../../app/pages/markdown';

test('when a page links [[Other Pages]], then existing ones link to them and missing ones offer to create them', () => {
  const parsed = parseMarkdown('See [[Getting Started]] and [[Home|the home page]] and [[Nope]].');
  expect(parsed.linkedSlugs.sort()).toEqual(['Getting_Started', 'Home', 'Nope']);
  const html = parsed.render(new Set(['Home', 'Getting_Started']));
  expect(html).toContain('<a class="wikilink" href="/wiki/Getting_Started">Getting Started</a>');
  expect(html).toContain('<a class="wikilink" href="/wiki/Home">the home page</a>');
  expect(html).toContain('<a class="wikilink missing" href="/wiki/Nope/edit"');
});

test.each([
  ['<script>alert(1)</script>', /<script/i],
  ['<img src=x onerror=alert(1)>', /<img/i],
  ['[x](javascript:alert(1))', /href="javascript/i],
  ['[x](JaVaScRiPt:alert(1))', /href="javascript/i],
  ['[x](vbscript:msgbox(1))', /href="vbscript/i],
  ['[x](data:text/html;base64,PHNjcmlwdD4=)', /href="data:/i],
  ['<iframe src="https://evil.example"></iframe>', /<iframe/i],
  ['<a href="#" onclick="alert(1)">x</a>', /<a [^>]*onclick/i],
  ['[[Home" onclick="alert(1)]]', /onclick="/i],
  ['![x](javascript:alert(1))', /src="javascript/i],
])('when markdown holds %s, then no live markup comes out', (source, forbidden) => {
  expect(parseMarkdown(source).render(new Set())).not.toMatch(forbidden);
});

test('when a link leaves the wiki, then it carries rel=nofollow noopener', () => {
  expect(parseMarkdown('[docs](https://aws.amazon.com/)').render(new Set())).toContain('rel="nofollow ugc noopener noreferrer"');
});

test.each(['[x](//evil.example/x)', '[x](//evil.example/x "title")', '[x][ref]\n\n[ref]: //evil.example/x'])(
  'when a link is protocol-relative (%s), then it is treated as leaving the wiki',
  (source) => {
    const html = parseMarkdown(source).render(new Set());
    expect(html).toMatch(/<a href="\/\/evil\.example\/x"/);
    expect(html).toContain('rel="nofollow ugc noopener noreferrer"');
  },
);

test('when a link stays in the wiki (a backslash included), then it carries no rel', () => {
  expect(parseMarkdown('[home](/wiki/Home)').render(new Set())).toBe('<p><a href="/wiki/Home">home</a></p>\n');
  expect(parseMarkdown('[x](\\\\evil.example/x)').render(new Set())).toBe('<p><a href="%5Cevil.example/x">x</a></p>\n');
});
