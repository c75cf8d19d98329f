// The Gantt chart of an execution: one row per task run, nested under its parent task run,
// a bar from its start to its end with one segment per attempt, coloured by state.
// Virtualised: only the rows in view are in the DOM (a ForEach over thousands of values
// stays fast), and a row is rewritten only when its run or the time scale changed.
import { el, fmtDuration } from '../api.js';
import { isTerminal, stateColour } from './states.js';

const ROW_HEIGHT = 26;
const OVERSCAN = 8;
const INDENT = 14;

/** `onSelect(taskRun | null)` is called when a row is clicked (again to unselect). */
export function createGantt(container, { onSelect } = {}) {
  const count = el('span', { dataset: { testid: 'gantt-count', count: '0' } }, '0 task runs');
  const total = el('span', { class: 'muted' });
  const spacer = el('div', { class: 'gantt-spacer' });
  const scroller = el('div', { class: 'gantt-scroll', dataset: { testid: 'gantt-scroll' } }, spacer);
  const root = el('div', { class: 'gantt', dataset: { testid: 'gantt' } },
    el('div', { class: 'gantt-head' }, count, total), scroller);
  container.append(root);

  let runs = [];            // task runs in tree order
  let depths = new Map();   // task run id -> nesting depth
  let byId = new Map();
  let scale = { t0: 0, t1: 1, key: '' };
  let selected = null;
  const rendered = new Map(); // task run id -> {row, signature}
  let frame = 0;

  function update(execution) {
    const list = execution.taskRunList || [];
    ({ order: runs, depths } = treeOrder(list));
    byId = new Map(list.map((run) => [run.id, run]));
    const t0 = Date.parse(execution.state.startDate) || Date.now();
    const ended = isTerminal(execution.state.current) && execution.state.endDate;
    const t1 = Math.max(ended ? Date.parse(execution.state.endDate) : Date.now(), t0 + 1);
    scale = { t0, t1, key: `${t0}/${t1}` };
    count.dataset.count = String(runs.length);
    count.textContent = `${runs.length} task run${runs.length === 1 ? '' : 's'}`;
    total.textContent = ` · ${fmtDuration((t1 - t0) / 1000)}`;
    spacer.style.height = `${runs.length * ROW_HEIGHT}px`;
    schedule();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  }

  function render() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visibleRows = Math.ceil((scroller.clientHeight || 600) / ROW_HEIGHT) + 2 * OVERSCAN;
    const shown = runs.slice(first, first + visibleRows);
    const keep = new Set(shown.map((run) => run.id));
    for (const [id, entry] of rendered) {
      if (!keep.has(id)) { entry.row.remove(); rendered.delete(id); }
    }
    shown.forEach((run, offset) => {
      let entry = rendered.get(run.id);
      if (!entry) {
        entry = { row: el('div', { class: 'gantt-row', dataset: { testid: 'gantt-row', taskRunId: run.id } }),
                  signature: '' };
        entry.row.addEventListener('click', () => toggle(run.id));
        rendered.set(run.id, entry);
        spacer.append(entry.row);
      }
      entry.row.style.top = `${(first + offset) * ROW_HEIGHT}px`;
      entry.row.classList.toggle('selected', run.id === selected);
      const signature = `${scale.key}|${signatureOf(run)}`;
      if (signature !== entry.signature) {
        entry.signature = signature;
        fillRow(entry.row, run, depths.get(run.id) || 0, scale);
      }
    });
  }

  function toggle(id) {
    selected = selected === id ? null : id;
    for (const [runId, entry] of rendered) entry.row.classList.toggle('selected', runId === selected);
    if (onSelect) onSelect(selected ? byId.get(selected) : null);
  }

  scroller.addEventListener('scroll', schedule, { passive: true });
  return {
    update,
    get count() { return runs.length; },
    destroy() { if (frame) cancelAnimationFrame(frame); root.remove(); },
  };
}

