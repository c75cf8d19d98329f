// A form generated from typed inputs (a flow's `inputs`, a Pause's `onResume`): one field per
// input by its type, defaults pre-filled, required marks; submitted as multipart FormData
// (files as file parts) as POST /executions/{ns}/{id} and /executions/{id}/resume take it.
// The server types the values: its 422 messages are shown next to the field they name.
import { ApiError, el } from '../api.js';

const TEXT_TYPES = { EMAIL: 'email', URI: 'url', SECRET: 'password' };
const PLACEHOLDERS = {
  INT: 'an integer, e.g. 42', FLOAT: 'a number, e.g. 3.14', DURATION: 'ISO-8601, e.g. PT5M',
  JSON: '{"key": "value"}', YAML: 'key: value', URI: 'https://…', EMAIL: 'name@example.com',
};

/** Builds the form in `container`. `onSubmit(formData)` runs on submit; an ApiError it throws
 *  is shown: a 422's messages next to the inputs they name (`` `id` ``), the rest above the
 *  button. Options: `submitLabel`, `extra` (nodes placed before the button).
 *  Returns {form, setErrors(messages), values()}. */
export function buildInputsForm(container, inputs, { onSubmit, submitLabel = 'Execute', extra = null } = {}) {
  const fields = (inputs || []).map(field);
  const general = el('div', { class: 'form-error', 'data-testid': 'form-error', hidden: true });
  const button = el('button', { type: 'submit', class: 'primary', 'data-testid': 'submit-inputs' }, submitLabel);
  const form = el('form', { class: 'inputs-form', novalidate: true, 'data-testid': 'inputs-form' },
    fields.length ? fields.map((f) => f.row) : el('p', { class: 'muted' }, 'This flow has no inputs.'),
    extra, general, el('div', { class: 'form-actions' }, button));

  const setErrors = (messages) => {
    for (const f of fields) f.showError([]);
    const unplaced = [];
    for (const message of messages) {
      const owner = ownerOf(fields, message);
      if (owner) owner.errors.push(message); else unplaced.push(message);
    }
    for (const f of fields) { f.showError(f.errors); f.errors = []; }
    general.replaceChildren(...unplaced.map((m) => el('div', {}, m)));
    general.hidden = !unplaced.length;
  };
  const values = () => {
    const data = new FormData();
    for (const f of fields) f.collect(data);
    return data;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setErrors([]);
    button.disabled = true;
    try {
      await onSubmit(values());
    } catch (error) {
      if (error instanceof ApiError) {
        const body = error.body && typeof error.body === 'object' ? error.body : {};
        const details = body.details && body.details.length ? body.details : [];
        setErrors(error.status === 422 && details.length ? details : error.messages);
      } else {
        setErrors([String(error.message || error)]);
      }
    } finally {
      button.disabled = false;
    }
  });
  container.append(form);
  return { form, setErrors, values };
}

/** The field whose input id a message names in backquotes (the longest id first, so that
 *  `a.b` wins over `a`). */
function ownerOf(fields, message) {
  const named = fields.filter((f) => message.includes(`\`${f.input.id}\``));
  return named.sort((a, b) => b.input.id.length - a.input.id.length)[0] || null;
}

function isRequired(input) {
  return input.required !== false && (input.defaults === undefined || input.defaults === null);
}

function field(input) {
  const widget = control(input);
  const errorBox = el('div', { class: 'field-error', 'data-testid': `input-error-${input.id}`, hidden: true });
  const label = el('label', { for: `input-${input.id}` },
    input.displayName || input.id,
    isRequired(input) ? el('span', { class: 'required', title: 'required', 'data-testid': `required-${input.id}` }, ' *') : null,
    el('span', { class: 'input-type' }, describeType(input)));
  const row = el('div', { class: 'field', 'data-testid': `input-${input.id}` }, label, widget.node,
    input.description ? el('div', { class: 'muted help' }, input.description) : null, errorBox);
  return {
    input,
    row,
    errors: [],
    collect: widget.collect,
    showError(messages) {
      errorBox.replaceChildren(...messages.map((m) => el('div', {}, m)));
      errorBox.hidden = !messages.length;
      row.classList.toggle('invalid', messages.length > 0);
    },
  };
}

