// The flows list: search by text (namespace.id, description), namespace and labels, paged.
// The filters live in the hash's query (#/flows?q=..&namespace=..&labels=k:v,..&page=2).
import { api, el, fmtDate } from '../api.js';

const SIZE = 25;

export async function render(root, _params, query) {
  const state = {
    q: query.get('q') || '', namespace: query.get('namespace') || '',
    labels: query.get('labels') || '', page: Number(query.get('page')) || 1,
  };
  const q = el('input', { type: 'search', placeholder: 'Search id, namespace, description', value: state.q, 'data-testid': 'flow-search' });
  const namespace = el('select', { 'data-testid': 'namespace-filter' }, el('option', { value: '' }, 'All namespaces'));
  const labels = el('input', { type: 'text', placeholder: 'Labels: key:value, …', value: state.labels, 'data-testid': 'label-filter' });
  const table = el('div', { 'data-testid': 'flows-table' });
  const pager = el('div', { class: 'pager' });
  root.append(
    el('div', { class: 'toolbar' }, el('h1', {}, 'Flows'), el('span', { class: 'spacer' }),
      el('a', { class: 'button primary', href: '#/flows/new', 'data-testid': 'new-flow' }, 'New flow')),
    el('div', { class: 'toolbar' }, q, namespace, labels), table, pager);

  let timer = 0;
  let alive = true;
  const refresh = async () => {
    history.replaceState(null, '', '#/flows?' + new URLSearchParams(
      Object.entries(state).filter(([, v]) => v && !(v === 1)).map(([k, v]) => [k, String(v)])));
    const params = new URLSearchParams({ page: String(state.page), size: String(SIZE), sort: 'namespace:asc' });
    params.append('sort', 'id:asc');
    if (state.q) params.set('q', state.q);
    if (state.namespace) params.set('namespace', state.namespace);
    for (const label of state.labels.split(',').map((s) => s.trim()).filter(Boolean)) params.append('labels', label);
    const found = await api(`/flows/search?${params}`);
    if (!alive) return;
    table.replaceChildren(flowsTable(found.results));
    renderPager(pager, state, found.total, refresh);
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(() => { state.page = 1; refresh(); }, 250); };
  q.addEventListener('input', () => { state.q = q.value.trim(); later(); });
  labels.addEventListener('input', () => { state.labels = labels.value.trim(); later(); });
  namespace.addEventListener('change', () => { state.namespace = namespace.value; state.page = 1; refresh(); });

  const namespaces = await api('/flows/distinct-namespaces');
  namespace.append(...namespaces.map((n) => el('option', { value: n, selected: n === state.namespace }, n)));
  await refresh();
  return () => { alive = false; clearTimeout(timer); };
}

function flowsTable(flows) {
  if (!flows.length) return el('p', { class: 'muted', 'data-testid': 'no-flows' }, 'No flow matches.');
  return el('table', { class: 'list' },
    el('thead', {}, el('tr', {}, ['Id', 'Namespace', 'Labels', 'Revision', 'Triggers', 'Updated', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, flows.map((flow) => {
      const href = `#/flows/${encodeURIComponent(flow.namespace)}/${encodeURIComponent(flow.id)}`;
      return el('tr', { 'data-testid': 'flow-row', 'data-flow': `${flow.namespace}.${flow.id}` },
        el('td', {}, el('a', { href, 'data-testid': 'flow-link' }, flow.id),
          flow.description ? el('div', { class: 'muted small' }, flow.description) : null),
        el('td', {}, flow.namespace),
        el('td', {}, Object.entries(flow.labels || {}).map(([k, v]) => el('span', { class: 'label-chip' }, `${k}:${v}`))),
        el('td', { 'data-testid': 'flow-revision' }, flow.revision),
        el('td', {}, (flow.triggers || []).map((t) => t.type.split('.').pop()).join(', ')),
        el('td', { class: 'muted' }, fmtDate(flow.updated)),
        el('td', {}, el('a', { class: 'button', href: `${href}/run` }, 'Run')));
    })));
}

function renderPager(pager, state, total, refresh) {
  const pages = Math.max(1, Math.ceil(total / SIZE));
  const go = (page) => { state.page = page; refresh(); };
  pager.replaceChildren(
    el('button', { disabled: state.page <= 1, onclick: () => go(state.page - 1) }, '‹ Previous'),
    el('span', { class: 'muted', 'data-testid': 'flows-total' }, `Page ${state.page} of ${pages} · ${total} flows`),
    el('button', { disabled: state.page >= pages, onclick: () => go(state.page + 1) }, 'Next ›'));
}
