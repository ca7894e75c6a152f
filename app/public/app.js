// Progressive enhancement only: every page works without this script.
'use strict';

// Warn before leaving an editor with unsaved text (closing the tab loses nothing on the server,
// but the person's typing would be gone).
for (const form of document.querySelectorAll('form.editor')) {
  let dirty = false;
  form.addEventListener('input', () => {
    dirty = true;
  });
  form.addEventListener('submit', () => {
    dirty = false;
  });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) event.preventDefault();
  });
}

for (const button of document.querySelectorAll('button[formaction*="/revert/"]')) {
  button.addEventListener('click', (event) => {
    if (!window.confirm('Revert the page to this revision? This saves a new revision.')) event.preventDefault();
  });
}
