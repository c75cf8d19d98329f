// The inputs and the outputs of an execution as tables; a value that is a file of internal
// storage (`kestra:///...`) is a download link, with a text preview of small files fetched
// only when asked.
import { absolute, api, el } from '../api.js';

const PREVIEW_BYTES = 64 * 1024;
const RUNS_A_PAGE = 100;

/** A `kestra:///` URI is a file of internal storage. */
export function isFileUri(value) {
  return typeof value === 'string' && value.startsWith('kestra:///');
}

/** The inputs of the execution: one row per input. */
export function renderInputs(container, execution) {
  const inputs = execution.inputs || {};
  container.replaceChildren(Object.keys(inputs).length
    ? valueTable(execution.id, inputs, 'inputs')
    : el('p', { class: 'muted' }, 'This execution has no inputs.'));
}

/** The outputs panel: every task run with outputs (or only `onlyTaskRunId`), a page at a
 *  time, rewritten only when the outputs changed. Returns `update(execution, onlyTaskRunId)`. */
export function createOutputs(container) {
  let shownKey = '';
  let limit = RUNS_A_PAGE;
  let last = null;
  function update(execution, onlyTaskRunId = null) {
    last = [execution, onlyTaskRunId];
    const runs = (execution.taskRunList || []).filter((run) => run.outputs && Object.keys(run.outputs).length
      && (!onlyTaskRunId || run.id === onlyTaskRunId));
    const key = `${onlyTaskRunId}|${limit}|${runs.length}|${runs.map((r) => r.state.current).join()}`;
    if (key === shownKey) return;
    shownKey = key;
    const shown = runs.slice(0, limit);
    container.replaceChildren(el('div', {},
      onlyTaskRunId ? el('p', { class: 'muted' }, 'The outputs of the task run selected in the Gantt chart.') : null,
      runs.length ? null : el('p', { class: 'muted', dataset: { testid: 'no-outputs' } }, 'No outputs yet.'),
      shown.map((run) => el('section', { dataset: { testid: 'task-outputs', taskId: run.taskId } },
        el('h3', {}, run.taskId, run.value !== null && run.value !== undefined ? ` [${run.value}]` : ''),
        valueTable(execution.id, run.outputs, 'outputs'))),
      runs.length > shown.length ? el('button', { dataset: { testid: 'outputs-more' }, onclick: () => {
        limit += RUNS_A_PAGE;
        update(...last);
      } }, `Show more (${runs.length - shown.length} more task runs)`) : null));
  }
  return { update };
}

function valueTable(executionId, values, testid) {
  return el('table', { class: 'kv-table', dataset: { testid } },
    el('tbody', {}, Object.entries(values).map(([name, value]) =>
      el('tr', { dataset: { testid: `${testid}-row`, name } },
        el('th', {}, name),
        el('td', { dataset: { testid: 'value' } }, valueNode(executionId, value))))));
}

/** A value: a file link (with a preview button), or its JSON. */
function valueNode(executionId, value) {
  if (isFileUri(value)) return fileNode(executionId, value);
  if (Array.isArray(value) && value.some(isFileUri)) {
    return el('div', {}, value.map((item) => el('div', {}, valueNode(executionId, item))));
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return el('pre', {}, text);
}

function fileNode(executionId, uri) {
  const query = `path=${encodeURIComponent(uri)}`;
  const href = absolute(`/executions/${encodeURIComponent(executionId)}/file?${query}`);
  const name = uri.split('/').pop();
  const preview = el('div');
  const button = el('button', { dataset: { testid: 'file-preview' } }, 'Preview');
  button.addEventListener('click', async () => {
    button.disabled = true;
    preview.replaceChildren(await previewOf(executionId, query, href));
  });
  return el('div', {},
    el('a', { href, download: name, dataset: { testid: 'file-download' } }, name), ' ', button, preview);
}

/** The file's text when it is small, else a note saying its size. */
async function previewOf(executionId, query, href) {
  try {
    const metas = await api(`/executions/${encodeURIComponent(executionId)}/file/metas?${query}`);
    if (metas.size > PREVIEW_BYTES) {
      return el('p', { class: 'muted' }, `${metas.size} bytes: too large to preview, download it.`);
    }
    const response = await fetch(href);
    const text = await response.text();
    return el('pre', { class: 'file-preview', dataset: { testid: 'file-preview-text' } }, text);
  } catch (error) {
    return el('p', { class: 'muted' }, `No preview: ${error.message}`);
  }
}
