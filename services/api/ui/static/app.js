// The shell: a hash router that renders one page module at a time into <main id="page">.
// Routes (#/path?query): each page exports `render(root, params, query)` and may return a
// cleanup function, called before the next page renders.
import { ApiError, el, showError } from './api.js';

const ROUTES = [
  [/^\/flows$/, 'flows', []],
  [/^\/flows\/new$/, 'flow', []],
  [/^\/flows\/([^/]+)\/([^/]+)\/run$/, 'run', ['namespace', 'id']],
  [/^\/flows\/([^/]+)\/([^/]+)$/, 'flow', ['namespace', 'id']],
  [/^\/executions$/, 'executions', []],
  [/^\/executions\/([^/]+)$/, 'execution', ['id']],
];

let cleanup = null;
let generation = 0;

export function match(hash) {
  const [path, search] = (hash.replace(/^#/, '') || '/flows').split('?');
  for (const [pattern, page, names] of ROUTES) {
    const found = pattern.exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { page, params, query: new URLSearchParams(search || '') };
    }
  }
  return null;
}

async function route() {
  const current = ++generation;
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    location.replace('#/flows');
    return;
  }
  if (cleanup) {
    try { cleanup(); } catch (error) { console.warn('page cleanup failed', error); }
    cleanup = null;
  }
  showError(null);
  const found = match(location.hash);
  const root = document.getElementById('page');
  root.replaceChildren();
  highlightNav(found ? found.page : '');
  if (!found) {
    root.append(el('h1', {}, 'Not found'), el('p', {}, `No page at ${location.hash}.`));
    return;
  }
  let module;
  try {
    module = await import(`./pages/${found.page}.js`);
  } catch (error) {
    root.append(el('p', { class: 'muted' }, `The ${found.page} page is not available.`));
    console.error(error);
    return;
  }
  if (current !== generation) return; // another navigation started meanwhile
  try {
    const result = await module.render(root, found.params, found.query);
    if (typeof result === 'function') {
      if (current === generation) cleanup = result; else result();
    }
  } catch (error) {
    if (current === generation) showError(error);
    if (!(error instanceof ApiError)) console.error(error);
  }
}

function highlightNav(page) {
  const section = page.startsWith('execution') ? 'executions' : 'flows';
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === section);
  }
}

// an ApiError nobody caught (a button's handler) is shown rather than lost in the console
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof ApiError) {
    showError(event.reason);
    event.preventDefault();
  }
});
window.addEventListener('hashchange', route);
route();
