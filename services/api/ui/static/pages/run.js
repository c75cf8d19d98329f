// The run form (#/flows/{ns}/{id}/run): the flow's inputs as a form, labels as key/value
// rows; Execute posts them (multipart) and opens the new execution's page.
import { api, el } from '../api.js';
import { buildInputsForm } from '../components/inputs_form.js';

export async function render(root, params) {
  const path = `${encodeURIComponent(params.namespace)}/${encodeURIComponent(params.id)}`;
  const flow = await api(`/flows/${path}`);
  const labels = labelRows();
  root.append(el('h1', {}, el('a', { href: '#/flows' }, 'Flows'), ` / ${flow.namespace} / `,
    el('a', { href: `#/flows/${path}` }, flow.id), ' / Run'));
  if (flow.description) root.append(el('p', { class: 'muted' }, flow.description));
  const holder = el('div', { class: 'panel run-form' });
  root.append(holder);
  buildInputsForm(holder, flow.inputs || [], {
    submitLabel: 'Execute',
    extra: labels.node,
    onSubmit: async (data) => {
      const query = new URLSearchParams();
      for (const label of labels.values()) query.append('labels', label);
      const created = await api(`/executions/${path}${String(query) ? `?${query}` : ''}`, { body: data });
      location.hash = `#/executions/${encodeURIComponent(created.id)}`;
    },
  });
}

/** Label rows (key, value, remove) with an "Add label" button; `values()` as `key:value`. */
function labelRows() {
  const rows = el('div', { class: 'label-rows' });
  const add = (key = '', value = '') => {
    const row = el('div', { class: 'label-row', 'data-testid': 'label-row' },
      el('input', { type: 'text', placeholder: 'key', value: key, class: 'label-key', 'data-testid': 'label-key' }),
      el('input', { type: 'text', placeholder: 'value', value, class: 'label-value', 'data-testid': 'label-value' }),
      el('button', { type: 'button', title: 'Remove', onclick: () => row.remove() }, '×'));
    rows.append(row);
  };
  const node = el('fieldset', { class: 'labels' }, el('legend', {}, 'Labels'), rows,
    el('button', { type: 'button', 'data-testid': 'add-label', onclick: () => add() }, '+ Add label'));
  return {
    node,
    values: () => [...rows.querySelectorAll('.label-row')]
      .map((row) => [row.querySelector('.label-key').value.trim(), row.querySelector('.label-value').value])
      .filter(([key]) => key).map(([key, value]) => `${key}:${value}`),
  };
}
