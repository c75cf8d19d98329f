// Kestra's states (the names of ostinato/execution/states.py, checked by
// tests/ui/test_executions_ui.py) with their colours, and the state badge every page shows.
import { el } from '../api.js';

/** Every state, with the colour of its badges, bars and topology nodes. */
export const STATE_COLOURS = Object.freeze({
  CREATED: '#6b7280',
  RUNNING: '#2563eb',
  PAUSED: '#9333ea',
  RESTARTED: '#0891b2',
  KILLING: '#ea580c',
  SUCCESS: '#16a34a',
  WARNING: '#ca8a04',
  FAILED: '#dc2626',
  KILLED: '#9f1239',
  CANCELLED: '#64748b',
  QUEUED: '#9ca3af',
  RETRYING: '#0284c7',
  RETRIED: '#94a3b8',
  SKIPPED: '#cbd5e1',
});

/** The state names, in the order of the state module. */
export const STATE_NAMES = Object.freeze(Object.keys(STATE_COLOURS));

/** No state follows (but a restart). */
export const TERMINAL_STATES = new Set(
  ['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED', 'SKIPPED', 'RETRIED']);

/** Started and not yet ended nor waiting. */
export const RUNNING_STATES = new Set(['RUNNING', 'RESTARTED', 'KILLING', 'RETRYING']);

/** The states an execution can be restarted from (control.py's RESTARTABLE). */
export const RESTARTABLE_STATES = new Set(['FAILED', 'KILLED']);

export function isTerminal(state) {
  return TERMINAL_STATES.has(state);
}

export function stateColour(state) {
  return STATE_COLOURS[state] || '#6b7280';
}

/** The text colour readable on a state's colour. */
export function stateTextColour(state) {
  return state === 'SKIPPED' || state === 'RETRIED' || state === 'QUEUED' ? '#111827' : '#ffffff';
}

/** A coloured badge naming the state (`data-state` holds the name, for tests and CSS). */
export function stateBadge(state, testid = 'state-badge') {
  const badge = el('span', { class: 'state-badge', dataset: { testid } });
  setBadge(badge, state);
  return badge;
}

/** Changes a badge in place to another state. */
export function setBadge(badge, state) {
  if (badge.dataset.state === state) return;
  badge.dataset.state = state || '';
  badge.textContent = state || '…';
  badge.style.background = stateColour(state);
  badge.style.color = stateTextColour(state);
}

/** The state to show for several runs of one task (a ForEach's children): a running one
 *  first, then the worst ended one, else the latest. */
export function combinedState(states) {
  const order = ['FAILED', 'KILLED', 'KILLING', 'WARNING', 'CANCELLED'];
  if (states.some((s) => RUNNING_STATES.has(s))) return 'RUNNING';
  if (states.includes('PAUSED')) return 'PAUSED';
  for (const state of order) if (states.includes(state)) return state;
  return states[states.length - 1];
}

let stylesheetAdded = false;

/** Adds the executions pages' stylesheet once (app.css is the shell's). */
export function useExecutionStyles() {
  if (stylesheetAdded || document.querySelector('link[data-executions-css]')) return;
  stylesheetAdded = true;
  document.head.append(el('link', { rel: 'stylesheet', href: '/ui/static/components/executions.css',
                                    'data-executions-css': '' }));
}
