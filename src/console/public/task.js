// Task page: every field, the image(s) or video, and the buttons. Pressing a button starts the
// follow-up and opens its page; described/shortened prompts can be imagined in one press.
import { get, post } from './api.js';
import { fill, h, progressText, when } from './dom.js';
import { subscribe } from './live.js';

const TIMES = new Set(['submitTime', 'startTime', 'finishTime']);

// Buttons Midjourney sends with an emoji only get a name a person (and a screen reader) can read.
const NAMES = [
  [/::reroll::/, 'Reroll'],
  [/^MJ::CancelJob::/, 'Cancel Job'],
  [/^MJ::BOOKMARK::/, 'Bookmark'],
];

function buttonLabel(b) {
  const name = b.label || NAMES.find(([re]) => re.test(b.custom_id))?.[1];
  return [b.emoji?.name, name].filter(Boolean).join(' ') || b.custom_id;
}

function value(key, v) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '—');
  if (TIMES.has(key)) return `${when(v)} (${v})`;
  if (typeof v === 'object') {
    if (Array.isArray(v) && v.length === 0) return h('span', { class: 'muted' }, '[]');
    return h('pre', {}, JSON.stringify(v, null, 2));
  }
  if (typeof v === 'string' && /^https?:\/\//.test(v))
    return h('a', { href: v, rel: 'noreferrer', target: '_blank' }, v);
  return String(v);
}

function media(task) {
  const out = [];
  const videos = task.videoUrls?.length
    ? task.videoUrls.map((v) => v.url)
    : task.videoUrl
      ? [task.videoUrl]
      : [];
  for (const src of videos)
    out.push(h('video', { src, controls: true, loop: true, muted: true, playsinline: true }));
  if (task.imageUrl)
    out.push(
      h('img', {
        src: task.imageUrl,
        alt: `result of ${task.action.toLowerCase()} ${task.prompt}`,
        class: 'main-image',
        id: 'task-image',
      }),
    );
  if (task.imageUrls?.length > 1) {
    out.push(
      h(
        'ul',
        { class: 'quads', 'aria-label': 'Stored images' },
        task.imageUrls.map((im, i) =>
          h(
            'li',
            {},
            h(
              'a',
              { href: im.url, target: '_blank', rel: 'noreferrer' },
              h('img', { src: im.thumbnail || im.url, alt: `image ${i + 1}` }),
            ),
          ),
        ),
      ),
    );
  }
  if (out.length === 0) out.push(h('div', { class: 'noimg big' }, progressText(task)));
  return out;
}

export async function renderTask(main, { session, navigate }, id) {
  let task = await get(`task/${id}`);
  const canAct = session.access === 'full';
  const message = h('p', { class: 'error', role: 'alert' });

  const run = async (what, body) => {
    message.textContent = '';
    try {
      const next = await post(what, body);
      navigate(`/console/task/${next.id}`);
    } catch (err) {
      message.textContent = err.message;
    }
  };

  const press = (b) => {
    const cid = b.custom_id;
    if (cid.startsWith('MJ::CancelJob::')) return run('cancel', { taskId: task.id });
    const body = { taskId: task.id, customId: cid };
    if (cid.startsWith('MJ::CustomZoom::')) {
      const p = window.prompt('Prompt with --zoom (1 to 2)', `${task.prompt} --zoom 2`);
      if (!p) return;
      body.prompt = p;
    }
    return run('action', body);
  };

  // The pictures are kept while their URLs stay the same, so a progress tick does not reload them.
  let shown = { key: '', el: null };
  const mediaBlock = () => {
    const key = JSON.stringify([
      task.imageUrl,
      task.imageUrls,
      task.videoUrl,
      task.videoUrls,
      task.imageUrl || task.videoUrl ? '' : progressText(task),
    ]);
    if (shown.key !== key || !shown.el) shown = { key, el: h('div', { class: 'media' }, media(task)) };
    return shown.el;
  };

  const draw = () => {
    const focused = document.activeElement?.dataset?.key;
    const pct = Number.parseInt(task.progress ?? '', 10);
    const done = task.status === 'FINISHED' || task.status === 'FAILED';
    const rows = task.buttons.map((row) =>
      h(
        'div',
        { class: 'btnrow', role: 'group' },
        row.map((b) => {
          const needsMask = b.custom_id.startsWith('MJ::Inpaint::');
          return h(
            'button',
            {
              type: 'button',
              'data-key': b.custom_id,
              disabled: !canAct || needsMask,
              title: needsMask ? 'Vary (Region) needs a mask: use the HTTP API' : null,
              onclick: () => press(b),
            },
            buttonLabel(b),
          );
        }),
      ),
    );
    const prompts = task.prompts?.length
      ? h(
          'section',
          {},
          h('h2', {}, 'Prompts'),
          h(
            'ol',
            { class: 'prompts' },
            task.prompts.map((p, i) =>
              h(
                'li',
                {},
                h('span', {}, p),
                ' ',
                h(
                  'button',
                  {
                    type: 'button',
                    'data-key': `imagine-${i}`,
                    disabled: !canAct,
                    onclick: () => run('imagine', { prompt: p }),
                  },
                  'Imagine this',
                ),
              ),
            ),
          ),
        )
      : null;
    const parent = task.params?.parentId;
    fill(
      main,
      h('h1', {}, `${task.action} `, h('span', { class: 'muted' }, task.id)),
      h(
        'p',
        { class: 'statusline' },
        h('span', { class: `badge status-${task.status}`, id: 'task-status' }, task.status),
        ' ',
        h('span', { id: 'task-progress' }, progressText(task)),
        !done
          ? h('progress', { max: 100, value: Number.isFinite(pct) ? pct : null, 'aria-label': 'Progress' })
          : null,
        task.failReason ? h('span', { class: 'error' }, ` ${task.failReason}`) : null,
        parent
          ? h('span', {}, ' from ', h('a', { href: `/console/task/${parent}` }, `task ${parent}`))
          : null,
      ),
      h(
        'div',
        { class: 'taskgrid' },
        mediaBlock(),
        h(
          'div',
          { class: 'side' },
          task.prompt ? h('blockquote', { class: 'prompt-text' }, task.prompt) : null,
          rows.length ? h('section', { 'aria-label': 'Buttons' }, h('h2', {}, 'Buttons'), rows) : null,
          !done &&
            canAct &&
            !task.buttons.some((r) => r.some((b) => b.custom_id.startsWith('MJ::CancelJob::')))
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'quiet',
                  'data-key': 'cancel',
                  onclick: () => run('cancel', { taskId: task.id }),
                },
                'Cancel',
              )
            : null,
          message,
          prompts,
        ),
      ),
      h('h2', {}, 'Fields'),
      h(
        'dl',
        { class: 'fields' },
        Object.entries(task).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, value(k, v))]),
      ),
    );
    if (focused) main.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  };
  draw();
  return subscribe((e) => {
    if (e.type === 'task' && e.task.id === task.id) {
      task = e.task;
      draw();
    } else if (e.type === 'reset') {
      get(`task/${task.id}`).then(
        (t) => {
          task = t;
          draw();
        },
        () => undefined,
      );
    }
  });
}
