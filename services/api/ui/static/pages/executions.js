// #/executions: the executions, newest first, filtered by the query part of the hash
// (namespace, flowId, state, labels, startDate, endDate, page, size), refreshed every 2 s
// while the page is visible, with bulk kill and restart of the selected rows.
import { api, el, fmtDate, fmtDuration, showError } from '../api.js';
import { STATE_NAMES, isTerminal, setBadge, stateBadge, useExecutionStyles } from '../components/states.js';

const POLL_MS = 2000;
const SIZES = [10, 25, 50, 100];

export async function render(root, params, query) {
  useExecutionStyles();
  const filters = readFilters(query);
  const table = executionTable();
  const status = el('span', { class: 'muted', dataset: { testid: 'executions-total' } });
  const pager = el('div', { class: 'pager' });
  const bulk = bulkBar(table, () => refresh());
  root.append(el('h1', {}, 'Executions'), filterForm(filters), bulk.node, table.node, pager);
  if (filters.errors.length) {
    table.node.hidden = true;
    return undefined;
  }

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const found = await api(`/executions/search?${searchQuery(filters)}`);
      table.show(found.results);
      status.textContent = `${found.total} execution${found.total === 1 ? '' : 's'}`;
      status.dataset.total = String(found.total);
      renderPager(pager, filters, found.total, status);
      bulk.sync();
    } catch (error) {
      showError(error);
    } finally {
      busy = false;
    }
  }
  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  return () => clearInterval(timer);
}

/** The filters of the query, each checked; `errors` names each value that is wrong. */
export function readFilters(query) {
  const errors = [];
  const states = query.getAll('state').flatMap((s) => s.split(',')).filter(Boolean)
    .map((s) => s.trim().toUpperCase());
  for (const state of states) {
    if (!STATE_NAMES.includes(state)) errors.push(`state: \`${state}\` is not one of ${STATE_NAMES.join(', ')}`);
  }
  const labels = query.getAll('labels').flatMap(splitLabels);
  for (const label of labels) {
    if (!/^[^:\s]+:.*$/.test(label)) errors.push(`labels: \`${label}\` is not key:value`);
  }
  const dates = {};
  for (const name of ['startDate', 'endDate']) {
    const text = query.get(name);
    if (text && Number.isNaN(Date.parse(text))) errors.push(`${name}: \`${text}\` is not a date`);
    dates[name] = text || '';
  }
  const page = positive(query.get('page'), 1);
  const size = positive(query.get('size'), 25);
  return { namespace: query.get('namespace') || '', flowId: query.get('flowId') || '', states,
           labels, ...dates, page, size, errors };
}

function splitLabels(text) {
  return text.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
}

function positive(text, fallback) {
  const value = Number.parseInt(text || '', 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function searchQuery(filters) {
  const query = new URLSearchParams({ page: String(filters.page), size: String(filters.size) });
  if (filters.namespace) query.set('namespace', filters.namespace);
  if (filters.flowId) query.set('flowId', filters.flowId);
  for (const state of filters.states) query.append('state', state);
  for (const label of filters.labels) query.append('labels', label);
  for (const name of ['startDate', 'endDate']) {
    if (filters[name]) query.set(name, new Date(filters[name]).toISOString());
  }
  return query;
}

/** The hash of the list with these filters. */
export function listHash(filters) {
  const query = searchQuery(filters);
  if (filters.page === 1) query.delete('page');
  if (filters.size === 25) query.delete('size');
  const text = query.toString();
  return `#/executions${text ? `?${text}` : ''}`;
}

function filterForm(filters) {
  const input = (name, value, extra = {}) => el('input', { name, value, dataset: { testid: `filter-${name}` }, ...extra });
  const stateSelect = el('select', { name: 'state', dataset: { testid: 'filter-state' } },
    el('option', { value: '' }, 'any state'),
    STATE_NAMES.map((s) => el('option', { value: s, selected: filters.states[0] === s }, s)));
  const form = el('form', { class: 'exec-filters', dataset: { testid: 'executions-filters' } },
    el('label', {}, 'Namespace', input('namespace', filters.namespace, { placeholder: 'company.team' })),
    el('label', {}, 'Flow', input('flowId', filters.flowId)),
    el('label', {}, 'State', stateSelect),
    el('label', {}, 'Labels', input('labels', filters.labels.join(', '), { placeholder: 'key:value, …' })),
    el('label', {}, 'Started after', input('startDate', localInput(filters.startDate), { type: 'datetime-local' })),
    el('label', {}, 'Started before', input('endDate', localInput(filters.endDate), { type: 'datetime-local' })),
    el('button', { type: 'submit', dataset: { testid: 'filter-apply' } }, 'Filter'),
    el('a', { href: '#/executions', dataset: { testid: 'filter-clear' } }, 'Clear'),
    filters.errors.length ? el('div', { class: 'filter-error', dataset: { testid: 'filter-error' } },
      filters.errors.map((e) => el('div', {}, e))) : null);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const [name, value] of data) if (value) query.append(name, String(value));
    const next = readFilters(query);
    location.hash = listHash({ ...next, size: filters.size });
  });
  return form;
}

