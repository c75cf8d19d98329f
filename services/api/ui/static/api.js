// The REST API of ostinato (Kestra's paths under /api/v1/main), a tiny DOM builder and
// formatting helpers shared by every page. Same-origin requests carry the browser's basic
// credentials, so nothing here handles authentication.

export const BASE = '/api/v1/main';

/** An answer with a 4xx/5xx status: `.status`, `.body` (the server's JSON error: `message`,
 *  `details`; for a 422 of a run, the per-input messages). */
export class ApiError extends Error {
  constructor(status, body, path) {
    const text = typeof body === 'string' ? body : (body && body.message) || '';
    super(`${status} ${text || 'error'}${path ? ` (${path})` : ''}`);
    this.status = status;
    this.body = body;
    this.path = path;
  }

  /** The server's messages: its `message` followed by each of its `details`. */
  get messages() {
    const body = this.body;
    if (!body || typeof body !== 'object') return [String(body || this.message)];
    return [body.message, ...(body.details || [])].filter(Boolean).map(String);
  }
}

/** Calls the API at `path` (relative to /api/v1/main unless it starts with /api/ or /health).
 *  `json` is sent as JSON, `body` as is (FormData, a YAML string...). Returns the parsed JSON,
 *  the text of another content type, or null for an empty answer. */
export async function api(path, { method, body, json, headers } = {}) {
  const url = absolute(path);
  const init = { method: method || (body !== undefined || json !== undefined ? 'POST' : 'GET'),
                 headers: { Accept: 'application/json', ...(headers || {}) } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  const text = await response.text();
  const type = response.headers.get('content-type') || '';
  let parsed = text;
  if (text && type.includes('json')) {
    try { parsed = JSON.parse(text); } catch { /* keep the text */ }
  }
  if (!response.ok) throw new ApiError(response.status, parsed, path);
  return text ? parsed : null;
}

/** The full URL of an API path, on the page's origin: never with the credentials a page
 *  opened as http://user:password@host/ui/ has in its URL (fetch refuses those). */
export function absolute(path) {
  const rooted = path.startsWith('/api/') || path.startsWith('/health') ? path : BASE + path;
  return location.origin + rooted;
}

/** Follows a server-sent event stream: `onEvent(data, id)` per event (`id` is Kestra's
 *  `progress` / `end`). The stream is closed at `end`, or when the server ends it (the
 *  browser would reconnect and replay it otherwise); `onEnd` is then called once.
 *  Returns the close function. */
export function follow(path, onEvent, { onEnd } = {}) {
  const source = new EventSource(absolute(path));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    source.close();
    if (onEnd) onEnd();
  };
  source.onmessage = (event) => {
    let data = event.data;
    try { data = JSON.parse(event.data); } catch { /* a plain text event */ }
    onEvent(data, event.lastEventId);
    if (event.lastEventId === 'end') close();
  };
  source.onerror = () => close();
  return () => { closed = true; source.close(); };
}

/** `el('a', {href: '#/x', class: 'b', onclick: f, dataset: {testid: 'y'}}, 'text', child)`.
 *  Attributes `null`/`false` are skipped; children may be strings, nodes, arrays or null. */
export function el(tag, attrs, ...children) {
  const node = tag.includes(':') || tag === 'svg'
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.replace(/^svg:/, ''))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(node.style, value);
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** A date (ISO string or Date) in the browser's zone, `YYYY-MM-DD HH:MM:SS`. */
export function fmtDate(value) {
  if (!value) return '';
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A duration in seconds, or an ISO-8601 duration (`PT1.5S`), as `1h 2m`, `3.2s`, `120ms`. */
export function fmtDuration(value) {
  let seconds = typeof value === 'number' ? value : parseIsoDuration(value);
  if (seconds === null || Number.isNaN(seconds)) return value ? String(value) : '';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h ? `${h}h ${m}m` : `${m}m ${s}s`;
}

function parseIsoDuration(text) {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(text || '');
  if (!match) return null;
  const [, d, h, m, s] = match.map((part) => Number(part || 0));
  return d * 86400 + h * 3600 + m * 60 + s;
}

/** Shows an error in the banner under the navigation bar (an ApiError with the server's
 *  messages); `null` hides it. */
export function showError(error) {
  const banner = document.getElementById('error');
  if (!banner) return;
  banner.replaceChildren();
  if (!error) { banner.hidden = true; return; }
  const lines = error instanceof ApiError ? error.messages : [String(error.message || error)];
  banner.append(el('strong', {}, lines[0]), ...lines.slice(1).map((line) => el('div', {}, line)),
    el('button', { class: 'close', title: 'Dismiss', onclick: () => showError(null) }, '×'));
  banner.hidden = false;
}
