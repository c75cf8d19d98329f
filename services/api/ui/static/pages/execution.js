// #/executions/{id}: follows the execution live (server-sent events) with its header and
// actions, and tabs: Gantt chart, topology with each task's state, logs (streaming),
// outputs, inputs. Updates are batched: whatever came since the last animation frame is
// applied once, with the latest execution only.
import { ApiError, api, el, fmtDate, fmtDuration, follow } from '../api.js';
import { createActions } from '../components/execution_actions.js';
import { createGantt } from '../components/gantt.js';
import { createLogs } from '../components/logs.js';
import { createOutputs, renderInputs } from '../components/outputs.js';
import { combinedState, isTerminal, setBadge, stateBadge, useExecutionStyles } from '../components/states.js';

const TABS = ['gantt', 'topology', 'logs', 'outputs', 'inputs'];
const TAB_NAMES = { gantt: 'Gantt', topology: 'Topology', logs: 'Logs', outputs: 'Outputs', inputs: 'Inputs' };

export async function render(root, params, query) {
  useExecutionStyles();
  const id = params.id;
  const page = new ExecutionPage(root, id, TABS.includes(query.get('tab')) ? query.get('tab') : 'gantt',
    { level: query.get('level') || 'TRACE', taskId: query.get('task') || '' });
  try {
    await page.start();
  } catch (error) {
    page.close(); // the shell shows the error (a 404) and gets no cleanup from a throw
    throw error;
  }
  return () => page.close();
}

class ExecutionPage {
  constructor(root, id, tab, logFilter) {
    this.id = id;
    this.tab = tab;
    this.execution = null;
    this.latest = null;
    this.frame = 0;
    this.selected = null;
    this.closers = [];
    this.flow = null;
    this.topology = null;
    this.topologyKey = '';
    this.header = this.buildHeader();
    this.actions = createActions({ executionId: id, getFlow: () => this.getFlow(),
                                   selectedRun: () => this.selected, onRestarted: () => this.restarted() });
    this.header.node.append(this.actions.buttons);
    this.panels = Object.fromEntries(TABS.map((name) => [name, el('div', {
      class: 'exec-panel', dataset: { testid: `panel-${name}` }, hidden: name !== tab })]));
    this.tabButtons = TABS.map((name) => el('button', {
      class: name === tab ? 'active' : null, dataset: { testid: `tab-${name}` },
      onclick: () => this.showTab(name) }, TAB_NAMES[name]));
    root.append(this.header.node, this.actions.resumeBox, el('div', { class: 'exec-tabs' }, this.tabButtons),
      ...Object.values(this.panels));
    this.gantt = createGantt(this.panels.gantt, { onSelect: (run) => this.select(run) });
    this.logs = createLogs(this.panels.logs, {
      download: `/api/v1/main/logs/${encodeURIComponent(id)}/download`, ...logFilter,
      onFilter: (filter) => this.rememberQuery({ level: filter.level === 'TRACE' ? '' : filter.level,
                                                 task: filter.taskId }) });
    this.outputs = createOutputs(this.panels.outputs);
  }

  /** Waits for the first state of the execution (a 404 is thrown to the shell). */
  async start() {
    const first = new Promise((resolve) => { this.firstSeen = resolve; });
    this.followExecution();
    this.followLogs();
    this.ticker = setInterval(() => this.tick(), 1000);
    // an execution not in the view yet: the follow ends and is retried; after 2 s a GET
    // says whether it exists at all (its 404 is the page's error)
    const seen = await Promise.race([first, new Promise((r) => setTimeout(() => r(false), 2000))]);
    if (!seen) {
      const execution = await api(`/executions/${encodeURIComponent(this.id)}`); // throws the 404
      if (!this.latest) this.receive(execution);
    }
  }

  close() {
    this.closed = true;
    clearInterval(this.ticker);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.closers.forEach((close) => close());
    this.gantt.destroy();
    this.logs.destroy();
  }

