// The buttons of an execution page: kill (not finished), resume (PAUSED, with the Pause
// tasks' `onResume` inputs as a form), restart (FAILED or KILLED), replay (finished; from
// the task run selected in the Gantt chart, if any).
import { api, el, showError } from '../api.js';
import { buildInputsForm } from './inputs_form.js';
import { RESTARTABLE_STATES, isTerminal } from './states.js';

/** `getFlow()` → the flow the execution runs (a promise); `selectedRun()` → the selected
 *  task run or null; `onRestarted()` once a restart was accepted. */
export function createActions({ executionId, getFlow, selectedRun, onRestarted }) {
  const path = `/executions/${encodeURIComponent(executionId)}`;
  const resumeBox = el('div', { class: 'resume-box', dataset: { testid: 'resume-form' }, hidden: true });
  let execution = null;
  const run = (f) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try { await f(); showError(null); } catch (error) { showError(error); } finally { button.disabled = false; }
  };
  // hidden until the execution's state says which apply
  const kill = el('button', { class: 'danger', dataset: { testid: 'action-kill' }, hidden: true }, 'Kill');
  const resume = el('button', { class: 'primary', dataset: { testid: 'action-resume' }, hidden: true }, 'Resume…');
  const restart = el('button', { dataset: { testid: 'action-restart' }, hidden: true }, 'Restart');
  const replay = el('button', { dataset: { testid: 'action-replay' }, hidden: true }, 'Replay');
  kill.addEventListener('click', run(() => api(`${path}/kill`, { method: 'DELETE' })));
  restart.addEventListener('click', run(async () => {
    await api(`${path}/restart`, { method: 'POST' });
    onRestarted();
  }));
  replay.addEventListener('click', run(async () => {
    const from = selectedRun();
    const query = from ? `?taskRunId=${encodeURIComponent(from.id)}` : '';
    const replayed = await api(`${path}/replay${query}`, { method: 'POST' });
    location.hash = `#/executions/${encodeURIComponent(replayed.id)}`;
  }));
  resume.addEventListener('click', run(async () => {
    if (!resumeBox.hidden) { resumeBox.hidden = true; return; }
    const inputs = onResumeInputs(await getFlow(), execution);
    resumeBox.replaceChildren(el('strong', {}, 'Resume the execution'));
    // the run form's builder: a 422 of the resume is shown next to its input
    buildInputsForm(resumeBox, inputs, { submitLabel: 'Resume', onSubmit: async (body) => {
      await api(`${path}/resume`, { method: 'POST', body });
      resumeBox.hidden = true;
    } });
    resumeBox.hidden = false;
  }));

  function update(current) {
    execution = current;
    const state = current.state.current;
    kill.hidden = isTerminal(state) || state === 'KILLING';
    resume.hidden = state !== 'PAUSED';
    if (resume.hidden) resumeBox.hidden = true;
    restart.hidden = !RESTARTABLE_STATES.has(state);
    replay.hidden = !isTerminal(state);
  }

  function selectionChanged(taskRun) {
    replay.textContent = taskRun ? `Replay from ${taskRun.taskId}` : 'Replay';
  }

  return { buttons: el('div', { class: 'actions' }, kill, resume, restart, replay), resumeBox,
           update, selectionChanged };
}

/** The `onResume` declarations of the tasks whose runs are PAUSED. */
export function onResumeInputs(flow, execution) {
  const paused = new Set((execution.taskRunList || [])
    .filter((run) => run.state.current === 'PAUSED').map((run) => run.taskId));
  const found = [];
  const walk = (node) => {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== 'object') return;
    if (typeof node.type === 'string' && paused.has(node.id) && Array.isArray(node.onResume)) {
      found.push(...node.onResume);
    }
    Object.values(node).forEach(walk);
  };
  walk(flow);
  return found;
}
