// A flow's topology as SVG, laid out as nested boxes: a task is a node; a flowable is a box
// holding its children: a sequence top to bottom with arrows, Parallel branches side by
// side, If's then/else and Switch's cases as labelled lanes, a Dag in layers with an arrow
// per dependency, and errors / finally lanes under the body they guard. The layout is one
// measuring pass and one drawing pass over the tasks, into one SVG string: a flow of
// hundreds of tasks renders in milliseconds.
import { escapeHtml } from './yaml_highlight.js';
import { stateColour } from './states.js';

const NODE_W = 190;
const NODE_H = 42;
const GAP = 20;
const PAD = 10;
const HEADER = 30;
const LABEL = 18;
const BRANCHING = new Set(['Parallel', 'EachParallel']);

/** Renders `flow` (the flow's JSON as GET /flows/{ns}/{id} answers it) into `container`,
 *  each node coloured by `states` ({taskId: stateName}, optional). Returns
 *  {update(states)}, which recolours the nodes without a new layout. */
export function renderTopology(container, flow, states = {}) {
  const body = stack((flow.tasks || []).map(taskBlock));
  const sections = [body];
  if ((flow.triggers || []).length) {
    sections.unshift(lane('triggers', row(flow.triggers.map(triggerBlock)), 'triggers'));
  }
  const guards = guardLanes(flow);
  if (guards) sections.push(guards);
  const root = column(sections);
  const out = [];
  root.draw(PAD, PAD, out);
  const width = root.w + 2 * PAD;
  const height = root.h + 2 * PAD;
  const wrapper = document.createElement('div');
  wrapper.className = 'topology';
  wrapper.dataset.testid = 'topology';
  wrapper.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" `
    + `viewBox="0 0 ${width} ${height}"><defs><marker id="topo-arrow" viewBox="0 0 10 10" `
    + 'refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
    + `<path d="M0,0 L10,5 L0,10 z" fill="#8a90a2"/></marker></defs>${out.join('')}</svg>`;
  container.replaceChildren(wrapper);
  const update = (next) => {
    for (const node of wrapper.querySelectorAll('[data-task-id]')) {
      const state = (next || {})[node.dataset.taskId];
      node.dataset.state = state || '';
      const shape = node.querySelector('.shape');
      shape.style.stroke = state ? stateColour(state) : '';
      shape.style.strokeWidth = state ? '2.5' : '';
      const title = node.querySelector('.state');
      if (title) title.textContent = state || '';
    }
  };
  update(states);
  return { update };
}

const shortType = (type) => String(type || '').split('.').pop();
const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + '…' : text);

// ---------------------------------------------------------------- blocks: {w, h, draw}

function node(task, kind = 'task') {
  const type = shortType(task.type);
  return {
    w: NODE_W,
    h: NODE_H,
    draw(x, y, out) {
      out.push(`<g class="topo-node ${kind}${task.disabled ? ' disabled' : ''}" data-task-id="${escapeHtml(String(task.id))}" `
        + `data-testid="topology-node" transform="translate(${x},${y})"><title>${escapeHtml(`${task.id} (${task.type})`)}</title>`
        + `<rect class="shape" width="${NODE_W}" height="${NODE_H}" rx="6"/>`
        + `<text class="id" x="10" y="17">${escapeHtml(clip(String(task.id), 24))}</text>`
        + `<text class="type" x="10" y="33">${escapeHtml(clip(type, 20))}</text>`
        + `<text class="state" x="${NODE_W - 8}" y="33" text-anchor="end"></text></g>`);
    },
  };
}

const triggerBlock = (trigger) => node(trigger, 'trigger');

function taskBlock(task) {
  const inner = innerBlock(task);
  if (!inner) return node(task);
  const guards = guardLanes(task);
  const content = guards ? column([inner, guards]) : inner;
  return group(task, content);
}

/** The children of a flowable laid out by its kind; null for a plain task. */
function innerBlock(task) {
  const type = shortType(task.type);
  const tasks = Array.isArray(task.tasks) ? task.tasks : [];
  if (tasks.length && tasks.every((item) => item && item.task && !item.type)) return dag(tasks);
  if (Array.isArray(task.then) || Array.isArray(task.else)) {
    return row([lane('then', stack((task.then || []).map(taskBlock))),
      ...(task.else && task.else.length ? [lane('else', stack(task.else.map(taskBlock)))] : [])]);
  }
  if (task.cases && typeof task.cases === 'object' && !Array.isArray(task.cases)) {
    const lanes = Object.entries(task.cases).map(([key, list]) => lane(`case ${key}`, stack((list || []).map(taskBlock))));
    if (Array.isArray(task.defaults) && task.defaults.length) lanes.push(lane('defaults', stack(task.defaults.map(taskBlock))));
    return lanes.length ? row(lanes) : null;
  }
  if (!tasks.length) return null;
  return BRANCHING.has(type) ? row(tasks.map(taskBlock)) : stack(tasks.map(taskBlock));
}

function guardLanes(owner) {
  const lanes = [];
  if (Array.isArray(owner.errors) && owner.errors.length) lanes.push(lane('errors', stack(owner.errors.map(taskBlock)), 'errors'));
  if (Array.isArray(owner.finally) && owner.finally.length) lanes.push(lane('finally', stack(owner.finally.map(taskBlock)), 'finally'));
  if (Array.isArray(owner.afterExecution) && owner.afterExecution.length) {
    lanes.push(lane('afterExecution', stack(owner.afterExecution.map(taskBlock)), 'finally'));
  }
  return lanes.length ? row(lanes) : null;
}