  /** The UI's follow (services/api/routes/ui_executions.py): the execution first (`full`),
   *  then its header with only the task runs that changed (`changes`), the last one `end`. */
  followExecution() {
    let ended = false;
    const close = follow(`/ui/executions/${encodeURIComponent(this.id)}/follow`, (data, eventId) => {
      if (eventId === 'end') ended = true;
      if (data && typeof data === 'object') this.receive(data);
    }, { onEnd: () => {
      if (this.closed) return;
      if (ended && !this.stillBeforeRestart()) return;
      // not found (yet: start() asks the API whether it exists, a 404 closes the page), the
      // stream broke before the end (the API restarted), or a restart not applied yet
      this.firstSeen(false);
      setTimeout(() => !this.closed && this.followExecution(), ended ? 300 : 1000);
    } });
    this.closers.push(close);
  }

  /** After a restart was accepted: whether the execution still shows the state it was
   *  restarted from (the executor has not applied the restart yet; for 30 s at most). */
  stillBeforeRestart() {
    const restart = this.restart;
    if (!restart || !this.latest) return false;
    if (this.latest.state.histories.length > restart.histories || Date.now() >= restart.until) {
      this.restart = null;
      return false;
    }
    return true;
  }

  /** Reads the logs from their start, each line once; again when an execution whose logs
   *  had ended runs again (a restart). */
  followLogs() {
    if (this.closeLogs) this.closeLogs();
    this.logs.clear();
    this.logsEnded = false;
    this.closeLogs = follow(`/logs/${encodeURIComponent(this.id)}/follow`, (entry) => {
      if (entry && typeof entry === 'object') this.logs.add([entry]);
    }, { onEnd: () => { this.logsEnded = true; } });
    this.closers.push(() => this.closeLogs());
  }

  restarted() {
    this.restart = { histories: this.latest ? this.latest.state.histories.length : 0,
                     until: Date.now() + 30000 };
    this.followExecution();
  }