function describeType(input) {
  if (input.type === 'ARRAY') return `ARRAY of ${input.itemType || 'STRING'}`;
  return input.type || 'STRING';
}

/** The widget of one input: {node, collect(formData)}; an empty field is not sent, so that
 *  the server applies the default (or says the input is required). */
function control(input) {
  const type = input.type || 'STRING';
  const id = `input-${input.id}`;
  const name = input.id;
  const defaults = input.defaults;
  const templated = typeof defaults === 'string' && defaults.includes('{{');
  const attrs = { id, name, 'data-testid': `field-${input.id}` };
  const send = (data, value) => { if (value !== '' && value !== null && value !== undefined) data.append(name, value); };

  if (type === 'BOOLEAN' || type === 'BOOL') {
    const box = el('input', { ...attrs, type: 'checkbox', checked: defaults === true || defaults === 'true' });
    return { node: el('div', {}, box), collect: (data) => data.append(name, box.checked ? 'true' : 'false') };
  }
  if ((type === 'SELECT' || type === 'ENUM') && !input.allowCustomValue) {
    const select = el('select', attrs, el('option', { value: '' }, '—'),
      (input.values || []).map((v) => el('option', { value: String(v), selected: String(v) === String(defaults) }, String(v))));
    return { node: select, collect: (data) => send(data, select.value) };
  }
  if (type === 'MULTISELECT' && !input.allowCustomValue) {
    const chosen = new Set(Array.isArray(defaults) ? defaults.map(String) : []);
    const select = el('select', { ...attrs, multiple: true, size: Math.min(6, (input.values || []).length || 1) },
      (input.values || []).map((v) => el('option', { value: String(v), selected: chosen.has(String(v)) }, String(v))));
    return {
      node: select,
      collect: (data) => {
        const picked = [...select.selectedOptions].map((o) => o.value);
        if (picked.length) data.append(name, JSON.stringify(picked));
      },
    };
  }
  if (type === 'FILE') {
    const file = el('input', { ...attrs, type: 'file' });
    return {
      node: file,
      collect: (data) => { if (file.files.length) data.append(name, file.files[0], file.files[0].name); },
    };
  }
  if (type === 'JSON' || type === 'YAML' || type === 'ARRAY' || type === 'MULTISELECT') {
    const text = defaults === undefined || defaults === null || templated ? ''
      : typeof defaults === 'string' ? defaults
        : JSON.stringify(defaults, null, 2); // JSON is YAML too
    const area = el('textarea', { ...attrs, class: 'mono', rows: 4, placeholder: PLACEHOLDERS[type] || '["a", "b"]' });
    area.value = text;
    return { node: area, collect: (data) => send(data, area.value) };
  }
  if (type === 'DATETIME') {
    // the browser's local date and time, sent as an instant (UTC, Z)
    const local = el('input', { ...attrs, type: 'datetime-local', step: 1, value: templated ? '' : localDateTime(defaults) });
    return {
      node: el('div', { class: 'inline' }, local, el('span', { class: 'muted' }, ' local time')),
      collect: (data) => { if (local.value) send(data, new Date(local.value).toISOString()); },
    };
  }
  const inputType = type === 'DATE' ? 'date' : type === 'TIME' ? 'time' : TEXT_TYPES[type] || 'text';
  const text = el('input', {
    ...attrs, type: inputType, step: type === 'TIME' ? 1 : null,
    inputmode: type === 'INT' ? 'numeric' : type === 'FLOAT' ? 'decimal' : null,
    placeholder: templated ? `default: ${defaults}` : PLACEHOLDERS[type] || '',
    autocomplete: type === 'SECRET' ? 'new-password' : 'off',
    list: input.allowCustomValue ? `${id}-values` : null,
    value: defaults === undefined || defaults === null || templated ? '' : String(defaults),
  });
  const options = input.allowCustomValue
    ? el('datalist', { id: `${id}-values` }, (input.values || []).map((v) => el('option', { value: String(v) }))) : null;
  return { node: el('div', {}, text, options), collect: (data) => send(data, text.value) };
}

/** An ISO instant as the value of a datetime-local field, in the browser's zone. */
function localDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
