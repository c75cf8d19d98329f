// A YAML editor without a library: a transparent <textarea> over a highlighted <pre>, both
// with the same font and padding, kept in sync on input and scroll; a gutter of line numbers
// where lines with errors are marked; the list of errors below (a click goes to the line).
import { el } from '../api.js';
import { highlightYaml } from './yaml_highlight.js';

/** Builds the editor in `container`. `onChange(text)` is called after each edit.
 *  Returns {getValue, setValue, setErrors([{line, path, message}]), focus, textarea}. */
export function createYamlEditor(container, { value = '', onChange, readOnly = false } = {}) {
  const gutter = el('div', { class: 'yaml-gutter', 'aria-hidden': 'true' });
  const code = el('code');
  const pre = el('pre', { class: 'yaml-highlight', 'aria-hidden': 'true' }, code);
  const textarea = el('textarea', {
    class: 'yaml-input', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    wrap: 'off', 'data-testid': 'yaml-editor', 'aria-label': 'Flow YAML', readonly: readOnly,
  });
  const errorList = el('ul', { class: 'yaml-errors', 'data-testid': 'validation-errors' });
  container.append(el('div', { class: 'yaml-editor' }, gutter,
    el('div', { class: 'yaml-code' }, pre, textarea)), errorList);

  let errorsByLine = new Map();
  let pending = 0;
  let lineCount = -1;

  const paint = () => {
    pending = 0;
    // a final newline needs a visible line in the <pre>, or it ends a line shorter
    code.innerHTML = highlightYaml(textarea.value) + '\n';
    paintGutter();
    syncScroll();
  };
  const paintGutter = (force = false) => {
    const count = textarea.value.split('\n').length;
    if (count === lineCount && !force) return;
    lineCount = count;
    const lines = [];
    for (let n = 1; n <= count; n += 1) {
      const error = errorsByLine.get(n);
      lines.push(el('div', error ? { class: 'error', title: error, 'data-testid': `gutter-error-${n}` } : {}, n));
    }
    gutter.replaceChildren(...lines);
  };
  const syncScroll = () => {
    pre.scrollTop = textarea.scrollTop;
    pre.scrollLeft = textarea.scrollLeft;
    gutter.scrollTop = textarea.scrollTop;
  };
  const schedule = () => { if (!pending) pending = requestAnimationFrame(paint); };

  textarea.addEventListener('input', () => {
    schedule();
    if (onChange) onChange(textarea.value);
  });
  textarea.addEventListener('scroll', syncScroll);
  textarea.addEventListener('keydown', (event) => indentKeys(event, textarea));

  const goTo = (line) => {
    const lines = textarea.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + (lines[line - 1] || '').length);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (line - 5) * lineHeight);
  };

  const editor = {
    textarea,
    getValue: () => textarea.value,
    setValue: (text) => { textarea.value = text; paint(); },
    focus: () => textarea.focus(),
    goTo,
    /** Marks each error's line in the gutter and lists the errors (none: clears both). */
    setErrors(errors) {
      errorsByLine = new Map();
      for (const error of errors) {
        if (error.line) {
          const before = errorsByLine.get(error.line);
          errorsByLine.set(error.line, (before ? before + '\n' : '') + describe(error));
        }
      }
      paintGutter(true);
      errorList.replaceChildren(...errors.map((error) => el('li', {
        class: error.warning ? 'warning' : 'error', 'data-testid': 'validation-error',
        'data-line': error.line || '', onclick: () => error.line && goTo(error.line),
      }, error.line ? el('span', { class: 'where' }, `line ${error.line}`) : null,
      error.path ? el('code', {}, error.path) : null, ' ', error.message)));
    },
  };
  editor.setValue(value);
  return editor;
}

function describe(error) {
  return `${error.path ? error.path + ': ' : ''}${error.message}`;
}

/** Tab indents by two spaces, Shift+Tab removes up to two from the line's start. (Enter does
 *  not auto-indent: pasted or typed text keeps exactly the indentation it has.) */
function indentKeys(event, textarea) {
  if (event.key !== 'Tab' || event.ctrlKey || event.altKey || event.metaKey) return;
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  event.preventDefault();
  if (event.shiftKey) {
    const lineStart = value.lastIndexOf('\n', start - 1) + 1;
    const removed = value.startsWith('  ', lineStart) ? 2 : value.startsWith(' ', lineStart) ? 1 : 0;
    if (!removed) return;
    textarea.setRangeText('', lineStart, lineStart + removed, 'preserve');
  } else {
    textarea.setRangeText('  ', start, end, 'end');
  }
  textarea.dispatchEvent(new Event('input'));
}
