// Client-side search over the prebuilt index (static/search-index.<hash>.json): the backup site
// has no server to ask. Results are built with textContent only, so page text stays inert.
/* global document, window -- a browser script, beside the Node code the lint config assumes */
'use strict';

(function () {
  const script = document.currentScript;
  const indexUrl = script.dataset.index;
  const root = script.dataset.root || '';
  const status = document.getElementById('search-status');
  const results = document.getElementById('search-results');
  const query = (new URLSearchParams(window.location.search).get('q') || '').trim().slice(0, 200);
  const box = document.querySelector('form.search input[name="q"]');
  if (box) box.value = query;

  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) {
    status.textContent = 'Type words to search for in the box above.';
    return;
  }
  status.textContent = 'Searching …';

  fetch(indexUrl)
    .then((response) => {
      if (!response.ok) throw new Error(response.status + ' ' + response.statusText);
      return response.json();
    })
    .then((index) => show(rank(index.pages, terms)))
    .catch((error) => {
      status.textContent = 'The search index could not be loaded (' + error.message + ').';
    });

  // Every term must appear in the title or the text; title matches count more.
  function rank(pages, words) {
    const hits = [];
    for (const page of pages) {
      const title = page.title.toLowerCase();
      const text = page.text.toLowerCase();
      let score = 0;
      let matchesAll = true;
      for (const word of words) {
        const inTitle = title.includes(word);
        const at = text.indexOf(word);
        if (!inTitle && at < 0) {
          matchesAll = false;
          break;
        }
        score += (inTitle ? 10 : 0) + (at >= 0 ? 1 : 0);
      }
      if (matchesAll) hits.push({ page, score, at: text.indexOf(words[0]) });
    }
    return hits.sort((a, b) => b.score - a.score || a.page.title.localeCompare(b.page.title));
  }

  function show(hits) {
    status.textContent = hits.length === 0 ? 'No page matches “' + query + '”.' : hits.length + ' page(s) match “' + query + '”.';
    for (const hit of hits.slice(0, 50)) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = root + hit.page.path;
      link.textContent = hit.page.title;
      item.appendChild(link);
      if (hit.at >= 0) {
        const snippet = document.createElement('p');
        snippet.className = 'snippet';
        const start = Math.max(0, hit.at - 60);
        snippet.textContent = (start > 0 ? '… ' : '') + hit.page.text.slice(start, hit.at + 140) + ' …';
        item.appendChild(snippet);
      }
      results.appendChild(item);
    }
  }
})();
