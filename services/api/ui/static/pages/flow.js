// A flow's page: its YAML in the editor (validated as you type, saved as a new revision),
// its topology, its revisions with a diff, its executions and its triggers, as tabs
// (#/flows/{ns}/{id}?tab=editor|topology|revisions|executions|triggers). #/flows/new opens
// the editor on a new flow.
import { api, el, fmtDate, showError } from '../api.js';
import { renderDiff } from '../components/diff.js';
import { renderTopology } from '../components/topology.js';
import { renderTriggers } from '../components/triggers.js';
import { createYamlEditor } from '../components/yaml_editor.js';

const TABS = ['editor', 'topology', 'revisions', 'executions', 'triggers'];
const VALIDATE_AFTER_MS = 400;
const NEW_FLOW = `id: hello_world
namespace: company.team

inputs:
  - id: name
    type: STRING
    defaults: World

tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}!"
`;

export async function render(root, params, query) {
  const creating = !params.namespace;
  const flow = creating ? null : await api(`/flows/${path(params)}?source=true`);
  const page = { root, params, flow, creating, cleanups: [] };
  const header = el('div', { class: 'toolbar' });
  const tabs = el('nav', { class: 'tabs' });
  const panel = el('div', { class: 'tab-panel' });
  root.append(header, tabs, panel);
  renderHeader(header, page);
  const tab = creating ? 'editor' : TABS.includes(query.get('tab')) ? query.get('tab') : 'editor';
  const panels = {};
  const show = async (name) => {
    history.replaceState(null, '', `#/flows/${creating ? 'new' : path(params)}${name === 'editor' ? '' : `?tab=${name}`}`);
    for (const link of tabs.children) link.classList.toggle('active', link.dataset.tab === name);
    for (const [key, node] of Object.entries(panels)) node.hidden = key !== name;
    if (!panels[name]) {
      panels[name] = el('div', { 'data-testid': `tab-${name}` });
      panel.append(panels[name]);
      try {
        await TAB_RENDERERS[name](panels[name], page);
      } catch (error) {
        showError(error);
      }
    }
  };
  page.refreshTab = (name) => { if (panels[name]) { panels[name].remove(); delete panels[name]; } };
  tabs.append(...(creating ? ['editor'] : TABS).map((name) => el('a', {
    href: '#', 'data-tab': name, 'data-testid': `tab-link-${name}`,
    onclick: (event) => { event.preventDefault(); show(name); },
  }, name[0].toUpperCase() + name.slice(1))));
  await show(tab);
  return () => page.cleanups.forEach((cleanup) => cleanup());
}

const path = (params) => `${encodeURIComponent(params.namespace)}/${encodeURIComponent(params.id)}`;

function renderHeader(header, page) {
  const { flow, params } = page;
  if (page.creating) {
    header.replaceChildren(el('h1', {}, el('a', { href: '#/flows' }, 'Flows'), ' / New flow'));
    return;
  }
  header.replaceChildren(...[
    el('h1', {}, el('a', { href: '#/flows' }, 'Flows'), ` / ${flow.namespace} / `, el('span', { 'data-testid': 'flow-id' }, flow.id)),
    el('span', { class: 'label-chip', 'data-testid': 'flow-revision' }, `revision ${flow.revision}`),
    flow.disabled ? el('span', { class: 'badge' }, 'disabled') : null,
    el('span', { class: 'spacer' }),
    el('a', { class: 'button primary', href: `#/flows/${path(params)}/run`, 'data-testid': 'run-flow' }, 'Run'),
  ].filter(Boolean));
}

const TAB_RENDERERS = { editor: editorTab, topology: topologyTab, revisions: revisionsTab,
                        executions: executionsTab, triggers: (node, page) => renderTriggers(node, page.flow) };

// ---------------------------------------------------------------- editor

