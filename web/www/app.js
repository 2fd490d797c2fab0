// The student page: the assignment picker and its requirements around one <eerd-grader>.
// `?model=/path/` (same-origin path only) picks another model folder, e.g. for tests.

import { highlightRequirement, renderMarkdown } from './core.js';

const grader = document.getElementById('grader');
const select = document.getElementById('assignment');
const requirements = document.getElementById('requirements');
const libraryStatus = document.getElementById('library-status');

const params = new URLSearchParams(location.search);
const model = params.get('model');
if (model && /^\/(?!\/)[A-Za-z0-9_./-]*\/$/.test(model) && !model.includes('..')) grader.setAttribute('model', model);

// Set the attributes before the element is defined, so it loads each thing once.
async function loadLibrary() {
  const response = await fetch('/assignments/index.json');
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

async function showRequirements(id) {
  requirements.textContent = '';
  try {
    const r = await fetch(`/assignments/${encodeURIComponent(id)}/requirements.md`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const text = await r.text();
    if (select.value === id) renderMarkdown(requirements, text); // DOM from text nodes, never markup
  } catch (err) {
    requirements.textContent = `The requirements could not be loaded (${err.message}).`;
  }
}

let library = [];
try {
  library = await loadLibrary();
} catch (err) {
  libraryStatus.textContent = `The assignment library could not be loaded (${err.message}).`;
}
select.replaceChildren();
for (const a of library) {
  const option = document.createElement('option');
  option.value = a.id;
  option.textContent = a.title || a.id;
  select.append(option);
}
select.disabled = library.length === 0;
const wanted = decodeURIComponent(location.hash.slice(1));
const first = library.find((a) => a.id === wanted) || library.find((a) => a.id === 'company') || library[0];
if (first) {
  select.value = first.id;
  grader.setAttribute('assignment', first.id);
  showRequirements(first.id);
  libraryStatus.textContent = `${library.length} assignments.`;
}
// Selecting a finding highlights the requirement sentence it comes from.
grader.addEventListener('eerd-select', (e) => {
  const block = highlightRequirement(requirements, e.detail.finding && e.detail.finding.requirement);
  if (block && block.scrollIntoView) block.scrollIntoView({ block: 'nearest' });
});

select.addEventListener('change', () => {
  grader.setAttribute('assignment', select.value);
  history.replaceState(null, '', `${location.pathname}${location.search}#${encodeURIComponent(select.value)}`);
  showRequirements(select.value);
});

await import('./eerd-widget.js');

if ('serviceWorker' in navigator && !params.has('no-sw')) {
  navigator.serviceWorker.register('/sw.js').catch(() => {});
}