/** A `datetime-local` value (the browser's zone) of an ISO date. */
function localInput(text) {
  if (!text || Number.isNaN(Date.parse(text))) return '';
  const date = new Date(text);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function renderPager(pager, filters, total, status) {
  const pages = Math.max(1, Math.ceil(total / filters.size));
  const go = (page) => ({ href: listHash({ ...filters, page }) });
  pager.replaceChildren(...[
    filters.page > 1 ? el('a', { ...go(filters.page - 1), dataset: { testid: 'page-prev' } }, '‹ Previous') : null,
    el('span', {}, `Page ${filters.page} of ${pages}`),
    filters.page < pages ? el('a', { ...go(filters.page + 1), dataset: { testid: 'page-next' } }, 'Next ›') : null,
    status,
    el('select', { dataset: { testid: 'page-size' }, onchange: (e) => {
      location.hash = listHash({ ...filters, page: 1, size: Number(e.target.value) });
    } }, SIZES.map((n) => el('option', { value: String(n), selected: n === filters.size }, `${n} a page`)))].filter(Boolean));
}

/** The table, updated in place: a row per execution id, rewritten only when it changed. */
function executionTable() {
  const selected = new Set();
  const rows = new Map();
  const all = el('input', { type: 'checkbox', title: 'Select all', dataset: { testid: 'select-all' } });
  const body = el('tbody');
  const node = el('table', { class: 'exec-table', dataset: { testid: 'executions-table' } },
    el('thead', {}, el('tr', {}, el('th', {}, all), ['Id', 'Namespace', 'Flow', 'State', 'Labels',
      'Start', 'Duration'].map((h) => el('th', {}, h)))), body);
  const listeners = [];
  const changed = () => listeners.forEach((f) => f());
  all.addEventListener('change', () => {
    for (const [id, row] of rows) {
      row.box.checked = all.checked;
      if (all.checked) selected.add(id); else selected.delete(id);
    }
    changed();
  });

  function rowOf(execution) {
    const box = el('input', { type: 'checkbox', dataset: { testid: 'select-row' } });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(execution.id); else selected.delete(execution.id);
      changed();
    });
    const badge = stateBadge(execution.state.current);
    const duration = el('td');
    const tr = el('tr', { dataset: { testid: 'execution-row', id: execution.id } },
      el('td', {}, box),
      el('td', { class: 'exec-id' }, el('a', { href: `#/executions/${encodeURIComponent(execution.id)}` }, execution.id)),
      el('td', {}, execution.namespace),
      el('td', {}, el('a', { href: `#/flows/${encodeURIComponent(execution.namespace)}/${encodeURIComponent(execution.flowId)}` },
        execution.flowId)),
      el('td', {}, badge),
      el('td', {}, (execution.labels || []).map((l) => el('span', { class: 'label-chip' }, `${l.key}:${l.value}`))),
      el('td', {}, fmtDate(execution.state.startDate)),
      duration);
    return { tr, box, badge, duration };
  }

  function show(executions) {
    const seen = new Set();
    const order = executions.map((execution) => {
      seen.add(execution.id);
      let row = rows.get(execution.id);
      if (!row) { row = rowOf(execution); rows.set(execution.id, row); }
      row.tr.dataset.state = execution.state.current;
      setBadge(row.badge, execution.state.current);
      row.duration.textContent = durationOf(execution);
      return row.tr;
    });
    for (const id of [...rows.keys()]) {
      if (!seen.has(id)) { rows.delete(id); selected.delete(id); }
    }
    body.replaceChildren(...order);
    if (!executions.length) body.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No execution.')));
    all.checked = rows.size > 0 && selected.size === rows.size;
    changed();
  }

  return { node, show, selected, onChange: (f) => listeners.push(f) };
}

function durationOf(execution) {
  const start = Date.parse(execution.state.startDate);
  if (Number.isNaN(start)) return '';
  const end = isTerminal(execution.state.current) && execution.state.endDate
    ? Date.parse(execution.state.endDate) : Date.now();
  return fmtDuration(Math.max(end - start, 0) / 1000);
}

function bulkBar(table, refresh) {
  const note = el('span', { class: 'muted', dataset: { testid: 'bulk-result' } });
  const kill = el('button', { dataset: { testid: 'bulk-kill' }, disabled: true }, 'Kill selected');
  const restart = el('button', { dataset: { testid: 'bulk-restart' }, disabled: true }, 'Restart selected');
  const act = async (what, method, path) => {
    const ids = [...table.selected];
    if (!ids.length) return;
    try {
      const answer = await api(path, { method, json: ids });
      note.textContent = `${what}: ${answer.count} execution${answer.count === 1 ? '' : 's'}`;
      showError(null);
    } catch (error) {
      note.textContent = '';
      showError(error);
    }
    refresh();
  };
  kill.addEventListener('click', () => act('Kill requested', 'DELETE', '/executions/kill/by-ids'));
  restart.addEventListener('click', () => act('Restart requested', 'POST', '/executions/restart/by-ids'));
  const sync = () => {
    kill.disabled = restart.disabled = table.selected.size === 0;
  };
  table.onChange(sync);
  return { node: el('div', { class: 'exec-bulk' }, kill, restart, note), sync };
}