async function editorTab(node, page) {
  const status = el('span', { class: 'muted', 'data-testid': 'validation-status' });
  const saved = el('span', { class: 'muted', 'data-testid': 'save-status' });
  const save = el('button', { class: 'primary', 'data-testid': 'save-flow' }, 'Save');
  node.append(el('div', { class: 'toolbar' }, save, saved, el('span', { class: 'spacer' }), status));
  const holder = el('div');
  node.append(holder);
  let timer = 0;
  let asked = 0;
  const validate = async () => {
    const mine = ++asked;
    status.textContent = 'Validating…';
    let items;
    try {
      items = await api('/flows/validate', { body: editor.getValue(), headers: { 'Content-Type': 'application/x-yaml' } });
    } catch (error) {
      if (mine === asked) { status.textContent = `Validation failed: ${error.message}`; }
      return;
    }
    if (mine !== asked) return; // an older answer after a newer edit
    const errors = items.flatMap((item) => item.errors || (item.details || []).map(parseDetail));
    const warnings = items.flatMap((item) => (item.warnings || []).map((w) => ({ ...parseDetail(w), warning: true })));
    editor.setErrors([...errors, ...warnings]);
    status.textContent = errors.length ? `${errors.length} error${errors.length > 1 ? 's' : ''}` : 'Valid';
    status.className = errors.length ? 'status-error' : 'status-ok';
  };
  const editor = createYamlEditor(holder, {
    value: page.creating ? NEW_FLOW : page.flow.source,
    onChange: () => { saved.textContent = 'Unsaved changes'; clearTimeout(timer); timer = setTimeout(validate, VALIDATE_AFTER_MS); },
  });
  page.cleanups.push(() => clearTimeout(timer));
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      const body = editor.getValue();
      const headers = { 'Content-Type': 'application/x-yaml' };
      const result = page.creating
        ? await api('/flows', { body, headers })
        : await api(`/flows/${path(page.params)}`, { method: 'PUT', body, headers });
      saved.textContent = `Saved: revision ${result.revision}`;
      if (page.creating || result.revision !== page.flow.revision) {
        if (page.creating) { location.hash = `#/flows/${path(result)}`; return; }
        page.flow = await api(`/flows/${path(page.params)}?source=true`);
        renderHeader(page.root.firstChild, page);
        ['topology', 'revisions', 'triggers'].forEach(page.refreshTab);
      }
    } catch (error) {
      showError(error);
      saved.textContent = 'Not saved';
    } finally {
      save.disabled = false;
    }
  });
  validate();
}

/** `tasks[1].type, line 11: message` (the text form of an error) as {path, line, message}. */
function parseDetail(text) {
  const found = /^(.*?)(?:,\s*)?line (\d+): (.*)$/s.exec(text);
  if (found) return { path: found[1], line: Number(found[2]), message: found[3] };
  const colon = /^([\w.[\]"-]+): (.*)$/s.exec(text);
  return colon ? { path: colon[1], line: null, message: colon[2] } : { path: '', line: null, message: text };
}

// ---------------------------------------------------------------- other tabs

async function topologyTab(node, page) {
  const holder = el('div', { class: 'panel scroll' });
  node.append(holder);
  renderTopology(holder, page.flow);
}

async function revisionsTab(node, page) {
  const revisions = await api(`/flows/${path(page.params)}/revisions`);
  const numbers = revisions.map((r) => r.revision);
  const pick = (name, selected) => el('select', { 'data-testid': `diff-${name}` },
    numbers.map((n) => el('option', { value: n, selected: n === selected }, `revision ${n}`)));
  const latest = numbers[numbers.length - 1];
  const left = pick('left', numbers.length > 1 ? numbers[numbers.length - 2] : latest);
  const right = pick('right', latest);
  const diff = el('div', { class: 'panel scroll' });
  const source = (n) => (revisions.find((r) => r.revision === Number(n)) || {}).source || '';
  const redraw = () => renderDiff(diff, source(left.value), source(right.value));
  left.addEventListener('change', redraw);
  right.addEventListener('change', redraw);
  node.append(
    el('table', { class: 'list compact' },
      el('thead', {}, el('tr', {}, ['Revision', 'Updated', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, [...revisions].reverse().map((r) => el('tr', { 'data-testid': 'revision-row' },
        el('td', {}, `revision ${r.revision}`), el('td', {}, fmtDate(r.updated)),
        el('td', {}, r.deleted ? el('span', { class: 'badge' }, 'deleted') : ''))))),
    el('div', { class: 'toolbar diff-pickers' }, 'Compare', left, 'with', right), diff);
  redraw();
}

async function executionsTab(node, page) {
  const query = new URLSearchParams({ namespace: page.flow.namespace, flowId: page.flow.id });
  node.append(el('p', {}, el('a', { href: `#/executions?${query}` }, 'Open in the executions page')));
  let module;
  try {
    module = await import('./executions.js');
  } catch {
    return; // the link is enough
  }
  const holder = el('div');
  node.append(holder);
  const cleanup = await module.render(holder, {}, query);
  if (typeof cleanup === 'function') page.cleanups.push(cleanup);
}
