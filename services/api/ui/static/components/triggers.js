// The Triggers tab: each trigger of a flow with its type, cron and next date (Schedules),
// and a backfill form per Schedule: a range, optional inputs (JSON) and labels.
import { api, el, fmtDate } from '../api.js';

export async function renderTriggers(container, flow) {
  const path = `/flows/${encodeURIComponent(flow.namespace)}/${encodeURIComponent(flow.id)}`;
  const triggers = await api(`${path}/triggers`);
  if (!triggers.length) {
    container.append(el('p', { class: 'muted', 'data-testid': 'no-triggers' }, 'This flow has no triggers.'));
    return;
  }
  container.append(el('table', { class: 'list' },
    el('thead', {}, el('tr', {}, ['Id', 'Type', 'Cron', 'Next date', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, triggers.map((trigger) => triggerRow(trigger)))));
  for (const trigger of triggers.filter((t) => t.backfill)) {
    container.append(backfillForm(path, trigger));
  }
  container.append(el('p', { class: 'muted small' },
    'The next date is the cron\'s next occurrence from now (the cron is read in the trigger\'s '
    + 'time zone; dates show in your browser\'s). The flow\'s executions show when a trigger fired.'));
}

function triggerRow(trigger) {
  return el('tr', { 'data-testid': 'trigger-row', 'data-trigger': trigger.id },
    el('td', {}, trigger.id, trigger.disabled ? el('span', { class: 'badge' }, 'disabled') : null),
    el('td', { title: trigger.type }, trigger.type.split('.').pop()),
    el('td', {}, trigger.cron ? el('code', {}, trigger.cron) : '', trigger.timezone && trigger.cron ? el('span', { class: 'muted' }, ` ${trigger.timezone}`) : null),
    el('td', { 'data-testid': 'trigger-next' }, trigger.nextDate ? fmtDate(trigger.nextDate) : (trigger.nextDateError || '')),
    el('td', {}, trigger.description || ''));
}

function backfillForm(path, trigger) {
  const now = new Date();
  const dayAgo = new Date(now.getTime() - 24 * 3600 * 1000);
  const start = el('input', { type: 'datetime-local', step: 1, value: localValue(dayAgo), 'data-testid': 'backfill-start' });
  const end = el('input', { type: 'datetime-local', step: 1, value: localValue(now), 'data-testid': 'backfill-end' });
  const inputs = el('textarea', { class: 'mono', rows: 3, placeholder: '{"input": "value"} (replaces the trigger\'s inputs)', 'data-testid': 'backfill-inputs' });
  const labels = el('input', { type: 'text', placeholder: 'key:value, …', 'data-testid': 'backfill-labels' });
  const result = el('div', { 'data-testid': 'backfill-result' });
  const submit = async (event) => {
    event.preventDefault();
    result.className = '';
    result.replaceChildren();
    let body;
    try {
      body = {
        start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString(),
        inputs: inputs.value.trim() ? JSON.parse(inputs.value) : {},
        labels: Object.fromEntries(labels.value.split(',').map((s) => s.trim()).filter(Boolean)
          .map((pair) => { const at = pair.indexOf(':'); return [pair.slice(0, at), pair.slice(at + 1)]; })),
      };
    } catch (error) {
      result.className = 'form-error';
      result.textContent = `Not a valid range, JSON inputs or labels: ${error.message}`;
      return;
    }
    try {
      const answer = await api(`${path}/triggers/${encodeURIComponent(trigger.id)}/backfill`, { json: body });
      result.textContent = `${answer.count} execution${answer.count === 1 ? '' : 's'} requested `
        + '(occurrences already run are not run again).';
      result.className = 'form-ok';
    } catch (error) {
      result.className = 'form-error';
      result.replaceChildren(...(error.messages || [error.message]).map((m) => el('div', {}, m)));
    }
  };
  return el('form', { class: 'panel backfill', 'data-testid': `backfill-${trigger.id}`, onsubmit: submit },
    el('h2', {}, `Backfill ${trigger.id}`),
    el('p', { class: 'muted small' }, 'Runs every occurrence of the schedule in the range (local time), as the scheduler would have.'),
    el('div', { class: 'toolbar' }, el('label', {}, 'From ', start), el('label', {}, 'to ', end)),
    el('label', { class: 'block' }, 'Inputs (JSON, optional)', inputs),
    el('label', { class: 'block' }, 'Labels (optional)', labels),
    el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'primary', 'data-testid': 'backfill-submit' }, 'Backfill')),
    result);
}

function localValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
