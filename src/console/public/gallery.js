// Gallery: tasks newest first as thumbnails, filtered by status, action and text, kept up to
// date by the live stream (progress and previews change in place, new tasks appear first).
import { get } from './api.js';
import { fill, h, progressText, thumbOf } from './dom.js';
import { subscribe, throttle } from './live.js';

/** The status and action names the filters offer, as the service has them (asked once). */
let lists;
function filterLists() {
  lists ??= get('lists').catch((err) => {
    lists = undefined;
    throw err;
  });
  return lists;
}

/** One task as a card linking to its page. */
export function taskCard(task) {
  const src = thumbOf(task);
  const label = task.prompt || task.action.toLowerCase();
  return h(
    'li',
    { class: 'tcard', 'data-task': task.id, 'data-status': task.status },
    h(
      'a',
      { href: `/console/task/${task.id}`, class: 'tlink' },
      src
        ? h('img', { src, alt: label, loading: 'lazy', width: 256, height: 256 })
        : h('div', { class: 'noimg', 'aria-hidden': 'true' }, task.action),
      h(
        'span',
        { class: 'meta' },
        h('span', { class: `badge status-${task.status}` }, task.action),
        ' ',
        h('span', { class: 'progress' }, progressText(task)),
      ),
      h('span', { class: 'prompt' }, label),
    ),
  );
}

function matches(task, f) {
  if (f.status && task.status !== f.status) return false;
  if (f.action && task.action !== f.action) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hay = [task.id, task.prompt, task.finalPrompt, task.description].join(' ').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

function select(id, label, values, current) {
  return [
    h('label', { for: id }, label),
    h(
      'select',
      { id, name: id === 'f-status' ? 'status' : 'action' },
      h('option', { value: '' }, 'any'),
      values.map((v) => h('option', { value: v, selected: v === current }, v)),
    ),
  ];
}

export async function renderGallery(main, { params, navigate }) {
  const { statuses, actions } = await filterLists();
  const f = {
    status: params.get('status') ?? '',
    action: params.get('action') ?? '',
    q: params.get('q') ?? '',
  };
  const list = h('ul', { class: 'grid', id: 'gallery', 'aria-live': 'polite' });
  const count = h('p', { class: 'muted', id: 'gallery-count' });
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        for (const [k, v] of new FormData(form)) if (v) q.set(k, String(v));
        navigate(`/console/gallery${q.size ? `?${q}` : ''}`, true);
      },
      onchange: (e) => {
        if (e.target.tagName === 'SELECT') form.requestSubmit();
      },
    },
    select('f-status', 'Status', statuses, f.status),
    select('f-action', 'Action', actions, f.action),
    h('label', { for: 'f-q' }, 'Text'),
    h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q, placeholder: 'prompt or id' }),
    h('button', { type: 'submit' }, 'Filter'),
  );
  fill(main, h('h1', {}, 'Gallery'), form, count, list);
  const q = new URLSearchParams({ limit: '120' });
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  const load = async () => {
    const tasks = await get(`tasks?${q}`);
    fill(list, tasks.map(taskCard));
    count.textContent = tasks.length
      ? `${tasks.length} tasks, newest first`
      : 'No tasks yet: try the Playground.';
  };
  await load();
  const reload = throttle(() => {
    load().catch(() => undefined);
  }, 1000);
  const off = subscribe((e) => {
    if (e.type === 'reset') return reload();
    if (e.type !== 'task') return;
    const old = list.querySelector(`[data-task="${e.task.id}"]`);
    const fits = matches(e.task, f);
    if (old && fits) old.replaceWith(taskCard(e.task));
    else if (old) old.remove();
    else if (fits) list.prepend(taskCard(e.task));
  });
  return off;
}