  /** Folds an event into the latest execution; the page shows it at the next frame. */
  receive(data) {
    if (data.taskRunList) {
      this.latest = data;
    } else if (this.latest) {
      const runs = this.latest.taskRunList;
      const { taskRuns, taskRunCount, ...header } = data;
      for (const [index, run] of taskRuns) runs[index] = run;
      runs.length = taskRunCount;
      this.latest = { ...header, taskRunList: runs };
    }
    if (this.firstSeen) this.firstSeen(true);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.applyPending());
  }

  applyPending() {
    this.frame = 0;
    const execution = this.latest;
    if (!execution || this.closed) return;
    this.execution = execution;
    if (this.logsEnded && !isTerminal(execution.state.current)) this.followLogs();
    this.header.update(execution);
    this.actions.update(execution);
    this.gantt.update(execution);
    this.logs.knowTasks(new Set((execution.taskRunList || []).map((run) => run.taskId)));
    this.refreshTab();
  }

  tick() {
    if (!this.execution || isTerminal(this.execution.state.current)) return;
    this.header.update(this.execution);
    this.gantt.update(this.execution); // the time scale moves on while it runs
  }

  select(run) {
    this.selected = run;
    this.actions.selectionChanged(run);
    if (this.tab === 'outputs') this.refreshTab();
  }

  showTab(name) {
    this.tab = name;
    for (const tab of TABS) this.panels[tab].hidden = tab !== name;
    this.tabButtons.forEach((button, i) => button.classList.toggle('active', TABS[i] === name));
    this.rememberQuery({ tab: name === 'gantt' ? '' : name });
    this.refreshTab();
  }

  /** Keeps the tab and the log filters in the address without a new render of the page. */
  rememberQuery(changes) {
    const [path, search] = location.hash.split('?');
    const query = new URLSearchParams(search || '');
    for (const [key, value] of Object.entries(changes)) {
      if (value) query.set(key, value); else query.delete(key);
    }
    const text = query.toString();
    history.replaceState(null, '', `${path}${text ? `?${text}` : ''}`);
  }

  refreshTab() {
    const execution = this.execution;
    if (!execution) return;
    if (this.tab === 'outputs') this.outputs.update(execution, this.selected ? this.selected.id : null);
    else if (this.tab === 'inputs') renderInputs(this.panels.inputs, execution);
    else if (this.tab === 'topology') this.refreshTopology();
  }

  async getFlow() {
    if (!this.flow) this.flow = api(`/executions/${encodeURIComponent(this.id)}/flow`);
    return this.flow;
  }

  /** The topology with each task's state: laid out once, recoloured when a state changed. */
  async refreshTopology() {
    const key = JSON.stringify(taskStates(this.execution));
    if (key === this.topologyKey || this.topologyLoading) return;
    if (this.topology) {
      this.topologyKey = key;
      this.topology.update(taskStates(this.execution));
      return;
    }
    const panel = this.panels.topology;
    this.topologyLoading = true;
    try {
      const [{ renderTopology }, flow] = await Promise.all([import('../components/topology.js'), this.getFlow()]);
      if (this.closed) return;
      this.topology = renderTopology(panel, flow, taskStates(this.execution));
      this.topologyKey = JSON.stringify(taskStates(this.execution));
    } catch (error) {
      panel.replaceChildren(el('p', { class: 'muted' }, error instanceof ApiError
        ? error.messages.join(' ') : `The topology is not available: ${error.message}`));
    } finally {
      this.topologyLoading = false;
    }
  }

  buildHeader() {
    const badge = stateBadge('', 'execution-state');
    const title = el('h1', { dataset: { testid: 'execution-id' } }, this.id);
    const flow = el('span');
    const dates = el('span', { class: 'muted' });
    const duration = el('span', { dataset: { testid: 'execution-duration' } });
    const labels = el('span', { dataset: { testid: 'execution-labels' } });
    const node = el('div', { class: 'exec-header' }, title, badge, flow, dates, duration, labels);
    let shownFlow = '';
    const update = (execution) => {
      setBadge(badge, execution.state.current);
      const flowKey = `${execution.namespace}/${execution.flowId}/${execution.flowRevision}`;
      if (flowKey !== shownFlow) {
        shownFlow = flowKey;
        flow.replaceChildren(...[
          el('a', { href: `#/flows?namespace=${encodeURIComponent(execution.namespace)}`, dataset: { testid: 'execution-namespace' } },
            execution.namespace), ' / ',
          el('a', { href: `#/flows/${encodeURIComponent(execution.namespace)}/${encodeURIComponent(execution.flowId)}`,
                    dataset: { testid: 'execution-flow' } }, execution.flowId),
          el('span', { class: 'muted' }, ` rev ${execution.flowRevision}`),
          execution.originalId && execution.originalId !== execution.id ? el('span', { class: 'muted' }, ' · replay of ',
            el('a', { href: `#/executions/${encodeURIComponent(execution.originalId)}` }, execution.originalId)) : null,
        ].filter(Boolean));
        labels.replaceChildren(...(execution.labels || []).map((l) => el('span', { class: 'label-chip' }, `${l.key}:${l.value}`)));
      }
      const start = Date.parse(execution.state.startDate);
      const ended = isTerminal(execution.state.current) && execution.state.endDate;
      const end = ended ? Date.parse(execution.state.endDate) : Date.now();
      dates.textContent = `started ${fmtDate(execution.state.startDate)}${ended ? `, ended ${fmtDate(execution.state.endDate)}` : ''}`;
      duration.textContent = Number.isNaN(start) ? '' : fmtDuration(Math.max(end - start, 0) / 1000);
    };
    return { node, update };
  }
}

/** `{taskId: state}` for the topology: the runs of one task combined. */
export function taskStates(execution) {
  const byTask = new Map();
  for (const run of execution.taskRunList || []) {
    if (!byTask.has(run.taskId)) byTask.set(run.taskId, []);
    byTask.get(run.taskId).push(run.state.current);
  }
  return Object.fromEntries([...byTask].map(([taskId, states]) => [taskId, combinedState(states)]));
}