/** A flowable's box: its node as the header, its children inside. */
function group(task, content) {
  const w = Math.max(content.w + 2 * PAD, NODE_W);
  const h = HEADER + content.h + PAD;
  return {
    w,
    h,
    draw(x, y, out) {
      out.push(`<g class="topo-node flowable" data-task-id="${escapeHtml(String(task.id))}" data-testid="topology-node" `
        + `transform="translate(${x},${y})"><title>${escapeHtml(`${task.id} (${task.type})`)}</title>`
        + `<rect class="shape" width="${w}" height="${h}" rx="8"/>`
        + `<text class="id" x="10" y="19">${escapeHtml(clip(String(task.id), Math.floor(w / 8)))}</text>`
        + `<text class="type" x="${w - 10}" y="19" text-anchor="end">${escapeHtml(shortType(task.type))}</text>`
        + `<text class="state" x="${w - 10}" y="${h - 4}" text-anchor="end"></text></g>`);
      content.draw(x + (w - content.w) / 2, y + HEADER, out);
    },
  };
}

/** A labelled lane around a block (then, else, case X, errors, finally, triggers). */
function lane(label, content, kind = 'branch') {
  const w = Math.max(content.w + 2 * PAD, NODE_W + 2 * PAD);
  const h = LABEL + content.h + PAD;
  return {
    w,
    h,
    draw(x, y, out) {
      out.push(`<g class="topo-lane ${kind}" data-testid="topology-lane-${escapeHtml(kind)}"><rect x="${x}" y="${y}" width="${w}" `
        + `height="${h}" rx="6"/><text x="${x + 8}" y="${y + 13}">${escapeHtml(label)}</text></g>`);
      content.draw(x + (w - content.w) / 2, y + LABEL, out);
    },
  };
}

/** Blocks top to bottom, an arrow between each two. */
function stack(blocks, arrows = true) {
  const w = Math.max(0, ...blocks.map((b) => b.w));
  const h = blocks.reduce((sum, b) => sum + b.h, 0) + GAP * Math.max(0, blocks.length - 1);
  return {
    w,
    h,
    draw(x, y, out) {
      let top = y;
      blocks.forEach((block, i) => {
        if (i && arrows) arrow(out, x + w / 2, top - GAP, x + w / 2, top);
        block.draw(x + (w - block.w) / 2, top, out);
        top += block.h + GAP;
      });
    },
  };
}

const column = (blocks) => stack(blocks, false);

/** Blocks side by side, tops aligned. */
function row(blocks) {
  const w = blocks.reduce((sum, b) => sum + b.w, 0) + GAP * Math.max(0, blocks.length - 1);
  const h = Math.max(0, ...blocks.map((b) => b.h));
  return {
    w,
    h,
    draw(x, y, out) {
      let left = x;
      for (const block of blocks) {
        block.draw(left, y, out);
        left += block.w + GAP;
      }
    },
  };
}

/** A Dag's tasks in layers (a task one layer below its deepest dependency), an arrow from
 *  each dependency to its dependent. */
function dag(items) {
  const byId = new Map(items.map((item) => [item.task.id, item]));
  const depth = new Map();
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // a cycle: the server refuses it, draw it flat anyway
    seen.add(id);
    const deps = (byId.get(id)?.dependsOn || []).filter((d) => byId.has(d));
    const value = deps.length ? 1 + Math.max(...deps.map((d) => depthOf(d, seen))) : 0;
    depth.set(id, value);
    return value;
  };
  const layers = [];
  for (const item of items) {
    const d = depthOf(item.task.id);
    (layers[d] = layers[d] || []).push(item);
  }
  const rows = layers.filter(Boolean).map((layer) => layer.map((item) => ({ item, block: taskBlock(item.task) })));
  const rowBlocks = rows.map((entries) => row(entries.map((e) => e.block)));
  const body = stack(rowBlocks, false);
  const layerGap = GAP * 1.5;
  const h = rowBlocks.reduce((sum, b) => sum + b.h, 0) + layerGap * Math.max(0, rowBlocks.length - 1);
  return {
    w: body.w,
    h,
    draw(x, y, out) {
      const boxes = new Map();
      let top = y;
      rows.forEach((entries, i) => {
        let left = x + (body.w - rowBlocks[i].w) / 2;
        for (const { item, block } of entries) {
          block.draw(left, top, out);
          boxes.set(item.task.id, { x: left + block.w / 2, top, bottom: top + block.h });
          left += block.w + GAP;
        }
        top += rowBlocks[i].h + layerGap;
      });
      for (const item of items) {
        const to = boxes.get(item.task.id);
        for (const dep of item.dependsOn || []) {
          const from = boxes.get(dep);
          if (from && to) arrow(out, from.x, from.bottom, to.x, to.top, true);
        }
      }
    },
  };
}

function arrow(out, x1, y1, x2, y2, curved = false) {
  const path = curved
    ? `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`
    : `M${x1},${y1} L${x2},${y2}`;
  out.push(`<path class="topo-edge" d="${path}" marker-end="url(#topo-arrow)"/>`);
}
