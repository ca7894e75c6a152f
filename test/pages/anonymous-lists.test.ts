import { testClock } from '../support/clock';
import { createAnonymousLists } from '../../app/pages/anonymous-lists';

const rendering = (html: string) => ({ body: Buffer.from(html), etag: `W/"${html.length}"` });

describe('renderings of lists kept for anonymous readers', () => {
  test('when a URL is rendered for the first time, then nothing is kept; from its second request on, the rendering is', () => {
    const lists = createAnonymousLists();
    lists.offer('/pages?after=A', rendering('first'));
    expect(lists.get('/pages?after=A')).toBeUndefined();

    lists.offer('/pages?after=A', rendering('second'));
    expect(lists.get('/pages?after=A')).toEqual(rendering('second'));
    // Another URL is still new.
    expect(lists.get('/pages?after=B')).toBeUndefined();
  });

  test('when the window has passed, then a URL counts as new again and its rendering is gone', async () => {
    const clock = testClock();
    const lists = createAnonymousLists({ ttlMs: 50, now: clock.now });
    lists.offer('/recent', rendering('one'));
    lists.offer('/recent', rendering('two'));
    expect(lists.get('/recent')?.body.toString()).toBe('two');

    clock.advance(51);
    expect(lists.get('/recent')).toBeUndefined();
    lists.offer('/recent', rendering('three'));
    expect(lists.get('/recent')).toBeUndefined();
  });

  test('when a save clears the lists, then no rendering from before it is served', () => {
    const lists = createAnonymousLists();
    lists.offer('/search?q=wiki', rendering('before'));
    lists.offer('/search?q=wiki', rendering('before'));
    lists.clear();
    expect(lists.get('/search?q=wiki')).toBeUndefined();
  });

  test('when more URLs are new than it remembers, then the oldest are forgotten first', () => {
    const lists = createAnonymousLists({ maxSeenUrls: 2 });
    for (const url of ['/a', '/b', '/c']) lists.offer(url, rendering(url));
    lists.offer('/a', rendering('/a again'));
    lists.offer('/c', rendering('/c again'));
    expect(lists.get('/a')).toBeUndefined();
    expect(lists.get('/c')?.body.toString()).toBe('/c again');
  });
});
