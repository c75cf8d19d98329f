// A line diff of two texts (longest common subsequence) and its rendering as a table of
// hunks: removed lines, added lines, and runs of unchanged lines folded beyond a context.
import { el } from '../api.js';

const CONTEXT = 3;

/** The edit script from `before` to `after`: [{op: ' '|'-'|'+', text, a, b}] where `a` and
 *  `b` are 1-based line numbers in each text (null where the line is absent). */
export function lineDiff(before, after) {
  const a = splitLines(before);
  const b = splitLines(after);
  // common prefix and suffix first: revisions usually differ in a few lines, so the
  // quadratic table only covers the changed middle
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA -= 1; endB -= 1; }
  const ops = [];
  for (let i = 0; i < start; i += 1) ops.push({ op: ' ', text: a[i], a: i + 1, b: i + 1 });
  ops.push(...middle(a, b, start, endA, endB));
  for (let i = 0; i < a.length - endA; i += 1) {
    ops.push({ op: ' ', text: a[endA + i], a: endA + i + 1, b: endB + i + 1 });
  }
  return ops;
}

function splitLines(text) {
  const lines = (text || '').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function middle(a, b, start, endA, endB) {
  const n = endA - start;
  const m = endB - start;
  // lcs[i][j]: the LCS length of a[start+i..endA) and b[start+j..endB), row-major
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i * width + j] = a[start + i] === b[start + j]
        ? lcs[(i + 1) * width + j + 1] + 1
        : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      ops.push({ op: ' ', text: a[start + i], a: start + i + 1, b: start + j + 1 });
      i += 1; j += 1;
    } else if (i < n && (j === m || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
      ops.push({ op: '-', text: a[start + i], a: start + i + 1, b: null });
      i += 1;
    } else {
      ops.push({ op: '+', text: b[start + j], a: null, b: start + j + 1 });
      j += 1;
    }
  }
  return ops;
}

/** Renders the diff of `before` and `after` into `container`; unchanged runs longer than
 *  twice the context are folded into one "N unchanged lines" row. */
export function renderDiff(container, before, after) {
  const ops = lineDiff(before, after);
  const changed = ops.filter((o) => o.op !== ' ').length;
  const body = el('tbody');
  let run = [];
  const flush = (atStart, atEnd) => {
    const keepHead = atStart ? 0 : CONTEXT;
    const keepTail = atEnd ? 0 : CONTEXT;
    if (run.length > keepHead + keepTail + 1) {
      run.slice(0, keepHead).forEach((o) => body.append(row(o)));
      body.append(el('tr', { class: 'diff-fold' },
        el('td', { colspan: 3 }, `… ${run.length - keepHead - keepTail} unchanged lines`)));
      run.slice(run.length - keepTail).forEach((o) => body.append(row(o)));
    } else {
      run.forEach((o) => body.append(row(o)));
    }
    run = [];
  };
  let seenChange = false;
  for (const op of ops) {
    if (op.op === ' ') { run.push(op); continue; }
    flush(!seenChange, false);
    seenChange = true;
    body.append(row(op));
  }
  flush(!seenChange, true);
  container.replaceChildren(
    el('div', { class: 'muted diff-summary', 'data-testid': 'diff-summary' },
      changed ? `${ops.filter((o) => o.op === '+').length} added, `
        + `${ops.filter((o) => o.op === '-').length} removed` : 'No difference'),
    el('table', { class: 'diff', 'data-testid': 'diff' }, body));
}

function row(op) {
  const kind = op.op === '+' ? 'add' : op.op === '-' ? 'del' : 'same';
  return el('tr', { class: `diff-${kind}`, 'data-testid': `diff-${kind}` },
    el('td', { class: 'ln' }, op.a ?? ''), el('td', { class: 'ln' }, op.b ?? ''),
    el('td', { class: 'code' }, `${op.op} ${op.text}`));
}
