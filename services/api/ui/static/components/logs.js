// The log lines of an execution, as they stream in: a minimum level and a task filter, a
// virtualised list (only the lines in view are in the DOM, however many there are) that
// follows the tail while the reader is at the bottom.
import { el, fmtDate } from '../api.js';

/** Kestra's log levels, lowest first (services/api/kestra_json.py LEVELS). */
export const LEVELS = Object.freeze(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']);
const RANK = Object.fromEntries(LEVELS.map((level, i) => [level, i]));
const ROW_HEIGHT = 20;
const OVERSCAN = 10;

/** `level`, `taskId`: the initial filters; `download`: the URL of the text download;
 *  `onFilter({level, taskId})`: called when the reader changes a filter. */
export function createLogs(container, { level = 'TRACE', taskId = '', download, onFilter } = {}) {
  const levelSelect = el('select', { dataset: { testid: 'log-level' }, title: 'Minimum level' },
    LEVELS.map((name) => el('option', { value: name, selected: name === level }, `${name} and above`)));
  const taskSelect = el('select', { dataset: { testid: 'log-task' }, title: 'Task' },
    el('option', { value: '' }, 'All tasks'));
  const count = el('span', { class: 'muted', dataset: { testid: 'log-count', count: '0' } }, '0 lines');
  const spacer = el('div', { class: 'log-spacer' });
  const scroller = el('div', { class: 'log-scroll', dataset: { testid: 'log-list' } }, spacer);
  const empty = el('p', { class: 'muted log-empty' }, 'No log lines yet.');
  const root = el('div', { class: 'logs' },
    el('div', { class: 'toolbar' }, levelSelect, taskSelect, count,
      download ? el('a', { href: download, download: '', dataset: { testid: 'log-download' } }, 'Download') : null),
    empty, scroller);
  container.append(root);

  const all = [];
  let shown = [];
  const tasks = new Set();
  const rendered = new Map(); // index in `shown` -> row
  let frame = 0;
  let atBottom = true;
  let filter = { level: RANK[level] === undefined ? 0 : RANK[level], taskId };

  const keeps = (entry) => (RANK[entry.level] ?? LEVELS.length) >= filter.level
    && (!filter.taskId || entry.taskId === filter.taskId);

  function add(entries) {
    for (const entry of entries) {
      all.push(entry);
      if (keeps(entry)) shown.push(entry);
      if (entry.taskId && !tasks.has(entry.taskId)) addTask(entry.taskId);
    }
    schedule();
  }

  function addTask(id) {
    tasks.add(id);
    taskSelect.append(el('option', { value: id, selected: id === filter.taskId }, id));
  }

  function refilter() {
    shown = all.filter(keeps);
    for (const row of rendered.values()) row.remove();
    rendered.clear();
    atBottom = true;
    schedule();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  }

  function render() {
    count.dataset.count = String(shown.length);
    count.textContent = `${shown.length} line${shown.length === 1 ? '' : 's'}`
      + (shown.length !== all.length ? ` of ${all.length}` : '');
    empty.hidden = shown.length > 0;
    spacer.style.height = `${shown.length * ROW_HEIGHT}px`;
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(shown.length,
      first + Math.ceil((scroller.clientHeight || 500) / ROW_HEIGHT) + 2 * OVERSCAN);
    for (const [index, row] of rendered) {
      if (index < first || index >= last) { row.remove(); rendered.delete(index); }
    }
    for (let index = first; index < last; index++) {
      if (rendered.has(index)) continue;
      const row = lineOf(shown[index]);
      row.style.top = `${index * ROW_HEIGHT}px`;
      rendered.set(index, row);
      spacer.append(row);
    }
  }

  levelSelect.addEventListener('change', () => {
    filter = { ...filter, level: RANK[levelSelect.value] };
    refilter();
    if (onFilter) onFilter({ level: levelSelect.value, taskId: filter.taskId });
  });
  taskSelect.addEventListener('change', () => {
    filter = { ...filter, taskId: taskSelect.value };
    refilter();
    if (onFilter) onFilter({ level: LEVELS[filter.level], taskId: filter.taskId });
  });
  scroller.addEventListener('scroll', () => {
    atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW_HEIGHT;
    schedule();
  }, { passive: true });
  if (taskId) addTask(taskId);

  return {
    add,
    /** Offers these task ids in the task filter before any of their lines came. */
    knowTasks(ids) { for (const id of ids) if (id && !tasks.has(id)) addTask(id); },
    /** Forgets every line (the stream is read again from its start). */
    clear() { all.length = 0; refilter(); },
    get count() { return all.length; },
    destroy() { if (frame) cancelAnimationFrame(frame); root.remove(); },
  };
}

function lineOf(entry) {
  return el('div', { class: `log-line level-${entry.level}`, title: entry.message,
                     dataset: { testid: 'log-line', level: entry.level, taskId: entry.taskId || '' } },
    el('span', { class: 'log-time' }, fmtDate(entry.timestamp)),
    el('span', { class: 'log-level' }, entry.level),
    el('span', { class: 'log-task' }, entry.taskId || ''),
    el('span', { class: 'log-message' }, entry.message));
}
