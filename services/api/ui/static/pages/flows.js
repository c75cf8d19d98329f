// placeholder: the flows list is being built
import { el } from '../api.js';

export async function render(root) {
  root.append(el('h1', {}, 'Flows'), el('p', { class: 'muted' }, 'Coming soon.'));
}
