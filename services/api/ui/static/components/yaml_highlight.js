// A small YAML syntax highlighter: one pass over the lines, HTML out. It knows what a flow
// needs: keys, list dashes, comments, quoted and plain scalars, numbers, booleans and null,
// Pebble expressions ({{ }}), anchors and aliases, and block scalars (| and >) whose lines
// are all text.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
export const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ESCAPES[c]);

const span = (cls, text) => (text ? `<span class="y-${cls}">${escapeHtml(text)}</span>` : '');
const KEY = /^(\s*)((?:-\s+)*)((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#"'{[\-][^:#]*?|-[^\s:#][^:#]*?))(\s*:)(?=\s|$)/;
const DASHES = /^(\s*)((?:-(?:\s+|$))+)/;
const BLOCK = /^[|>][+-]?\d*\s*(#.*)?$/;

/** `source` as highlighted HTML, one line per source line. A line ending a key with | or >
 *  opens a block scalar: the lines indented more than that key's column are its text. */
export function highlightYaml(source) {
  const out = [];
  let blockIndent = -1; // inside a block scalar: lines indented more than this are text
  for (const line of source.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (blockIndent >= 0) {
      if (line.trim() === '' || indent > blockIndent) { out.push(span('str', line)); continue; }
      blockIndent = -1;
    }
    const [html, blockColumn] = highlightLine(line);
    out.push(html);
    blockIndent = blockColumn;
  }
  return out.join('\n');
}

function highlightLine(line) {
  if (/^\s*#/.test(line)) return [span('comment', line), -1];
  if (/^(---|\.\.\.)\s*$/.test(line)) return [span('doc', line), -1];
  const key = KEY.exec(line);
  if (key) {
    const [whole, lead, dashes, name, colon] = key;
    const rest = line.slice(whole.length);
    const head = escapeHtml(lead) + span('dash', dashes) + span('key', name) + span('punct', colon);
    return [head + value(rest), BLOCK.test(rest.trim()) ? lead.length + dashes.length : -1];
  }
  const dash = DASHES.exec(line);
  if (dash) {
    const rest = line.slice(dash[0].length);
    return [escapeHtml(dash[1]) + span('dash', dash[2]) + value(rest),
      BLOCK.test(rest.trim()) ? dash[1].length : -1];
  }
  return [value(line), -1];
}

/** A value (with its leading spaces and any trailing comment). */
function value(text) {
  const lead = /^\s*/.exec(text)[0];
  let body = text.slice(lead.length);
  let comment = '';
  const hash = commentStart(body);
  if (hash >= 0) { comment = body.slice(hash); body = body.slice(0, hash); }
  return escapeHtml(lead) + scalar(body) + span('comment', comment);
}

function commentStart(text) {
  let quote = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote) { if (c === quote) quote = null; continue; }
    if ((c === '"' || c === "'") && (i === 0 || /[\s:[{,]/.test(text[i - 1]))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) return i;
  }
  return -1;
}

function scalar(text) {
  const trimmed = text.trimEnd();
  const tail = text.slice(trimmed.length);
  if (!trimmed) return escapeHtml(text);
  let cls = 'plain';
  if (/^["']/.test(trimmed)) cls = 'str';
  else if (/^[|>][+-]?\d*$/.test(trimmed)) cls = 'punct';
  else if (/^(true|false|yes|no|on|off)$/i.test(trimmed)) cls = 'bool';
  else if (/^(null|~)$/i.test(trimmed)) cls = 'null';
  else if (/^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.\d+|0x[\da-fA-F]+|\.inf|\.nan)$/.test(trimmed)) cls = 'num';
  else if (/^[&*][^\s]+$/.test(trimmed)) cls = 'anchor';
  else if (/^[[{]/.test(trimmed)) cls = 'flow';
  return expressions(trimmed, cls) + escapeHtml(tail);
}

/** Pebble expressions (`{{ ... }}`, `{% ... %}`) marked inside a scalar. */
function expressions(text, cls) {
  const parts = text.split(/(\{\{.*?\}\}|\{%.*?%\})/);
  return parts.map((part, i) => (i % 2 ? span('expr', part) : span(cls, part))).join('');
}