/** The runs depth-first: each parent followed by its children (in list order); a run whose
 *  parent is not in the list is a root. */
export function treeOrder(list) {
  const ids = new Set(list.map((run) => run.id));
  const children = new Map();
  const roots = [];
  for (const run of list) {
    const parent = run.parentTaskRunId;
    if (parent && ids.has(parent) && parent !== run.id) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(run);
    } else {
      roots.push(run);
    }
  }
  const order = [];
  const depths = new Map();
  const stack = roots.slice().reverse().map((run) => [run, 0]);
  while (stack.length) {
    const [run, depth] = stack.pop();
    if (depths.has(run.id)) continue; // a cycle would loop forever
    depths.set(run.id, depth);
    order.push(run);
    const kids = children.get(run.id) || [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return { order, depths };
}

function signatureOf(run) {
  const attempts = (run.attempts || []).map((a) => `${a.state.current}${a.state.histories.length}`).join(',');
  return `${run.state.current}|${run.state.histories.length}|${attempts}`;
}

/** Start and end (ms) of a state's histories; a run not ended ends at `now`. */
function span(state, now) {
  const histories = state.histories || [];
  const start = histories.length ? Date.parse(histories[0].date) : now;
  const end = isTerminal(state.current) && histories.length
    ? Date.parse(histories[histories.length - 1].date) : now;
  return [start, Math.max(end, start)];
}

function fillRow(row, run, depth, scale) {
  const now = Math.min(Date.now(), scale.t1);
  const [start, end] = span(run.state, now);
  const width = scale.t1 - scale.t0;
  const left = ((start - scale.t0) / width) * 100;
  const barWidth = Math.max(((end - start) / width) * 100, 0.3);
  const bar = el('div', {
    class: 'gantt-bar', title: barTitle(run, start, end),
    dataset: { testid: 'gantt-bar', state: run.state.current },
    style: { left: `${Math.max(left, 0)}%`, width: `${barWidth}%`,
             // where no attempt ran (waiting, between retries) the bar is paler
             background: stateColour(run.state.current) + ((run.attempts || []).length ? '59' : '') },
  }, attemptSegments(run, start, end, now));
  row.dataset.state = run.state.current;
  row.replaceChildren(
    el('div', { class: 'gantt-label', style: { paddingLeft: `${6 + depth * INDENT}px` }, title: labelOf(run) },
      el('span', { class: 'gantt-task' }, run.taskId),
      run.value !== null && run.value !== undefined ? el('span', { class: 'gantt-value' }, ` ${run.value}`) : null),
    el('div', { class: 'gantt-track' }, bar),
    el('div', { class: 'gantt-duration' }, fmtDuration((end - start) / 1000)));
}

/** One segment per attempt, placed inside the bar; the bar's own colour shows through
 *  where no attempt ran (waiting to start, between retries). */
function attemptSegments(run, start, end, now) {
  const attempts = run.attempts || [];
  if (!attempts.length) return null;
  const length = Math.max(end - start, 1);
  return attempts.map((attempt, i) => {
    const [from, to] = span(attempt.state, now);
    return el('div', {
      class: 'gantt-attempt',
      dataset: { testid: 'gantt-attempt', attempt: String(i + 1), state: attempt.state.current },
      style: { left: `${((from - start) / length) * 100}%`,
               width: `${Math.max(((to - from) / length) * 100, 1)}%`,
               background: stateColour(attempt.state.current) },
    });
  });
}

function labelOf(run) {
  return run.value !== null && run.value !== undefined ? `${run.taskId} [${run.value}]` : run.taskId;
}

function barTitle(run, start, end) {
  const attempts = (run.attempts || []).map((a, i) => `attempt ${i + 1}: ${a.state.current}`);
  return [`${labelOf(run)}: ${run.state.current}, ${fmtDuration((end - start) / 1000)}`, ...attempts].join('\n');
}
